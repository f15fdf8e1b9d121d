"""Trains a Conv-TT-LSTM / ConvLSTM network, then evaluates it: `ctt-train` from a source checkout.

    python tools/train.py                                   # demo
    python tools/train.py --recipe paper --strategy mirrored
    python tools/train.py --resume --name demo              # continue a killed run

Every flag: `python tools/train.py --help` and docs/training.md. The command is `ctt_keras.cli.train`.
"""

import os
import sys

# A source checkout runs its own code (not another installed copy): the repository root goes first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "ctt_keras", "__init__.py")) and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def _backend_flag(argv):
    """The value of `--backend` in `argv`, or None."""
    for i, arg in enumerate(argv):
        if arg == "--backend" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--backend="):
            return arg.split("=", 1)[1]
    return None


# Keras picks its backend when it is first imported, and a machine without TensorFlow cannot import it
# with the default one: --backend chooses it first (`ctt-train` users set KERAS_BACKEND instead).
if _backend_flag(sys.argv[1:]) in ("tensorflow", "jax", "torch") and "keras" not in sys.modules:
    os.environ["KERAS_BACKEND"] = _backend_flag(sys.argv[1:])

from ctt_keras.cli import train as _cli  # noqa: E402


def main(argv=None):
    return _cli.main(argv, prog="train.py", command="python tools/train.py")


if __name__ == "__main__":
    sys.exit(main())
