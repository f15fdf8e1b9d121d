"""Progress bars on reading, prediction and recognition: shown when asked, and the numbers unchanged."""

import numpy as np

from ctt_keras import training
from ctt_keras.training import data, progress
from tests.training import tiny


def test_prediction_shows_progress_and_predicts_the_same(capsys):
    model, clips = tiny.model(), tiny.clips(count=5)
    quiet = training.predict_clips(model, clips, 2, 2, batch_size=2)
    capsys.readouterr()
    shown = training.predict_clips(model, clips, 2, 2, batch_size=2, progress=True)
    out = capsys.readouterr().out
    assert "5/5" in out  # one line when the output is not a terminal
    for a, b in zip(quiet, shown):
        np.testing.assert_array_equal(a, b)


def test_unknown_totals_end_with_the_count(capsys):
    bar = progress.progbar()
    for _ in range(3):
        bar.add(2)
    progress.finish(bar, 6)
    assert "6/6" in capsys.readouterr().out


def test_fixed_clips_reads_with_progress(capsys):
    config = {"dataset": "moving_mnist", "data_dir": None, "image_size": 32, "seed": 0}
    clips = data.fixed_clips(config, "test", 3, 4, progress=True)
    assert clips.shape == (4, 3, 32, 32, 1) and "4/4" in capsys.readouterr().out
