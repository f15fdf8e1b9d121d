"""`CTT_KERAS_DETERMINISTIC`: what it switches on (the bit-identity across processes: the SIGKILL test)."""

import subprocess
import sys
import textwrap

import pytest

from ctt_keras.training import determinism


def test_the_environment_variable_is_read_strictly():
    assert not determinism.requested({})
    for value in ("0", "false", "No", "off", " "):
        assert not determinism.requested({determinism.ENVIRONMENT_VARIABLE: value})
    for value in ("1", "true", "YES", "on"):
        assert determinism.requested({determinism.ENVIRONMENT_VARIABLE: value})
    with pytest.raises(ValueError, match="CTT_KERAS_DETERMINISTIC must be 1 or 0.*'2'"):
        determinism.requested({determinism.ENVIRONMENT_VARIABLE: "2"})


_SCRIPT = textwrap.dedent("""
    import os
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import warnings
    import tensorflow as tf
    from tensorflow.python.framework import config
    from ctt_keras.training import determinism

    def gradient_ops():
        v = tf.Variable(tf.ones((3,)))

        @tf.function
        def grad(x):
            with tf.GradientTape() as tape:
                y = tf.reduce_sum(v * x) + tf.reduce_sum(v * x * x) + tf.reduce_sum(tf.sin(v) * x)
            return tape.gradient(y, v)

        return [op.type for op in grad.get_concrete_function(tf.ones((3,))).graph.get_operations()]

    before = gradient_ops()
    assert "AddN" in before, before  # the tape sums the three uses of v with one AddN
    os.environ[determinism.ENVIRONMENT_VARIABLE] = "1"
    messages = []
    warnings.simplefilter("error")  # the tape part must take effect, not fall back with a warning
    assert determinism.enable_if_requested(messages.append)
    after = gradient_ops()
    assert "AddN" not in after and after.count("AddV2") >= before.count("AddV2") + 2, after
    assert tf.config.optimizer.get_experimental_options()["arithmetic_optimization"] is False
    assert config.is_op_determinism_enabled()
    print(messages[0])
""")


def test_deterministic_training_sums_in_a_fixed_order():
    result = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "deterministic training (CTT_KERAS_DETERMINISTIC=1)" in result.stdout


def test_a_bad_value_stops_ctt_train_with_a_message(monkeypatch):
    from ctt_keras.training import experiment, run_config

    monkeypatch.setenv(determinism.ENVIRONMENT_VARIABLE, "maybe")
    with pytest.raises(run_config.ConfigError, match="CTT_KERAS_DETERMINISTIC must be 1 or 0"):
        experiment.train({})  # refused before anything is read, built or written
