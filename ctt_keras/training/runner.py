"""Building, compiling, fitting and evaluating the networks (`VideoPredictor`, `EarlyActivityRecognizer`).

The pieces `tools/train.py`, `tools/evaluate.py` and `tools/predict.py` are made
of; a library user can call them directly with their own datasets (this module
never builds data: it receives datasets, arrays or callables that make them).
"""

import os
import time
import warnings

import keras
import numpy as np

from ctt_keras.models import EarlyActivityRecognizer, VideoPredictor
from ctt_keras.training import architecture
from ctt_keras.training import callbacks as callbacks_lib
from ctt_keras.training import images
from ctt_keras.training import progress as progress_lib
from ctt_keras.training import run_dir
from ctt_keras.training import schedules

# Derived from the models' constructors (`architecture.architecture_keys`), never listed by hand.
ARCHITECTURE_KEYS = architecture.architecture_keys(VideoPredictor)
# The recognizer's own parts around the stack (besides ARCHITECTURE_KEYS; `num_classes` comes from the data).
RECOGNIZER_KEYS = tuple(k for k in architecture.architecture_keys(EarlyActivityRecognizer)
                        if k not in ARCHITECTURE_KEYS)
SCHEDULE_CHOICES = ("paper", "linear", "closed", "none")
LR_SCHEDULE_CHOICES = ("paper", "cosine", "constant")
_LPIPS_MIN_SIDE = 32


def build_model(frame_shape, architecture, context_frames=10, seed=None):
    """A fresh `VideoPredictor` under the current dtype policy (call inside `strategy.scope()`).

    Args:
        frame_shape: `(height, width, channels)`.
        architecture: Dict with some of `ARCHITECTURE_KEYS` (the rest take the model's defaults).
        context_frames: Context length used by `fit`/`evaluate`.
        seed: Seed of the scheduled-sampling coins.
    """
    _check_keys(VideoPredictor, architecture)
    return VideoPredictor(tuple(frame_shape), context_frames=context_frames, seed=seed, **architecture)


def build_recognizer(frame_shape, num_classes, architecture, context_frames=10, future_frames=10, seed=None):
    """A fresh `EarlyActivityRecognizer` under the current dtype policy (call inside `strategy.scope()`).

    Args:
        frame_shape: `(height, width, channels)`.
        num_classes: Number of activity classes.
        architecture: Dict with some of the recognizer's architecture keys
            (`architecture.architecture_keys(EarlyActivityRecognizer)`).
        context_frames: Frames observed.
        future_frames: Frames imagined before classifying.
        seed: Seed of the scheduled-sampling coins.
    """
    _check_keys(EarlyActivityRecognizer, architecture)
    return EarlyActivityRecognizer(
        tuple(frame_shape), num_classes=num_classes, context_frames=context_frames, future_frames=future_frames,
        seed=seed, **architecture,
    )


def _check_keys(model_class, given):
    keys = architecture.architecture_keys(model_class)
    unknown = sorted(set(given) - set(keys))
    if unknown:
        raise ValueError(f"unknown architecture keys {unknown} for {model_class.__name__}; "
                         f"expected some of {keys}.")


def architecture_of(model):
    """The architecture part of a model's config (its constructor's architecture keys, plus `num_classes` for
    a recognizer); see `architecture.architecture_of`."""
    return architecture.architecture_of(model)


def rebuild_with_policy(model, context_frames=None, seed=None):
    """A copy of `model` (same config and weights) under the current global dtype policy.

    Presets are saved in float32; training them in mixed precision needs the
    layers rebuilt under the mixed policy.
    """
    config = model.get_config()
    config.pop("dtype", None)
    if context_frames is not None:
        config["context_frames"] = context_frames
    if seed is not None:
        config["seed"] = seed
    clone = type(model).from_config(config)
    clone.set_weights([np.asarray(keras.ops.convert_to_numpy(w)) for w in model.weights])
    return clone


def compile_model(model, learning_rate=1e-3, clip_norm=None, jit_compile=False, **compile_kwargs):
    """Compiles with Adam (the paper's optimiser), optional gradient-norm clipping and the model's default loss.

    `compile_kwargs` go to the model's `compile` (e.g. `prediction_weight` for a recognizer).
    """
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, global_clipnorm=clip_norm)
    model.compile(optimizer=optimizer, jit_compile=jit_compile, **compile_kwargs)
    return model


def make_schedule(
    name="paper", lr_schedule="paper", epochs=1, learning_rate=1e-3, state_path=None, sampling_end_epoch=None,
    **paper_kwargs
):
    """The sampling/learning-rate callbacks of a run.

    Args:
        name: Scheduled sampling: `"paper"` (plateau-triggered decay, which also
            drives the learning rate when `lr_schedule="paper"`), `"linear"`
            (1 -> 0 over the run, or until `sampling_end_epoch`), `"closed"`
            (ratio 0 throughout: every step after the context reads the network's
            own prediction, as at test time; for fine-tuning a trained network) or
            `"none"` (teacher forcing throughout).
        lr_schedule: `"paper"` (decay after the second plateau; needs
            `name="paper"`), `"cosine"` (over `epochs`) or `"constant"`.
        epochs: Length of the run (linear and cosine schedules).
        learning_rate: Initial learning rate (cosine).
        state_path: JSON file for the paper schedule's counters.
        sampling_end_epoch: Epoch at which the linear schedule reaches 0 (fully
            closed loop for the rest of the run); `None` means `epochs`.
        **paper_kwargs: `PaperSchedule` arguments (patience, sampling_decay, ...);
            ignored by the other schedules.

    Returns:
        A list of callbacks; put them before logging callbacks (they add
        `sampling_ratio` and `learning_rate` to the epoch logs).
    """
    if name not in SCHEDULE_CHOICES:
        raise ValueError(f"schedule must be one of {SCHEDULE_CHOICES}, got {name!r}.")
    if lr_schedule not in LR_SCHEDULE_CHOICES:
        raise ValueError(f"lr schedule must be one of {LR_SCHEDULE_CHOICES}, got {lr_schedule!r}.")
    if lr_schedule == "paper" and name != "paper":
        raise ValueError(
            "the paper's learning-rate schedule follows its sampling schedule: use schedule 'paper'."
        )
    result = []
    if name == "paper":
        if lr_schedule != "paper":
            paper_kwargs["lr_decay"] = 1.0
        result.append(schedules.PaperSchedule(state_path=state_path, **paper_kwargs))
    elif name == "linear":
        end = epochs if sampling_end_epoch is None else sampling_end_epoch
        result.append(schedules.LinearSamplingDecay(0, max(int(end), 1)))
    elif name == "closed":
        result.append(schedules.LinearSamplingDecay(0, 1, start=0.0, end=0.0))
    if lr_schedule == "cosine":
        result.append(schedules.CosineLearningRate(learning_rate, max(epochs, 1)))
    if not result:
        result.append(schedules.ScheduleLogger())
    return result


def backup_dir(run, task_index=0, is_chief=True):
    """Where a worker keeps its `BackupAndRestore` state.

    The chief: `run.backup`. Other workers: a scratch folder beside the run,
    `<run>.workers/worker-<task_index>/backup`, so that they never write into
    the run folder (which the chief creates).
    """
    if is_chief:
        return run.backup
    return os.path.join(run.path + ".workers", f"worker-{task_index}", "backup")


def training_callbacks(run, schedule_callbacks, validation_clips=None, context_frames=10, is_chief=True,
                       monitor="val_loss", task_index=0, tensorboard=True):
    """The callbacks of a training run, in the order they must run.

    Schedules first (they set the ratio/LR and add them to the logs), then `StopOnNaN`,
    `SeedStateBackup`, best/last checkpoints, `EpochHistory`, `TensorBoard`, `PredictionImages`,
    and last `RunBackup`, whose commit ends the epoch (so a crash anywhere leaves a resumable
    run: docs/reliability.md). Workers other than the chief write
    their backups under `run.path/workers/worker-<task_index>` (`backup_dir`) and no logs.

    Args:
        run: A `RunDirectory`.
        schedule_callbacks: From `make_schedule`.
        validation_clips: Fixed clips for the prediction images, or None.
        context_frames: Context length of those images.
        is_chief: Whether this process writes the run's files.
        monitor: Quantity the best checkpoint watches.
        task_index: This worker's index (multi-worker runs).
        tensorboard: Write TensorBoard logs (they need TensorFlow installed, whatever the backend).

    Returns:
        `(callbacks, stop_on_nan)`.
    """
    stop_on_nan = callbacks_lib.StopOnNaN()
    backup = backup_dir(run, task_index, is_chief)
    os.makedirs(backup, exist_ok=True)
    seed_state = run.seed_state if is_chief else os.path.join(backup, "seed_state.json")
    result = list(schedule_callbacks) + [stop_on_nan, callbacks_lib.SeedStateBackup(seed_state)]
    if is_chief:
        result += [
            callbacks_lib.WeightsCheckpoint(run.best_weights, monitor=monitor, state_path=run.best_state),
            callbacks_lib.WeightsCheckpoint(run.last_weights),
            callbacks_lib.EpochHistory(run.history),
        ]
        if tensorboard:
            result.append(keras.callbacks.TensorBoard(run.tensorboard, write_graph=False, update_freq="epoch"))
        if validation_clips is not None:
            result.append(
                callbacks_lib.PredictionImages(
                    validation_clips, context_frames, log_dir=run.tensorboard if tensorboard else None,
                    gif_path=os.path.join(run.path, "latest_validation.gif"),
                )
            )
    # Last: its atomic commit ends the epoch (callbacks_lib.RunBackup; docs/reliability.md).
    result.append(callbacks_lib.RunBackup(backup))
    return result, stop_on_nan


def backup_epoch(backup_dir):
    """The epoch a `BackupAndRestore` folder resumes at (0 when there is no backup)."""
    return callbacks_lib.recover_backup(backup_dir)


def predict_clips(model, clips, context_frames, future_frames, batch_size=16, jit_compile=False,
                  progress=False):
    """Closed-loop predictions for clips `[N, T, H, W, C]` (or an iterable of batches).

    Args:
        model: A `VideoPredictor`.
        clips: NumPy array `[N, T, ...]` with `T >= context_frames`, or an iterable
            of such batches; frames after the context (up to `future_frames`) are the truth.
        context_frames, future_frames: Frames read / predicted.
        batch_size: Clips per prediction batch (arrays only).
        jit_compile: Compile the rollout with XLA (TensorFlow; JAX always compiles it with `jax.jit`).
        progress: Show a `keras.utils.Progbar` (clips predicted).

    Returns:
        `(context, truth, prediction)` NumPy arrays `[N, Tc, ...]`, `[N, <= Tf, ...]` (the
        frames the clips hold), `[N, Tf, ...]` (predictions unclamped, float32).
    """
    from ctt_keras.training import backends

    rollout = backends.rollout_function(model, future_frames, jit_compile=jit_compile)
    if isinstance(clips, np.ndarray):
        batches = (clips[i : i + batch_size] for i in range(0, len(clips), batch_size))
    else:
        batches = clips
    bar = progress_lib.progbar(len(clips) if isinstance(clips, np.ndarray) else None) if progress else None
    contexts, truths, predictions = [], [], []
    for batch in batches:
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 5 or batch.shape[1] < context_frames:
            raise ValueError(
                f"clips must be [N, T, H, W, C] with T >= context_frames={context_frames}, got {batch.shape}."
            )
        context = batch[:, :context_frames]
        contexts.append(context)
        truths.append(batch[:, context_frames : context_frames + future_frames])
        predictions.append(rollout(context))
        if bar is not None:
            bar.add(len(batch))
    if not contexts:
        raise ValueError("no clip to predict: the dataset is empty.")
    if bar is not None:
        progress_lib.finish(bar, sum(len(c) for c in contexts))
    return np.concatenate(contexts), np.concatenate(truths), np.concatenate(predictions)


def evaluate_horizons(model, clips, context_frames, horizons, convention="nvlabs", metrics=None,
                      batch_size=16, jit_compile=False, progress=False):
    """Per-frame metric curves for several prediction horizons from one rollout.

    The rollout is causal, so the first `f` frames of the longest rollout are the
    `f`-frame prediction; each horizon is evaluated on them.

    Args:
        model: A `VideoPredictor`.
        clips: `[N, T, ...]` clips with `T >= context_frames + max(horizons)` (array or batches).
        context_frames: Context length.
        horizons: Future lengths, e.g. `(10, 30)`.
        convention: `ctt_keras.metrics` convention name.
        metrics: Metric names (default: all of `ctt_keras.metrics.evaluation.METRIC_NAMES`).
        batch_size, jit_compile: Of the rollout.
        progress: Show a progress bar while predicting.

    Returns:
        `(results, (context, truth, prediction))`: `results` maps `"{c}->{f}"` to an
        `ctt_keras.metrics.evaluate` result; the arrays are those of the longest horizon.
    """
    from ctt_keras import metrics as metrics_lib
    from ctt_keras.metrics import evaluation

    horizons = sorted({int(h) for h in horizons})
    if not horizons or horizons[0] < 1:
        raise ValueError(f"horizons must be positive ints, got {horizons!r}.")
    context, truth, prediction = predict_clips(
        model, clips, context_frames, horizons[-1], batch_size=batch_size, jit_compile=jit_compile,
        progress=progress,
    )
    if truth.shape[1] < horizons[-1]:
        raise ValueError(
            f"clips hold {truth.shape[1]} frames after the {context_frames} context frames; horizon "
            f"{horizons[-1]} needs {horizons[-1]}."
        )
    metrics = tuple(metrics or evaluation.METRIC_NAMES)
    if "lpips" in metrics and (context.shape[-1] not in (1, 3) or min(context.shape[2:4]) < _LPIPS_MIN_SIDE):
        warnings.warn(
            f"LPIPS skipped: frames {context.shape[2:]} are not 1- or 3-channel images of at least "
            f"{_LPIPS_MIN_SIDE}x{_LPIPS_MIN_SIDE} pixels (AlexNet's smallest input)."
        )
        metrics = tuple(m for m in metrics if m != "lpips")
    results = {}
    for horizon in horizons:
        results[f"{context_frames}->{horizon}"] = metrics_lib.evaluate(
            prediction[:, :horizon], truth[:, :horizon], convention=convention, metrics=metrics,
            batch_size=batch_size,
        )
    return results, (context, truth, prediction)


def results_to_json(results):
    """`evaluate_horizons` results as plain JSON data (curves as lists)."""
    out = {}
    for label, result in results.items():
        out[label] = {
            key: ({k: np.asarray(v).tolist() for k, v in value.items()} if key == "curves" else value)
            for key, value in result.items()
        }
    return out


def write_evaluation(results, json_path=None, markdown_path=None, png_path=None, extra=None):
    """Writes evaluation results as JSON, a Markdown table and a PNG of the curves; returns the table."""
    from ctt_keras.metrics import markdown_table

    table = markdown_table(results)
    if json_path:  # atomic: a crash leaves the previous file, never a truncated one
        run_dir.write_json(json_path, {"results": results_to_json(results), **(extra or {})})
    if markdown_path:
        run_dir.write_atomic(markdown_path, table + "\n")
    if png_path:
        curves = {}
        for label, result in results.items():
            for name, curve in result["curves"].items():
                curves.setdefault(name, {})[label] = curve
        conventions = sorted({r["convention"] for r in results.values()})
        images.plot_curves(png_path, curves, title=f"per-frame metrics ({', '.join(conventions)} convention)")
    return table


def write_prediction_gif(path, context, truth, prediction, max_samples=4, scale=2):
    """GIF of up to `max_samples` samples: truth (or context) | prediction, over time."""
    frames = images.prediction_gif_frames(context, truth, prediction, max_samples=max_samples)
    images.write_gif(path, frames, scale=scale)


class Timer:
    """Wall-clock timer for reports: `with Timer() as t: ...; t.seconds`."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.seconds = None
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False
