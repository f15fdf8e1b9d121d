"""Predicts the future of a video: a GIF (context | truth when known | prediction) and the frames as .npy.

    python tools/predict.py --weights runs/moving_mnist-convttlstm-demo/preset --input clip.npy \
        --future 20 --out pred/
    python tools/predict.py --preset NAME --input person01_walking_d1_uncomp.avi --future 20 --out pred/

Inputs: a video file (AVI/MP4/WebM/...), a folder of frame images (sorted by name), or an
.npy/.npz array `[T, H, W]`, `[T, H, W, C]` (one clip) or `[N, T, H, W, C]` (several); uint8 0..255 or
float 0..1. Frames are converted to the model's frame shape, saying so. For an early-activity-recognition
preset (`EarlyActivityRecognizer`, SSv2) the top-5 classes of each clip are printed and written to
classes.json as well.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_TOOLS = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_TOOLS)
if os.path.isfile(os.path.join(_ROOT, "ctt_keras", "__init__.py")) and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
if _TOOLS not in sys.path:
    sys.path.insert(0, _TOOLS)

import numpy as np  # noqa: E402

import train  # noqa: E402

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
ARRAY_SUFFIXES = (".npy", ".npz")


def read_input(path, channels):
    """Clips `[N, T, H, W, C]` (uint8 or float) from a video, a frame folder or an array file."""
    if os.path.isdir(path):
        from PIL import Image

        names = sorted(n for n in os.listdir(path) if n.lower().endswith(IMAGE_SUFFIXES))
        if not names:
            raise ValueError(f"--input {path}: folder holds no frame images ({', '.join(IMAGE_SUFFIXES)})")
        mode = "L" if channels == 1 else "RGB"
        frames = [np.asarray(Image.open(os.path.join(path, n)).convert(mode)) for n in names]
        shapes = {f.shape for f in frames}
        if len(shapes) != 1:
            raise ValueError(f"--input {path}: frames of different sizes {sorted(shapes)}")
        return np.stack(frames)[None]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--input {path} does not exist")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in ARRAY_SUFFIXES:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as archive:
                key = "data" if "data" in archive.files else None
                if key is None and len(archive.files) == 1:
                    key = archive.files[0]
                if key is None:
                    raise ValueError(f"--input {path}: several arrays {archive.files} and none named 'data'")
                array = archive[key]
        if array.ndim in (3, 4):
            return array[None]
        if array.ndim == 5:
            return array
        raise ValueError(f"--input {path}: array of shape {array.shape}; expected [T, H, W], [T, H, W, C] "
                         "or [N, T, H, W, C]")
    from pipelines import video

    return video.read_video(path, mode="gray" if channels == 1 else "rgb")[None]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="predict.py", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="zoo preset name")
    source.add_argument("--weights", help="preset folder (config.json + model.weights.h5)")
    parser.add_argument("--input", required=True, help="video file, folder of frames, or .npy/.npz")
    parser.add_argument("--future", type=int, default=10, help="frames to predict (10)")
    parser.add_argument("--context", type=int, help="context frames read (default: the model's, 10)")
    parser.add_argument("--start", type=int, default=0, help="first input frame used (0)")
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args(argv)
    if args.future < 1 or args.start < 0 or (args.context is not None and args.context < 1):
        parser.error("--future and --context must be >= 1, --start >= 0")
    if args.weights and not os.path.isfile(os.path.join(args.weights, "config.json")):
        parser.error(f"--weights {args.weights}: not a preset folder (no config.json)")
    if not os.path.exists(args.input):
        parser.error(f"--input {args.input} does not exist")

    from ctt_keras import training

    model = train.load_start_model({"weights": args.weights, "preset": args.preset})
    context_frames = args.context or model.context_frames
    try:
        raw = read_input(args.input, model.frame_shape[-1])
        clips = []
        for clip in raw:
            fitted, notes = training.fit_frames(clip, model.frame_shape)
            clips.append(fitted)
        clips = np.stack(clips)[:, args.start:]
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    print(f"input: {raw.shape[0]} clip(s) of {raw.shape[1]} frames {raw.shape[2:]} {raw.dtype}")
    for note in notes:
        print(f"input: {note} to fit the model's frames {tuple(model.frame_shape)}")
    if clips.shape[1] < context_frames:
        parser.error(f"--input has {clips.shape[1]} frames after --start {args.start}; the model needs "
                     f"{context_frames} context frames")
    context = clips[:, :context_frames]
    known = min(args.future, clips.shape[1] - context_frames)
    truth = clips[:, context_frames:context_frames + args.future] if known == args.future else None
    _, _, prediction = training.predict_clips(model, context, context_frames, args.future)
    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "prediction.npy"), prediction if len(prediction) > 1 else prediction[0])
    training.write_prediction_gif(os.path.join(args.out, "prediction.gif"), context, truth, prediction)
    shown = "shown" if truth is not None else (
        f"not shown ({known} of {args.future} future frames in the input)")
    print(f"predicted {args.future} frames after {context_frames} context frames; truth {shown}")
    saved_shape = prediction.shape if len(prediction) > 1 else prediction.shape[1:]
    print(f"wrote {args.out}/prediction.npy {saved_shape}, {args.out}/prediction.gif")
    from ctt_keras.models import EarlyActivityRecognizer

    if isinstance(model, EarlyActivityRecognizer):
        write_top_classes(model, context, args)
    return 0


def write_top_classes(model, context, args, top=5):
    """Prints and writes (classes.json) each clip's most probable classes, named from the preset's metadata."""
    import json

    from ctt_keras import zoo

    metadata = zoo.read_metadata(args.weights) if args.weights else zoo.info(args.preset)
    names = {int(c["label"]): c.get("template") for c in metadata.get("classes") or []}
    logits = np.asarray(model.recognize(context)["logits"], dtype=np.float64)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    results = []
    for index, row in enumerate(probabilities):
        best = np.argsort(-row)[:top]
        results.append([{"label": int(k), "name": names.get(int(k)), "probability": float(row[k])} for k in best])
        print(f"clip {index}: " + "; ".join(f"{r['name'] or r['label']} {100 * r['probability']:.1f} %"
                                           for r in results[-1]))
    with open(os.path.join(args.out, "classes.json"), "w") as f:
        json.dump({"future_frames_imagined": model.future_frames, "clips": results}, f, indent=2)
    print(f"classes after imagining {model.future_frames} frames; wrote {args.out}/classes.json")


if __name__ == "__main__":
    sys.exit(main())
