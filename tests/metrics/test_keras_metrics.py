"""Stateful Keras metrics: exact means over batches, weights and replicas; compile/evaluate; configs."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from ctt_keras.metrics import FrameLPIPS, FrameMAE, FrameMSE, FramePSNR, FrameSSIM, evaluate, lpips, mse, ssim


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(0)
    targets = rng.random((7, 2, 32, 32, 1), dtype=np.float32)
    predictions = (targets + 0.2 * rng.standard_normal(targets.shape)).astype(np.float32)
    return predictions, targets


def test_uneven_batches_give_the_exact_mean(clips):
    predictions, targets = clips
    metric = FrameSSIM(data_range=2.0)
    for start, stop in ((0, 3), (3, 4), (4, 7)):
        metric.update_state(targets[start:stop], predictions[start:stop])
    expected = np.asarray(ssim(predictions, targets, data_range=2.0)).mean()
    assert float(metric.result()) == pytest.approx(expected, abs=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0
    metric.update_state(targets[:1], predictions[:1])
    assert float(metric.result()) == pytest.approx(np.asarray(ssim(predictions[:1], targets[:1], 2.0)).mean())


def test_sample_weights_per_sample_and_per_frame(clips):
    predictions, targets = clips
    values = np.asarray(mse(predictions, targets))  # [7, 2]
    per_sample = np.array([1, 0, 2, 1, 0, 0, 3], np.float32)
    metric = FrameMSE()
    metric.update_state(targets, predictions, sample_weight=per_sample)
    expected = (values * per_sample[:, None]).sum() / (2 * per_sample.sum())
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    per_frame = np.tile([[1.0, 0.0]], (7, 1)).astype(np.float32)
    metric = FrameMSE()
    metric.update_state(targets, predictions, sample_weight=per_frame)
    assert float(metric.result()) == pytest.approx(values[:, 0].mean(), rel=1e-5)


def test_clip_and_reduction_options(clips):
    predictions, targets = clips
    metric = FrameMAE(reduction="sum", clip_predictions=True)
    metric.update_state(targets, predictions)
    expected = np.abs(np.clip(predictions, 0, 1) - targets).sum(axis=(2, 3, 4)).mean()
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)


def test_nan_is_reported(clips):
    predictions, targets = clips
    predictions = predictions.copy()
    predictions[2, 1, 0, 0, 0] = np.nan
    metric = FramePSNR()
    metric.update_state(targets, predictions)
    assert np.isnan(float(metric.result()))


def test_compile_and_evaluate_match_the_functions(clips):
    predictions, targets = clips
    model = keras.Sequential([keras.Input((2, 32, 32, 1)), keras.layers.Identity()])
    model.compile(loss="mse", metrics=[FrameMSE(), FramePSNR(), FrameSSIM(), FrameLPIPS()])
    got = model.evaluate(predictions, targets, batch_size=3, return_dict=True, verbose=0)
    expected = evaluate(predictions, targets, convention="standard", metrics=("mse", "psnr", "ssim", "lpips"))
    for name in ("mse", "psnr", "ssim", "lpips"):
        assert got[f"frame_{name}"] == pytest.approx(expected["means"][name], rel=1e-5, abs=1e-6), name


@pytest.mark.parametrize(
    "metric",
    [FrameMSE(reduction="sum", clip_predictions=True, name="m"), FrameMAE(), FramePSNR(data_range=2.0),
     FrameSSIM(data_range=2.0, window="gaussian"), FrameLPIPS(net="squeeze", input_range=(-1.0, 1.0))],
    ids=lambda m: type(m).__name__,
)
def test_config_round_trip(metric):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert type(restored) is type(metric)
    assert restored.get_config() == metric.get_config()


def test_lpips_metric_does_not_own_the_network(clips):
    metric = FrameLPIPS()
    assert [v.name for v in metric.variables] == ["total", "count"]
    predictions, targets = clips
    metric.update_state(targets, predictions)
    metric.reset_state()  # must not zero the shared network
    assert float(np.asarray(lpips(targets[:1], predictions[:1])).mean()) > 0.0


def test_bad_arguments():
    with pytest.raises(ValueError, match="reduction"):
        FrameMSE(reduction="median")
    with pytest.raises(ValueError, match="window"):
        FrameSSIM(window="box")
    with pytest.raises(ValueError, match="net"):
        FrameLPIPS(net="vgg")


_REPLICA_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from ctt_keras.metrics import FrameMSE, FrameSSIM
    rng = np.random.default_rng(0)
    y = rng.random((6, 2, 16, 16, 1), dtype=np.float32)
    x = (y + 0.2 * rng.standard_normal(y.shape)).astype(np.float32)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        metrics = [FrameMSE(), FrameSSIM()]
    data = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((y, x)).batch(4))

    @tf.function
    def step(batch):
        def update(y_true, y_pred):
            for m in metrics:
                m.update_state(y_true, y_pred)
        strategy.run(update, args=batch)

    for batch in data:
        step(batch)
    json.dump({"replicas": strategy.num_replicas_in_sync,
               "mse": float(metrics[0].result()), "ssim": float(metrics[1].result()),
               "frames": float(metrics[0].count.numpy())}, sys.stdout)
""")


def test_mirrored_replicas_sum_exactly(clips):
    """Two CPU replicas (a fresh process: logical devices must be set before TensorFlow starts)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", _REPLICA_SCRIPT], capture_output=True, text=True, env=env,
                         cwd=root, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    rng = np.random.default_rng(0)
    y = rng.random((6, 2, 16, 16, 1), dtype=np.float32)
    x = (y + 0.2 * rng.standard_normal(y.shape)).astype(np.float32)
    assert got["replicas"] == 2 and got["frames"] == 12  # every replica's frames counted once
    assert got["mse"] == pytest.approx(np.asarray(mse(x, y)).mean(), rel=1e-5)
    assert got["ssim"] == pytest.approx(np.asarray(ssim(x, y)).mean(), abs=1e-6)
