"""Trains a Conv-TT-LSTM / ConvLSTM network, then evaluates it and writes a prediction GIF.

With no flags: the offline demo (a small Conv-TT-LSTM video predictor on generated
Moving-MNIST, a few minutes on 2 CPU cores). `--recipe paper` gives the paper's
network and schedule. `--dataset ssv2` trains the early-activity-recognition
network (`EarlyActivityRecognizer`) on Something-Something V2. See
docs/training.md for every flag, the run folder and resuming, docs/activity.md for SSv2.

    python tools/train.py                                   # demo
    python tools/train.py --recipe paper --strategy mirrored
    python tools/train.py --strategy mirrored --cpu-replicas 2 --steps-per-epoch 10
    python tools/train.py --resume --name demo              # continue a killed run
    python tools/train.py --dataset ssv2 --data-dir ~/tensorflow_datasets --manual-dir ~/ssv2 --recipe paper
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
# Dataset-specific recipe defaults (between the recipe's and the flags). SSv2: eight cells (the paper's
# recognition network) and a linear sampling decay, so that the classifier ends training on the closed loop it
# is evaluated on (docs/activity.md).
DATASET_RECIPES = {
    "ssv2": {
        "demo": dict(encoder_channels="16,32", classifier_channels="32,64", schedule="linear",
                     eval_sequences=256),
        "paper": dict(layers_per_block="2,2,2,2", schedule="linear", lr_schedule="cosine", epochs=100,
                      steps_per_epoch=2000, validation_sequences=1024, eval_sequences=1_000_000),
    },
}
# Flags of the SSv2 recognition task only.
SSV2_FLAGS = ("observed_fraction", "num_frames", "classes", "manual_dir", "prediction_weight", "encoder_channels",
              "classifier_channels")
COMMON_DEFAULTS = dict(
    recipe="demo", dataset="moving_mnist", data_dir=None, image_size=None, model="convttlstm", preset=None,
    weights=None, output_sigmoid=False, patch_size=1, sampling_end_epoch=None,
    strategy="default", cpu_replicas=None, mixed_precision="auto",
    jit_compile="auto", batch_size=8, learning_rate=1e-3, clip_norm=None, context_frames=10, future_frames=10,
    sampling_decay=4e-3, min_delta=0.0, lr_decay=0.98, lr_decay_every=5, seed=0, logdir="runs", name=None,
    resume=False,
    convention="nvlabs", verbose="auto",
    observed_fraction=0.25, num_frames=40, classes="subset41", manual_dir=None, prediction_weight=10.0,
    encoder_channels="32,64", classifier_channels="64,128",
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
    g.add_argument("--observed-fraction", type=float,
                   help="ssv2: fraction of the resampled video observed (0.25 -> 10 of 40 frames; paper: 0.25, 0.5)")
    g.add_argument("--num-frames", type=int, help="ssv2: frames each video is resampled to (40)")
    g.add_argument("--classes", help="ssv2: subset41 (a reconstruction, default), all, or comma-separated SSv2 ids")
    g.add_argument("--manual-dir", help="ssv2: folder with the downloaded SSv2 files, to prepare --data-dir once")
    g = p.add_argument_group("model")
    g.add_argument("--recipe", choices=tuple(RECIPES), help="defaults: demo (small, minutes) or paper")
    g.add_argument("--model", choices=("convttlstm", "convlstm"), help="cell type (convttlstm)")
    g.add_argument("--preset", help="start from a zoo preset (by name)")
    g.add_argument("--weights", help="start from a preset folder (config.json + model.weights.h5)")
    g.add_argument("--layers-per-block", help="cells per block, e.g. 3,3,3,3")
    g.add_argument("--hidden-channels", help="channels per block, e.g. 32,48,48,32")
    g.add_argument("--skip-stride", help="skip distance in blocks, or none")
    g.add_argument("--kernel-size", type=int)
    g.add_argument("--patch-size", type=int,
                   help="fold p x p patches into channels before the cells (1: the paper's network; 4: PredRNN's)")
    g.add_argument("--order", type=int, help="Conv-TT-LSTM order")
    g.add_argument("--steps", type=int, help="Conv-TT-LSTM steps")
    g.add_argument("--rank", type=int, help="Conv-TT-LSTM rank")
    g.add_argument("--output-sigmoid", action="store_true", help="sigmoid on the output frames")
    g.add_argument("--encoder-channels", help="ssv2: channels of the stride-2 encoder convs (32,64)")
    g.add_argument("--classifier-channels", help="ssv2: channels of the classifier convs (64,128), or none")
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
    g.add_argument("--sampling-end-epoch", type=int,
                   help="linear schedule: epoch at which the sampling ratio reaches 0 (default: --epochs)")
    g.add_argument("--sampling-decay", type=float, help="sampling-ratio decrement per epoch (4e-3)")
    g.add_argument("--min-delta", type=float,
                   help="smallest validation-loss decrease that counts as progress (0)")
    g.add_argument("--lr-decay", type=float, help="learning-rate factor (0.98)")
    g.add_argument("--lr-decay-every", type=int, help="epochs between learning-rate decays (5)")
    g.add_argument("--prediction-weight", type=float,
                   help="ssv2: lambda in lambda * (L1 + L2 of the frames) + cross-entropy (10)")
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
    dataset = explicit.get("dataset", COMMON_DEFAULTS["dataset"])
    config = {**COMMON_DEFAULTS, **RECIPES[recipe], **DATASET_RECIPES.get(dataset, {}).get(recipe, {}), **explicit}
    config["name"] = config["name"] or f"{config['dataset']}-{config['model']}-{recipe}"
    if dataset == "ssv2":
        if "context_frames" in explicit:
            parser.error("--dataset ssv2 observes --observed-fraction of --num-frames frames; "
                         "--context-frames does not apply")
        config["context_frames"] = ssv2_context_frames(config)
    else:
        given = [f"--{k.replace('_', '-')}" for k in SSV2_FLAGS if k in explicit]
        if given:
            parser.error(f"{', '.join(given)} apply to --dataset ssv2 only")
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
                 "order", "steps", "rank", "patch_size"):
        if int(config[flag]) < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be >= 1, got {config[flag]}")
    for flag in ("validation_sequences", "eval_sequences"):
        if int(config[flag]) < 0:
            raise ValueError(f"--{flag.replace('_', '-')} must be >= 0, got {config[flag]}")
    if config.get("sampling_end_epoch") is not None:
        if config["schedule"] != "linear":
            raise ValueError("--sampling-end-epoch applies to --schedule linear")
        if int(config["sampling_end_epoch"]) < 1:
            raise ValueError(f"--sampling-end-epoch must be >= 1, got {config['sampling_end_epoch']}")
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
    side = frame_side(config)
    patch = int(config.get("patch_size", 1))
    if side % patch:
        raise ValueError(f"--patch-size {patch} must divide the frame side --image-size {side}")
    if config["dataset"] == "ssv2":
        if patch != 1:
            raise ValueError("--patch-size applies to the video-prediction network; --dataset ssv2 has its own "
                             "encoder (leave --patch-size at 1)")
        if config["prediction_weight"] < 0:
            raise ValueError(f"--prediction-weight must be >= 0, got {config['prediction_weight']}")
        encoder = _int_list("--encoder-channels", config["encoder_channels"])
        _channels_or_none("--classifier-channels", config["classifier_channels"])
        factor = 2 ** len(encoder)
        if side % factor:
            raise ValueError(f"--image-size {side} must be divisible by {factor} (the encoder halves the frames "
                             f"{len(encoder)} times: --encoder-channels {config['encoder_channels']})")
        validate_ssv2(config)
    if config["data_dir"] is not None and not os.path.isdir(config["data_dir"]):
        raise FileNotFoundError(f"--data-dir {config['data_dir']} does not exist or is not a folder")
    if config["dataset"] in ("kth", "ssv2") and config["data_dir"] is None:
        raise ValueError(f"--dataset {config['dataset']} needs --data-dir (its prepared TFDS folder)")
    if config["dataset"] == "moving_mnist" and config["data_dir"] is not None:
        for split in ("train",) + (("validation",) if config["validation_sequences"] else ()):
            moving_mnist_file(config["data_dir"], split)


def validate_ssv2(config):
    """The SSv2 data flags (raises ValueError / FileNotFoundError naming the flag)."""
    if not 0.0 < config["observed_fraction"] < 1.0:
        raise ValueError(f"--observed-fraction must be in (0, 1), got {config['observed_fraction']}")
    if config["num_frames"] < 2:
        raise ValueError(f"--num-frames must be >= 2, got {config['num_frames']}")
    context = config["context_frames"]
    if context + config["future_frames"] > config["num_frames"]:
        raise ValueError(f"--observed-fraction {config['observed_fraction']} of --num-frames {config['num_frames']} "
                         f"is {context} frames; with --future-frames {config['future_frames']} that needs "
                         f"{context + config['future_frames']} > {config['num_frames']} frames")
    if config["manual_dir"] is not None and not os.path.isdir(config["manual_dir"]):
        raise FileNotFoundError(f"--manual-dir {config['manual_dir']} does not exist or is not a folder")
    ssv2_config(config)


def ssv2_context_frames(config):
    """Observed frames of an SSv2 run: `round(observed_fraction * num_frames)`, at least 1.

    The formula of `pipelines.ssv2.context_frames`, without its import (TensorFlow) or its range check
    (`validate_ssv2` reports a bad fraction naming the flag).
    """
    return max(1, int(round(config["observed_fraction"] * config["num_frames"])))


def _channels_or_none(flag, text):
    return () if str(text).lower() in ("none", "") else _int_list(flag, text)


def ssv2_config(config):
    """The `pipelines.ssv2` builder configuration of --classes and --image-size."""
    from pipelines import ssv2

    classes = str(config["classes"])
    if classes not in ("subset41", "all"):
        classes = list(_int_list("--classes", classes.replace(" ", "")))
        if min(classes) < 0 or max(classes) >= ssv2.NUM_CLASSES or len(set(classes)) != len(classes):
            raise ValueError(f"--classes must be distinct SSv2 ids in 0..{ssv2.NUM_CLASSES - 1}, "
                             f"got {config['classes']!r}")
    side = frame_side(config)
    return ssv2.make_config(classes, frame_size=(side, side))


def ssv2_label_map(config):
    """The label map of the prepared SSv2 data (prepared from --manual-dir on first use)."""
    from pipelines import ssv2

    prepared = ssv2.builder(config["data_dir"], config=ssv2_config(config), manual_dir=config["manual_dir"])
    return ssv2.label_map(prepared)


def frame_side(config):
    default = {"moving_mnist": 64, "kth": 128, "ssv2": 64}[config["dataset"]]
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
    return (side, side, 3 if config["dataset"] == "ssv2" else 1)


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
        from pipelines import ssv2

        from pipelines import clips

        # (clip, label) examples; SSv2's test split has no labels, so validation doubles as the test split.
        ds = ssv2.load(config["data_dir"], "train" if split == "train" else "validation",
                       observed_fraction=config["observed_fraction"], num_frames=config["num_frames"],
                       future_frames=clip_length - int(config["context_frames"]), config=ssv2_config(config),
                       shuffle=False, manual_dir=config["manual_dir"])
        if split == "train":
            # The same stream on every iteration (TFDS stores the examples shuffled already).
            ds = clips.repeat_shuffled(ds, seed)
    # A static time axis (the model unrolls over it); kth.load's clips come with [None, H, W, 1].
    ds = ds.map(_static_length(clip_length))
    if skip:
        ds = ds.skip(skip)
    if num_sequences is not None and split != "train":
        ds = ds.take(num_sequences)
    return ds.prefetch(tf.data.AUTOTUNE)


def _static_length(clip_length):
    import tensorflow as tf

    def ensure(clip, *label):
        clip = tf.ensure_shape(clip, [clip_length, None, None, None])
        return (clip, *label) if label else clip

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
        output_sigmoid=config["output_sigmoid"], patch_size=int(config.get("patch_size", 1)),
    )


def recognizer_architecture(config):
    return dict(architecture(config), encoder_channels=_int_list("--encoder-channels", config["encoder_channels"]),
                classifier_channels=_channels_or_none("--classifier-channels", config["classifier_channels"]))


def check_start_model(model, recognition, label_map):
    """The --preset/--weights model must fit the task (and, for SSv2, the prepared classes)."""
    from ctt_keras.models import EarlyActivityRecognizer

    if recognition and not isinstance(model, EarlyActivityRecognizer):
        raise ValueError(f"--dataset ssv2 trains an EarlyActivityRecognizer; the given preset is a "
                         f"{type(model).__name__}")
    if not recognition and isinstance(model, EarlyActivityRecognizer):
        raise ValueError("the given preset is an EarlyActivityRecognizer; it trains on --dataset ssv2 only")
    if recognition and model.num_classes != len(label_map):
        raise ValueError(f"the given preset has {model.num_classes} classes but the prepared data has "
                         f"{len(label_map)} (--classes)")


def evaluate_recognizer(model, config, label_map, json_path, markdown_path, gif_path, extra=None):
    """Accuracy and imagined-frame error on SSv2's validation split (its test split has no labels).

    Writes the JSON, the Markdown table and the GIF; prints the table; returns the metrics summary
    stored in the preset's metadata.
    """
    from ctt_keras import training
    from pipelines import ssv2

    context, future = int(config["context_frames"]), int(config["future_frames"])
    data = clip_dataset(config, "test", context + future, num_sequences=int(config["eval_sequences"]))
    result, arrays = training.evaluate_recognition(
        model, data.batch(int(config["batch_size"])).as_numpy_iterator(), context, future,
        class_names=[entry["template"] for entry in label_map],
        class_groups=[ssv2.activity_group(entry["ssv2_id"]) for entry in label_map])
    table = training.write_recognition(
        result, json_path, markdown_path,
        extra={"split": "validation", "classes": config["classes"], "observed_fraction": config["observed_fraction"],
               "num_frames": config["num_frames"], **(extra or {})})
    training.write_prediction_gif(gif_path, *arrays)
    print(table)
    print(f"wrote {markdown_path}, {gif_path}")
    keys = [k for k in result if k.endswith("accuracy")]
    return {"split": "validation", "num_sequences": result["num_sequences"],
            **{k: result[k] for k in keys}, "frames": {k: v for k, v in result["frames"].items()
                                                       if not k.endswith("per_frame")}}


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
    recognition = config["dataset"] == "ssv2"
    label_map = ssv2_label_map(config) if recognition else None
    start = load_start_model(config)
    if start is not None:
        check_start_model(start, recognition, label_map)
        frame_shape = tuple(start.frame_shape)
    else:
        frame_shape = data_frame_shape(config)
    val_count = (int(config["validation_sequences"]) // batch) * batch
    validation = None
    if val_count and recognition:
        # Streamed (a few thousand RGB clips do not fit in memory); the first clips preview the predictions.
        val_stream = clip_dataset(config, "validation", clip_length, num_sequences=val_count)
        val_clips = next(iter(val_stream.batch(4)))[0].numpy()
        validation = training.batch_for_strategy(val_stream, strategy, batch)
    elif val_count:
        val_clips = fixed_clips(config, "validation", clip_length, val_count)
        validation = training.batch_for_strategy(
            __import__("tensorflow").data.Dataset.from_tensor_slices(val_clips), strategy, batch)
    skip = initial_epoch * steps * batch  # resuming: the stream continues after the finished epochs
    train_data = training.distribute_clips(
        strategy, lambda: clip_dataset(config, "train", clip_length, skip=skip), batch)
    spec = getattr(train_data, "element_spec", None)
    spec_shape = getattr(spec[0] if isinstance(spec, tuple) else spec, "shape", None)
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
        elif recognition:
            model = training.build_recognizer(frame_shape, len(label_map), recognizer_architecture(config),
                                              context, future, seed=config["seed"])
        else:
            model = training.build_model(frame_shape, architecture(config), context, seed=config["seed"])
        compile_kwargs = {"prediction_weight": config["prediction_weight"]} if recognition else {}
        training.compile_model(model, config["learning_rate"], config["clip_norm"], jit, **compile_kwargs)

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
        sampling_decay=config["sampling_decay"], sampling_end_epoch=config.get("sampling_end_epoch"),
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
    if recognition:
        metadata.update(num_classes=len(label_map), classes=label_map,
                        observed_fraction=config["observed_fraction"], num_frames=config["num_frames"])
    if int(config["eval_sequences"]) and recognition:
        metadata["metrics"] = evaluate_recognizer(final, config, label_map, run.metrics_json, run.metrics_md,
                                                  run.prediction_gif, extra={"training_seconds": timer.seconds})
    elif int(config["eval_sequences"]):
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

    with training.replaced_directory(run.preset) as preset:  # a crash leaves the old preset, not half of one
        zoo.save_preset(final, preset, metadata=np_free(metadata), overwrite=True)
    print(f"preset: {run.preset}")
    return 0


def np_free(value):
    import json

    return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


if __name__ == "__main__":
    sys.exit(main())
