"""Evaluates a trained network on a dataset: `ctt-evaluate` from a source checkout.

Every flag: `python tools/evaluate.py --help`. The command is `ctt_keras.cli.evaluate`.
"""

import os
import sys

# A source checkout runs its own code (not another installed copy): the repository root goes first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "ctt_keras", "__init__.py")) and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from ctt_keras.cli import evaluate as _cli  # noqa: E402


def main(argv=None):
    return _cli.main(argv, prog="evaluate.py")


if __name__ == "__main__":
    sys.exit(main())
