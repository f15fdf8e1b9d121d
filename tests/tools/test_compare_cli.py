"""ctt-compare (tools/compare_models.py): networks and baselines on the same generated test clips."""

import json
import os

import numpy as np
import pytest

from ctt_keras import zoo
from ctt_keras.cli import compare
from ctt_keras.models import VideoPredictor
from ctt_keras.pipelines import moving_mnist


@pytest.fixture(scope="module")
def tiny_preset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("presets") / "tiny"
    model = VideoPredictor((64, 64, 1), layers_per_block=(1,), hidden_channels=(4,), skip_stride=None,
                           kernel_size=3, rank=2, patch_size=4, seed=0)
    zoo.save_preset(model, str(folder), metadata={"dataset": "moving_mnist"})
    return str(folder), model


def test_compare_writes_a_table_of_the_network_and_baselines(tiny_preset, tmp_path, capsys):
    folder, model = tiny_preset
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"flags": {"steps_per_epoch": 5, "batch_size": 2}}))
    (run / "history.csv").write_text("epoch,loss,val_loss\n0,0.3,0.2\n1,0.2,0.1\n")
    out = tmp_path / "out"
    code = compare.main(["--model", f"tiny={folder}", "--run", f"tiny={run}", "--future", "2,3",
                         "--num-sequences", "3", "--metrics", "mse,ssim", "--out", str(out)])
    assert code == 0
    data = json.loads((out / "comparison.json").read_text())
    assert set(data["results"]) == {"tiny", "black frames", "copy last frame"}
    assert data["parameters"]["tiny"] == model.count_params()
    clips = np.stack([c.numpy() for c in moving_mnist.load("test", sequence_length=13, seed=0).take(3)])
    truth = clips[:, 10:13]
    np.testing.assert_allclose(data["results"]["black frames"]["10->3"]["means"]["mse"], np.mean(truth**2),
                               rtol=1e-5)
    prediction = np.asarray(model.predict_frames(clips[:, :10], 3))
    np.testing.assert_allclose(data["results"]["tiny"]["10->2"]["means"]["mse"],
                               np.mean((prediction[:, :2] - truth[:, :2]) ** 2), rtol=1e-4)
    for name in ("comparison.md", "curves_10-2.png", "curves_10-3.png", "validation_loss.png",
                 "prediction_tiny.gif", "prediction_black_frames.gif"):
        assert os.path.isfile(out / name), name
    assert "| tiny |" in capsys.readouterr().out


def test_compare_refuses_to_overwrite_and_bad_flags(tiny_preset, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "comparison.json").write_text("{}")
    with pytest.raises(SystemExit) as exit_:
        compare.main(["--baselines", "black", "--out", str(out)])
    assert exit_.value.code == 2 and "already holds a comparison" in capsys.readouterr().err
    assert (out / "comparison.json").read_text() == "{}"
    for argv, message in ((["--model", "x"], "NAME=VALUE"), (["--baselines", "mean"], "unknown ['mean']"),
                          (["--baselines", "none"], "nothing to compare"),
                          (["--run", f"a={tmp_path}"], "no config.json")):
        with pytest.raises(SystemExit):
            compare.main(argv + ["--out", str(tmp_path / "o2")])
        assert message in capsys.readouterr().err


def test_compare_reuses_an_earlier_evaluation_of_the_same_clips(tiny_preset, tmp_path):
    folder, model = tiny_preset
    first = tmp_path / "first"
    assert compare.main(["--model", f"tiny={folder}", "--baselines", "none", "--future", "2", "--num-sequences", "3",
                         "--metrics", "mse", "--out", str(first)]) == 0
    # A metrics.json as ctt-train writes it, beside the run's config.json (parameter count).
    run = tmp_path / "run"
    run.mkdir()
    data = json.loads((first / "comparison.json").read_text())
    (run / "metrics.json").write_text(json.dumps({"results": data["results"]["tiny"], "num_sequences": 3}))
    (run / "config.json").write_text(json.dumps({"parameters": model.count_params()}))
    second = tmp_path / "second"
    assert compare.main(["--evaluated", f"tiny={run / 'metrics.json'}", "--future", "2", "--num-sequences", "3",
                         "--metrics", "mse", "--out", str(second)]) == 0
    again = json.loads((second / "comparison.json").read_text())
    assert again["results"]["tiny"]["10->2"]["means"] == data["results"]["tiny"]["10->2"]["means"]
    assert again["parameters"]["tiny"] == model.count_params()
    assert "black frames" in again["results"]
    with pytest.raises(SystemExit):
        compare.main(["--evaluated", f"tiny={run / 'metrics.json'}", "--future", "2", "--num-sequences", "4",
                      "--metrics", "mse", "--out", str(tmp_path / "third")])
    # Earlier evaluations alone: a table of them, and no clip generated (the loader below would fail).
    from ctt_keras.pipelines import moving_mnist

    def no_clips(*args, **kwargs):
        raise AssertionError("clips generated although every row was evaluated before")

    original, moving_mnist.load = moving_mnist.load, no_clips
    try:
        assert compare.main(["--evaluated", f"tiny={run / 'metrics.json'}", "--evaluated",
                             f"again={run / 'metrics.json'}", "--baselines", "none", "--future", "2",
                             "--num-sequences", "3", "--metrics", "mse", "--out", str(tmp_path / "fourth")]) == 0
    finally:
        moving_mnist.load = original
    alone = json.loads((tmp_path / "fourth" / "comparison.json").read_text())
    assert sorted(alone["results"]) == ["again", "tiny"]
    assert alone["results"]["again"]["10->2"]["means"] == data["results"]["tiny"]["10->2"]["means"]
