"""Adding a dataset is one module and one table row: a test dataset trains and evaluates through the CLIs."""

import json
import os

import keras
import numpy as np
import pytest

from ctt_keras.cli import evaluate as evaluate_cli
from ctt_keras.cli import train as train_cli
from ctt_keras.pipelines import datasets
from tests.training import squares_dataset

FLAGS = ["--dataset", "squares", "--layers-per-block", "1", "--hidden-channels", "2", "--kernel-size", "3",
         "--rank", "2", "--context-frames", "2", "--future-frames", "2", "--batch-size", "4", "--epochs", "1",
         "--steps-per-epoch", "2", "--validation-sequences", "4", "--eval-sequences", "4",
         "--mixed-precision", "off", "--verbose", "0"]


@pytest.fixture
def squares_row(monkeypatch):
    monkeypatch.setitem(datasets.DATASETS, "squares", "tests.training.squares_dataset")


def test_a_new_dataset_trains_evaluates_and_records_its_settings(tmp_path, capsys, squares_row):
    previous = keras.mixed_precision.global_policy().name
    try:
        assert train_cli.main(FLAGS + ["--square-size", "2", "--logdir", str(tmp_path), "--name", "sq"]) == 0
    finally:
        keras.mixed_precision.set_global_policy(previous)
    run = tmp_path / "sq"
    config = json.load(open(run / "config.json"))
    assert config["flags"]["square_size"] == 2 and config["frame_shape"] == [8, 8, 1]
    assert config["flags"]["eval_future"] == "2"  # the dataset's recipe default
    metadata = json.load(open(run / "preset" / "metadata.json"))
    assert metadata["square_size"] == 2 and metadata["dataset"] == "squares"
    trained = json.load(open(run / "metrics.json"))["results"]["2->2"]["means"]

    # The same clips evaluated by ctt-evaluate give the same numbers.
    assert evaluate_cli.main(["--weights", str(run / "preset"), "--dataset", "squares", "--context", "2",
                              "--future", "2", "--num-sequences", "4", "--out", str(tmp_path / "eval")]) == 0
    again = json.load(open(tmp_path / "eval" / "metrics.json"))["results"]["2->2"]["means"]
    for name, value in trained.items():
        assert again[name] == pytest.approx(value, rel=1e-5)
    # And they are the test clips the module makes (seed 0, test split).
    clips = squares_dataset.squares(4, 4, 8, 3, [0, 2])
    assert clips.shape == (4, 4, 8, 8, 1) and np.isfinite(again["mse"])


def test_its_options_are_flags_checked_by_the_module(tmp_path, capsys, squares_row):
    with pytest.raises(SystemExit):
        train_cli.main(FLAGS + ["--square-size", "9", "--logdir", str(tmp_path)])
    assert "--square-size must be in 1..image size - 1, got 9" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_cli.main(["--square-size", "2", "--logdir", str(tmp_path)])
    assert "--square-size apply to --dataset squares only" in capsys.readouterr().err
    assert not os.listdir(tmp_path)
