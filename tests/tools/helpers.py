"""Loading the tools/ scripts in-process and writing tiny Moving-MNIST-like data folders."""

import importlib.util
import os
import pathlib
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools"


def load_tool(name):
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location(f"_tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_data_dir(folder, size=8, frames=6, counts=(("train", 24), ("validation", 8), ("test", 8))):
    """Squares moving one pixel per frame, as `{split}.npz` files (key "data", uint8 [N, T, H, W, 1])."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, count in counts:
        data = np.zeros((count, frames, size, size, 1), np.uint8)
        for n in range(count):
            y, x = rng.integers(0, size - 3, 2)
            dy, dx = rng.choice([-1, 1], 2)
            for t in range(frames):
                data[n, t, y:y + 3, x:x + 3] = 255
                if not 0 <= y + dy <= size - 3:
                    dy = -dy
                if not 0 <= x + dx <= size - 3:
                    dx = -dx
                y, x = y + dy, x + dx
        np.savez(os.path.join(folder, f"{split}.npz"), data=data)
    return str(folder)


TINY_FLAGS = [
    "--layers-per-block", "1", "--hidden-channels", "2", "--kernel-size", "3", "--rank", "2",
    "--context-frames", "3", "--future-frames", "3", "--batch-size", "4", "--mixed-precision", "off",
    "--eval-future", "3", "--eval-sequences", "8", "--validation-sequences", "8", "--verbose", "2",
]
