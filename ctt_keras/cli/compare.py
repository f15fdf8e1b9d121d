"""Compares trained networks with trivial baselines on the same Moving-MNIST-2 test clips.

Writes a Markdown table (a row per predictor and horizon: MSE, MAE, PSNR, SSIM,
LPIPS), JSON, per-frame metric curves, a GIF of every predictor on the same
clips and, given run folders, the validation loss of each run against the
training clips it had seen. docs/results.md was produced this way:

    ctt-compare \\
        --model convttlstm=zoo/mmnist_convttlstm_small --model convlstm=zoo/mmnist_convlstm_small \\
        --run convttlstm=runs/mmnist_convttlstm_small --run convlstm=runs/mmnist_convlstm_small \\
        --future 10,30 --num-sequences 2000 --out docs/results
"""

import argparse
import os
import sys

from ctt_keras import argument_validation as av
from ctt_keras.cli import _flags


def _pairs(parser, values, flag):
    pairs = {}
    for value in values or ():
        name, sep, target = value.partition("=")
        if not sep or not name or not target:
            parser.error(f"{flag} takes NAME=VALUE, got {value!r}")
        if name in pairs:
            parser.error(f"{flag}: the name {name!r} is given twice")
        pairs[name] = target
    return pairs


def _parameters_beside(metrics_path):
    """The parameter count recorded with an evaluation: in it, or in the run's config.json beside it."""
    import json

    for path in (metrics_path, os.path.join(os.path.dirname(metrics_path), "config.json")):
        try:
            with open(path) as f:
                count = json.load(f).get("parameters")
        except (OSError, ValueError):
            continue
        if isinstance(count, int):
            return count
    return None


def build_parser(prog="ctt-compare"):
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    p.add_argument("--model", action="append",
                   help="NAME=PRESET: a zoo preset name or a preset folder (repeat for several)")
    p.add_argument("--baselines", default="black,copy_last",
                   help="comma-separated: black, copy_last, or none (default: both)")
    p.add_argument("--evaluated", action="append",
                   help="NAME=METRICS_JSON: rows from an earlier evaluation (the metrics.json of ctt-train or "
                        "ctt-evaluate) of the same test clips, instead of running that network again")
    p.add_argument("--run", action="append",
                   help="NAME=RUN_FOLDER of tools/train.py (config.json + history.csv): validation curve")
    _flags.add_number(p, "--context", av.POSITIVE_INT, default=10, help="context frames (10)")
    p.add_argument("--future", default="10,30", help="comma-separated horizons (10,30)")
    _flags.add_number(p, "--num-sequences", av.POSITIVE_INT, default=2000,
                   help="first clips of the generated test split (2000)")
    _flags.add_number(p, "--seed", av.SEED, default=0, help="seed of the generated test split (0)")
    p.add_argument("--convention", choices=("standard", "nvlabs", "openstl"), default="standard")
    p.add_argument("--metrics", default="mse,mae,psnr,ssim,lpips")
    _flags.add_number(p, "--batch-size", av.POSITIVE_INT, default=16)
    p.add_argument("--out", required=True, help="output folder (must not hold an earlier comparison)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier comparison in --out")
    return p


# Flag value -> the baseline's name in `ctt_keras.training.comparison.BASELINES`.
_BASELINE_NAMES = {"black": "black frames", "copy_last": "copy last frame"}


def main(argv=None, prog="ctt-compare"):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    models = _pairs(parser, args.model, "--model")
    runs = _pairs(parser, args.run, "--run")
    evaluated = _pairs(parser, args.evaluated, "--evaluated")
    for name, path in evaluated.items():
        if name in models:
            parser.error(f"--evaluated {name}: the name is also given to --model")
        if not os.path.isfile(path):
            parser.error(f"--evaluated {name}={path}: no such file")
    baselines = [b for b in args.baselines.split(",") if b and b != "none"]
    unknown = [b for b in baselines if b not in _BASELINE_NAMES]
    if unknown:
        parser.error(f"--baselines: unknown {unknown}; choose from {sorted(_BASELINE_NAMES)} or none")
    try:
        horizons = sorted({int(h) for h in args.future.split(",") if h})
    except ValueError:
        parser.error(f"--future must be comma-separated ints, got {args.future!r}")
    if not horizons or horizons[0] < 1 or args.context < 1 or args.num_sequences < 1 or args.batch_size < 1:
        parser.error("--future, --context, --num-sequences and --batch-size must be positive")
    if not models and not baselines and not evaluated:
        parser.error("nothing to compare: give --model, --evaluated and/or --baselines")
    for name, folder in runs.items():
        for file in ("config.json", "history.csv"):
            if not os.path.isfile(os.path.join(folder, file)):
                parser.error(f"--run {name}={folder}: no {file} there (not a tools/train.py run folder)")
    for name, spec in models.items():
        if os.sep in spec and not os.path.isfile(os.path.join(spec, "config.json")):
            parser.error(f"--model {name}={spec}: not a preset folder (no config.json)")
    try:
        av.check_writable_folder("--out", args.out)
    except ValueError as error:
        parser.error(str(error))
    if os.path.exists(os.path.join(args.out, "comparison.json")) and not args.overwrite:
        parser.error(f"--out {args.out} already holds a comparison (comparison.json); pass --overwrite "
                     f"to replace it")

    import json

    import numpy as np

    from ctt_keras import zoo
    from ctt_keras.training import comparison, runner
    from ctt_keras.pipelines import moving_mnist

    histories = {}  # read first: an unreadable run folder is found before the comparison
    for name, folder in runs.items():
        try:
            with open(os.path.join(folder, "config.json")) as f:
                config = json.load(f)
            flags = config.get("flags", config)
            per_epoch = int(flags["steps_per_epoch"]) * int(flags["batch_size"])
            histories[name] = comparison.read_history(os.path.join(folder, "history.csv"), per_epoch)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            parser.error(f"--run {name}={folder}: not a readable run folder ({type(error).__name__}: "
                         f"{error})")
    predictors, parameters = {}, {}
    for name, spec in models.items():
        try:
            model = zoo.load_preset_dir(spec) if os.path.isdir(spec) else zoo.load(spec)
        except (ValueError, OSError) as error:
            parser.error(f"--model {name}={spec}: {error}")
        predictors[name] = model
        parameters[name] = model.count_params()
    for b in baselines:
        predictors[_BASELINE_NAMES[b]] = comparison.BASELINES[_BASELINE_NAMES[b]]
    length = args.context + horizons[-1]
    earlier = {}  # read first: a mismatching evaluation is found before anything is computed
    for name, path in evaluated.items():
        try:
            earlier[name] = comparison.read_evaluation(path, args.num_sequences, args.context, horizons,
                                                       args.convention)
        except ValueError as error:
            parser.error(f"--evaluated {name}: {error}")
        parameters[name] = _parameters_beside(path)
    clips, results, predictions = None, {}, {}
    if predictors:  # only earlier evaluations: no clip is generated or predicted
        side = next((m.frame_shape[0] for m in predictors.values() if hasattr(m, "frame_shape")), 64)
        dataset = moving_mnist.load("test", sequence_length=length, seed=args.seed, image_size=side)
        clips = np.stack([c.numpy() for c in dataset.take(args.num_sequences)])
        if len(clips) < args.num_sequences:
            parser.error(f"the test split holds {len(clips)} clips; --num-sequences {args.num_sequences}")
        metrics = tuple(m for m in args.metrics.split(",") if m)
        results, predictions = comparison.compare(
            predictors, clips, args.context, horizons, convention=args.convention, metrics=metrics,
            batch_size=args.batch_size,
        )
    results = {**earlier, **results}
    extra = {"split": f"first {args.num_sequences} clips of the generated Moving-MNIST-2 test split (seed {args.seed}, "
                      f"{length} frames)", "convention": args.convention, "models": models,
             "evaluated": evaluated}
    table = comparison.write_comparison(args.out, results, parameters, extra)
    names = list(predictors)
    parameters = {k: v for k, v in parameters.items() if v is not None}
    if clips is not None:
        truth = clips[:2, args.context:]
        runner.write_prediction_gif(os.path.join(args.out, "prediction_truth.gif"), clips[:2, :args.context],
                                    truth, truth)
    for name in names:
        safe = "".join(ch if ch.isalnum() else "_" for ch in name)
        runner.write_prediction_gif(os.path.join(args.out, f"prediction_{safe}.gif"), clips[:2, :args.context],
                                    truth, predictions[name][:2])
    if runs:
        comparison.plot_validation_curves(os.path.join(args.out, "validation_loss.png"), histories,
                                          title="validation loss (mean L1 + L2, closed loop) vs training clips")
    print(extra["split"] + f", {args.convention} convention")
    print(table)
    print(f"wrote {args.out}/comparison.json, comparison.md, curves_*.png"
          + (", prediction_*.gif" if clips is not None else "")
          + (", validation_loss.png" if runs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
