"""A run interrupted in epoch 2 and resumed ends with the weights of an uninterrupted run."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ctt_keras import training
from tests.training import tiny

STEPS, BATCH, EPOCHS = 3, 4, 3


class _Interrupt(keras.callbacks.Callback):
    """Raises in the middle of an epoch, as a killed process would stop."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self._epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self._epoch, batch) == self.at:
            raise KeyboardInterrupt("killed")


def _fit(folder, seed=0, extra=(), initial_epoch=0):
    keras.utils.set_random_seed(seed)
    model = tiny.model(seed=seed)
    clips = tiny.clips(10)
    # The stream continues where the interrupted run stopped (the data is a function of the step).
    data = tf.data.Dataset.from_tensor_slices(clips).repeat().skip(initial_epoch * STEPS * BATCH).batch(BATCH)
    # min_delta: only the first epoch counts as an improvement, so the ratio decays from epoch 2 on.
    schedule = training.PaperSchedule(patience=1, sampling_decay=0.3, lr_decay=0.5, lr_decay_every=1,
                                      min_delta=10, state_path=str(folder / "schedule.json"))
    callbacks = [schedule, keras.callbacks.BackupAndRestore(str(folder / "backup"), delete_checkpoint=False),
                 training.SeedStateBackup(str(folder / "seed.json")), *extra]
    model.fit(data, epochs=EPOCHS, steps_per_epoch=STEPS, callbacks=callbacks, verbose=0)
    return model


def test_interrupted_and_resumed_run_matches_uninterrupted(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    reference = _fit(tmp_path / "a")
    # The sampling schedule did act: the ratio decayed from 1 (the coins matter for the result).
    assert float(reference.sampling_ratio.numpy()) == pytest.approx(0.7)

    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path / "b", extra=[_Interrupt(epoch=1, batch=1)])
    assert training.backup_epoch(str(tmp_path / "b" / "backup")) == 1
    # A fresh process: other initial weights, restored from the backup.
    restart_epoch = training.backup_epoch(str(tmp_path / "b" / "backup"))
    resumed = _fit(tmp_path / "b", seed=1, initial_epoch=restart_epoch)
    assert float(resumed.sampling_ratio.numpy()) == float(reference.sampling_ratio.numpy())
    assert float(resumed.optimizer.learning_rate.numpy()) == float(reference.optimizer.learning_rate.numpy())
    assert int(resumed.optimizer.iterations.numpy()) == EPOCHS * STEPS
    for a, b in zip(tiny.weights(reference), tiny.weights(resumed)):
        np.testing.assert_array_equal(b, a)
