"""Exports a zoo preset as a TensorFlow Serving SavedModel: OUT/<name>/<version>/.

Usage:
    python tools/export.py mmnist_convttlstm --out serving --weights convttlstm-mnist.pt
    python tools/export.py path/to/preset_folder --out serving --future 30 --version 2
    docker run -p 8501:8501 -v "$PWD/serving/mmnist_convttlstm:/models/mmnist_convttlstm" \
        -e MODEL_NAME=mmnist_convttlstm tensorflow/serving

PRESET is a name from `ctt_keras.zoo.list()` or a preset folder (with config.json).
Context and future lengths default to the preset's metadata. See docs/serving.md.
"""

import argparse
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from ctt_keras import zoo  # noqa: E402
from ctt_keras.export import export_saved_model  # noqa: E402


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", help="preset name (see ctt_keras.zoo.list()) or a preset folder")
    parser.add_argument("--out", type=pathlib.Path, required=True, help="model base folder (TF Serving)")
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--weights", help="weights file: .weights.h5 or an official .pt checkpoint")
    weights.add_argument("--no-weights", action="store_true", help="export random weights (smoke tests only)")
    parser.add_argument("--context", type=int, default=None, help="context frames (default: the preset's)")
    parser.add_argument("--future", type=int, default=None, help="predicted frames (default: the preset's)")
    parser.add_argument("--name", default=None, help="model name / folder (default: the preset's name)")
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing version folder")
    return parser.parse_args(argv)


def main(argv=None):
    args = _parse(argv)
    folder = pathlib.Path(args.preset)
    if (folder / zoo.CONFIG_FILE).is_file():
        # A folder is registered under a private key for this process; it is served under its own name.
        name, key = args.name or folder.resolve().name, "export.cli"
        zoo.register(key, folder, overwrite=True)
    else:
        name = key = args.preset
    metadata = zoo.info(key)
    weights = False if args.no_weights else (args.weights or True)
    model = zoo.load(key, weights=weights)
    context = args.context or metadata.get("context_frames") or model.context_frames
    future = args.future or metadata.get("future_frames") or 10
    target = export_saved_model(model, args.out, context, future, model_name=args.name or name,
                                version=args.version, overwrite=args.overwrite)
    if args.no_weights:
        print("warning: exported with random weights (--no-weights)", file=sys.stderr)
    print(f"exported {name}: {context} -> {future} frames of {model.frame_shape} to {target}")
    return target


if __name__ == "__main__":
    main()
