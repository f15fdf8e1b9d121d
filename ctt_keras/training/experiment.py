"""A whole training run from its settings: data, network, fit, evaluation and preset (any Keras backend).

`train(config)` is what `ctt-train` / `tools/train.py` run after parsing flags (`run_config.resolve`): it
sets up devices and precision, reads the dataset through `ctt_keras.pipelines.datasets`, builds the network
its task needs, trains it with the paper's schedules, resumably, in a run folder (`RunDirectory`), evaluates
the best checkpoint and saves it as a preset. A library user can call it with a dict of settings.

`config["backend"]` must be the backend Keras runs on in this process (`ctt-train --backend` starts the
process with it); what differs per backend (strategies, data, compiled rollouts) is in
`ctt_keras.training.backends`.
"""

import json
import os
import shutil

from ctt_keras.training import architecture, data, evaluation, run_config


class SetupError(ValueError):
    """A run failed before training started (bad data, shapes or presets): nothing of it was written."""


def train(config, command="ctt-train", program="ctt-train", log=None):
    """Runs the training described by `config` (settings from `run_config.resolve`).

    Args:
        config: The run's settings (flag name -> value), as stored under `flags` in its config.json.
        command: The command line recorded in config.json and the preset's metadata.
        program: The program named in the preset's description.
        log: Where progress messages go (default: printed and flushed).

    Returns:
        The `RunDirectory` of the run.

    Raises:
        run_config.ConfigError: A flag the network refuses (its message names the flag); nothing written.
        SetupError: Bad data, shapes or presets, found before anything was written.
        ctt_keras.training.NonFiniteLossError: The loss diverged (the last epoch's backup is kept).
    """
    from ctt_keras import training
    from ctt_keras.training import backends, determinism

    log = log or _print
    try:  # CTT_KERAS_DETERMINISTIC=1: bit-reproducible across processes (training/determinism.py)
        determinism.enable_if_requested(log)
    except ValueError as error:  # a bad value of the variable: a message, not a traceback
        raise run_config.ConfigError(str(error)) from None
    import keras

    config = {**config, "backend": config.get("backend") or keras.backend.backend()}
    backend = config["backend"]
    # Logical CPU devices must exist before TensorFlow initialises its devices.
    if config["cpu_replicas"] and backend == "tensorflow":
        training.configure_cpu_replicas(config["cpu_replicas"])

    # The strategy next: MultiWorkerMirroredStrategy must configure collectives before any TensorFlow op.
    try:
        strategy = backends.make_distribution(backend, config["strategy"], config["cpu_replicas"])
    except (RuntimeError, ValueError) as error:
        raise run_config.ConfigError(str(error)) from None
    if not isinstance(strategy, backends.KerasDistribution):
        return _train(config, strategy, command, program, log)
    strategy.activate()  # JAX's DataParallel splits every batch of `fit` over the devices
    try:
        return _train(config, strategy, command, program, log)
    finally:
        strategy.deactivate()


def _train(config, strategy, command, program, log):
    import keras

    from ctt_keras import training

    keras.utils.set_random_seed(config["seed"])
    policy = training.resolve_mixed_precision(config["mixed_precision"])
    jit = training.resolve_jit_compile(config["jit_compile"])
    task_index, num_workers, is_chief = (training.worker_info(strategy) if _backend(config) == "tensorflow"
                                         else (0, 1, True))
    previous_policy = keras.mixed_precision.global_policy()
    try:
        setup = _set_up(config, strategy, policy, jit, task_index, is_chief)
        run, callbacks, resolved = _prepare_run(config, setup, strategy, policy, jit, num_workers, task_index,
                                                is_chief, command, log)
    except BaseException as error:
        # A run that never started leaves the process as it found it (the network is built under `policy`).
        keras.mixed_precision.set_global_policy(previous_policy)
        if isinstance(error, (ValueError, OSError, ImportError)) and not isinstance(
                error, (run_config.ConfigError, SetupError)):
            raise SetupError(str(error)) from None
        raise
    model, frame_shape, classes = setup["model"], setup["frame_shape"], setup["classes"]
    context, batch = int(config["context_frames"]), int(config["batch_size"])
    validating = setup["validation"] is not None
    verbose = {"auto": "auto", "0": 0, "1": 1, "2": 2}[config["verbose"]]
    with training.runner.Timer() as timer:
        model.fit(setup["train"], epochs=config["epochs"], steps_per_epoch=int(config["steps_per_epoch"]),
                  validation_data=setup["validation"], shuffle=False, callbacks=callbacks,
                  verbose=verbose if is_chief else 0)
    log(f"training: {timer.seconds:.1f} s")
    if not is_chief:
        return run

    # The preset is float32 (portable), from the best checkpoint when there is one.
    keras.mixed_precision.set_global_policy("float32")
    final = training.rebuild_with_policy(model)
    if validating and os.path.isfile(run.best_weights):
        final.load_weights(run.best_weights)
    module = data.dataset_module(config)
    metadata = {
        "name": config["name"], "dataset": config["dataset"], "frame_shape": list(frame_shape),
        "context_frames": context, "future_frames": int(config["future_frames"]), "training_command": command,
        "training_config": resolved, "description": f"trained by {program}",
        **module.metadata(config),
    }
    progress = config["verbose"] != "0"
    if int(config["eval_sequences"]) and classes is not None:
        table, metadata["metrics"] = evaluation.evaluate_recognizer(
            final, config, classes, evaluation.output_paths(run.path, ("json", "markdown", "gif")),
            batch_size=batch, extra={"training_seconds": timer.seconds}, progress=progress)
        log(table)
        log(f"wrote {run.metrics_md}, {run.prediction_gif}")
    elif int(config["eval_sequences"]):
        results, table, count = evaluation.evaluate_predictor(
            final, config, "test", context, run_config.horizons(config), int(config["eval_sequences"]),
            evaluation.output_paths(run.path), convention=config["convention"], batch_size=batch,
            extra={"training_seconds": timer.seconds}, progress=progress,
            baselines=bool(config.get("eval_baselines")), name=config["name"])
        if _tensorboard(config):
            training.log_curves(run.tensorboard, results)
        metadata["metrics"] = evaluation.predictor_summary(results, "test", count, config["convention"])
        log(table)
        log(f"wrote {run.metrics_md}, {run.curves_png}, {run.prediction_gif}")
    from ctt_keras import zoo

    with training.replaced_directory(run.preset) as preset:  # a crash leaves the old preset, not half of one
        zoo.save_preset(final, preset, metadata=_json_safe(metadata), overwrite=True)
    log(f"preset: {run.preset}")
    return run


def _prepare_run(config, setup, strategy, policy, jit, num_workers, task_index, is_chief, command, log):
    """Writes config.json and makes the schedule and callbacks; returns `(run, callbacks, resolved)`."""
    import keras

    from ctt_keras import training

    from ctt_keras.training import backends

    model, run, backup = setup["model"], setup["run"], setup["backup"]
    strategy_name = backends.strategy_name(strategy)
    replicas = strategy.num_replicas_in_sync
    resolved = {
        "flags": config, "backend": keras.backend.backend(), "policy": policy, "jit_compile": jit, "strategy": strategy_name,
        "replicas": replicas, "workers": num_workers, "frame_shape": list(setup["frame_shape"]),
        "architecture": training.architecture_of(model), "parameters": model.count_params(),
        "keras": keras.__version__, "command": command,
    }
    if is_chief:
        run.write_config(resolved)
    initial_epoch = setup["initial_epoch"]
    log(f"run {run.path}: {resolved['architecture']['cell']} {resolved['parameters']:,} parameters, "
        f"backend {resolved['backend']}, policy {policy}, XLA {'on' if jit else 'off'}, "
        f"{strategy_name} x{replicas}, "
        f"global batch {config['batch_size']}"
        + (f", resuming at epoch {initial_epoch + 1}" if initial_epoch else ""))

    # Every worker keeps the schedule's counters (its decisions follow the globally reduced val_loss).
    schedule_state = (run.schedule_state if is_chief
                      else os.path.join(os.path.dirname(backup), "schedule_state.json"))
    schedule = training.make_schedule(
        config["schedule"], config["lr_schedule"], epochs=config["epochs"],
        learning_rate=config["learning_rate"], state_path=schedule_state, patience=config["patience"],
        sampling_decay=config["sampling_decay"], sampling_end_epoch=config.get("sampling_end_epoch"),
        min_delta=config["min_delta"], lr_decay=config["lr_decay"], lr_decay_every=config["lr_decay_every"],
    )
    callbacks, _ = training.training_callbacks(
        run, schedule, validation_clips=setup["preview"], context_frames=int(config["context_frames"]),
        is_chief=is_chief, monitor="val_loss" if setup["validation"] is not None else "loss",
        task_index=task_index, tensorboard=_tensorboard(config))
    if is_chief and not _tensorboard(config):
        log("no TensorBoard logs: they need TensorFlow installed (history.csv and the GIFs are written)")
    return run, callbacks, resolved


def _set_up(config, strategy, policy, jit, task_index, is_chief):
    """Data, starting weights and the network, checked before anything is written; then the run folder."""
    import keras

    from ctt_keras import training

    context, future = int(config["context_frames"]), int(config["future_frames"])
    clip_length = context + future
    batch = int(config["batch_size"])
    replicas = strategy.num_replicas_in_sync
    if batch % replicas:
        raise ValueError(f"--batch-size {batch} (global) does not split over {replicas} replicas")
    module = data.dataset_module(config)
    if _backend(config) != "tensorflow" and data.py_dataset_of(config, "train", clip_length, batch) is None:
        from ctt_keras import devices

        # Only tf.data reads these settings: say so before reading anything.
        devices.require_tensorflow(
            f"--dataset {config['dataset']}{' with --data-dir' if config.get('data_dir') else ''} on "
            f"--backend {_backend(config)} (read by tf.data)",
            "generated Moving-MNIST (--dataset moving_mnist without --data-dir)")
    backup = training.backup_dir(training.RunDirectory(os.path.join(config["logdir"], config["name"])),
                                 task_index, is_chief)
    initial_epoch = training.backup_epoch(backup) if config["resume"] else 0
    steps = int(config["steps_per_epoch"])
    # Starting weights, network, then data: a bad flag, preset or input fails here, before anything is written.
    start = evaluation.load_model(preset=config["preset"], weights=config["weights"])
    if start is not None:
        evaluation.check_model_for(start, config["dataset"])
        frame_shape = tuple(start.frame_shape)
    else:
        frame_shape = tuple(module.frame_shape(config))
    num_classes = module.num_classes(config) if module.TASK == "recognition" else None
    keras.mixed_precision.set_global_policy(policy)
    with strategy.scope():
        model = _build(config, start, frame_shape, num_classes, jit)
    classes = module.classes(config) if module.TASK == "recognition" else None
    if start is not None and classes is not None:
        evaluation.check_model_for(start, config["dataset"], classes)

    val_count = (int(config["validation_sequences"]) // batch) * batch
    skip = initial_epoch * steps * batch  # resuming: the stream continues after the finished epochs
    if _backend(config) == "tensorflow":
        validation, preview, train_data = _tf_data(config, strategy, clip_length, batch, val_count, skip,
                                                   classes)
    else:
        validation, preview, train_data = _any_backend_data(config, clip_length, batch, val_count, skip,
                                                            classes)
    train_shape = _frame_shape_of(train_data)
    preview_shape = preview.shape[2:] if preview is not None else None
    for what, shape in (("validation", preview_shape), ("train", train_shape)):
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
    return {"model": model, "run": run, "backup": backup, "frame_shape": frame_shape, "classes": classes,
            "validation": validation, "preview": preview, "train": train_data, "initial_epoch": initial_epoch}


def _tf_data(config, strategy, clip_length, batch, val_count, skip, classes):
    """`(validation, preview clips, train)` as tf.data datasets distributed by the `tf.distribute` strategy."""
    import tensorflow as tf

    from ctt_keras import training

    validation = preview = None
    if val_count and classes is not None:
        # Streamed (a few thousand RGB clips do not fit in memory); the first clips preview the predictions.
        val_stream = data.clip_dataset(config, "validation", clip_length, num_sequences=val_count)
        preview = next(iter(val_stream.batch(4)))[0].numpy()
        validation = training.batch_for_strategy(val_stream, strategy, batch)
    elif val_count:
        val_clips = data.fixed_clips(config, "validation", clip_length, val_count)
        preview = val_clips[:4]
        validation = training.batch_for_strategy(tf.data.Dataset.from_tensor_slices(val_clips), strategy,
                                                 batch)
    train_data = training.distribute_clips(
        strategy, lambda: data.clip_dataset(config, "train", clip_length, skip=skip), batch)
    return validation, preview, train_data


def _any_backend_data(config, clip_length, batch, val_count, skip, classes):
    """`(validation, preview clips, train)` for JAX and PyTorch: the dataset's `PyDataset` (or tf.data).

    The same clips, batches and order as `_tf_data` on one device; Keras' distribution (JAX) splits each
    global batch over the devices.
    """
    import numpy as np

    validation = preview = None
    if val_count:
        validation = data.batches(config, "validation", clip_length, batch, num_sequences=val_count)
        first = validation[0] if hasattr(validation, "num_batches") else next(iter(validation))
        first = first[0] if isinstance(first, tuple) else first
        preview = np.asarray(first)[:4]
    train_data = data.batches(config, "train", clip_length, batch, skip=skip)
    return validation, preview, train_data


def _frame_shape_of(train_data):
    """The frame shape of a train dataset's clips (from a tf.data spec or a PyDataset's first batch)."""
    if hasattr(train_data, "num_batches") and hasattr(train_data, "__getitem__"):
        import numpy as np

        return tuple(np.shape(train_data[0])[2:])
    spec = getattr(train_data, "element_spec", None)
    spec_shape = getattr(spec[0] if isinstance(spec, tuple) else spec, "shape", None)
    return tuple(spec_shape[2:]) if spec_shape is not None else None


def _backend(config):
    return config["backend"]


def _tensorboard(config):
    """Whether the run writes TensorBoard logs (they need TensorFlow; JAX/PyTorch runs write them when it is
    installed)."""
    from ctt_keras.training import backends

    return _backend(config) == "tensorflow" or backends.tensorflow_installed()


def _build(config, start, frame_shape, num_classes, jit):
    """The network (from `start`, or fresh from the flags), compiled; its own checks name the flags."""
    from ctt_keras import training

    module = data.dataset_module(config)
    model_class = architecture.model_for_task(module.TASK)
    flags = architecture.from_flags(model_class, config)
    keys = set(architecture.architecture_keys(model_class)) | {"context_frames", "future_frames",
                                                               "prediction_weight"}
    replacements = {}
    if start is None and config.get("image_size") and tuple(frame_shape[:2]) == (config["image_size"],) * 2:
        replacements[f"`frame_shape` {tuple(frame_shape)}"] = f"--image-size {config['image_size']}"
    try:
        if start is not None:
            model = training.rebuild_with_policy(start, context_frames=int(config["context_frames"]),
                                                 seed=config["seed"])
        elif num_classes is not None:
            model = training.build_recognizer(frame_shape, num_classes, flags, int(config["context_frames"]),
                                              int(config["future_frames"]), seed=config["seed"])
        else:
            model = training.build_model(frame_shape, flags, int(config["context_frames"]),
                                         seed=config["seed"])
        compile_kwargs = {"prediction_weight": config["prediction_weight"]} if num_classes is not None else {}
        training.compile_model(model, config["learning_rate"], config["clip_norm"], jit, **compile_kwargs)
    except ValueError as error:
        raise run_config.ConfigError(architecture.flag_message(str(error), keys, replacements)) from None
    return model


def _print(message):
    print(message, flush=True)


def _json_safe(value):
    return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))
