import json

import keras
import numpy as np
import pytest

from ctt_keras import training
from tests.training import tiny


def _drive(callback, model, losses, first_epoch=0):
    """Runs the callback's epoch hooks; returns the (ratio, lr) held during each epoch, and the logs."""
    held, all_logs = [], []
    for epoch, loss in enumerate(losses, start=first_epoch):
        callback.on_epoch_begin(epoch)
        held.append((float(model.sampling_ratio.numpy()), float(model.optimizer.learning_rate.numpy())))
        logs = {"val_loss": loss}
        callback.on_epoch_end(epoch, logs)
        all_logs.append(logs)
    return held, all_logs


# Loss improves at epochs 0-1, then stalls: patience 2 starts the sampling decay after epoch 3,
# the second stall (epochs 4-5) starts the learning-rate decay, which halves the rate every 2 epochs.
LOSSES = [5.0, 4.0] + [4.0] * 8
EXPECTED_RATIO = [1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
EXPECTED_LR = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25]


def _paper(state_path=None):
    return training.PaperSchedule(patience=2, sampling_decay=0.1, lr_decay=0.5, lr_decay_every=2,
                                  state_path=state_path)


def test_paper_schedule_plateaus_then_decays():
    model = tiny.model(learning_rate=1.0)
    callback = _paper()
    callback.set_model(model)
    held, logs = _drive(callback, model, LOSSES)
    np.testing.assert_allclose([r for r, _ in held], EXPECTED_RATIO, atol=1e-6)
    np.testing.assert_allclose([lr for _, lr in held], EXPECTED_LR, atol=1e-7)
    # The values of each epoch are logged (progress bar, CSVLogger, TensorBoard read these).
    np.testing.assert_allclose([entry["sampling_ratio"] for entry in logs], EXPECTED_RATIO, atol=1e-6)
    np.testing.assert_allclose([entry["learning_rate"] for entry in logs], EXPECTED_LR, atol=1e-7)


def test_paper_schedule_resumes_from_its_state_file(tmp_path):
    state = str(tmp_path / "schedule_state.json")
    model = tiny.model(learning_rate=1.0)
    callback = _paper(state)
    callback.set_model(model)
    _drive(callback, model, LOSSES[:6])  # a run stopped after epoch 5
    assert sorted(json.load(open(state)), key=int) == [str(e) for e in range(6)]

    resumed_model = tiny.model(learning_rate=1.0)
    resumed = _paper(state)
    resumed.set_model(resumed_model)
    held, _ = _drive(resumed, resumed_model, LOSSES[6:], first_epoch=6)
    np.testing.assert_allclose([r for r, _ in held], EXPECTED_RATIO[6:], atol=1e-6)
    np.testing.assert_allclose([lr for _, lr in held], EXPECTED_LR[6:], atol=1e-7)


def test_state_file_missing_the_epoch_is_an_error(tmp_path):
    state = tmp_path / "schedule_state.json"
    state.write_text(json.dumps({"0": _paper().get_state()}))
    callback = _paper(str(state))
    callback.set_model(tiny.model())
    with pytest.raises(ValueError, match="no saved state for epoch 2"):
        callback.on_epoch_begin(3)


def test_linear_and_cosine():
    model = tiny.model(learning_rate=1.0)
    linear = training.LinearSamplingDecay(start_epoch=2, end_epoch=6)
    linear.set_model(model)
    held, _ = _drive(linear, model, [1.0] * 8)
    np.testing.assert_allclose([r for r, _ in held], [1, 1, 1, 0.75, 0.5, 0.25, 0, 0], atol=1e-6)

    cosine = training.CosineLearningRate(initial=2.0, epochs=4, alpha=0.1)
    cosine.set_model(model)
    held, _ = _drive(cosine, model, [1.0] * 5)
    expected = [2.0 * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(e / 4, 1)))) for e in range(5)]
    np.testing.assert_allclose([lr for _, lr in held], expected, rtol=1e-6)
    assert held[-1][1] == pytest.approx(0.2)


@pytest.mark.parametrize("callback", [
    training.PaperSchedule(patience=3, sampling_decay=0.01, state_path="s.json"),
    training.LinearSamplingDecay(1, 9, start=0.9, end=0.1),
    training.CosineLearningRate(1e-3, 10, alpha=0.5),
    training.StopOnNaN(),
])
def test_callbacks_round_trip_through_config(callback):
    config = keras.saving.serialize_keras_object(callback)
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(callback) and clone.get_config() == callback.get_config()


def test_make_schedule_choices():
    assert [type(c) for c in training.make_schedule("paper", "paper")] == [training.PaperSchedule]
    assert training.make_schedule("paper", "constant")[0].lr_decay == 1.0
    kinds = [type(c) for c in training.make_schedule("linear", "cosine", epochs=5)]
    assert kinds == [training.LinearSamplingDecay, training.CosineLearningRate]
    assert [type(c) for c in training.make_schedule("none", "constant")] == [training.ScheduleLogger]
    with pytest.raises(ValueError, match="follows its sampling schedule"):
        training.make_schedule("linear", "paper")
