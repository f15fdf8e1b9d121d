"""The settings of a training run: recipes, defaults, resuming, and the checks made before anything starts.

A run's settings are a flat dict of flag values (stored under `flags` in its config.json): recipe defaults,
then the dataset's recipe defaults (its `RECIPES`), then the flags given. `resolve` builds it (reading
config.json when resuming) and `validate` checks it without starting TensorFlow; both raise `ConfigError`
naming the flag. The architecture is checked by the network itself when the run builds it
(`ctt_keras.training.architecture`).
"""

import os

from ctt_keras import argument_validation as av
from ctt_keras.pipelines import datasets
from ctt_keras.training import architecture

# Defaults of each recipe; flags given override them.
RECIPES = {
    "demo": dict(
        layers_per_block="1,1", hidden_channels="16,16", skip_stride="none", kernel_size=5, order=3, steps=3,
        rank=4, epochs=4, steps_per_epoch=40, validation_sequences=32, schedule="paper",
        lr_schedule="constant", patience=1, eval_sequences=256, eval_future="10",
    ),
    # The shipped small preset of --model (Moving-MNIST), fine-tuned briefly on its own closed loop, then
    # evaluated against black frames and the last context frame repeated: a working predictor in minutes.
    "quickstart": dict(
        preset="mmnist_{model}_small", epochs=1, steps_per_epoch=30, validation_sequences=32, schedule="closed",
        lr_schedule="constant", learning_rate=1e-4, clip_norm=3.0, patience=1, eval_sequences=256,
        eval_future="10", eval_baselines=True, convention="standard",
    ),
    "paper": dict(
        layers_per_block="3,3,3,3", hidden_channels="32,48,48,32", skip_stride="2", kernel_size=5, order=3,
        steps=3, rank=8, epochs=500, steps_per_epoch=1250, validation_sequences=3000, schedule="paper",
        lr_schedule="paper", patience=20, eval_sequences=10000, eval_future="10,30",
    ),
}
# Defaults of every run (the datasets' own options are added from their modules).
DEFAULTS = dict(
    recipe="demo", dataset="moving_mnist", data_dir=None, image_size=None, model="convttlstm", preset=None,
    weights=None, output_sigmoid=False, patch_size=1, sampling_end_epoch=None, backend=None,
    strategy="default", cpu_replicas=None, mixed_precision="auto",
    jit_compile="auto", batch_size=8, learning_rate=1e-3, clip_norm=None, context_frames=10, future_frames=10,
    sampling_decay=4e-3, min_delta=0.0, lr_decay=0.98, lr_decay_every=5, seed=0, logdir="runs", name=None,
    resume=False, convention="nvlabs", verbose="auto", prediction_weight=10.0,
    encoder_channels="32,64", classifier_channels="64,128", eval_baselines=False,
)
# Settings of one task only (the recognizer's loss weight).
TASK_ONLY = {"prediction_weight": "recognition"}
# Settings that may differ when resuming a run (everything else must match its config.json). A run may
# continue on another backend: its backup (weights, optimizer, schedule and generator states) is the same
# on every backend (docs/training.md, "Backends").
RESUME_MAY_CHANGE = {
    "epochs", "resume", "logdir", "name", "verbose", "eval_sequences", "eval_future", "convention",
    "eval_baselines", "backend",
}
# The allowed values of the numeric settings (the command line checks its flags against the same table).
RANGES = {
    "batch_size": av.POSITIVE_INT, "epochs": av.POSITIVE_INT, "steps_per_epoch": av.POSITIVE_INT,
    "context_frames": av.POSITIVE_INT, "future_frames": av.POSITIVE_INT, "image_size": av.POSITIVE_INT,
    "validation_sequences": av.NON_NEGATIVE_INT, "eval_sequences": av.NON_NEGATIVE_INT,
    "sampling_end_epoch": av.POSITIVE_INT, "cpu_replicas": av.POSITIVE_INT, "patience": av.POSITIVE_INT,
    "lr_decay_every": av.POSITIVE_INT, "seed": av.SEED,
    "learning_rate": av.POSITIVE_FLOAT, "clip_norm": av.POSITIVE_FLOAT, "min_delta": av.NON_NEGATIVE_FLOAT,
    "lr_decay": av.FACTOR, "sampling_decay": av.FACTOR, "prediction_weight": av.NON_NEGATIVE_FLOAT,
}


class ConfigError(ValueError):
    """A bad setting, found before anything was written; the message names the flag."""


def defaults():
    """`DEFAULTS` plus every dataset's own options (their defaults)."""
    return {**DEFAULTS, **{name: option.default for name, (_, option) in datasets.options().items()}}


def resolve(explicit):
    """The run's settings from the flags given (`explicit`: flag name -> value).

    Recipe defaults < the dataset's recipe defaults < `explicit`; `--resume` reads the stored run's settings
    (only `RESUME_MAY_CHANGE` may differ). Raises `ConfigError` naming the flag.
    """
    try:
        return _resolve(explicit)
    except ConfigError:
        raise
    except (ValueError, FileNotFoundError, ImportError) as error:  # ImportError: a dataset needs TensorFlow
        raise ConfigError(str(error)) from None


def _resolve(explicit):
    base = defaults()
    recipe = explicit.get("recipe", base["recipe"])
    dataset = explicit.get("dataset", base["dataset"])
    module = datasets.get(dataset)
    config = {**base, **RECIPES[recipe], **module.RECIPES.get(recipe, {}), **explicit}
    if "weights" in explicit and "preset" not in explicit:
        config["preset"] = None  # a recipe's starting preset gives way to the weights given
    if config.get("preset") and "{model}" in config["preset"]:
        config["preset"] = config["preset"].format(model=config["model"])
    config["name"] = config["name"] or f"{dataset}-{config['model']}-{recipe}"
    for key, why in module.DERIVED.items():
        if key in explicit:
            raise ConfigError(why)
    _check_applicable(explicit, dataset, module, base)
    config.update(module.derive(config))
    if config["resume"]:
        from ctt_keras.training.run_dir import RunDirectory

        stored = RunDirectory(os.path.join(config["logdir"], config["name"]))
        if not os.path.isfile(stored.config):
            raise ConfigError(f"--resume: no run at {stored.path} (no config.json); "
                              "give its --logdir and --name")
        previous = stored.read_config()["flags"]
        conflicts = {k: (previous.get(k), v) for k, v in explicit.items()
                     if k not in RESUME_MAY_CHANGE and previous.get(k) != v}
        if conflicts:
            raise ConfigError("--resume continues the stored run; these flags differ from its config.json: "
                              + ", ".join(f"{_flag(k)} {new!r} (run: {old!r})"
                                          for k, (old, new) in conflicts.items()))
        config = {**previous, **{k: v for k, v in explicit.items() if k in RESUME_MAY_CHANGE}}
        _check_resumable(stored, config)
    if not config.get("backend"):  # not given: the backend Keras runs on (KERAS_BACKEND)
        import keras

        config["backend"] = keras.backend.backend()
    validate(config)
    return config


# What keras.callbacks.BackupAndRestore (and a commit of it that a crash interrupted) leaves in backup/.
_BACKUP_METADATA = ("training_metadata.json", "training_metadata.json.pending")


def backed_up_epochs(backup):
    """The finished epochs a run's backup folder holds, read without changing it (None: no backup)."""
    import json

    epochs = None
    for name in _BACKUP_METADATA:
        path = os.path.join(backup, name)
        if not os.path.isfile(path):
            continue
        try:
            with open(path) as f:
                epoch = int(json.load(f)["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            if name.endswith(".pending"):
                continue  # an interrupted commit that resuming discards
            raise ConfigError(f"--resume: {path} is unreadable; the run cannot be continued from it") \
                from None
        epochs = epoch if epochs is None else max(epochs, epoch)
    return epochs


def _check_resumable(stored, config):
    """Refuses `--resume` of a run with nothing to continue: no backup, or every epoch already trained.

    Either would train from scratch or re-evaluate into the run's folder, replacing its best and last
    weights, preset and metrics, and appending a second epoch 0 to its history.
    """
    epochs = backed_up_epochs(stored.backup)
    if epochs is None:
        raise ConfigError(
            f"--resume: {stored.path} has no backup to continue from (no {stored.backup}/"
            f"{_BACKUP_METADATA[0]}: the run stopped before its first epoch ended, or its backup was "
            "removed); nothing was changed. Start a new run instead (without --resume)")
    if epochs >= int(config["epochs"]):
        raise ConfigError(
            f"--resume: {stored.path} has already trained its {epochs} epochs; nothing was changed. Give "
            f"--epochs N with N > {epochs} to train it further")


def _check_applicable(explicit, dataset, module, base):
    by_owner = {}
    for name, (owner, _) in datasets.options().items():
        if owner != dataset and name in explicit:
            by_owner.setdefault(owner, []).append(_flag(name))
    for name, task in TASK_ONLY.items():
        if module.TASK != task and name in explicit:
            owners = [n for n in datasets.names() if datasets.get(n).TASK == task]
            by_owner.setdefault(" or ".join(owners), []).append(_flag(name))
    foreign = architecture.foreign_flags(architecture.model_for_task(module.TASK), explicit, base)
    if foreign:
        verb = "does" if len(foreign) == 1 else "do"
        raise ConfigError(f"{', '.join(foreign)} {verb} not apply to --dataset {dataset} (its network, "
                          f"{architecture.model_for_task(module.TASK).__name__}, has no such part)")
    for owner, flags in by_owner.items():
        raise ConfigError(f"{', '.join(flags)} apply to --dataset {owner} only")


def splits_read(config):
    """The splits a training run reads before it trains: train, and validation when it validates."""
    return ("train",) + (("validation",) if int(config["validation_sequences"]) else ())


def validate(config):
    """Checks a run's settings before anything heavy happens; raises `ConfigError` naming the flag.

    The run's own settings here, the dataset's in its module's `validate`, the architecture's syntax here
    and its meaning in the network (when the run builds it).
    """
    try:
        _validate(config)
    except ConfigError:
        raise
    except (ValueError, FileNotFoundError) as error:
        raise ConfigError(str(error)) from None


def _validate(config):
    for name, value_range in RANGES.items():
        if config.get(name) is not None:
            value_range.check(_flag(name), config[name])
    if config.get("sampling_end_epoch") is not None and config["schedule"] != "linear":
        raise ValueError("--sampling-end-epoch applies to --schedule linear")
    from ctt_keras.training import backends

    import keras

    backends.check_strategy(config.get("backend") or keras.backend.backend(), config["strategy"],
                            config["cpu_replicas"])
    if config["cpu_replicas"] is not None:
        if config["batch_size"] % config["cpu_replicas"]:
            raise ValueError(f"--batch-size {config['batch_size']} (global) does not split over "
                             f"--cpu-replicas {config['cpu_replicas']}")
    _check_logdir(config)
    if config["preset"] and config["weights"]:
        raise ValueError("give --preset or --weights, not both")
    if config["weights"] and not os.path.isfile(os.path.join(config["weights"], "config.json")):
        raise FileNotFoundError(f"--weights {config['weights']}: not a preset folder (no config.json)")
    horizons(config)
    module = datasets.get(config["dataset"])
    architecture.from_flags(architecture.model_for_task(module.TASK), config)  # the flags' syntax
    module.validate(config, splits_read(config))


def _check_logdir(config):
    """The run folder can be made: the nearest existing part of its path is a writable folder."""
    logdir = config["logdir"]
    av.check_writable_folder("--logdir", logdir, os.path.join(logdir, config["name"] or ""))


def horizons(config):
    """The `--eval-future` horizons, as ints."""
    return datasets.parse_ints("--eval-future", config["eval_future"])


def _flag(name):
    return "--" + name.replace("_", "-")
