"""ctt-export: a zoo preset (name or folder) to a served artifact, OUT/<name>/<version>/.

Usage:
    ctt-export mmnist_convttlstm --out serving --weights convttlstm-mnist.pt
    ctt-export path/to/preset_folder --out serving --future 30 --version 2
    ctt-export mmnist_convttlstm --out serving --format onnx     # serving_default/step/initial_state.onnx
    ctt-export mmnist_convttlstm --out serving --format litert   # <name>.tflite, three signatures
    docker run -p 8501:8501 -v "$PWD/serving/mmnist_convttlstm:/models/mmnist_convttlstm" \\
        -e MODEL_NAME=mmnist_convttlstm tensorflow/serving

PRESET is a name from `ctt_keras.zoo.list()` or a preset folder (with config.json).
Context and future lengths default to the preset's metadata. See docs/serving.md.
"""

import argparse
import json
import os
import pathlib
import sys

FORMATS = ("tf_saved_model", "onnx", "litert")


def _parser(prog="ctt-export"):
    from ctt_keras.argument_validation import Range
    from ctt_keras.cli._flags import add_number

    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("preset", help="preset name (see ctt_keras.zoo.list()) or a preset folder")
    parser.add_argument("--out", type=pathlib.Path, required=True, help="model base folder (TF Serving)")
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--weights", help="weights file: .weights.h5 or an official .pt checkpoint")
    weights.add_argument("--no-weights", action="store_true", help="export random weights (smoke tests only)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="tf_saved_model",
        help="tf_saved_model (TF Serving layout, default), onnx or litert",
    )
    add_number(parser, "--context", Range(int, 1, 10_000), default=None,
               help="context frames (default: the preset's)")
    add_number(parser, "--future", Range(int, 1, 10_000), default=None,
               help="predicted frames (default: the preset's)")
    parser.add_argument("--name", default=None, help="model name / folder (default: the preset's name)")
    add_number(parser, "--version", Range(int, 1, None), default=1, help="TF Serving version folder (1)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing version folder")
    return parser


def main(argv=None, prog="ctt-export"):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = _parser(prog)
    args = parser.parse_args(argv)
    from ctt_keras.argument_validation import check_writable_folder

    try:
        check_writable_folder("--out", args.out)
        if args.weights is not None and not os.path.isfile(args.weights):
            raise FileNotFoundError(f"--weights {args.weights}: no such file")
        if args.name is not None and (not args.name or os.sep in args.name or args.name in (".", "..")):
            raise ValueError(f"--name must be a plain folder name, got {args.name!r}")
        return _export(args)
    except (ValueError, OSError, ImportError) as error:
        # Bad presets, weights, shapes and output folders end as a message naming them (exit code 2).
        parser.error(str(error))


def _export(args):
    from ctt_keras import export, zoo
    from ctt_keras.zoo import preset_format

    folder = pathlib.Path(args.preset)
    if preset_format.is_preset_folder(folder):
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
    model_name = args.name or name
    if args.format == "tf_saved_model":
        target = export.export_saved_model(
            model,
            args.out,
            context,
            future,
            model_name=model_name,
            version=args.version,
            overwrite=args.overwrite,
        )
    else:
        target = _export_files(model, args, model_name, context, future)
    if args.no_weights:
        print("warning: exported with random weights (--no-weights)", file=sys.stderr)
    print(f"exported {name} ({args.format}): {context} -> {future} frames of {model.frame_shape} to {target}")
    return target


def _export_files(model, args, model_name, context, future):
    """ONNX (one file per signature) or LiteRT (one file) in OUT/<name>/<version>/, with the description.

    The version folder is written beside its place and swapped in when complete, as the SavedModel is.
    """
    from ctt_keras import atomic, export

    target = args.out / model_name / str(args.version)
    atomic.recover_directory(target)  # an earlier export interrupted between its two renames
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not args.overwrite:
        raise FileExistsError(
            f"{target} is not empty; pass --overwrite to replace it, or export another version."
        )
    info = export.export_info(model, context, future, model_name, args.version, format=args.format)
    with atomic.replaced_directory(target) as folder:
        folder = pathlib.Path(folder)
        if args.format == "onnx":
            for signature in export.SIGNATURES:
                export.export_onnx(model, folder / f"{signature}.onnx", context, future, signature=signature)
        else:
            export.export_litert(model, folder / f"{model_name}.tflite", context, future)
        atomic.write_atomic(folder / export.EXPORT_INFO_FILE, json.dumps(info, indent=2) + "\n")
    return target


if __name__ == "__main__":
    main()
