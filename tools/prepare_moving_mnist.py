"""Writes a fixed Moving-MNIST split to `.npz` and/or TFRecord shards: `ctt-prepare-moving-mnist` from a
source checkout.

    python tools/prepare_moving_mnist.py --split test --seed 0 --out-dir data/mmnist \
        --formats npz tfrecord --num-shards 8

The sequences are exactly those of `ctt_keras.pipelines.moving_mnist.load(split, seed=...)`.
"""

import os
import sys

# A source checkout runs its own code (not another installed copy): the repository root goes first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "ctt_keras", "__init__.py")) and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from ctt_keras.cli import prepare as _cli  # noqa: E402


def main(argv=None):
    """Writes the files; returns their paths."""
    return _cli.write(argv, prog="prepare_moving_mnist.py")


if __name__ == "__main__":
    main()
