"""tools/train.py, evaluate.py and predict.py on tiny data: errors first, then a full run and its outputs."""

import csv
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from ctt_keras import zoo
from tests.tools import helpers

train = helpers.load_tool("train")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return helpers.write_data_dir(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize("flags, message", [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--data-dir", "/nonexistent/x"], "--data-dir /nonexistent/x does not exist"),
    (["--image-size", "20"], "--image-size 20 is too small"),
    (["--layers-per-block", "1,1", "--hidden-channels", "4"], "--hidden-channels needs one value per block"),
    (["--strategy", "mirrored", "--cpu-replicas", "3"],
     "--batch-size 8 (global) does not split over --cpu-replicas 3"),
    (["--cpu-replicas", "2"], "--cpu-replicas needs --strategy mirrored"),
    (["--kernel-size", "4"], "--kernel-size must be odd"),
    (["--context-frames", "0"], "--context-frames must be >= 1"),
    (["--skip-stride", "x"], "--skip-stride must be a positive int or none"),
    (["--resume", "--name", "nothing-here"], "--resume: no run at"),
    (["--weights", "/nonexistent"], "--weights /nonexistent: not a preset folder"),
])
def test_bad_flags_fail_before_anything_is_written(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as error:
        train.main(flags + ["--logdir", str(tmp_path / "runs")])
    assert error.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_data_problems_fail_before_training(tmp_path, capsys, data_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit):
        train.main(["--data-dir", str(empty), "--logdir", str(tmp_path / "runs")])
    assert "no train file (looked for train.npz" in capsys.readouterr().err
    # Clips of 6 frames cannot give 10 context + 10 future frames.
    code = train.main(["--data-dir", data_dir, "--logdir", str(tmp_path / "runs")])
    assert code == 2
    assert "6 frames; --context-frames + --future-frames needs 20" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_tiny_run_writes_everything_and_tools_agree(tmp_path, capsys, data_dir):
    logdir = str(tmp_path / "runs")
    flags = helpers.TINY_FLAGS + ["--data-dir", data_dir, "--epochs", "2", "--steps-per-epoch", "3",
                                  "--logdir", logdir, "--name", "tiny", "--patience", "1"]
    previous = keras.mixed_precision.global_policy().name
    try:
        assert train.main(flags) == 0
    finally:
        keras.mixed_precision.set_global_policy(previous)
    out = capsys.readouterr().out
    run = os.path.join(logdir, "tiny")
    config = json.load(open(os.path.join(run, "config.json")))
    assert config["policy"] == "float32" and config["flags"]["data_dir"] == data_dir
    assert config["parameters"] > 0 and config["architecture"]["hidden_channels"] == [2]
    rows = list(csv.DictReader(open(os.path.join(run, "history.csv"))))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert {"loss", "val_loss", "sampling_ratio", "learning_rate"} <= set(rows[0])
    assert float(rows[0]["sampling_ratio"]) == 1.0 and float(rows[0]["learning_rate"]) == pytest.approx(1e-3)

    # The table printed is the one written; the preset holds the best checkpoint.
    table = open(os.path.join(run, "metrics.md")).read().strip()
    assert table in out and "3->3" in table
    metrics = json.load(open(os.path.join(run, "metrics.json")))["results"]["3->3"]
    assert metrics["convention"] == "nvlabs" and set(metrics["means"]) == {"mse", "mae", "psnr", "ssim"}
    preset = zoo.load_preset_dir(os.path.join(run, "preset"))
    best = zoo.load_preset_dir(os.path.join(run, "preset"), weights=False)
    best.load_weights(os.path.join(run, "checkpoints", "best.weights.h5"))
    for a, b in zip(preset.get_weights(), best.get_weights()):
        np.testing.assert_array_equal(a, b)
    for name in ("prediction.gif", "curves.png", "latest_validation.gif"):
        assert os.path.getsize(os.path.join(run, name)) > 0

    tags = set()
    for root, _, files in os.walk(os.path.join(run, "tensorboard")):
        for name in files:
            for event in tf.compat.v1.train.summary_iterator(os.path.join(root, name)):
                tags |= {v.tag for v in event.summary.value}
    assert {"epoch_loss", "epoch_sampling_ratio", "epoch_learning_rate", "predictions/strip",
            "predictions/gif", "test/3->3/mse_per_frame"} <= tags

    # evaluate.py on the preset reproduces the numbers computed after training.
    evaluate = helpers.load_tool("evaluate")
    eval_dir = str(tmp_path / "eval")
    assert evaluate.main(["--weights", os.path.join(run, "preset"), "--data-dir", data_dir, "--context", "3",
                          "--future", "2,3", "--num-sequences", "8", "--out", eval_dir]) == 0
    again = json.load(open(os.path.join(eval_dir, "metrics.json")))["results"]
    for name, value in metrics["means"].items():
        assert again["3->3"]["means"][name] == pytest.approx(value, rel=1e-5)
    np.testing.assert_allclose(again["3->2"]["curves"]["mse"], metrics["curves"]["mse"][:2], rtol=1e-5)

    # predict.py on a .npy clip: its frames are the model's closed-loop prediction.
    predict = helpers.load_tool("predict")
    clip = np.load(os.path.join(data_dir, "test.npz"))["data"][0]  # [6, 8, 8, 1] uint8
    np.save(tmp_path / "clip.npy", clip)
    assert predict.main(["--weights", os.path.join(run, "preset"), "--input", str(tmp_path / "clip.npy"),
                         "--context", "3", "--future", "5", "--out", str(tmp_path / "pred")]) == 0
    predicted = np.load(tmp_path / "pred" / "prediction.npy")
    expected = preset.predict_frames(clip[None, :3].astype("float32") / 255.0, 5)[0]
    np.testing.assert_allclose(predicted, expected, atol=1e-5)
    assert "truth not shown (3 of 5 future frames in the input)" in capsys.readouterr().out

    # --resume of the finished run refuses (it re-evaluated and replaced the preset); nothing is touched.
    before = {p: open(p, "rb").read() for p in (os.path.join(run, "history.csv"),
                                                 os.path.join(run, "preset", "model.weights.h5"),
                                                 os.path.join(run, "checkpoints", "best.weights.h5"))}
    with pytest.raises(SystemExit) as error:
        train.main(["--resume", "--logdir", logdir, "--name", "tiny"])
    assert error.value.code == 2
    assert "has already trained its 2 epochs; nothing was changed" in capsys.readouterr().err
    assert {p: open(p, "rb").read() for p in before} == before

    # A second run with the same name goes to a new folder; nothing of the first is touched.
    before = open(os.path.join(run, "metrics.json")).read()
    try:
        assert train.main(flags + ["--epochs", "1", "--eval-sequences", "0"]) == 0
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert "holds an earlier run; this run goes to" in capsys.readouterr().out
    assert os.path.isdir(os.path.join(logdir, "tiny-2"))
    assert open(os.path.join(run, "metrics.json")).read() == before


def test_predict_reads_a_frame_folder_and_resizes(tmp_path, capsys, data_dir):
    from PIL import Image

    from ctt_keras import training

    keras.utils.set_random_seed(0)
    architecture = dict(layers_per_block=(1,), hidden_channels=(2,), kernel_size=3, rank=2, skip_stride=None)
    model = training.build_model((8, 8, 1), architecture, context_frames=3)
    zoo.save_preset(model, tmp_path / "preset")
    frames = tmp_path / "frames"
    frames.mkdir()
    for t in range(4):
        Image.fromarray(np.full((16, 16, 3), 40 * t, np.uint8)).save(frames / f"{t:03d}.png")
    predict = helpers.load_tool("predict")
    assert predict.main(["--weights", str(tmp_path / "preset"), "--input", str(frames), "--future", "2",
                         "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "resized 16x16 -> 8x8" in out and "truth shown" not in out.replace("not shown", "")
    context = np.stack([np.full((8, 8, 1), 40 * t / 255.0, np.float32) for t in range(3)])[None]
    np.testing.assert_allclose(np.load(tmp_path / "out" / "prediction.npy"),
                               model.predict_frames(context, 2)[0], atol=1e-5)
    with pytest.raises(SystemExit):
        predict.main(["--weights", str(tmp_path / "preset"), "--input", str(tmp_path / "missing.avi"),
                      "--out", str(tmp_path / "o")])
    assert "--input" in capsys.readouterr().err


def test_kth_run_on_a_fake_prepared_folder(tmp_path, capsys):
    from pipelines import kth
    from tests.pipelines import kth_fixtures

    manual = kth_fixtures.make_fake_kth(tmp_path / "raw")
    data_dir = str(tmp_path / "tfds")
    kth.builder(data_dir, manual_dir=manual)  # prepares the TFDS folder once
    flags = ["--dataset", "kth", "--data-dir", data_dir, "--image-size", "16", "--layers-per-block", "1",
             "--hidden-channels", "2", "--kernel-size", "3", "--rank", "2", "--context-frames", "2",
             "--future-frames", "2", "--batch-size", "2", "--mixed-precision", "off", "--epochs", "1",
             "--steps-per-epoch", "2", "--validation-sequences", "2", "--eval-sequences", "2",
             "--eval-future", "2", "--logdir", str(tmp_path / "runs"), "--name", "kth", "--verbose", "0"]
    previous = keras.mixed_precision.global_policy().name
    try:
        assert train.main(flags) == 0
    finally:
        keras.mixed_precision.set_global_policy(previous)
    run = tmp_path / "runs" / "kth"
    assert json.load(open(run / "config.json"))["frame_shape"] == [16, 16, 1]
    result = json.load(open(run / "metrics.json"))
    assert result["num_sequences"] == 2 and "2->2" in result["results"]


def test_predict_reads_a_video_file(tmp_path, capsys):
    import cv2

    from ctt_keras import training

    keras.utils.set_random_seed(0)
    architecture = dict(layers_per_block=(1,), hidden_channels=(2,), kernel_size=3, rank=2, skip_stride=None)
    model = training.build_model((8, 8, 1), architecture, context_frames=3)
    zoo.save_preset(model, tmp_path / "preset")
    path = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"FFV1"), 25, (16, 12), False)
    levels = [20, 60, 100, 140, 180, 220]
    for level in levels:
        writer.write(np.full((12, 16), level, np.uint8))
    writer.release()
    predict = helpers.load_tool("predict")
    assert predict.main(["--weights", str(tmp_path / "preset"), "--input", path, "--future", "3",
                         "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "1 clip(s) of 6 frames (12, 16, 1) uint8" in out and "resized 12x16 -> 8x8" in out
    assert "truth shown" in out
    context = np.stack([np.full((8, 8, 1), v / 255.0, np.float32) for v in levels[:3]])[None]
    np.testing.assert_allclose(np.load(tmp_path / "out" / "prediction.npy"),
                               model.predict_frames(context, 3)[0], atol=1e-5)


def test_diverging_run_stops_with_the_step_named(tmp_path, capsys, data_dir):
    flags = helpers.TINY_FLAGS + ["--data-dir", data_dir, "--epochs", "3", "--steps-per-epoch", "5",
                                  "--learning-rate", "1e30", "--eval-sequences", "0",
                                  "--logdir", str(tmp_path / "runs"), "--name", "nan"]
    previous = keras.mixed_precision.global_policy().name
    try:
        with pytest.raises(SystemExit) as error:
            train.main(flags)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    message = str(error.value.code).strip()
    assert message.startswith("train.py: error: loss is ") and "at epoch 1, step " in message
    assert "--learning-rate" in message
    assert not os.path.exists(tmp_path / "runs" / "nan" / "preset")  # nothing saved from a diverged run
