"""Scheduled-sampling and learning-rate schedules as Keras callbacks (the paper's training recipe).

Each callback sets `model.sampling_ratio` and/or the optimizer's learning rate at
the start of every epoch and adds both to the epoch logs (`sampling_ratio`,
`learning_rate`), so the progress bar, `CSVLogger` and `TensorBoard` record them.
Callbacks whose decisions depend on history (`PaperSchedule`) keep their
counters in `get_state()`; with `state_path` they write them to a JSON file at
every epoch end, keyed by epoch, and a resumed run (`BackupAndRestore`) reads
back the state of the epoch it restarts after.
"""

import json
import math
import os

import keras
import numpy as np

from ctt_keras.training import run_dir


def _learning_rate(model):
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def _set_learning_rate(model, value):
    lr = model.optimizer.learning_rate
    if not hasattr(lr, "assign"):
        raise ValueError(
            "the optimizer's learning rate is a schedule or a constant, not a variable; a learning-rate "
            "callback needs `optimizer.learning_rate` to be a float (the default)."
        )
    lr.assign(value)


def _set_sampling_ratio(model, value):
    if not hasattr(model, "sampling_ratio"):
        raise ValueError(f"{type(model).__name__} has no `sampling_ratio` variable to schedule.")
    model.sampling_ratio.assign(float(value))


def load_epoch_state(path, epoch):
    """The state saved after `epoch` in a per-epoch JSON history, or None (no file, or epoch < 0).

    Raises:
        ValueError: if the file exists but lacks that epoch (it belongs to another run or was cut short).
    """
    if epoch < 0 or not os.path.isfile(path):
        return None
    history = _read_history(path)
    state = history.get(str(epoch))
    if state is None:
        raise ValueError(
            f"{path} has no saved state for epoch {epoch} (has {sorted(history, key=int)}); cannot resume "
            f"at epoch {epoch + 1}."
        )
    return state


def save_epoch_state(path, epoch, state):
    """Records `state` as the state after `epoch` (dropping any later epochs) in a JSON history file.

    The earlier epochs stay: written before the epoch's backup commits, the file then holds the
    state of the epoch a resumed run restarts after, whether or not the commit happened. The file
    is replaced atomically (`run_dir.write_atomic`): a crash leaves the old history or the new one.
    """
    history = _read_history(path) if os.path.isfile(path) else {}
    history = {k: v for k, v in history.items() if int(k) < epoch}
    history[str(epoch)] = state
    run_dir.write_atomic(path, json.dumps(history, indent=1, sort_keys=True))


def _read_history(path):
    try:
        with open(path) as f:
            history = json.load(f)
        if not isinstance(history, dict) or not all(k.lstrip("-").isdigit() for k in history):
            raise ValueError("not a {epoch: state} object")
    except ValueError as error:
        raise ValueError(f"{path} is not a per-epoch state history ({error}); cannot resume from it.") \
            from None
    return history


class _EpochSchedule(keras.callbacks.Callback):
    """Base: applies `values(epoch)` at epoch begin, logs both values at epoch end, optional JSON state."""

    def __init__(self, state_path=None):
        super().__init__()
        self.state_path = state_path
        self._loaded_for = None

    # Subclasses: return {"sampling_ratio": x} and/or {"learning_rate": y} for this epoch.
    def values(self, epoch):
        raise NotImplementedError

    def get_state(self):
        return {}

    def set_state(self, state):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        if self.state_path and self._loaded_for is None:
            self._load_state(epoch)
        self._loaded_for = epoch
        values = self.values(epoch)
        if "sampling_ratio" in values:
            _set_sampling_ratio(self.model, values["sampling_ratio"])
        if "learning_rate" in values:
            _set_learning_rate(self.model, values["learning_rate"])

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["sampling_ratio"] = float(keras.ops.convert_to_numpy(self.model.sampling_ratio))
            logs["learning_rate"] = _learning_rate(self.model)
        self.update(epoch, logs or {})
        if self.state_path:
            self._save_state(epoch)

    def update(self, epoch, logs):
        """Called at epoch end with the epoch's logs, before the state is saved."""

    def _load_state(self, epoch):
        state = load_epoch_state(self.state_path, epoch - 1)
        if state is not None:
            self.set_state(state)

    def _save_state(self, epoch):
        save_epoch_state(self.state_path, epoch, self.get_state())

    def get_config(self):
        return {"state_path": self.state_path}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="ctt_keras")
class PaperSchedule(_EpochSchedule):
    """The paper's schedule: plateau-triggered scheduled-sampling decay, then learning-rate decay.

    Scheduled sampling starts at `sampling_ratio = 1` (teacher forcing). Once the
    monitored loss has not improved for `patience` epochs, the ratio drops by
    `sampling_decay` at every following epoch (down to `min_sampling_ratio`).
    Once the loss stalls again for `patience` epochs, the learning rate is
    multiplied by `lr_decay` every `lr_decay_every` epochs. The official code
    uses patience 20, decay 4e-3, factor 0.98 every 5 epochs.

    Args:
        monitor: Loss to watch in the epoch logs (`"val_loss"`; falls back to
            `"loss"` when absent).
        patience: Epochs without improvement that count as a stall.
        sampling_decay: Ratio decrement per epoch once decaying.
        min_sampling_ratio: Floor of the ratio.
        lr_decay: Learning-rate factor once decaying.
        lr_decay_every: Epochs between learning-rate decays.
        min_delta: Improvement smaller than this does not count.
        state_path: JSON file for the counters (resume), or None.

    Example:

    >>> model.fit(train, validation_data=val, epochs=500, callbacks=[PaperSchedule()])
    """

    def __init__(
        self,
        monitor="val_loss",
        patience=20,
        sampling_decay=4e-3,
        min_sampling_ratio=0.0,
        lr_decay=0.98,
        lr_decay_every=5,
        min_delta=0.0,
        state_path=None,
    ):
        super().__init__(state_path)
        if patience < 1 or lr_decay_every < 1:
            raise ValueError(f"patience and lr_decay_every must be >= 1, got {patience}, {lr_decay_every}.")
        self.monitor = monitor
        self.patience = int(patience)
        self.sampling_decay = float(sampling_decay)
        self.min_sampling_ratio = float(min_sampling_ratio)
        self.lr_decay = float(lr_decay)
        self.lr_decay_every = int(lr_decay_every)
        self.min_delta = float(min_delta)
        self.reset()

    def reset(self):
        """Back to the start: teacher forcing, base learning rate, no history."""
        self.phase = "teacher_forcing"  # -> "sampling_decay" -> "lr_decay"
        self.best = math.inf
        self.wait = 0
        self.sampling_ratio = 1.0
        self.learning_rate = None  # the optimizer's initial value until the first decay
        self.lr_epochs = 0

    def values(self, epoch):
        values = {"sampling_ratio": self.sampling_ratio}
        if self.learning_rate is not None:
            values["learning_rate"] = self.learning_rate
        return values

    def update(self, epoch, logs):
        current = logs.get(self.monitor, logs.get("loss"))
        if self.learning_rate is None:
            self.learning_rate = _learning_rate(self.model)
        if current is not None and np.isfinite(current) and current < self.best - self.min_delta:
            self.best, self.wait = float(current), 0
        else:
            self.wait += 1
        # Decide the values of the next epoch.
        if self.phase == "teacher_forcing" and self.wait >= self.patience:
            self.phase, self.wait = "sampling_decay", 0
        elif self.phase == "sampling_decay" and self.wait >= self.patience:
            self.phase, self.wait = "lr_decay", 0
        if self.phase in ("sampling_decay", "lr_decay"):
            self.sampling_ratio = max(self.min_sampling_ratio, self.sampling_ratio - self.sampling_decay)
        if self.phase == "lr_decay":
            self.lr_epochs += 1
            if self.lr_epochs % self.lr_decay_every == 0:
                self.learning_rate *= self.lr_decay

    def get_state(self):
        return {
            "phase": self.phase,
            "best": None if math.isinf(self.best) else self.best,
            "wait": self.wait,
            "sampling_ratio": self.sampling_ratio,
            "learning_rate": self.learning_rate,
            "lr_epochs": self.lr_epochs,
        }

    def set_state(self, state):
        self.phase = state["phase"]
        self.best = math.inf if state["best"] is None else float(state["best"])
        self.wait = int(state["wait"])
        self.sampling_ratio = float(state["sampling_ratio"])
        self.learning_rate = state["learning_rate"]
        self.lr_epochs = int(state["lr_epochs"])

    def get_config(self):
        config = super().get_config()
        config.update(
            monitor=self.monitor,
            patience=self.patience,
            sampling_decay=self.sampling_decay,
            min_sampling_ratio=self.min_sampling_ratio,
            lr_decay=self.lr_decay,
            lr_decay_every=self.lr_decay_every,
            min_delta=self.min_delta,
        )
        return config


@keras.saving.register_keras_serializable(package="ctt_keras")
class LinearSamplingDecay(_EpochSchedule):
    """Scheduled sampling decaying linearly from `start` to `end` between two epochs.

    The ratio is `start` before `start_epoch`, `end` from `end_epoch` on, and
    linear in between. A function of the epoch only, so resuming needs no state.

    Example:

    >>> LinearSamplingDecay(start_epoch=0, end_epoch=50)   # 1.0 -> 0.0 over 50 epochs
    """

    def __init__(self, start_epoch=0, end_epoch=100, start=1.0, end=0.0, state_path=None):
        super().__init__(state_path)
        if end_epoch <= start_epoch:
            raise ValueError(f"end_epoch ({end_epoch}) must be after start_epoch ({start_epoch}).")
        self.start_epoch, self.end_epoch = int(start_epoch), int(end_epoch)
        self.start, self.end = float(start), float(end)

    def values(self, epoch):
        fraction = min(max((epoch - self.start_epoch) / (self.end_epoch - self.start_epoch), 0.0), 1.0)
        return {"sampling_ratio": self.start + fraction * (self.end - self.start)}

    def get_config(self):
        config = super().get_config()
        config.update(start_epoch=self.start_epoch, end_epoch=self.end_epoch, start=self.start, end=self.end)
        return config


@keras.saving.register_keras_serializable(package="ctt_keras")
class CosineLearningRate(_EpochSchedule):
    """Cosine learning-rate decay per epoch from `initial` to `initial * alpha` over `epochs`.

    A function of the epoch only (resuming needs no state).

    Example:

    >>> CosineLearningRate(initial=1e-3, epochs=100, alpha=0.01)
    """

    def __init__(self, initial, epochs, alpha=0.0, state_path=None):
        super().__init__(state_path)
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}.")
        self.initial, self.epochs, self.alpha = float(initial), int(epochs), float(alpha)

    def values(self, epoch):
        progress = min(epoch / self.epochs, 1.0)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return {"learning_rate": self.initial * (self.alpha + (1.0 - self.alpha) * cosine)}

    def get_config(self):
        config = super().get_config()
        config.update(initial=self.initial, epochs=self.epochs, alpha=self.alpha)
        return config


@keras.saving.register_keras_serializable(package="ctt_keras")
class ScheduleLogger(_EpochSchedule):
    """Changes nothing; adds `sampling_ratio` and `learning_rate` to the epoch logs (constant schedules)."""

    def values(self, epoch):
        return {}
