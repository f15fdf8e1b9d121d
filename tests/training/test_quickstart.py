"""The quickstart recipe (fine-tune the shipped preset on its closed loop) and baseline rows in evaluations."""

import json

import numpy as np
import pytest

from ctt_keras.models import VideoPredictor
from ctt_keras.training import evaluation, run_config, runner


def test_quickstart_starts_from_the_shipped_preset_of_the_model(tmp_path):
    config = run_config.resolve({"recipe": "quickstart", "logdir": str(tmp_path)})
    assert config["preset"] == "mmnist_convttlstm_small"
    assert (config["schedule"], config["eval_baselines"], config["convention"]) == ("closed", True, "standard")
    config = run_config.resolve({"recipe": "quickstart", "model": "convlstm", "logdir": str(tmp_path)})
    assert config["preset"] == "mmnist_convlstm_small"
    folder = tmp_path / "preset"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    config = run_config.resolve({"recipe": "quickstart", "weights": str(folder), "logdir": str(tmp_path)})
    assert config["preset"] is None and config["weights"] == str(folder)
    assert run_config.resolve({"logdir": str(tmp_path)})["preset"] is None  # the demo trains from scratch


def test_closed_schedule_feeds_back_predictions_from_the_first_epoch():
    (schedule,) = runner.make_schedule("closed", "constant", epochs=3)
    for epoch in range(3):
        assert schedule.values(epoch) == {"sampling_ratio": 0.0}


def test_evaluate_predictor_adds_baseline_rows_on_the_same_clips(tmp_path):
    model = VideoPredictor((64, 64, 1), layers_per_block=(1,), hidden_channels=(4,), skip_stride=None,
                           kernel_size=3, rank=2, patch_size=4, context_frames=10)
    config = {"dataset": "moving_mnist", "data_dir": None, "image_size": 64, "seed": 0, "context_frames": 10}
    paths = {"json": str(tmp_path / "m.json"), "markdown": str(tmp_path / "m.md")}
    results, table, count = evaluation.evaluate_predictor(
        model, config, "test", 10, (2,), 4, paths, convention="standard", metrics=("mse",), baselines=True,
        name="tiny")
    data = json.loads((tmp_path / "m.json").read_text())
    black = data["baselines"]["black frames"]["10->2"]["means"]["mse"]
    from ctt_keras.training import data as data_lib

    clips = data_lib.fixed_clips(config, "test", 12, 4)
    np.testing.assert_allclose(black, np.mean(clips[:, 10:12] ** 2), rtol=1e-5)
    assert f"| black frames | - | 10->2 | {black * 1e3:.2f} |" in table
    assert "| tiny | " in table and "| copy last frame |" in table
    assert table in (tmp_path / "m.md").read_text()
    assert count == 4 and set(results) == {"10->2"}
