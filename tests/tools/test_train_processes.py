"""tools/train.py as separate processes: mirrored on logical CPUs, and SIGKILL + --resume."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.tools import helpers

TRAIN = str(helpers.TOOLS / "train.py")
TIMEOUT = 300


def _env(deterministic=False):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    if deterministic:  # sums in a fixed order: two processes train to the same bits (training/determinism.py)
        env["CTT_KERAS_DETERMINISTIC"] = "1"
    return env


def _train(args, deterministic=False):
    result = subprocess.run([sys.executable, TRAIN, *args], env=_env(deterministic), capture_output=True,
                            text=True, timeout=TIMEOUT, cwd=str(helpers.REPO))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


def _weights(path):
    import h5py

    values = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: values.append((name, obj[()])) if hasattr(obj, "shape") else None)
    return dict(values)


def _backup_epoch(run):
    path = os.path.join(run, "backup", "training_metadata.json")
    try:
        with open(path) as f:
            return int(json.load(f)["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def _epochs_done(run):
    path = os.path.join(run, "history.csv")
    if not os.path.isfile(path):
        return 0
    with open(path) as f:
        return len(list(csv.DictReader(f)))


def test_cli_mirrored_on_two_cpu_replicas(tmp_path):
    data = helpers.write_data_dir(tmp_path / "data")
    out = _train(helpers.TINY_FLAGS + ["--data-dir", data, "--strategy", "mirrored", "--cpu-replicas", "2",
                                       "--epochs", "1", "--steps-per-epoch", "2", "--eval-sequences", "0",
                                       "--logdir", str(tmp_path / "runs"), "--name", "m"])
    assert "MirroredStrategy x2, global batch 4" in out
    rows = list(csv.DictReader(open(tmp_path / "runs" / "m" / "history.csv")))
    assert len(rows) == 1 and np.isfinite(float(rows[0]["val_loss"]))


@pytest.mark.slow  # three training processes, about a minute on 2 cores
def test_sigkill_in_epoch_2_then_resume_matches_uninterrupted_run(tmp_path):
    data = helpers.write_data_dir(tmp_path / "data")
    # Epochs long enough to be killed inside; the schedule decays the sampling ratio from epoch 2 on.
    flags = helpers.TINY_FLAGS + ["--data-dir", data, "--epochs", "3", "--steps-per-epoch", "300",
                                  "--eval-sequences", "0", "--patience", "1", "--sampling-decay", "0.2",
                                  "--min-delta", "10",
                                  "--logdir", str(tmp_path / "runs"), "--seed", "3"]
    # Every process trains deterministically: without it, two uninterrupted runs of these flags differed in
    # about half of the pairs tried (TensorFlow's AddN sums in an order that follows thread timing), so a
    # difference would not show a fault of the resume.
    _train(flags + ["--name", "reference"], deterministic=True)

    killed_run = str(tmp_path / "runs" / "killed")
    process = subprocess.Popen([sys.executable, TRAIN, *flags, "--name", "killed"], env=_env(True),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(helpers.REPO))
    try:
        deadline = time.time() + TIMEOUT
        # An epoch is finished once its backup is committed (the last write of the epoch; docs/reliability.md).
        while _backup_epoch(killed_run) < 1:
            assert process.poll() is None, "training ended before it could be killed"
            assert time.time() < deadline, "epoch 1 did not finish in time"
            time.sleep(0.05)
        time.sleep(0.5)  # inside epoch 2 (300 steps)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert _epochs_done(killed_run) == 1, "the kill did not land in epoch 2"

    out = _train(["--resume", "--logdir", str(tmp_path / "runs"), "--name", "killed", "--verbose", "2"],
                 deterministic=True)
    assert "resuming at epoch 2" in out and "deterministic training" in out
    assert _epochs_done(killed_run) == 3
    reference = _weights(tmp_path / "runs" / "reference" / "checkpoints" / "last.weights.h5")
    resumed = _weights(os.path.join(killed_run, "checkpoints", "last.weights.h5"))
    assert reference.keys() == resumed.keys() and len(reference) > 5
    for name in reference:
        np.testing.assert_array_equal(resumed[name], reference[name], err_msg=name)
    history = csv.DictReader(open(os.path.join(killed_run, "history.csv")))
    ratios = [float(r["sampling_ratio"]) for r in history]
    assert ratios == pytest.approx([1.0, 1.0, 0.8])  # the schedule acted and its state was carried over


@pytest.mark.slow  # two training processes plus TensorFlow start-up, about 40 s on 2 cores
def test_cli_multi_worker_two_local_processes(tmp_path):
    import json
    import socket

    data = helpers.write_data_dir(tmp_path / "data")
    sockets = [socket.socket() for _ in range(2)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    flags = helpers.TINY_FLAGS + ["--data-dir", data, "--strategy", "multi_worker", "--epochs", "2",
                                  "--steps-per-epoch", "3", "--eval-sequences", "0", "--patience", "1",
                                  "--logdir", str(tmp_path / "runs"), "--name", "mw"]
    processes = []
    for index in range(2):
        task = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = dict(_env(), TF_CONFIG=json.dumps(task))
        log = open(tmp_path / f"worker{index}.log", "w")
        processes.append((subprocess.Popen([sys.executable, TRAIN, *flags], env=env, stdout=log,
                                           stderr=subprocess.STDOUT, cwd=str(helpers.REPO)), log))
    try:
        for process, _ in processes:
            process.wait(timeout=TIMEOUT)
    finally:
        for process, log in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    for process, text in zip((p for p, _ in processes), logs):
        assert process.returncode == 0, text[-3000:]
    assert "MultiWorkerMirroredStrategy x2" in logs[0]
    run = tmp_path / "runs" / "mw"
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert len(rows) == 2 and all(np.isfinite(float(r["val_loss"])) for r in rows)
    # The chief wrote the run; the other worker only its backup beside it. Both hold the same weights.
    chief = _weights(run / "backup" / "latest.weights.h5")
    other = _weights(tmp_path / "runs" / "mw.workers" / "worker-1" / "backup" / "latest.weights.h5")
    assert chief.keys() == other.keys()
    for name in chief:
        np.testing.assert_array_equal(other[name], chief[name], err_msg=name)
    assert os.path.isfile(run / "preset" / "model.weights.h5")
