"""A dataset written only to the surface of `ctt_keras.pipelines.datasets` (a test of that surface):
a 3x3 square bouncing one pixel per frame in an 8x8 frame."""

import numpy as np
import tensorflow as tf

from ctt_keras.pipelines import datasets

TASK = "prediction"
DEFAULT_IMAGE_SIZE = 8
OPTIONS = (datasets.Option("square_size", int, 3, "side of the square in pixels (3)"),)
RECIPES = {"demo": dict(eval_future="2")}
DERIVED = {}
TEST_SPLIT = "test"
_SIZES = {"train": 16, "validation": 4, "test": 4}


def validate(config, splits=("train",)):
    if not 1 <= config["square_size"] < datasets.frame_side(config, DEFAULT_IMAGE_SIZE):
        raise ValueError(f"--square-size must be in 1..image size - 1, got {config['square_size']}")


def derive(config):
    return {}


def frame_shape(config):
    side = datasets.frame_side(config, DEFAULT_IMAGE_SIZE)
    return (side, side, 1)


def squares(count, frames, side, size, seed):
    rng = np.random.default_rng(seed)
    data = np.zeros((count, frames, side, side, 1), np.float32)
    for n in range(count):
        y, x = rng.integers(0, side - size, 2)
        dy, dx = rng.choice([-1, 1], 2)
        for t in range(frames):
            data[n, t, y:y + size, x:x + size] = 1.0
            dy = -dy if not 0 <= y + dy <= side - size else dy
            dx = -dx if not 0 <= x + dx <= side - size else dx
            y, x = y + dy, x + dx
    return data


def clips(config, split, clip_length):
    side = datasets.frame_side(config, DEFAULT_IMAGE_SIZE)
    seed = [int(config["seed"]), list(_SIZES).index(split)]
    frames = squares(_SIZES[split], clip_length, side, config["square_size"], seed)
    dataset = tf.data.Dataset.from_tensor_slices(frames)
    return dataset.repeat() if split == "train" else dataset


def metadata(config):
    return {"square_size": config["square_size"]}


def options_from_metadata(metadata):
    return {"square_size": metadata.get("square_size", 3)}
