"""Evaluates a trained network: per-frame metric curves (video prediction) or accuracy (SSv2), as JSON,
a Markdown table, a PNG plot of the curves and a prediction GIF.

    python tools/evaluate.py --weights runs/moving_mnist-convttlstm-demo/preset --context 10 --future 10,30
    python tools/evaluate.py --preset NAME --dataset kth --data-dir ~/tensorflow_datasets --future 20,40
    python tools/evaluate.py --weights runs/ssv2-convttlstm-paper/preset --dataset ssv2 --data-dir ~/tensorflow_datasets

An `EarlyActivityRecognizer` preset is evaluated on SSv2's validation split (the test split has no
labels) with the observed fraction, frame count and classes recorded in its metadata.json (or the
flags below): top-1/top-5 accuracy, per activity, and the error of the frames it imagines.
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

import train  # noqa: E402  (the data sources and flag helpers of tools/train.py)


def build_parser():
    p = argparse.ArgumentParser(prog="evaluate.py", description=__doc__.split("\n")[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="zoo preset name")
    source.add_argument("--weights",
                        help="preset folder (config.json + model.weights.h5), e.g. runs/<name>/preset")
    p.add_argument("--dataset", choices=train.DATASETS, default="moving_mnist")
    p.add_argument("--data-dir", help="as for train.py (default: generated Moving-MNIST)")
    p.add_argument("--split", choices=("test", "validation"), default="test")
    p.add_argument("--context", type=int, default=10, help="context frames (10)")
    p.add_argument("--future", default="10", help="comma-separated horizons, e.g. 10,30")
    p.add_argument("--num-sequences", type=int, default=256,
                   help="first clips of the split evaluated (256; 10000 = the whole test set)")
    p.add_argument("--convention", choices=("standard", "nvlabs", "openstl"), default="nvlabs")
    p.add_argument("--metrics", default="mse,mae,psnr,ssim,lpips", help="comma-separated metric names")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0, help="seed of the generated Moving-MNIST sets (0)")
    p.add_argument("--jit-compile", choices=("auto", "on", "off"), default="auto")
    p.add_argument("--out", help="output folder (default: beside --weights, else ./evaluation)")
    g = p.add_argument_group("ssv2 (recognition presets; default: from the preset's metadata.json)")
    g.add_argument("--observed-fraction", type=float, help="fraction of the resampled video observed (0.25)")
    g.add_argument("--num-frames", type=int, help="frames each video is resampled to (40)")
    g.add_argument("--classes", help="subset41, all, or comma-separated SSv2 ids (subset41)")
    g.add_argument("--manual-dir", help="folder with the SSv2 files, to prepare --data-dir once")
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        horizons = train._int_list("--future", args.future)
        if args.context < 1 or args.num_sequences < 1 or args.batch_size < 1:
            raise ValueError("--context, --num-sequences and --batch-size must be >= 1")
        metrics = tuple(m for m in args.metrics.split(",") if m)
        from ctt_keras.metrics.evaluation import METRIC_NAMES

        unknown = [m for m in metrics if m not in METRIC_NAMES]
        if unknown or not metrics:
            raise ValueError(f"--metrics must name some of {METRIC_NAMES}, got {args.metrics!r}")
        if args.data_dir is not None and not os.path.isdir(args.data_dir):
            raise FileNotFoundError(f"--data-dir {args.data_dir} does not exist or is not a folder")
        if args.weights and not os.path.isfile(os.path.join(args.weights, "config.json")):
            raise FileNotFoundError(f"--weights {args.weights}: not a preset folder (no config.json)")
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))

    from ctt_keras import training

    model = train.load_start_model({"weights": args.weights, "preset": args.preset})
    from ctt_keras.models import EarlyActivityRecognizer

    if isinstance(model, EarlyActivityRecognizer) or args.dataset == "ssv2":
        return evaluate_recognizer(parser, args, model)
    side, _, channels = model.frame_shape
    config = {"dataset": args.dataset, "data_dir": args.data_dir, "image_size": side, "seed": args.seed,
              "context_frames": args.context}
    clip_length = args.context + max(horizons)
    try:
        clips = train.fixed_clips(config, args.split, clip_length, args.num_sequences)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    if tuple(clips.shape[2:]) != tuple(model.frame_shape):
        parser.error(f"{args.dataset} frames are {clips.shape[2:]} but the model expects "
                     f"{tuple(model.frame_shape)}")
    out = args.out
    if out is None:
        parent = os.path.dirname(os.path.abspath(args.weights)) if args.weights else "."
        out = os.path.join(parent, "evaluation")
    os.makedirs(out, exist_ok=True)
    results, arrays = training.evaluate_horizons(
        model, clips, args.context, horizons, convention=args.convention, metrics=metrics,
        batch_size=args.batch_size, jit_compile=training.resolve_jit_compile(args.jit_compile))
    table = training.write_evaluation(
        results, os.path.join(out, "metrics.json"), os.path.join(out, "metrics.md"),
        os.path.join(out, "curves.png"),
        extra={"split": args.split, "dataset": args.dataset, "num_sequences": len(clips),
               "source": args.weights or args.preset})
    training.write_prediction_gif(os.path.join(out, "prediction.gif"), *arrays)
    print(f"{args.dataset} {args.split}, {len(clips)} sequences, {args.convention} convention")
    print(table)
    print(f"wrote {out}/metrics.json, metrics.md, curves.png, prediction.gif")
    return 0


def evaluate_recognizer(parser, args, model):
    """The SSv2 branch: a recognizer on the validation split, settings from the preset's metadata."""
    from ctt_keras import zoo
    from ctt_keras.models import EarlyActivityRecognizer

    if not isinstance(model, EarlyActivityRecognizer):
        parser.error(f"--dataset ssv2 evaluates an EarlyActivityRecognizer preset; this one is a "
                     f"{type(model).__name__}")
    if args.dataset != "ssv2":
        parser.error(f"this preset is an EarlyActivityRecognizer (Something-Something V2); "
                     f"give --dataset ssv2, not {args.dataset}")
    if args.data_dir is None:
        parser.error("--dataset ssv2 needs --data-dir (its prepared TFDS folder)")
    metadata = zoo.read_metadata(args.weights) if args.weights else zoo.info(args.preset)
    stored_classes = metadata.get("classes")
    classes = args.classes or (",".join(str(c["ssv2_id"]) for c in stored_classes) if stored_classes else "subset41")
    config = {
        "dataset": "ssv2", "data_dir": args.data_dir, "manual_dir": args.manual_dir, "seed": args.seed,
        "image_size": model.frame_shape[0], "classes": classes, "batch_size": args.batch_size,
        "observed_fraction": args.observed_fraction or metadata.get("observed_fraction", 0.25),
        "num_frames": args.num_frames or metadata.get("num_frames", 40),
        "future_frames": model.future_frames, "eval_sequences": args.num_sequences,
    }
    config["context_frames"] = train.ssv2_context_frames(config)
    try:
        train.validate_ssv2(config)
        label_map = train.ssv2_label_map(config)
        train.check_start_model(model, True, label_map)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    if config["context_frames"] != model.context_frames:
        print(f"note: observing {config['context_frames']} frames (--observed-fraction {config['observed_fraction']} "
              f"of {config['num_frames']}); the preset was trained on {model.context_frames}")
    if args.split == "test":
        print("note: SSv2's test split has no labels; evaluating on the validation split")
    out = args.out
    if out is None:
        parent = os.path.dirname(os.path.abspath(args.weights)) if args.weights else "."
        out = os.path.join(parent, "evaluation")
    os.makedirs(out, exist_ok=True)
    train.evaluate_recognizer(model, config, label_map, os.path.join(out, "metrics.json"),
                              os.path.join(out, "metrics.md"), os.path.join(out, "prediction.gif"),
                              extra={"source": args.weights or args.preset})
    return 0


if __name__ == "__main__":
    sys.exit(main())
