"""Training callbacks: NaN stop with a clear message, prediction images/GIFs in TensorBoard, and the
crash-consistent run files (checkpoints, per-epoch seed states, a history without duplicate epochs; the
atomic backup itself is `run_backup.RunBackup`, re-exported here)."""

import os

import keras
import numpy as np

from ctt_keras.training import images
from ctt_keras.training.run_backup import RunBackup, recover_backup  # noqa: F401 (the run's callbacks)


class NonFiniteLossError(RuntimeError):
    """Raised by `StopOnNaN` at the first NaN or infinite loss; the message names the epoch and step."""


@keras.saving.register_keras_serializable(package="ctt_keras")
class StopOnNaN(keras.callbacks.Callback):
    """Stops training at the first non-finite loss, naming the epoch and step.

    Like `keras.callbacks.TerminateOnNaN`, but it raises `NonFiniteLossError`
    instead of finishing the epoch: `TerminateOnNaN` lets the epoch end, so
    `BackupAndRestore` and `ModelCheckpoint` would save the diverged weights
    and a resumed run would start from them. Raising keeps the last finished
    epoch's backup, and the message (also kept in `message`) says where the
    loss diverged and what to try.
    """

    def __init__(self, monitor="loss"):
        super().__init__()
        self.monitor = monitor
        self.message = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or np.isfinite(float(value)):
            return
        self.message = (
            f"{self.monitor} is {float(value)} at epoch {self._epoch + 1}, step {batch + 1} "
            f"(global step {self._epoch * (self.params.get('steps') or 0) + batch + 1}); training stopped. "
            "Try a lower --learning-rate, --clip-norm 3.0, or --mixed-precision off."
        )
        self.model.stop_training = True
        raise NonFiniteLossError(self.message)

    def get_config(self):
        return {"monitor": self.monitor}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="ctt_keras")
class PredictionImages(keras.callbacks.Callback):
    """Each epoch, predicts a fixed batch and logs context | truth | prediction to TensorBoard.

    Writes two images under `predictions/`: `strip` (one PNG per sample: rows of
    context, truth and prediction frames, via `tf.summary.image`) and `gif` (an
    animated GIF, truth | prediction side by side over time, written as encoded
    GIF bytes in an image summary, which TensorBoard's image dashboard shows
    animated). With `gif_path`, the latest GIF is also written to that file.

    Args:
        clips: Fixed clips `[B, T, H, W, C]` (a NumPy array), e.g. the first validation batch.
        context_frames: Frames read before predicting.
        log_dir: TensorBoard folder (an `images` sub-folder is used), or None.
        gif_path: File for the latest GIF, or None.
        every: Epochs between two logs.
    """

    def __init__(self, clips, context_frames, log_dir=None, gif_path=None, every=1):
        super().__init__()
        self.clips = np.asarray(clips, dtype=np.float32)
        if self.clips.ndim != 5 or self.clips.shape[1] <= context_frames:
            raise ValueError(
                f"clips must be [B, T, H, W, C] with T > context_frames={context_frames}, "
                f"got {self.clips.shape}."
            )
        self.context_frames = int(context_frames)
        self.log_dir = log_dir
        self.gif_path = gif_path
        self.every = int(every)
        self._writer = None

    def predict(self):
        """`(context, truth, prediction)` for the fixed clips under the current weights."""
        context = self.clips[:, : self.context_frames]
        truth = self.clips[:, self.context_frames :]
        prediction = self.model.predict_frames(context, truth.shape[1])
        return context, truth, keras.ops.convert_to_numpy(prediction)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        context, truth, prediction = self.predict()
        gif_frames = images.prediction_gif_frames(context, truth, prediction)
        if self.gif_path:
            images.write_gif(self.gif_path, gif_frames, scale=2)
        if self.log_dir:
            self.write_summaries(epoch, images.comparison_strip(context, truth, prediction), gif_frames)

    def write_summaries(self, step, strips, gif_frames):
        import tensorflow as tf
        from tensorboard.plugins.image import metadata as image_metadata

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "images"))
        gif = images.gif_bytes(gif_frames, scale=2)
        height, width = gif_frames.shape[1] * 2, gif_frames.shape[2] * 2
        with self._writer.as_default():
            tf.summary.image("predictions/strip", strips, step=step, max_outputs=len(strips))
            tf.summary.write(
                "predictions/gif",
                tf.constant([str(width), str(height), gif]),
                step=step,
                metadata=image_metadata.create_summary_metadata(
                    display_name="predictions/gif",
                    description="truth | prediction over time (animated GIF)",
                ),
            )
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def get_config(self):
        return {
            "clips": self.clips.tolist(),
            "context_frames": self.context_frames,
            "log_dir": self.log_dir,
            "gif_path": self.gif_path,
            "every": self.every,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def log_curves(log_dir, results, prefix="test"):
    """Writes per-frame metric curves to TensorBoard: one scalar per future frame (step = frame index).

    Args:
        log_dir: TensorBoard folder (a `curves` sub-folder is used).
        results: `{label: ctt_keras.metrics.evaluate(...) result}`.
    """
    import tensorflow as tf

    writer = tf.summary.create_file_writer(os.path.join(log_dir, "curves"))
    with writer.as_default():
        for label, result in results.items():
            for name, curve in result["curves"].items():
                for t, value in enumerate(np.asarray(curve)):
                    tf.summary.scalar(f"{prefix}/{label}/{name}_per_frame", float(value), step=t + 1)
    writer.close()


@keras.saving.register_keras_serializable(package="ctt_keras")
class SeedStateBackup(keras.callbacks.Callback):
    """Saves and restores the model's random-generator states per epoch, for exact resumption.

    Keras' weight files (hence `BackupAndRestore`) do not hold the state of a
    model's `keras.random.SeedGenerator`s (the scheduled-sampling coins of
    `VideoPredictor`), so a resumed run would replay the coins from the start.
    This callback writes those states to a JSON history at every epoch end and,
    in a run that starts at epoch `e > 0`, restores the states saved after `e - 1`.

    Args:
        state_path: JSON file of the states, e.g. `run_dir/seed_state.json`.
    """

    def __init__(self, state_path):
        super().__init__()
        self.state_path = state_path
        self._restored = False

    def _seed_variables(self):
        return [v for v in self.model.variables if v.path.endswith("seed_generator_state")]

    def on_epoch_begin(self, epoch, logs=None):
        if self._restored:
            return
        self._restored = True
        from ctt_keras.training.schedules import load_epoch_state

        state = load_epoch_state(self.state_path, epoch - 1)
        if state is None:
            return
        for variable in self._seed_variables():
            if variable.path not in state:
                raise ValueError(
                    f"{self.state_path} has no state for {variable.path}; cannot resume exactly."
                )
            variable.assign(np.asarray(state[variable.path], dtype=variable.dtype))

    def on_epoch_end(self, epoch, logs=None):
        from ctt_keras.training.schedules import save_epoch_state

        state = {v.path: keras.ops.convert_to_numpy(v).tolist() for v in self._seed_variables()}
        save_epoch_state(self.state_path, epoch, state)

    def get_config(self):
        return {"state_path": self.state_path}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# -- crash-consistent run files ---------------------------------------------------------------------------
#
# An epoch's files are written in one order (`ctt_keras.training.training_callbacks`): schedule and seed
# states, checkpoints and their state, the history row, then the backup. The backup's commit (the rename of
# `training_metadata.json`) is what makes the epoch count: an interruption before it leaves the previous
# epoch committed, and every file written before it keeps that epoch's state (the per-epoch state files keep
# earlier epochs; the history drops rows of uncommitted epochs), so `--resume` redoes the epoch exactly.

@keras.saving.register_keras_serializable(package="ctt_keras")
class WeightsCheckpoint(keras.callbacks.Callback):
    """Saves the weights at each epoch end, or when `monitor` improves, atomically and resumably.

    Like `keras.callbacks.ModelCheckpoint(save_weights_only=True)`, with two differences that
    matter for interrupted runs: the file is written beside its target and renamed into place
    (a crash leaves the previous checkpoint, never a truncated one), and with `state_path` the
    best value so far is kept per epoch, so a resumed run compares with the best of the whole
    run instead of overwriting the best checkpoint with its first epoch.

    Args:
        filepath: Target file, ending in `.weights.h5`.
        monitor: Quantity to watch (e.g. `"val_loss"`), or None to save every epoch.
        mode: `"min"` or `"max"`: which direction is an improvement.
        state_path: JSON file of the best value per epoch (resume), or None.
    """

    def __init__(self, filepath, monitor=None, mode="min", state_path=None):
        super().__init__()
        if not os.fspath(filepath).endswith(".weights.h5"):
            raise ValueError(f"`filepath` must end in `.weights.h5`, got {filepath!r}.")
        if mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max', got {mode!r}.")
        self.filepath, self.monitor, self.mode = os.fspath(filepath), monitor, mode
        self.state_path = state_path
        self.best = None
        self._restored = False

    def on_epoch_begin(self, epoch, logs=None):
        if self._restored or not self.state_path:
            return
        self._restored = True
        from ctt_keras.training.schedules import load_epoch_state

        state = load_epoch_state(self.state_path, epoch - 1)
        if state is not None:
            self.best = state["best"]

    def on_epoch_end(self, epoch, logs=None):
        current = None if self.monitor is None else (logs or {}).get(self.monitor)
        if self.monitor is None:
            improved = True
        elif current is None or not np.isfinite(float(current)):
            improved = False
        else:
            current = float(current)
            improved = (self.best is None or current < self.best if self.mode == "min"
                        else self.best is None or current > self.best)
        if improved:
            self._save()
            if current is not None:
                self.best = current
        if self.state_path:
            from ctt_keras.training.schedules import save_epoch_state

            save_epoch_state(self.state_path, epoch, {"best": self.best})

    def _save(self):
        folder, name = os.path.split(self.filepath)
        pending = os.path.join(folder, "pending-" + name)
        os.makedirs(folder or ".", exist_ok=True)
        try:
            self.model.save_weights(pending, overwrite=True)
            os.replace(pending, self.filepath)
        except BaseException:
            if os.path.exists(pending):
                os.remove(pending)
            raise

    def get_config(self):
        return {"filepath": self.filepath, "monitor": self.monitor, "mode": self.mode,
                "state_path": self.state_path}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="ctt_keras")
class EpochHistory(keras.callbacks.CSVLogger):
    """`keras.callbacks.CSVLogger(append=True)` that keeps one row per epoch across resumed runs.

    When a run (re)starts at epoch `e`, rows of epochs `>= e` (written before an interruption, for
    epochs whose backup never committed, or a half-written last line) are dropped first, through an
    atomic rewrite; the rows of the finished epochs and the header stay as they were.

    Args:
        filename: The CSV file, e.g. `run_dir/history.csv`.
    """

    def __init__(self, filename, separator=","):
        super().__init__(filename, separator=separator, append=True)
        self._opened = False

    def on_train_begin(self, logs=None):
        # The epoch a resumed run starts at is known only once every callback has restored its state.
        self._opened = False

    def on_epoch_begin(self, epoch, logs=None):
        if self._opened:
            return
        self._opened = True
        _drop_rows_from(self.filename, epoch, self.sep)
        super().on_train_begin()

    def get_config(self):
        return {"filename": self.filename, "separator": self.sep}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _drop_rows_from(path, epoch, separator=","):
    """Rewrites the CSV history `path` without rows of epochs `>= epoch` (and damaged lines)."""
    if not os.path.isfile(path):
        return
    with open(path, newline="") as f:
        lines = f.read().splitlines(keepends=True)
    if not lines:
        return
    if not lines[0].endswith(("\n", "\r")):
        lines.append("")  # a half-written header: start the file again
        kept = []
    else:
        kept = [lines[0]]
    for line in lines[1:] if kept else ():
        first = line.split(separator, 1)[0].strip()
        if first.isdigit() and int(first) < epoch and line.endswith(("\n", "\r")):
            kept.append(line)
    if kept != lines:
        from ctt_keras.training import run_dir

        run_dir.write_atomic(path, "".join(kept))
