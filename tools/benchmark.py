"""Speed and memory of the paper's networks on a Keras backend: `ctt-benchmark` from a source checkout.

Every flag: `python tools/benchmark.py --help`. The command is `ctt_keras.cli.benchmark`; the
measurements are `ctt_keras.benchmarks`; the figures are in docs/performance.md.
"""

import os
import sys

# A source checkout runs its own code (not another installed copy): the repository root goes first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "ctt_keras", "__init__.py")) and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def _backend_flag(argv):
    for i, arg in enumerate(argv):
        if arg == "--backend" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--backend="):
            return arg.split("=", 1)[1]
    return None


# Keras picks its backend when first imported: `--backend jax` must work on a machine without TensorFlow.
if _backend_flag(sys.argv[1:]):
    os.environ.setdefault("KERAS_BACKEND", _backend_flag(sys.argv[1:]))

from ctt_keras.cli import benchmark as _cli  # noqa: E402


def main(argv=None):
    return _cli.main(argv, prog="benchmark.py")


if __name__ == "__main__":
    sys.exit(main())
