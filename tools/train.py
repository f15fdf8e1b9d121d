"""Trains a Conv-TT-LSTM / ConvLSTM video predictor, then evaluates it and writes a prediction GIF.

With no flags: the offline demo (a small Conv-TT-LSTM on generated Moving-MNIST,
a few minutes on 2 CPU cores). `--recipe paper` gives the paper's network and
schedule. See docs/training.md for every flag, the run folder and resuming.

    python tools/train.py                                   # demo
    python tools/train.py --recipe paper --strategy mirrored
    python tools/train.py --strategy mirrored --cpu-replicas 2 --steps-per-epoch 10
    python tools/train.py --resume --name demo              # continue a killed run
"""

import argparse
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Run from a source checkout (python tools/train.py): use that checkout's code, not another installed copy.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "ctt_keras", "__init__.py")) and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

DATASETS = ("moving_mnist", "kth", "ssv2")

# Defaults of each recipe; flags given on the command line override them.
RECIPES = {
    "demo": dict(
        layers_per_block="1,1", hidden_channels="16,16", skip_stride="none", kernel_size=5, order=3, steps=3,
        rank=4, epochs=4, steps_per_epoch=40, validation_sequences=32, schedule="paper",
        lr_schedule="constant", patience=1, eval_sequences=256, eval_future="10",
    ),
    "paper": dict(
        layers_per_block="3,3,3,3", hidden_channels="32,48,48,32", skip_stride="2", kernel_size=5, order=3,
        steps=3, rank=8, epochs=500, steps_per_epoch=1250, validation_sequences=3000, schedule="paper",
        lr_schedule="paper", patience=20, eval_sequences=10000, eval_future="10,30",
    ),
}
COMMON_DEFAULTS = dict(
    recipe="demo", dataset="moving_mnist", data_dir=None, image_size=None, model="convttlstm", preset=None,
    weights=None, output_sigmoid=False, strategy="default", cpu_replicas=None, mixed_precision="auto",
    jit_compile="auto", batch_size=8, learning_rate=1e-3, clip_norm=None, context_frames=10, future_frames=10,
    sampling_decay=4e-3, min_delta=0.0, lr_decay=0.98, lr_decay_every=5, seed=0, logdir="runs", name=None,
    resume=False,
    convention="nvlabs", verbose="auto",
)
# Flags that may differ when resuming a run (everything else must match its config.json).
RESUME_MAY_CHANGE = {
    "epochs", "resume", "logdir", "name", "verbose", "eval_sequences", "eval_future", "convention",
}


def build_parser():
    p = argparse.ArgumentParser(
        prog="train.py", description=__doc__.split("\n")[0], argument_default=argparse.SUPPRESS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, help="dataset (default moving_mnist, generated offline)")
    g.add_argument("--data-dir", help="moving_mnist: folder with train/validation/test .npz|.npy|.tfrecord "
                   "(default: generate from the bundled MNIST); kth/ssv2: the TFDS data folder")
    g.add_argument("--image-size", type=int, help="frame side in pixels (moving_mnist 64, kth 128)")
    g.add_argument("--context-frames", type=int, help="frames read before predicting (10)")
    g.add_argument("--future-frames", type=int, help="frames predicted during training (10)")
    g = p.add_argument_group("model")
    g.add_argument("--recipe", choices=tuple(RECIPES), help="defaults: demo (small, minutes) or paper")
    g.add_argument("--model", choices=("convttlstm", "convlstm"), help="cell type (convttlstm)")
    g.add_argument("--preset", help="start from a zoo preset (by name)")
    g.add_argument("--weights", help="start from a preset folder (config.json + model.weights.h5)")
    g.add_argument("--layers-per-block", help="cells per block, e.g. 3,3,3,3")
    g.add_argument("--hidden-channels", help="channels per block, e.g. 32,48,48,32")
    g.add_argument("--skip-stride", help="skip distance in blocks, or none")
    g.add_argument("--kernel-size", type=int)
    g.add_argument("--order", type=int, help="Conv-TT-LSTM order")
    g.add_argument("--steps", type=int, help="Conv-TT-LSTM steps")
    g.add_argument("--rank", type=int, help="Conv-TT-LSTM rank")
    g.add_argument("--output-sigmoid", action="store_true", help="sigmoid on the output frames")
    g = p.add_argument_group("devices")
    g.add_argument("--strategy", choices=("default", "mirrored", "multi_worker"))
    g.add_argument("--cpu-replicas", type=int, help="mirrored over N logical CPU devices")
    g.add_argument("--mixed-precision", choices=("auto", "off", "mixed_float16", "mixed_bfloat16"))
    g.add_argument("--jit-compile", choices=("auto", "on", "off"))
    g = p.add_argument_group("optimisation")
    g.add_argument("--batch-size", type=int, help="global batch size (8)")
    g.add_argument("--epochs", type=int)
    g.add_argument("--steps-per-epoch", type=int)
    g.add_argument("--validation-sequences", type=int, help="validation clips per epoch (0: none)")
    g.add_argument("--learning-rate", type=float, help="Adam learning rate (1e-3)")
    g.add_argument("--clip-norm", type=float, help="global gradient-norm clipping (off; paper: 3.0)")
    g.add_argument("--schedule", choices=("paper", "linear", "none"), help="scheduled sampling")
    g.add_argument("--lr-schedule", choices=("paper", "cosine", "constant"))
    g.add_argument("--patience", type=int, help="epochs without improvement that count as a stall")
    g.add_argument("--sampling-decay", type=float, help="sampling-ratio decrement per epoch (4e-3)")
    g.add_argument("--min-delta", type=float,
                   help="smallest validation-loss decrease that counts as progress (0)")
    g.add_argument("--lr-decay", type=float, help="learning-rate factor (0.98)")
    g.add_argument("--lr-decay-every", type=int, help="epochs between learning-rate decays (5)")
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int, help="seeds weights, data and sampling (0)")
    g.add_argument("--logdir", help="parent folder of runs (runs)")
    g.add_argument("--name", help="run name (default: <dataset>-<model>-<recipe>)")
    g.add_argument("--resume", action="store_true", help="continue the run --logdir/--name where it stopped")
    g.add_argument("--eval-sequences", type=int, help="test clips evaluated after training (0: skip)")
    g.add_argument("--eval-future", help="horizons evaluated after training, e.g. 10,30")
    g.add_argument("--convention", choices=("standard", "nvlabs", "openstl"),
                   help="metric convention (nvlabs)")
    g.add_argument("--verbose", choices=("auto", "0", "1", "2"), help="Keras progress output")
    return p


def _int_list(flag, text):
    try:
        values = tuple(int(v) for v in str(text).split(","))
    except ValueError:
        raise ValueError(f"{flag} must be comma-separated ints, got {text!r}") from None
    if not values or min(values) < 1:
        raise ValueError(f"{flag} must be positive ints, got {text!r}")
    return values


def resolve_config(argv=None):
    """Parses flags into the run's resolved config (recipe defaults < flags; --resume reads config.json)."""
    parser = build_parser()
    explicit = vars(parser.parse_args(argv))
    recipe = explicit.get("recipe", COMMON_DEFAULTS["recipe"])
    config = {**COMMON_DEFAULTS, **RECIPES[recipe], **explicit}
    config["name"] = config["name"] or f"{config['dataset']}-{config['model']}-{recipe}"
    if config["resume"]:
        from ctt_keras.training import RunDirectory

        stored = RunDirectory(os.path.join(config["logdir"], config["name"]))
        if not os.path.isfile(stored.config):
            parser.error(f"--resume: no run at {stored.path} (no config.json); give its --logdir and --name")
        previous = stored.read_config()["flags"]
        conflicts = {k: (previous.get(k), v) for k, v in explicit.items()
                     if k not in RESUME_MAY_CHANGE and previous.get(k) != v}
        if conflicts:
            parser.error("--resume continues the stored run; these flags differ from its config.json: "
                         + ", ".join(f"--{k.replace('_', '-')} {new!r} (run: {old!r})"
                                     for k, (old, new) in conflicts.items()))
        config = {**previous, **{k: v for k, v in explicit.items() if k in RESUME_MAY_CHANGE}}
    try:
        validate(config)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    return config


def validate(config):
    """Checks flags and data before anything heavy happens; raises ValueError naming the flag."""
    for flag in ("batch_size", "epochs", "steps_per_epoch", "context_frames", "future_frames", "kernel_size",
                 "order", "steps", "rank"):
        if int(config[flag]) < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be >= 1, got {config[flag]}")
    for flag in ("validation_sequences", "eval_sequences"):
        if int(config[flag]) < 0:
            raise ValueError(f"--{flag.replace('_', '-')} must be >= 0, got {config[flag]}")
    if config["kernel_size"] % 2 == 0:
        raise ValueError(f"--kernel-size must be odd, got {config['kernel_size']}")
    if config["learning_rate"] <= 0:
        raise ValueError(f"--learning-rate must be > 0, got {config['learning_rate']}")
    if config["clip_norm"] is not None and config["clip_norm"] <= 0:
        raise ValueError(f"--clip-norm must be > 0, got {config['clip_norm']}")
    layers = _int_list("--layers-per-block", config["layers_per_block"])
    hidden = _int_list("--hidden-channels", config["hidden_channels"])
    if len(layers) != len(hidden):
        raise ValueError(f"--hidden-channels needs one value per block: --layers-per-block "
                         f"{config['layers_per_block']} has {len(layers)} blocks, --hidden-channels "
                         f"{config['hidden_channels']} has {len(hidden)}")
    skip = str(config["skip_stride"]).lower()
    if skip != "none" and (not skip.isdigit() or int(skip) < 1):
        raise ValueError(f"--skip-stride must be a positive int or none, got {config['skip_stride']!r}")
    if config["cpu_replicas"] is not None:
        if config["strategy"] != "mirrored":
            raise ValueError("--cpu-replicas needs --strategy mirrored")
        if config["cpu_replicas"] < 1:
            raise ValueError(f"--cpu-replicas must be >= 1, got {config['cpu_replicas']}")
        if config["batch_size"] % config["cpu_replicas"]:
            raise ValueError(f"--batch-size {config['batch_size']} (global) does not split over "
                             f"--cpu-replicas {config['cpu_replicas']}")
    if config["preset"] and config["weights"]:
        raise ValueError("give --preset or --weights, not both")
    if config["weights"] and not os.path.isfile(os.path.join(config["weights"], "config.json")):
        raise FileNotFoundError(f"--weights {config['weights']}: not a preset folder (no config.json)")
    _int_list("--eval-future", config["eval_future"])
    frame_side(config)
    if config["data_dir"] is not None and not os.path.isdir(config["data_dir"]):
        raise FileNotFoundError(f"--data-dir {config['data_dir']} does not exist or is not a folder")
    if config["dataset"] in ("kth", "ssv2") and config["data_dir"] is None:
        raise ValueError(f"--dataset {config['dataset']} needs --data-dir (its prepared TFDS folder)")
    if config["dataset"] == "moving_mnist" and config["data_dir"] is not None:
        for split in ("train",) + (("validation",) if config["validation_sequences"] else ()):
            moving_mnist_file(config["data_dir"], split)


def frame_side(config):
    default = {"moving_mnist": 64, "kth": 128, "ssv2": 128}[config["dataset"]]
    side = config["image_size"] or default
    if side < 1:
        raise ValueError(f"--image-size must be >= 1, got {side}")
    if config["dataset"] == "moving_mnist" and config["data_dir"] is None and side <= 28:
        raise ValueError(f"--image-size {side} is too small for generated Moving-MNIST (digits are 28 px; "
                         "needs > 28)")
    return side


def data_frame_shape(config):
    """`(H, W, C)` of the training frames: from the files in --data-dir, else from --image-size."""
    if config["dataset"] == "moving_mnist" and config["data_dir"] is not None:
        from pipelines import moving_mnist_files

        path = moving_mnist_file(config["data_dir"], "train")
        shape = tuple(moving_mnist_files.load_file(path).element_spec.shape[1:])
        if config["image_size"] and shape[:2] != (config["image_size"],) * 2:
            raise ValueError(f"--image-size {config['image_size']} but the frames of {path} are {shape}")
        return shape
    side = frame_side(config)
    return (side, side, 1)


def moving_mnist_file(data_dir, split):
    names = [f"{split}.npz", f"{split}.npy", f"{split}.tfrecord"]
    if split == "test":
        names.append("mnist_test_seq.npy")
    for name in names:
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"--data-dir {data_dir}: no {split} file (looked for {', '.join(names)})")


def clip_dataset(config, split, clip_length, num_sequences=None, skip=0):
    """Unbatched clips `[clip_length, H, W, C]` of one split.

    train: an endless, seeded stream (generated Moving-MNIST, or files shuffled
    and repeated); `skip` drops the first clips (resuming continues the stream).
    validation/test: the first `num_sequences` fixed clips.
    """
    import tensorflow as tf
    from pipelines import moving_mnist, moving_mnist_files

    seed = int(config["seed"])
    dataset_name = config["dataset"]
    if dataset_name == "moving_mnist" and config["data_dir"] is None:
        side = frame_side(config)
        if split == "train":
            ds = moving_mnist.load("train", sequence_length=clip_length, seed=seed, image_size=side)
        else:  # the standard-size fixed set (3,000 / 10,000 clips), of which the first num_sequences
            ds = moving_mnist.load(split, sequence_length=clip_length, seed=seed, image_size=side)
    elif dataset_name == "moving_mnist":
        ds = moving_mnist_files.load_file(moving_mnist_file(config["data_dir"], split))
        length = ds.element_spec.shape[0]
        if length is not None and length < clip_length:
            raise ValueError(f"{split} clips in --data-dir have {length} frames; --context-frames + "
                             f"--future-frames needs {clip_length}")
        ds = ds.map(lambda c: c[:clip_length])
        if split == "train":
            ds = ds.shuffle(1024, seed=seed, reshuffle_each_iteration=True).repeat()
    elif dataset_name == "kth":
        from pipelines import kth

        context = int(config["context_frames"])
        kth_split = "train" if split == "train" else "test"  # the paper's KTH split has no validation persons
        ds = kth.load(config["data_dir"], kth_split, context, clip_length - context,
                      image_size=frame_side(config), seed=seed)
        if split == "train":
            ds = ds.repeat()
    else:
        try:
            from pipelines import ssv2  # noqa: F401
        except ImportError:
            raise ValueError("--dataset ssv2: pipelines.ssv2 is not available in this version") from None
        raise ValueError("--dataset ssv2 is a classification set (early activity recognition); "
                         "video-prediction training on it is not wired into train.py yet")
    # A static time axis (the model unrolls over it); kth.load's clips come with [None, H, W, 1].
    ds = ds.map(_static_length(clip_length))
    if skip:
        ds = ds.skip(skip)
    if num_sequences is not None and split != "train":
        ds = ds.take(num_sequences)
    return ds.prefetch(tf.data.AUTOTUNE)


def _static_length(clip_length):
    import tensorflow as tf

    def ensure(clip):
        return tf.ensure_shape(clip, [clip_length, None, None, None])

    return ensure


def fixed_clips(config, split, clip_length, count):
    """The first `count` clips of a split as one NumPy array (raises if there are fewer)."""
    import numpy as np

    clips = [c.numpy() for c in clip_dataset(config, split, clip_length, num_sequences=count)]
    if len(clips) < count:
        raise ValueError(f"the {split} split holds {len(clips)} clips of {clip_length} frames; "
                         f"{count} needed")
    return np.stack(clips)


def architecture(config):
    skip = str(config["skip_stride"]).lower()
    return dict(
        cell=config["model"], layers_per_block=_int_list("--layers-per-block", config["layers_per_block"]),
        hidden_channels=_int_list("--hidden-channels", config["hidden_channels"]),
        skip_stride=None if skip == "none" else int(skip), kernel_size=config["kernel_size"],
        order=config["order"], steps=config["steps"], rank=config["rank"],
        output_sigmoid=config["output_sigmoid"],
    )


def load_start_model(config):
    """The preset or weights folder to start from (float32), or None."""
    from ctt_keras import zoo

    if config["weights"]:
        return zoo.load_preset_dir(config["weights"])
    if config["preset"]:
        if not hasattr(zoo, "load"):
            raise ValueError("--preset needs ctt_keras.zoo.load, which this version lacks; use --weights DIR")
        return zoo.load(config["preset"])
    return None


_STARTED = {"training": False}


def main(argv=None):
    _STARTED["training"] = False
    try:
        return _main(argv)
    except (ValueError, FileNotFoundError) as error:
        if _STARTED["training"]:
            raise
        # Raised before training (bad data, shapes, presets): a message, not a traceback.
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2


def _main(argv):
    config = resolve_config(argv)
    from ctt_keras import training

    # Logical CPU devices must exist before TensorFlow initialises its devices.
    if config["cpu_replicas"]:
        training.configure_cpu_replicas(config["cpu_replicas"])
    import keras

    # The strategy next: MultiWorkerMirroredStrategy must configure collectives before any TensorFlow op.
    strategy = training.make_strategy(config["strategy"], config["cpu_replicas"])
    keras.utils.set_random_seed(config["seed"])
    policy = training.resolve_mixed_precision(config["mixed_precision"])
    jit = training.resolve_jit_compile(config["jit_compile"])
    task_index, num_workers, is_chief = training.worker_info(strategy)

    context, future = int(config["context_frames"]), int(config["future_frames"])
    clip_length = context + future
    batch = int(config["batch_size"])
    replicas = strategy.num_replicas_in_sync
    if batch % replicas:
        raise ValueError(f"--batch-size {batch} (global) does not split over {replicas} replicas")
    backup = training.backup_dir(training.RunDirectory(os.path.join(config["logdir"], config["name"])),
                                 task_index, is_chief)
    initial_epoch = training.backup_epoch(backup) if config["resume"] else 0
    steps = int(config["steps_per_epoch"])
    # Data and starting weights first: a missing or malformed input fails here, before any file is written.
    start = load_start_model(config)
    if start is not None:
        frame_shape = tuple(start.frame_shape)
    else:
        frame_shape = data_frame_shape(config)
    val_count = (int(config["validation_sequences"]) // batch) * batch
    validation = None
    if val_count:
        val_clips = fixed_clips(config, "validation", clip_length, val_count)
        validation = training.batch_for_strategy(
            __import__("tensorflow").data.Dataset.from_tensor_slices(val_clips), strategy, batch)
    skip = initial_epoch * steps * batch  # resuming: the stream continues after the finished epochs
    train_data = training.distribute_clips(
        strategy, lambda: clip_dataset(config, "train", clip_length, skip=skip), batch)
    spec_shape = getattr(getattr(train_data, "element_spec", None), "shape", None)
    train_shape = tuple(spec_shape[2:]) if spec_shape is not None else None
    for what, shape in (("validation", val_clips.shape[2:] if val_count else None), ("train", train_shape)):
        if shape is not None and None not in shape and tuple(shape) != tuple(frame_shape):
            raise ValueError(f"{what} frames are {tuple(shape)} but the model expects {tuple(frame_shape)}")

    if is_chief:
        run = training.RunDirectory.create(config["logdir"], config["name"], resume=config["resume"])
        if run.renamed_from:
            print(f"{run.renamed_from} holds an earlier run; this run goes to {run.path} "
                  "(use --resume to continue the earlier one)")
    else:
        # Other workers write only their backups, in a scratch folder beside the run (cleared for a new run).
        run = training.RunDirectory(os.path.join(config["logdir"], config["name"]))
        scratch = os.path.dirname(backup)
        if not config["resume"] and os.path.isdir(scratch):
            shutil.rmtree(scratch)

    keras.mixed_precision.set_global_policy(policy)
    with strategy.scope():
        if start is not None:
            model = training.rebuild_with_policy(start, context_frames=context, seed=config["seed"])
        else:
            model = training.build_model(frame_shape, architecture(config), context, seed=config["seed"])
        training.compile_model(model, config["learning_rate"], config["clip_norm"], jit)

    strategy_name = type(strategy).__name__
    readable = {"_DefaultDistributionStrategy": "one device",
                "CollectiveAllReduceStrategy": "MultiWorkerMirroredStrategy"}
    strategy_name = readable.get(strategy_name, strategy_name)
    resolved = {
        "flags": config, "policy": policy, "jit_compile": jit, "strategy": strategy_name,
        "replicas": replicas, "workers": num_workers, "frame_shape": list(frame_shape),
        "architecture": training.architecture_of(model), "parameters": model.count_params(),
        "keras": keras.__version__,
        "command": " ".join(["python tools/train.py"] + list(sys.argv[1:] if argv is None else argv)),
    }
    if is_chief:
        run.write_config(resolved)
    print(f"run {run.path}: {resolved['architecture']['cell']} {resolved['parameters']:,} parameters, "
          f"policy {policy}, XLA {'on' if jit else 'off'}, {strategy_name} x{replicas}, "
          f"global batch {batch}" + (f", resuming at epoch {initial_epoch + 1}" if initial_epoch else ""),
          flush=True)

    # Every worker keeps the schedule's counters (its decisions follow the globally reduced val_loss).
    schedule_state = (run.schedule_state if is_chief
                      else os.path.join(os.path.dirname(backup), "schedule_state.json"))
    schedule = training.make_schedule(
        config["schedule"], config["lr_schedule"], epochs=config["epochs"],
        learning_rate=config["learning_rate"], state_path=schedule_state, patience=config["patience"],
        sampling_decay=config["sampling_decay"],
        min_delta=config["min_delta"], lr_decay=config["lr_decay"], lr_decay_every=config["lr_decay_every"],
    )
    callbacks, stop_on_nan = training.training_callbacks(
        run, schedule, validation_clips=val_clips[:4] if val_count else None, context_frames=context,
        is_chief=is_chief, monitor="val_loss" if val_count else "loss", task_index=task_index)
    verbose = {"auto": "auto", "0": 0, "1": 1, "2": 2}[config["verbose"]]
    _STARTED["training"] = True
    with training.runner.Timer() as timer:
        try:
            model.fit(train_data, epochs=config["epochs"], steps_per_epoch=steps, validation_data=validation,
                      shuffle=False, callbacks=callbacks, verbose=verbose if is_chief else 0)
        except training.NonFiniteLossError as error:
            # The backup of the last finished epoch is kept: --resume (with other flags) continues from it.
            raise SystemExit(f"\ntrain.py: error: {error}") from None
    print(f"training: {timer.seconds:.1f} s", flush=True)
    if not is_chief:
        return 0

    # The preset is float32 (portable), from the best checkpoint when there is one.
    keras.mixed_precision.set_global_policy("float32")
    final = training.rebuild_with_policy(model)
    if val_count and os.path.isfile(run.best_weights):
        final.load_weights(run.best_weights)
    horizons = _int_list("--eval-future", config["eval_future"])
    metadata = {
        "name": config["name"], "dataset": config["dataset"], "frame_shape": list(frame_shape),
        "context_frames": context, "future_frames": future, "training_command": resolved["command"],
        "training_config": resolved, "description": "trained by tools/train.py",
    }
    if int(config["eval_sequences"]):
        test = fixed_clips(config, "test", context + max(horizons), int(config["eval_sequences"]))
        results, arrays = training.evaluate_horizons(final, test, context, horizons,
                                                     convention=config["convention"], batch_size=batch)
        table = training.write_evaluation(
            results, run.metrics_json, run.metrics_md, run.curves_png,
            extra={"split": "test", "num_sequences": len(test), "training_seconds": timer.seconds})
        training.write_prediction_gif(run.prediction_gif, *arrays)
        training.log_curves(run.tensorboard, results)
        metadata["metrics"] = {"split": "test", "num_sequences": len(test),
                               **{k: r["means"] for k, r in training.results_to_json(results).items()},
                               "convention": config["convention"]}
        print(table)
        print(f"wrote {run.metrics_md}, {run.curves_png}, {run.prediction_gif}")
    from ctt_keras import zoo

    zoo.save_preset(final, run.preset, metadata=np_free(metadata), overwrite=True)
    print(f"preset: {run.preset}")
    return 0


def np_free(value):
    import json

    return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


if __name__ == "__main__":
    sys.exit(main())
