"""Compares trained networks with trivial baselines: `ctt-compare` from a source checkout.

Every flag: `python tools/compare_models.py --help`. The command is `ctt_keras.cli.compare`.
"""

import os
import sys

# A source checkout runs its own code (not another installed copy): the repository root goes first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "ctt_keras", "__init__.py")) and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from ctt_keras.cli import compare as _cli  # noqa: E402


def main(argv=None):
    return _cli.main(argv, prog="compare_models.py")


if __name__ == "__main__":
    sys.exit(main())
