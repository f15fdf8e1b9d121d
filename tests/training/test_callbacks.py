import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from ctt_keras import training
from tests.training import tiny


def test_nan_loss_stops_naming_the_step_before_any_epoch_end_saving(tmp_path):
    clips = tiny.clips(12)
    clips[9, 2] = np.nan  # the third batch of 4 (step 3) of the second epoch
    model = tiny.model()
    stop = training.StopOnNaN()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), delete_checkpoint=False)
    data = tf.data.Dataset.from_tensor_slices(clips).batch(4)
    epochs_ended = []
    ended = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs_ended.append(epoch))
    clean = tf.data.Dataset.from_tensor_slices(tiny.clips(12)).batch(4)
    model.fit(clean, epochs=1, callbacks=[stop, backup, ended], verbose=0)
    finite = tiny.weights(model)
    expected = r"loss is nan at epoch 2, step 3 \(global step 6\)"
    with pytest.raises(training.NonFiniteLossError, match=expected):
        model.fit(data, initial_epoch=1, epochs=3, callbacks=[stop, backup, ended], verbose=0)
    assert "--learning-rate" in stop.message
    assert epochs_ended == [0]  # the diverged epoch never reached the epoch-end savers
    restored = tiny.model()
    restored.load_weights(str(tmp_path / "backup" / "latest.weights.h5"))
    for a, b in zip(finite, tiny.weights(restored)):
        np.testing.assert_array_equal(b, a)


def test_prediction_images_write_strip_gif_and_summaries(tmp_path):
    model = tiny.model()
    clips = tiny.clips(3, frames=5)
    callback = training.PredictionImages(
        clips, 2, log_dir=str(tmp_path / "tb"), gif_path=str(tmp_path / "p.gif")
    )
    callback.set_model(model)
    callback.on_epoch_end(0)
    callback.on_train_end()
    context, truth, prediction = callback.predict()
    np.testing.assert_allclose(prediction, model.predict_frames(clips[:, :2], 3), atol=1e-6)
    gif = Image.open(tmp_path / "p.gif")
    assert gif.n_frames == 5  # 2 context + 3 future frames
    # Two samples...three stacked, each 2 panels of 8 px (scaled x2) and separators.
    assert gif.size == ((2 * 8 + 2) * 2, (3 * 8 + 2 * 2) * 2)
    events = [os.path.join(r, f) for r, _, fs in os.walk(tmp_path / "tb") for f in fs]
    tags = {v.tag for e in events for ev in tf.compat.v1.train.summary_iterator(e) for v in ev.summary.value}
    assert tags == {"predictions/strip", "predictions/gif"}


def test_comparison_strip_layout():
    context = np.zeros((1, 2, 4, 4, 1), np.float32)
    truth = np.full((1, 3, 4, 4, 1), 0.5, np.float32)
    prediction = np.ones((1, 3, 4, 4, 1), np.float32)
    strip = training.comparison_strip(context, truth, prediction, separator=1)
    assert strip.shape == (1, 3 * 5, 3 * 5, 3)
    assert strip[0, 0, 0, 0] == 0 and strip[0, 5, 0, 0] == 128 and strip[0, 10, 0, 0] == 255
    assert strip[0, 0, 10, 0] == 255  # no third context frame: background


def test_plot_curves_and_fit_frames(tmp_path):
    curves = {"mse": {"a": [1, 2, 3]}, "ssim": {"a": [0.9, 0.8, np.nan]}}
    training.plot_curves(str(tmp_path / "c.png"), curves)
    assert Image.open(tmp_path / "c.png").size == (2 * 360, 240 + 20)
    frames = np.zeros((3, 12, 16, 3), np.uint8)
    frames[..., 0] = 255
    fitted, notes = training.fit_frames(frames, (8, 8, 1))
    assert fitted.shape == (3, 8, 8, 1)
    np.testing.assert_allclose(fitted, 0.299, atol=1e-6)
    assert notes == ["converted RGB to gray (BT.601 luma)", "resized 12x16 -> 8x8 (bilinear, antialiased)"]
    with pytest.raises(ValueError, match=r"float frames must be in \[0, 1\]"):
        training.fit_frames(np.full((2, 8, 8, 1), 3.0), (8, 8, 1))


def test_run_directory_never_clobbers(tmp_path):
    first = training.RunDirectory.create(tmp_path, "run")
    first.write_config({"a": 1})
    second = training.RunDirectory.create(tmp_path, "run")
    assert second.path == str(tmp_path / "run-2") and second.renamed_from == first.path
    assert first.read_config() == {"a": 1}
    resumed = training.RunDirectory.create(tmp_path, "run", resume=True)
    assert resumed.path == first.path and resumed.renamed_from is None
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        training.RunDirectory.create(tmp_path, "other", resume=True)
    with pytest.raises(ValueError, match="run name"):
        training.RunDirectory.create(tmp_path, "../x")
