"""`ctt-train --backend jax|torch`: the same run as on TensorFlow, without TensorFlow (issue: every backend).

Every run starts from the same preset folder (weights made here), reads generated Moving-MNIST, and uses the
closed-loop schedule (no sampling coins, whose random draws differ per backend) in float32, so that the
runs must agree with the TensorFlow run of the test process: losses per epoch and the final weights. The
JAX and PyTorch runs are `tools/train.py` subprocesses in which `import tensorflow` fails.
"""

import csv
import importlib.util
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from ctt_keras import VideoPredictor, zoo
from tests.backends.test_backends import no_tensorflow_env
from tests.tools import helpers

train = helpers.load_tool("train")
TRAIN_PY = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "train.py")
# A run small enough for CI: 32x32 frames folded by patch 4, 3 + 2 frames, two steps of 4 clips per epoch.
RUN_FLAGS = [
    "--image-size", "32", "--context-frames", "3", "--future-frames", "2", "--batch-size", "4",
    "--steps-per-epoch", "2", "--validation-sequences", "4", "--schedule", "closed", "--lr-schedule",
    "constant", "--learning-rate", "3e-3", "--clip-norm", "3.0", "--mixed-precision", "off", "--seed", "3",
    "--eval-sequences", "0", "--verbose", "2",
]
LOSS_RTOL = 2e-5


def _skip_without(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install {backend})")


@pytest.fixture(scope="module")
def start(tmp_path_factory):
    """A preset folder every run starts from (fresh weights, the same on every backend)."""
    folder = tmp_path_factory.mktemp("start") / "preset"
    model = VideoPredictor((32, 32, 1), layers_per_block=(1, 1), hidden_channels=(4, 4), skip_stride=None,
                           kernel_size=3, order=2, steps=2, rank=2, patch_size=4, context_frames=3, seed=3)
    model(np.zeros((1, 5, 32, 32, 1), "float32"))
    zoo.save_preset(model, str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def tensorflow_run(start, tmp_path_factory):
    """Two epochs on TensorFlow, in this process: the reference."""
    logdir = tmp_path_factory.mktemp("tf")
    assert train.main(RUN_FLAGS + ["--weights", start, "--epochs", "2", "--logdir", str(logdir),
                                   "--name", "run"]) == 0
    return logdir / "run"


def _run_without_tensorflow(backend, flags, logdir, extra_env=None):
    env = no_tensorflow_env(**(extra_env or {}))
    env.pop("KERAS_BACKEND", None)  # --backend alone must choose it
    done = subprocess.run([sys.executable, TRAIN_PY, "--backend", backend, "--logdir", str(logdir)] + flags,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{backend} run failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done.stdout


def _history(run):
    with open(run / "history.csv") as f:
        return list(csv.DictReader(f))


def _weights(path):
    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset)
                     else None)
    return arrays


def _assert_same_run(run, reference, epochs=2):
    rows, expected = _history(run), _history(reference)
    assert [r["epoch"] for r in rows] == [str(e) for e in range(epochs)]
    for row, want in zip(rows, expected):
        for key in ("loss", "val_loss"):
            np.testing.assert_allclose(float(row[key]), float(want[key]), rtol=LOSS_RTOL, err_msg=key)
    got, want = _weights(run / "checkpoints" / "last.weights.h5"), _weights(reference / "checkpoints" /
                                                                             "last.weights.h5")
    assert got.keys() == want.keys() and len(got) > 10
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-3, atol=2e-5, err_msg=name)


def test_jax_run_without_tensorflow_equals_the_tensorflow_run(start, tensorflow_run, tmp_path):
    out = _run_without_tensorflow("jax", RUN_FLAGS + ["--weights", start, "--epochs", "2", "--name", "run",
                                                      "--eval-sequences", "4", "--eval-future", "2"], tmp_path)
    run = tmp_path / "run"
    config = json.loads((run / "config.json").read_text())
    assert config["backend"] == "jax" and config["flags"]["backend"] == "jax"
    assert config["strategy"] == "one device" and config["jit_compile"] is True  # JAX compiles by default
    assert "no TensorBoard logs" in out
    _assert_same_run(run, tensorflow_run)
    # Evaluated and saved as a preset that loads (here, on TensorFlow) with the run's best weights.
    metrics = json.loads((run / "metrics.json").read_text())["results"]
    assert np.isfinite(metrics["3->2"]["means"]["mse"])
    assert (run / "prediction.gif").stat().st_size > 0
    preset = zoo.load_preset_dir(str(run / "preset"))
    best = zoo.load_preset_dir(start)
    best.load_weights(str(run / "checkpoints" / "best.weights.h5"))
    for got, want in zip(preset.get_weights(), best.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_tensorflow_run_resumes_on_jax_where_it_stopped(start, tensorflow_run, tmp_path):
    assert train.main(RUN_FLAGS + ["--weights", start, "--epochs", "1", "--logdir", str(tmp_path),
                                   "--name", "run"]) == 0
    out = _run_without_tensorflow("jax", ["--resume", "--name", "run", "--epochs", "2"], tmp_path)
    assert "resuming at epoch 2" in out
    run = tmp_path / "run"
    assert json.loads((run / "config.json").read_text())["backend"] == "jax"
    _assert_same_run(run, tensorflow_run)


def test_jax_data_parallel_over_two_cpu_devices(start, tensorflow_run, tmp_path):
    out = _run_without_tensorflow(
        "jax", RUN_FLAGS + ["--weights", start, "--epochs", "2", "--name", "run", "--strategy", "data_parallel",
                            "--cpu-replicas", "2"], tmp_path)
    assert "DataParallel x2" in out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["strategy"], config["replicas"]) == ("DataParallel", 2)
    _assert_same_run(tmp_path / "run", tensorflow_run)  # each batch split in two, the same gradients


def test_called_from_python_it_runs_the_backend_in_a_new_process(start, tmp_path):
    # This process runs Keras on TensorFlow: `main` starts one on JAX, which records the same command.
    flags = RUN_FLAGS + ["--backend", "jax", "--weights", start, "--epochs", "1", "--logdir", str(tmp_path),
                         "--name", "run"]
    assert train.main(flags) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["backend"] == "jax"
    assert config["command"] == "python tools/train.py " + " ".join(flags)
    # TensorFlow is installed here: the JAX run writes TensorBoard logs too.
    assert any(name.startswith("events") for _, _, files in os.walk(tmp_path / "run" / "tensorboard")
               for name in files)


@pytest.mark.torch_backend
def test_torch_run_without_tensorflow_equals_the_tensorflow_run(start, tensorflow_run, tmp_path):
    _skip_without("torch")
    out = _run_without_tensorflow("torch", RUN_FLAGS + ["--weights", start, "--epochs", "2", "--name", "run"],
                                  tmp_path)
    assert "backend torch" in out
    _assert_same_run(tmp_path / "run", tensorflow_run)


@pytest.mark.parametrize("flags, message", [
    (["--backend", "jax", "--strategy", "mirrored"],
     "--strategy mirrored is not available with --backend jax (it is a strategy of --backend tensorflow); "
     "choose one of default, data_parallel"),
    (["--backend", "torch", "--strategy", "data_parallel"],
     "--strategy data_parallel is not available with --backend torch (it is a strategy of --backend jax)"),
    (["--backend", "tensorflow", "--strategy", "data_parallel"], "--backend tensorflow"),
    (["--backend", "torch", "--cpu-replicas", "2"], "--cpu-replicas: --backend torch trains on one device"),
    (["--backend", "jax", "--cpu-replicas", "2"], "--cpu-replicas needs --strategy data_parallel"),
    (["--backend", "theano"], "argument --backend: invalid choice: 'theano'"),
])
def test_strategies_are_checked_per_backend_before_anything_runs(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as error:
        train.main(flags + ["--logdir", str(tmp_path / "runs")])
    assert error.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_datasets_only_tf_data_reads_name_what_they_need_without_tensorflow(tmp_path):
    data = tmp_path / "data"
    helpers.write_data_dir(data)
    env = no_tensorflow_env()
    env.pop("KERAS_BACKEND", None)
    done = subprocess.run([sys.executable, TRAIN_PY, "--backend", "jax", "--data-dir", str(data), "--logdir",
                           str(tmp_path / "runs")] + helpers.TINY_FLAGS, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode != 0
    assert ("--dataset moving_mnist with --data-dir on --backend jax (read by tf.data) needs TensorFlow, which "
            "is not installed") in done.stderr
    assert "Without TensorFlow, use generated Moving-MNIST" in done.stderr
    assert "Traceback" not in done.stderr


def test_mixed_float16_scales_the_loss_on_every_backend():
    # Keras' own trainer (shared by the three backends) wraps the optimizer when the policy is mixed_float16;
    # compile_model must leave it to do so (no optimizer of its own kind).
    import keras

    from ctt_keras import training

    previous = training.set_precision_policy("mixed_float16")
    try:
        model = VideoPredictor((16, 16, 1), layers_per_block=(1,), hidden_channels=(2,), skip_stride=None,
                               kernel_size=3, rank=2)
        training.compile_model(model, 1e-3, 3.0)
    finally:
        training.set_precision_policy(previous)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.optimizer.inner_optimizer.global_clipnorm == 3.0


def test_any_backend_batches_are_the_tf_data_batches():
    from ctt_keras.training import data, run_config

    config = {**run_config.defaults(), "image_size": 32, "seed": 5}
    # Train: a resumed run skips whole batches and continues the same stream.
    batches = data.batches(config, "train", 4, 3, skip=6)
    assert batches.num_batches is None
    stream = data.clip_dataset(config, "train", 4, skip=6).batch(3)
    for index, expected in zip(range(3), stream):
        np.testing.assert_array_equal(batches[index], expected.numpy())
    # A fixed split: its first whole batches, in order.
    validation = data.batches(config, "validation", 4, 3, num_sequences=7)
    assert len(validation) == 2
    expected = data.fixed_clips(config, "validation", 4, 6)
    np.testing.assert_array_equal(np.concatenate([validation[0], validation[1]]), expected)
    with pytest.raises(IndexError, match="batch 2 out of range"):
        validation[2]
    with pytest.raises(ValueError, match="skip=5 is not a whole number of batches of 3"):
        data.batches(config, "train", 4, 3, skip=5)
