"""The same step code eagerly, in tf.function, under XLA, MirroredStrategy, JAX and mixed precision."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import keras
from ctt_keras.layers import ConvLSTMCell, ConvRNN, ConvTTLSTMCell

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _layer(cell_cls):
    kwargs = {"order": 2, "steps": 3, "rank": 3} if cell_cls is ConvTTLSTMCell else {}
    layer = ConvRNN(cell_cls(4, 3, **kwargs), return_sequences=True)
    layer.build((2, 5, 8, 8, 1))
    return layer


@pytest.mark.parametrize("cell_cls", [ConvLSTMCell, ConvTTLSTMCell])
def test_eager_graph_and_xla_agree(cell_cls):
    layer = _layer(cell_cls)
    x = np.random.default_rng(0).random((2, 5, 8, 8, 1), dtype=np.float32)
    eager = layer(x).numpy()
    graph = tf.function(layer)(x).numpy()
    xla = tf.function(layer, jit_compile=True)(x).numpy()
    np.testing.assert_allclose(graph, eager, atol=1e-6)
    np.testing.assert_allclose(xla, eager, atol=1e-5)


def _run_subprocess(code, env_extra=None, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
    env.update(env_extra or {})
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_mirrored_strategy_on_two_cpu_replicas_matches_one_device():
    out = _run_subprocess(
        """
        import numpy as np, tensorflow as tf, keras
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from ctt_keras.layers import ConvRNN, ConvTTLSTMCell
        x = np.random.default_rng(0).random((4, 4, 8, 8, 1), dtype=np.float32)
        y = np.random.default_rng(1).random((4, 8, 8, 1), dtype=np.float32)
        def make():
            keras.utils.set_random_seed(3)
            inp = keras.Input((4, 8, 8, 1))
            h = ConvRNN(ConvTTLSTMCell(4, 3, order=2, steps=2, rank=2))(inp)
            m = keras.Model(inp, keras.layers.Conv2D(1, 1)(h))
            m.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
            return m
        single = make()
        h1 = single.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history["loss"]
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2
        with strategy.scope():
            mirrored = make()
        h2 = mirrored.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history["loss"]
        print("LOSSES", h1, h2)
        np.testing.assert_allclose(h1, h2, rtol=1e-4)
        for a, b in zip(single.get_weights(), mirrored.get_weights()):
            np.testing.assert_allclose(a, b, atol=1e-5)
        """
    )
    assert "LOSSES" in out


def test_jax_backend_gives_the_same_numbers():
    pytest.importorskip("jax")
    x = np.random.default_rng(0).random((2, 5, 8, 8, 1), dtype=np.float32)
    layer = _layer(ConvTTLSTMCell)
    weights_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "ctt_keras_jax_weights.npz")
    np.savez(weights_path, *layer.get_weights(), x=x, y=layer(x).numpy())
    _run_subprocess(
        f"""
        import numpy as np, jax
        from ctt_keras.layers import ConvRNN, ConvTTLSTMCell
        data = np.load({weights_path!r})
        layer = ConvRNN(ConvTTLSTMCell(4, 3, order=2, steps=3, rank=3), return_sequences=True)
        layer.build((2, 5, 8, 8, 1))
        layer.set_weights([data[f"arr_{{i}}"] for i in range(len(layer.weights))])
        np.testing.assert_allclose(np.asarray(layer(data["x"])), data["y"], atol=1e-5)
        jitted = jax.jit(lambda v: layer(v))
        np.testing.assert_allclose(np.asarray(jitted(data["x"])), data["y"], atol=1e-5)
        """,
        env_extra={"KERAS_BACKEND": "jax"},
    )


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("cell_cls", [ConvLSTMCell, ConvTTLSTMCell])
def test_mixed_precision_trains_with_float32_variables(policy, cell_cls):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        x = rng.random((8, 4, 8, 8, 1), dtype=np.float32)
        y = x[:, -1]  # learn to reproduce the last frame
        kwargs = {"order": 2, "steps": 2, "rank": 2} if cell_cls is ConvTTLSTMCell else {}
        inputs = keras.Input((4, 8, 8, 1))
        rnn = ConvRNN(cell_cls(4, 3, **kwargs))
        hidden = rnn(inputs)
        model = keras.Model(inputs, keras.layers.Conv2D(1, 1, dtype="float32")(hidden))
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
        losses = model.fit(x, y, batch_size=4, epochs=6, verbose=0).history["loss"]
        assert losses[-1] < 0.7 * losses[0], losses
        assert all(v.dtype == "float32" for v in model.weights)
        compute = policy.split("_")[1]
        assert rnn(x).dtype == compute
    finally:
        keras.config.set_dtype_policy(previous)


def test_video_predictor_trains_on_jax_and_reads_the_live_sampling_ratio():
    pytest.importorskip("jax")
    _run_subprocess(
        """
        import numpy as np, keras
        from ctt_keras.losses import L1L2Loss
        from ctt_keras.models import VideoPredictor
        keras.utils.set_random_seed(0)
        model = VideoPredictor((8, 8, 1), context_frames=2, layers_per_block=(1, 1), hidden_channels=(4, 4),
                               skip_stride=1, kernel_size=3, rank=2)
        model.compile(optimizer=keras.optimizers.SGD(0.0))
        clips = np.random.default_rng(0).random((2, 5, 8, 8, 1), dtype=np.float32)
        forced = float(L1L2Loss()(clips[:, 1:], model.one_step_predictions(clips)))
        free = float(L1L2Loss()(clips[:, 1:], model.predict_frames(clips[:, :2], 3, return_all_steps=True)))
        assert abs(forced - free) > 1e-3
        model.sampling_ratio.assign(1.0)
        np.testing.assert_allclose(model.train_on_batch(clips), forced, rtol=1e-5)
        model.sampling_ratio.assign(0.0)  # same compiled step, new value
        np.testing.assert_allclose(model.train_on_batch(clips), free, rtol=1e-5)
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        model.sampling_ratio.assign(0.5)
        losses = model.fit(clips, batch_size=2, epochs=5, verbose=0).history["loss"]
        assert losses[-1] < losses[0], losses
        """,
        env_extra={"KERAS_BACKEND": "jax"},
    )
