"""tools/train.py, evaluate.py and predict.py on Something-Something V2 (fake WebM files): the recognizer."""

import csv
import json
import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest

from ctt_keras import zoo
from ctt_keras.models import EarlyActivityRecognizer
from tests.pipelines import ssv2_fixtures as fake
from tests.tools import helpers

pytest.importorskip("av")  # the fake WebM videos are written with PyAV

train = helpers.load_tool("train")
CLASSES = "16,149,47"
TINY = ["--dataset", "ssv2", "--classes", CLASSES, "--image-size", "16", "--num-frames", "8",
        "--future-frames", "2", "--layers-per-block", "1", "--hidden-channels", "3", "--kernel-size", "3",
        "--rank", "2", "--encoder-channels", "2,4", "--classifier-channels", "4", "--batch-size", "2",
        "--mixed-precision", "off", "--verbose", "0"]


@pytest.fixture(scope="module")
def ssv2_data(tmp_path_factory):
    """A prepared TFDS folder of the fake files (3 classes, 16x16): 3 train and 2 validation videos."""
    from pipelines import ssv2

    root = tmp_path_factory.mktemp("ssv2")
    manual = fake.make_fake_ssv2(root / "manual")
    config = ssv2.make_config([16, 149, 47], frame_size=(16, 16))
    with warnings.catch_warnings(record=True) as caught:  # the fixtures hold a corrupt and a missing video
        warnings.simplefilter("always")
        ssv2.builder(root / "tfds", config=config, manual_dir=manual)
    assert any("skipped 2 file" in str(w.message) for w in caught)
    return str(root / "tfds"), str(manual)


def _train(flags):
    previous = keras.mixed_precision.global_policy().name
    try:
        return train.main(flags)
    finally:
        keras.mixed_precision.set_global_policy(previous)


@pytest.mark.parametrize("flags, message", [
    (["--context-frames", "3"], "--context-frames does not apply"),
    (["--observed-fraction", "1.0"], "--observed-fraction must be in (0, 1)"),
    (["--observed-fraction", "0.875"], "--observed-fraction 0.875 of --num-frames 8 is 7 frames; with "
                                       "--future-frames 2 that needs 9 > 8 frames"),
    (["--image-size", "18"], "--image-size 18 must be divisible by 4"),
    (["--classes", "16,16"], "--classes must be distinct SSv2 ids"),
    (["--prediction-weight", "-1"], "--prediction-weight must be >= 0"),
    (["--manual-dir", "/nonexistent/ssv2"], "--manual-dir /nonexistent/ssv2 does not exist"),
])
def test_bad_ssv2_flags_fail_before_anything_is_written(tmp_path, capsys, ssv2_data, flags, message):
    logdir = tmp_path / "runs"
    with pytest.raises(SystemExit) as error:
        train.main(TINY + ["--data-dir", ssv2_data[0], "--logdir", str(logdir)] + flags)
    assert error.value.code == 2
    assert message in capsys.readouterr().err
    assert not logdir.exists()


def test_task_mismatches_are_named(tmp_path, capsys, ssv2_data):
    logdir = tmp_path / "runs"
    with pytest.raises(SystemExit):
        train.main(["--observed-fraction", "0.5", "--logdir", str(logdir)])
    assert "--observed-fraction apply to --dataset ssv2 only" in capsys.readouterr().err
    # Not prepared and no --manual-dir: says how to prepare it.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _train(TINY + ["--data-dir", str(empty), "--logdir", str(logdir)]) == 2
    assert "is not prepared in" in capsys.readouterr().err
    # A video-prediction preset cannot start a recognition run.
    assert _train(TINY + ["--data-dir", ssv2_data[0], "--logdir", str(logdir), "--preset",
                          "mmnist_convttlstm_small"]) == 2
    assert "trains an EarlyActivityRecognizer; the given preset is a VideoPredictor" in capsys.readouterr().err
    assert not logdir.exists()


def test_tiny_ssv2_run_and_the_tools_agree(tmp_path, capsys, ssv2_data):
    data_dir, manual = ssv2_data
    logdir = str(tmp_path / "runs")
    flags = TINY + ["--data-dir", data_dir, "--epochs", "2", "--steps-per-epoch", "3", "--validation-sequences", "2",
                    "--eval-sequences", "8", "--logdir", logdir, "--name", "ssv2"]
    assert _train(flags) == 0
    out = capsys.readouterr().out
    run = os.path.join(logdir, "ssv2")
    config = json.load(open(os.path.join(run, "config.json")))
    assert config["frame_shape"] == [16, 16, 3] and config["flags"]["context_frames"] == 2  # round(0.25 * 8)
    assert config["architecture"]["num_classes"] == 3 and config["architecture"]["encoder_channels"] == [2, 4]
    rows = list(csv.DictReader(open(os.path.join(run, "history.csv"))))
    assert {"loss", "val_loss", "frames_loss", "logits_loss", "logits_accuracy", "val_logits_accuracy"} <= set(rows[0])
    # SSv2 defaults to the linear sampling decay: 1 -> 0 over the run.
    assert [float(r["sampling_ratio"]) for r in rows] == [1.0, 0.5]

    # metrics.json holds the accuracy of the preset's model on the 2 validation clips, recomputed here.
    result = json.load(open(os.path.join(run, "metrics.json")))["results"]
    table = open(os.path.join(run, "metrics.md")).read().strip()
    assert table in out and result["num_sequences"] == 2
    preset = zoo.load_preset_dir(os.path.join(run, "preset"))
    assert isinstance(preset, EarlyActivityRecognizer) and preset.num_classes == 3
    from pipelines import ssv2

    clips, labels = zip(*ssv2.load(data_dir, "validation", num_frames=8, future_frames=2,
                                   config=ssv2.make_config([16, 149, 47], frame_size=(16, 16))).as_numpy_iterator())
    clips, labels = np.stack(clips), np.array(labels)
    out_model = preset.recognize(clips[:, :2])
    assert result["top1_accuracy"] == pytest.approx(np.mean(np.argmax(out_model["logits"], axis=1) == labels))
    mse = np.mean((np.clip(out_model["frames"], 0, 1) - clips[:, 2:4]) ** 2)
    assert result["frames"]["mse_x1e3"] == pytest.approx(1e3 * mse, rel=1e-4)
    assert set(result["per_group"]) == {"Holding", "Tearing", "Picking"}
    assert [c["name"] for c in result["per_class"]] == ["Holding something", "Tearing something into two pieces",
                                                         "Picking something up"]
    metadata = zoo.read_metadata(os.path.join(run, "preset"))
    assert [c["ssv2_id"] for c in metadata["classes"]] == [16, 149, 47]
    assert metadata["metrics"]["top1_accuracy"] == result["top1_accuracy"]
    assert os.path.getsize(os.path.join(run, "prediction.gif")) > 0

    # evaluate.py on the preset: the same numbers, the settings read from its metadata.
    evaluate = helpers.load_tool("evaluate")
    eval_dir = str(tmp_path / "eval")
    assert evaluate.main(["--weights", os.path.join(run, "preset"), "--dataset", "ssv2", "--data-dir", data_dir,
                          "--out", eval_dir, "--batch-size", "2"]) == 0
    again = json.load(open(os.path.join(eval_dir, "metrics.json")))["results"]
    assert again["top1_accuracy"] == result["top1_accuracy"]
    assert again["frames"]["mse_x1e3"] == pytest.approx(result["frames"]["mse_x1e3"], rel=1e-5)
    with pytest.raises(SystemExit):
        evaluate.main(["--weights", os.path.join(run, "preset"), "--out", eval_dir])
    assert "give --dataset ssv2, not moving_mnist" in capsys.readouterr().err

    # predict.py: the top classes of a clip, named, and the imagined frames.
    predict = helpers.load_tool("predict")
    np.save(tmp_path / "clip.npy", (clips[0] * 255).astype(np.uint8))
    assert predict.main(["--weights", os.path.join(run, "preset"), "--input", str(tmp_path / "clip.npy"),
                         "--context", "2", "--future", "2", "--out", str(tmp_path / "pred")]) == 0
    top = json.load(open(tmp_path / "pred" / "classes.json"))["clips"][0]
    probabilities = np.exp(out_model["logits"][0] - np.max(out_model["logits"][0]))
    probabilities /= probabilities.sum()
    assert top[0]["label"] == int(np.argmax(probabilities))
    assert top[0]["probability"] == pytest.approx(float(probabilities.max()), abs=2e-3)  # uint8 round trip
    assert top[0]["name"] in capsys.readouterr().out


def test_mirrored_two_cpu_replicas_trains_like_one_device(tmp_path, ssv2_data):
    # Teacher forcing throughout (--schedule none), so the replicas' sampling coins play no part.
    flags = TINY + ["--data-dir", ssv2_data[0], "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "2",
                    "--validation-sequences", "0", "--eval-sequences", "0", "--schedule", "none",
                    "--lr-schedule", "constant", "--logdir", str(tmp_path / "runs")]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    for name, extra in (("one", []), ("mirrored", ["--strategy", "mirrored", "--cpu-replicas", "2"])):
        done = subprocess.run([sys.executable, str(helpers.TOOLS / "train.py")] + flags + ["--name", name] + extra,
                              env=env, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr[-3000:]
    runs = tmp_path / "runs"
    assert json.load(open(runs / "mirrored" / "config.json"))["replicas"] == 2
    losses = [float(list(csv.DictReader(open(runs / n / "history.csv")))[0]["loss"]) for n in ("one", "mirrored")]
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    one = zoo.load_preset_dir(runs / "one" / "preset")
    mirrored = zoo.load_preset_dir(runs / "mirrored" / "preset")
    for a, b in zip(one.get_weights(), mirrored.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-5)
