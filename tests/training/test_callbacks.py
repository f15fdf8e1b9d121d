import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from ctt_keras import training
from tests.training import tiny


def test_nan_loss_stops_naming_the_step(capsys):
    clips = tiny.clips(12)
    clips[9, 2] = np.nan  # the third batch of 4 (step 3)
    model = tiny.model()
    stop = training.StopOnNaN()
    data = tf.data.Dataset.from_tensor_slices(clips).batch(4)
    history = model.fit(data, epochs=3, callbacks=[stop], verbose=0)
    assert stop.message.startswith("loss is nan at epoch 1, step 3 (global step 3)")
    assert "--learning-rate" in stop.message
    assert "step 3" in capsys.readouterr().out
    assert len(history.epoch) == 1  # stopped in the first epoch


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
