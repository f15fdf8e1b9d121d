"""Every command line against bad inputs: a message naming the flag or file (exit code 2), never a traceback,
nothing written, and no reading, training or predicting started before the problem was found."""

import json
import os

import numpy as np
import pytest

from ctt_keras import training, zoo
from ctt_keras.cli import compare, evaluate, predict, prepare, train
from ctt_keras.training import comparison, evaluation, experiment, prediction, run_config
from tests.tools import helpers
from tests.training import tiny


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("bad_inputs")
    f = {"root": str(root), "data": helpers.write_data_dir(root / "data")}
    model = training.build_model((8, 8, 1), tiny.ARCHITECTURE, context_frames=3, seed=0)
    zoo.save_preset(model, str(root / "preset"), metadata={"dataset": "moving_mnist"})
    f["preset"] = str(root / "preset")
    (root / "a_file").write_text("not a folder")
    f["file"] = str(root / "a_file")
    f["under_file"] = str(root / "a_file" / "out")
    good = np.random.default_rng(0).random((6, 8, 8, 1), dtype=np.float32)
    np.save(root / "good.npy", good)
    f["good"] = str(root / "good.npy")
    arrays = {"nan": np.where(good > 0.5, np.nan, good), "inf": np.where(good > 0.5, np.inf, good),
              "over_one": good * 3, "int64": (good * 255).astype(np.int64), "flat": good[0, :, :, 0]}
    for name, array in arrays.items():
        np.save(root / f"{name}.npy", array)
        f[name] = str(root / f"{name}.npy")
    np.save(root / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    f["objects"] = str(root / "objects.npy")
    (root / "truncated.npy").write_bytes((root / "good.npy").read_bytes()[:100])
    f["truncated"] = str(root / "truncated.npy")
    (root / "video.avi").write_bytes(b"RIFF not really a video")
    f["video"] = str(root / "video.avi")
    for name, sizes in (("corrupt_png", None), ("mixed_sizes", ((8, 8), (9, 8))), ("no_images", ())):
        folder = root / name
        folder.mkdir()
        f[name] = str(folder)
        if sizes is None:
            (folder / "000.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
        for t, size in enumerate(sizes or ()):
            Image.fromarray(np.zeros(size, np.uint8)).save(folder / f"{t:03d}.png")
    (root / "no_images" / "notes.txt").write_text("x")
    (root / "empty").mkdir()
    f["empty"] = str(root / "empty")
    run = root / "bad_run"
    run.mkdir()
    (run / "config.json").write_text("{not json")
    (run / "history.csv").write_text("epoch,loss\n")
    f["bad_run"] = str(run)
    return f


@pytest.fixture(autouse=True)
def no_work(monkeypatch):
    """Fails the test if a command got as far as training, evaluating, predicting or writing data."""
    def reached(*args, **kwargs):
        raise AssertionError("the command started its work before refusing the bad input")

    for owner, name in ((experiment, "train"), (evaluation, "evaluate_predictor"),
                        (evaluation, "evaluate_recognizer"), (prediction, "predict_in_steps"),
                        (comparison, "compare")):
        monkeypatch.setattr(owner, name, reached)
    from ctt_keras.pipelines import moving_mnist

    monkeypatch.setattr(moving_mnist, "write_split", reached)


def _tiny_train(f):
    return helpers.TINY_FLAGS + ["--data-dir", f["data"]]


# (command, flags (with {key} filled from `files`), what the message must say)
CASES = [
    # ctt-train: numbers checked while parsing (NaN, inf, zero, negative, out of range).
    (train, ["--learning-rate", "nan"], "--learning-rate must be > 0 and finite, got nan"),
    (train, ["--learning-rate", "inf"], "--learning-rate must be > 0 and finite, got inf"),
    (train, ["--learning-rate", "0"], "--learning-rate must be > 0"),
    (train, ["--lr-decay", "0"], "--lr-decay must be in (0, 1], got 0.0"),
    (train, ["--lr-decay", "1.5"], "--lr-decay must be in (0, 1], got 1.5"),
    (train, ["--patience", "-3"], "--patience must be >= 1, got -3"),
    (train, ["--patience", "0"], "--patience must be >= 1, got 0"),
    (train, ["--lr-decay-every", "0"], "--lr-decay-every must be >= 1"),
    (train, ["--min-delta", "-1"], "--min-delta must be >= 0 and finite"),
    (train, ["--min-delta", "nan"], "--min-delta must be >= 0 and finite, got nan"),
    (train, ["--clip-norm", "nan"], "--clip-norm must be > 0 and finite, got nan"),
    (train, ["--clip-norm", "-1"], "--clip-norm must be > 0"),
    (train, ["--sampling-decay", "0"], "--sampling-decay must be in (0, 1]"),
    (train, ["--sampling-decay", "2"], "--sampling-decay must be in (0, 1]"),
    (train, ["--seed", "-1"], "--seed must be in 0..4294967295, got -1"),
    (train, ["--epochs", "0"], "--epochs must be >= 1, got 0"),
    (train, ["--epochs", "two"], "argument --epochs: invalid int value: 'two'"),
    (train, ["--batch-size", "-8"], "--batch-size must be >= 1"),
    (train, ["--eval-sequences", "-1"], "--eval-sequences must be >= 0"),
    (train, ["--image-size", "0"], "--image-size must be >= 1"),
    (train, ["--dataset", "ssv2", "--data-dir", "{root}", "--observed-fraction", "1.5"],
     "--observed-fraction must be in (0, 1), got 1.5"),
    (train, ["--dataset", "ssv2", "--data-dir", "{root}", "--prediction-weight", "nan"],
     "--prediction-weight must be >= 0 and finite, got nan"),
    # ctt-train: folders and files.
    (train, ["--logdir", "{file}"], "--logdir {file}: {file} is a file, not a folder"),
    (train, ["--logdir", "{under_file}"], "--logdir {under_file}: {file} is a file, not a folder"),
    (train, ["--data-dir", "{file}"], "--data-dir {file} does not exist or is not a folder"),
    (train, ["--data-dir", "{root}/missing"], "--data-dir {root}/missing does not exist"),
    (train, ["--weights", "{file}"], "--weights {file}: not a preset folder"),
    (train, ["--dataset", "ssv2", "--data-dir", "{root}", "--manual-dir", "{root}/none"],
     "--manual-dir {root}/none does not exist or is not a folder"),
    (train, ["--dataset", "ssv2", "--data-dir", "{root}", "--manual-dir", "{empty}"],
     "--manual-dir {empty} is empty"),
    # ctt-evaluate.
    (evaluate, ["--weights", "{preset}", "--context", "0"], "--context must be >= 1, got 0"),
    (evaluate, ["--weights", "{preset}", "--batch-size", "0"], "--batch-size must be >= 1"),
    (evaluate, ["--weights", "{preset}", "--num-sequences", "-5"], "--num-sequences must be >= 1"),
    (evaluate, ["--weights", "{preset}", "--seed", "-1"], "--seed must be in 0..4294967295"),
    (evaluate, ["--weights", "{preset}", "--out", "{file}"], "--out {file}: {file} is a file, not a folder"),
    (evaluate, ["--weights", "{preset}", "--out", "{under_file}"], "{file} is a file, not a folder"),
    (evaluate, ["--weights", "{file}"], "--weights {file}: not a preset folder"),
    (evaluate, ["--preset", "no_such_preset"], "--preset no_such_preset: unknown preset 'no_such_preset'"),
    (evaluate, ["--weights", "{preset}", "--data-dir", "{file}"], "--data-dir {file} does not exist"),
    (evaluate, ["--weights", "{preset}", "--future", "0"], "--future"),
    # ctt-predict: flags and folders.
    (predict, ["--weights", "{preset}", "--input", "{good}", "--future", "0"], "--future must be in 1..1000"),
    (predict, ["--weights", "{preset}", "--input", "{good}", "--future", "3000"],
     "--future must be in 1..1000, got 3000"),
    (predict, ["--weights", "{preset}", "--input", "{good}", "--start", "-1"], "--start must be >= 0"),
    (predict, ["--weights", "{preset}", "--input", "{good}", "--context", "0"], "--context must be >= 1"),
    (predict, ["--weights", "{preset}", "--input", "{good}", "--out", "{file}"],
     "--out {file}: {file} is a file, not a folder"),
    (predict, ["--weights", "{preset}", "--input", "{good}", "--out", "{under_file}"],
     "--out {under_file}: {file} is a file, not a folder"),
    (predict, ["--weights", "{preset}", "--input", "{root}/no.npy"], "--input {root}/no.npy does not exist"),
    (predict, ["--weights", "{file}", "--input", "{good}"], "--weights {file}: not a preset folder"),
    (predict, ["--preset", "no_such_preset", "--input", "{good}"], "--preset no_such_preset: unknown preset"),
    # ctt-predict: inputs it cannot use.
    (predict, ["--weights", "{preset}", "--input", "{corrupt_png}"],
     "--input {corrupt_png}: 000.png is not a readable image"),
    (predict, ["--weights", "{preset}", "--input", "{mixed_sizes}"],
     "{mixed_sizes}: frames of different sizes"),
    (predict, ["--weights", "{preset}", "--input", "{no_images}"],
     "{no_images}: folder holds no frame images"),
    (predict, ["--weights", "{preset}", "--input", "{truncated}"], "{truncated}: not a readable .npy array"),
    (predict, ["--weights", "{preset}", "--input", "{objects}"], "{objects}: not a readable .npy array"),
    (predict, ["--weights", "{preset}", "--input", "{nan}"], "--input {nan}: frames hold"),
    (predict, ["--weights", "{preset}", "--input", "{inf}"], "NaN or infinite values"),
    (predict, ["--weights", "{preset}", "--input", "{over_one}"],
     "{over_one}: float frames must be in [0, 1]"),
    (predict, ["--weights", "{preset}", "--input", "{int64}"],
     "{int64}: frames must be uint8 (0..255) or float"),
    (predict, ["--weights", "{preset}", "--input", "{flat}"], "--input {flat}: array of shape (8, 8)"),
    (predict, ["--weights", "{preset}", "--input", "{video}"], "--input {video}"),
    (predict, ["--weights", "{preset}", "--input", "{good}", "--start", "4"],
     "--input has 2 frames after --start 4; the model needs 3 context frames"),
    # ctt-prepare-moving-mnist.
    (prepare, ["--num-sequences", "0"], "--num-sequences must be >= 1, got 0"),
    (prepare, ["--num-shards", "0"], "--num-shards must be >= 1, got 0"),
    (prepare, ["--sequence-length", "-2"], "--sequence-length must be >= 1"),
    (prepare, ["--seed", "-1"], "--seed must be in 0..4294967295"),
    (prepare, ["--out-dir", "{file}"], "--out-dir {file}: {file} is a file, not a folder"),
    (prepare, ["--out-dir", "{under_file}"], "{file} is a file, not a folder"),
    # ctt-compare.
    (compare, ["--context", "0"], "--context must be >= 1"),
    (compare, ["--num-sequences", "0"], "--num-sequences must be >= 1"),
    (compare, ["--future", "x"], "--future must be comma-separated ints"),
    (compare, ["--out", "{file}"], "--out {file}: {file} is a file, not a folder"),
    (compare, ["--model", "a={root}/missing"], "--model a={root}/missing: not a preset folder"),
    (compare, ["--model", "a=no_such_preset"], "--model a=no_such_preset: unknown preset"),
    (compare, ["--run", "a={bad_run}"], "--run a={bad_run}: not a readable run folder (JSONDecodeError"),
]


def _argv(command, flags, f, out):
    flags = [flag.format(**f) for flag in flags]
    if command is train:
        return flags + ([] if "--logdir" in flags else ["--logdir", out]) + (
            _tiny_train(f) if "--data-dir" not in flags and "--dataset" not in flags else [])
    if command is prepare:
        return flags + ([] if "--out-dir" in flags else ["--out-dir", out]) + ["--formats", "npz"]
    if command is compare:
        return flags + ([] if "--out" in flags else ["--out", out]) + (
            [] if "--model" in flags or "--run" in flags else ["--baselines", "black"])
    return flags + ([] if "--out" in flags else ["--out", out])


def _case_id(case):
    command, flags, _ = case
    return command.__name__.split(".")[-1] + " " + " ".join(flags)


@pytest.mark.parametrize("command, flags, message", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input_is_a_named_error_with_nothing_written(files, tmp_path, capsys, command, flags, message):
    out = str(tmp_path / "out")
    before = sorted(os.listdir(files["root"]))
    with pytest.raises(SystemExit) as error:
        command.main(_argv(command, flags, files, out))
    assert error.value.code == 2
    err = capsys.readouterr().err
    assert message.format(**files) in err
    assert "Traceback" not in err
    assert not os.path.exists(out)
    assert sorted(os.listdir(files["root"])) == before


def test_predict_keeps_earlier_outputs_unless_overwrite(files, tmp_path, capsys, monkeypatch):
    monkeypatch.undo()  # this one predicts
    out = tmp_path / "out"
    argv = ["--weights", files["preset"], "--input", files["good"], "--future", "2", "--out", str(out)]
    assert predict.main(argv) == 0
    first = {name: (out / name).read_bytes() for name in ("prediction.npy", "prediction.gif")}
    capsys.readouterr()
    # Was: both files silently replaced.
    with pytest.raises(SystemExit) as error:
        predict.main(argv[:-3] + ["3", "--out", str(out)])
    assert error.value.code == 2
    assert "already holds prediction.npy, prediction.gif (an earlier prediction); pass --overwrite" in \
        capsys.readouterr().err
    assert {name: (out / name).read_bytes() for name in first} == first
    assert predict.main(argv[:-3] + ["3", "--out", str(out), "--overwrite"]) == 0
    assert np.load(out / "prediction.npy").shape == (3, 8, 8, 1)


def test_predict_refuses_a_horizon_whose_outputs_do_not_fit(files, tmp_path, capsys, monkeypatch):
    # 8x8 frames need ~50 KB for 100 frames; pretend only 10 KB are free. Found before predicting.
    monkeypatch.setattr(prediction, "available_memory", lambda: 10_000)
    with pytest.raises(SystemExit):
        predict.main(["--weights", files["preset"], "--input", files["good"], "--future", "100",
                      "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert "--future 100 for 1 clip(s) of (8, 8, 1) frames needs about" in err and "GiB is available" in err
    assert not (tmp_path / "out").exists()
    expected = 2 * 100 * 64 * 4 + (3 + 100) * 10 * 18 * 3 * 5
    assert prediction.output_bytes(1, 3, 100, (8, 8, 1)) == expected


def test_stepwise_rollout_is_predict_frames(capsys, monkeypatch):
    monkeypatch.undo()
    model = tiny.model(context_frames=3)
    context = tiny.clips(count=5, frames=3)
    got = prediction.predict_in_steps(model, context, 7, batch_size=2, progress=True)
    assert capsys.readouterr().out.count("35/35") == 1  # clips x frames
    # The numbers ctt-predict wrote before (one traced rollout of the whole horizon), bit for bit.
    _, _, traced = training.predict_clips(model, context, 3, 7, batch_size=2)
    np.testing.assert_array_equal(got, traced)
    np.testing.assert_allclose(got, model.predict_frames(context, 7), rtol=0, atol=1e-6)


def _write_run(files, logdir, name, backup_epoch=None, epochs=2):
    config = run_config.resolve({"data_dir": files["data"], "logdir": logdir, "name": name, "epochs": epochs,
                                 "context_frames": 3, "future_frames": 3, "eval_future": "3"})
    folder = os.path.join(logdir, name)
    os.makedirs(os.path.join(folder, "checkpoints"))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"flags": config}, f)
    with open(os.path.join(folder, "history.csv"), "w") as f:
        f.write("epoch,loss\n0,0.5\n")
    if backup_epoch is not None:
        os.makedirs(os.path.join(folder, "backup"))
        with open(os.path.join(folder, "backup", "training_metadata.json"), "w") as f:
            json.dump({"epoch": backup_epoch, "batch": 0}, f)
    return folder


def _snapshot(folder):
    return {os.path.join(p, n): open(os.path.join(p, n), "rb").read()
            for p, _, names in os.walk(folder) for n in names}


@pytest.mark.parametrize("backup_epoch, epochs, message", [
    (None, [], "has no backup to continue from"),
    (2, [], "has already trained its 2 epochs; nothing was changed. Give --epochs N with N > 2"),
    (3, ["--epochs", "3"], "has already trained its 3 epochs"),
])
def test_resume_without_anything_to_continue_refuses(files, tmp_path, capsys, backup_epoch, epochs, message):
    logdir = str(tmp_path / "runs")
    folder = _write_run(files, logdir, "r", backup_epoch)
    before = _snapshot(folder)
    # Was: trained from epoch 0 in the run's folder (weights, preset replaced, a second epoch 0 in history).
    with pytest.raises(SystemExit) as error:
        train.main(["--resume", "--logdir", logdir, "--name", "r"] + epochs)
    assert error.value.code == 2
    assert message in capsys.readouterr().err
    assert _snapshot(folder) == before


def test_resume_with_a_backup_is_accepted(files, tmp_path):
    logdir = str(tmp_path / "runs")
    _write_run(files, logdir, "r", backup_epoch=1)
    config = run_config.resolve({"resume": True, "logdir": logdir, "name": "r"})
    assert config["epochs"] == 2
    assert run_config.resolve({"resume": True, "logdir": logdir, "name": "r", "epochs": 5})["epochs"] == 5


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs permissions that bind (not root)")
def test_unwritable_output_folders_are_named_first(files, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for command, argv in ((predict, ["--weights", files["preset"], "--input", files["good"], "--out"]),
                              (evaluate, ["--weights", files["preset"], "--out"]),
                              (prepare, ["--formats", "npz", "--out-dir"]),
                              (train, _tiny_train(files) + ["--logdir"])):
            with pytest.raises(SystemExit):
                command.main(argv + [str(locked / "out")])
            assert f"{locked} is not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o755)
