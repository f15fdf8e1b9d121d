"""Exports a zoo preset for serving: OUT/<name>/<version>/ (a shim over `ctt-export`, ctt_keras.cli.export).

Usage:
    python tools/export.py mmnist_convttlstm --out serving --weights convttlstm-mnist.pt
    python tools/export.py path/to/preset_folder --out serving --future 30 --version 2
    python tools/export.py mmnist_convttlstm --out serving --format onnx
See `python tools/export.py --help` and docs/serving.md.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # a source checkout without installing

from ctt_keras.cli.export import main  # noqa: E402

if __name__ == "__main__":
    main()
