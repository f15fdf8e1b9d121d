"""Evaluates a trained network: per-frame metric curves (video prediction) or accuracy (SSv2), as JSON,
a Markdown table, a PNG plot of the curves and a prediction GIF.

    ctt-evaluate --weights runs/moving_mnist-convttlstm-demo/preset --context 10 --future 10,30
    ctt-evaluate --preset NAME --dataset kth --data-dir ~/tensorflow_datasets --future 20,40
    ctt-evaluate --weights runs/ssv2-convttlstm-paper/preset --dataset ssv2 --data-dir ~/tensorflow_datasets

An `EarlyActivityRecognizer` preset is evaluated on SSv2's validation split (the test split has no
labels) with the observed fraction, frame count and classes recorded in its metadata.json (or the
flags below): top-1/top-5 accuracy, per activity, and the error of the frames it imagines.
"""

import argparse
import os
import sys

from ctt_keras.cli import _flags


def build_parser(prog="ctt-evaluate"):
    from ctt_keras import argument_validation as av
    from ctt_keras.pipelines import datasets

    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="zoo preset name")
    source.add_argument("--weights",
                        help="preset folder (config.json + model.weights.h5), e.g. runs/<name>/preset")
    p.add_argument("--dataset", choices=datasets.names(), default="moving_mnist")
    p.add_argument("--data-dir", help="as for ctt-train (default: generated Moving-MNIST)")
    p.add_argument("--split", choices=("test", "validation"), default="test")
    _flags.add_number(p, "--context", av.POSITIVE_INT, default=10, help="context frames (10)")
    p.add_argument("--future", default="10", help="comma-separated horizons, e.g. 10,30")
    _flags.add_number(p, "--num-sequences", av.POSITIVE_INT, default=256,
                   help="first clips of the split evaluated (256; 10000 = the whole test set)")
    p.add_argument("--convention", choices=("standard", "nvlabs", "openstl"), default="nvlabs")
    p.add_argument("--metrics", default="mse,mae,psnr,ssim,lpips", help="comma-separated metric names")
    _flags.add_number(p, "--batch-size", av.POSITIVE_INT, default=16)
    _flags.add_number(p, "--seed", av.SEED, default=0, help="seed of the generated Moving-MNIST sets (0)")
    p.add_argument("--jit-compile", choices=("auto", "on", "off"), default="auto")
    p.add_argument("--out", help="output folder (default: beside --weights, else ./evaluation)")
    owners = {}
    for name, (owner, option) in datasets.options().items():
        owners.setdefault(owner, []).append(option)
    for owner, options in owners.items():
        g = p.add_argument_group(f"{owner} (default: from the preset's metadata.json)")
        for option in options:
            g.add_argument("--" + option.name.replace("_", "-"), type=option.type, help=option.help)
    return p


def main(argv=None, prog="ctt-evaluate"):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    from ctt_keras.pipelines import datasets

    try:
        horizons = datasets.parse_ints("--future", args.future)
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
        out = args.out
        if out is None:
            parent = os.path.dirname(os.path.abspath(args.weights)) if args.weights else "."
            out = os.path.join(parent, "evaluation")
        from ctt_keras import argument_validation as av

        av.check_writable_folder("--out", out)  # found before the evaluation, not after it
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))

    from ctt_keras import training
    from ctt_keras.training import architecture, evaluation

    try:
        model = evaluation.load_model(preset=args.preset, weights=args.weights)
    except (ValueError, OSError) as error:
        parser.error(f"--{'preset' if args.preset else 'weights'} {args.preset or args.weights}: {error}")
    module = datasets.get(args.dataset)
    network = architecture.model_for_task(module.TASK)
    if module.TASK == "recognition" or not isinstance(model, network):
        return _evaluate_recognizer(parser, args, model, out)
    config = _dataset_config(args, module, model,
                             {"context_frames": args.context, "future_frames": max(horizons)})
    try:
        module.validate(config, (args.split,))
        results, table, count = evaluation.evaluate_predictor(
            model, config, args.split, args.context, horizons, args.num_sequences,
            evaluation.output_paths(out), convention=args.convention, metrics=metrics, batch_size=args.batch_size,
            jit_compile=training.resolve_jit_compile(args.jit_compile),
            extra={"dataset": args.dataset, "source": args.weights or args.preset}, progress=True)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    print(f"{args.dataset} {args.split}, {count} sequences, {args.convention} convention")
    print(table)
    print(f"wrote {out}/metrics.json, metrics.md, curves.png, prediction.gif")
    return 0


def _metadata(args):
    from ctt_keras import zoo

    return zoo.read_metadata(args.weights) if args.weights else zoo.info(args.preset)


def _dataset_config(args, module, model, settings):
    """The dataset's settings: its options from the flags, else the preset's metadata.json, else defaults."""
    stored = module.options_from_metadata(_metadata(args)) if module.OPTIONS else {}
    config = {"dataset": args.dataset, "data_dir": args.data_dir, "seed": args.seed,
              "image_size": model.frame_shape[0], **settings}
    for option in module.OPTIONS:
        given = getattr(args, option.name)
        config[option.name] = given if given is not None else stored.get(option.name, option.default)
    config.update(module.derive(config))
    return config


def _evaluate_recognizer(parser, args, model, out):
    """A recognition preset on its dataset's test clips, settings from the preset's metadata (or flags)."""
    from ctt_keras.pipelines import datasets
    from ctt_keras.training import architecture, evaluation

    module = datasets.get(args.dataset)
    if module.TASK != "recognition":
        owners = [n for n in datasets.names()
                  if isinstance(model, architecture.model_for_task(datasets.get(n).TASK))]
        parser.error(f"this preset is an {type(model).__name__}; give --dataset {' or '.join(owners)}, "
                     f"not {args.dataset}")
    try:
        evaluation.check_model_for(model, args.dataset)
    except ValueError as error:
        parser.error(str(error))
    config = _dataset_config(args, module, model, {"future_frames": model.future_frames,
                                                   "eval_sequences": args.num_sequences})
    stored = module.options_from_metadata(_metadata(args))
    try:
        module.validate(config, (module.TEST_SPLIT,))
        classes = module.classes(config)
        evaluation.check_model_for(model, args.dataset, classes)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    if config["context_frames"] != model.context_frames:
        settings = ", ".join(f"--{o.name.replace('_', '-')} {config[o.name]}" for o in module.OPTIONS
                             if o.name in stored)
        print(f"note: observing {config['context_frames']} frames ({settings}); the preset was trained on "
              f"{model.context_frames}")
    if args.split != module.TEST_SPLIT:
        print(f"note: {args.dataset}'s {args.split} split is not labelled; evaluating on its "
              f"{module.TEST_SPLIT} split")
    table, _ = evaluation.evaluate_recognizer(
        model, config, classes, evaluation.output_paths(out, ("json", "markdown", "gif")),
        batch_size=args.batch_size, extra={"source": args.weights or args.preset}, progress=True)
    print(table)
    print(f"wrote {os.path.join(out, 'metrics.md')}, {os.path.join(out, 'prediction.gif')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
