"""Predicts the future of a video: a GIF (context | truth when known | prediction) and the frames as .npy.

    ctt-predict --weights runs/moving_mnist-convttlstm-demo/preset --input clip.npy --future 20 --out pred/
    ctt-predict --preset NAME --input person01_walking_d1_uncomp.avi --future 20 --out pred/

Inputs: a video file (AVI/MP4/WebM/...), a folder of frame images (sorted by name), or an
.npy/.npz array `[T, H, W]`, `[T, H, W, C]` (one clip) or `[N, T, H, W, C]` (several); uint8 0..255 or
float 0..1. Frames are converted to the model's frame shape, saying so. For an early-activity-recognition
preset (`EarlyActivityRecognizer`, SSv2) the top-5 classes of each clip are printed and written to
classes.json as well. Earlier outputs in --out are kept unless --overwrite is given; --future is at most
1000 frames, and refused when its outputs would not fit in the memory available.
"""

import argparse
import json
import os
import sys

from ctt_keras.cli import _flags


OUTPUTS = ("prediction.npy", "prediction.gif")
CLASSES_FILE = "classes.json"  # recognizers only


def build_parser(prog="ctt-predict"):
    from ctt_keras import argument_validation as av
    from ctt_keras.training import prediction

    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="zoo preset name")
    source.add_argument("--weights", help="preset folder (config.json + model.weights.h5)")
    parser.add_argument("--input", required=True, help="video file, folder of frames, or .npy/.npz")
    _flags.add_number(parser, "--future", av.Range(int, 1, prediction.MAX_FUTURE_FRAMES), default=10,
                      help=f"frames to predict (10; at most {prediction.MAX_FUTURE_FRAMES})")
    _flags.add_number(parser, "--context", av.POSITIVE_INT,
                      help="context frames read (default: the model's, 10)")
    _flags.add_number(parser, "--start", av.NON_NEGATIVE_INT, default=0, help="first input frame used (0)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the outputs of an earlier prediction in --out")
    return parser


def main(argv=None, prog="ctt-predict"):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    from ctt_keras import argument_validation as av

    if args.weights and not os.path.isfile(os.path.join(args.weights, "config.json")):
        parser.error(f"--weights {args.weights}: not a preset folder (no config.json)")
    if not os.path.exists(args.input):
        parser.error(f"--input {args.input} does not exist")
    # Output problems are found before anything is computed.
    try:
        av.check_writable_folder("--out", args.out)
    except ValueError as error:
        parser.error(str(error))
    _refuse_overwrite(parser, args, OUTPUTS)
    import numpy as np

    from ctt_keras import training
    from ctt_keras.models import EarlyActivityRecognizer
    from ctt_keras.training import evaluation, prediction

    try:
        model = evaluation.load_model(preset=args.preset, weights=args.weights)
    except (ValueError, OSError) as error:
        parser.error(f"--{'preset' if args.preset else 'weights'} {args.preset or args.weights}: {error}")
    recognizer = isinstance(model, EarlyActivityRecognizer)
    if recognizer:
        _refuse_overwrite(parser, args, (CLASSES_FILE,))
    context_frames = args.context or model.context_frames
    try:
        raw = prediction.read_clips(args.input, model.frame_shape[-1])
        clips = []
        for clip in raw:
            fitted, notes = training.fit_frames(clip, model.frame_shape)
            clips.append(fitted)
        clips = np.stack(clips)[:, args.start:]
    except (ValueError, OSError) as error:
        message = str(error)
        if not message.startswith("--input"):
            named = message.startswith(args.input)
            message = f"--input {message}" if named else f"--input {args.input}: {message}"
        parser.error(message)
    print(f"input: {raw.shape[0]} clip(s) of {raw.shape[1]} frames {raw.shape[2:]} {raw.dtype}")
    for note in notes:
        print(f"input: {note} to fit the model's frames {tuple(model.frame_shape)}")
    if clips.shape[1] < context_frames:
        parser.error(f"--input has {clips.shape[1]} frames after --start {args.start}; the model needs "
                     f"{context_frames} context frames")
    try:
        prediction.check_horizon(len(clips), context_frames, args.future, model.frame_shape)
    except ValueError as error:
        parser.error(str(error))
    context = clips[:, :context_frames]
    known = min(args.future, clips.shape[1] - context_frames)
    truth = clips[:, context_frames:context_frames + args.future] if known == args.future else None
    predicted = prediction.predict_in_steps(model, context, args.future,
                                            progress=len(clips) > 1 or args.future >= 100)
    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "prediction.npy"), predicted if len(predicted) > 1 else predicted[0])
    training.write_prediction_gif(os.path.join(args.out, "prediction.gif"), context, truth, predicted)
    shown = "shown" if truth is not None else (
        f"not shown ({known} of {args.future} future frames in the input)")
    print(f"predicted {args.future} frames after {context_frames} context frames; truth {shown}")
    saved_shape = predicted.shape if len(predicted) > 1 else predicted.shape[1:]
    print(f"wrote {args.out}/prediction.npy {saved_shape}, {args.out}/prediction.gif")
    if recognizer:
        _write_top_classes(model, context, args)
    return 0


def _refuse_overwrite(parser, args, names):
    """Outputs of an earlier prediction in --out are kept unless --overwrite is given."""
    found = [n for n in names if os.path.lexists(os.path.join(args.out, n))]
    if found and not args.overwrite:
        parser.error(f"--out {args.out} already holds {', '.join(found)} (an earlier prediction); pass "
                     "--overwrite to replace them, or another --out")


def _write_top_classes(model, context, args):
    """Prints and writes (classes.json) each clip's most probable classes, named by the preset's metadata."""
    from ctt_keras import zoo
    from ctt_keras.training import prediction

    metadata = zoo.read_metadata(args.weights) if args.weights else zoo.info(args.preset)
    names = {int(c["label"]): c.get("template") or c.get("name") for c in metadata.get("classes") or []}
    results = prediction.top_classes(model, context, names)
    for index, best in enumerate(results):
        print(f"clip {index}: " + "; ".join(f"{r['name'] or r['label']} {100 * r['probability']:.1f} %"
                                           for r in best))
    with open(os.path.join(args.out, "classes.json"), "w") as f:
        json.dump({"future_frames_imagined": model.future_frames, "clips": results}, f, indent=2)
    print(f"classes after imagining {model.future_frames} frames; wrote {args.out}/classes.json")


if __name__ == "__main__":
    sys.exit(main())
