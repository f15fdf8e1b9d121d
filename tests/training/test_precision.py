import keras
import numpy as np
import pytest
import tensorflow as tf

from ctt_keras import training
from tests.training import tiny


@pytest.fixture
def cpuinfo(tmp_path):
    def write(flags):
        path = tmp_path / f"cpuinfo-{flags.replace(' ', '-')}"
        path.write_text(
            f"processor\t: 0\nflags\t\t: fpu sse2 {flags}\n\nprocessor\t: 1\nflags\t\t: fpu {flags}\n"
        )
        return str(path)

    return write


def test_auto_precision_per_device(cpuinfo):
    bf16 = cpuinfo("avx512f avx512_bf16")
    plain = cpuinfo("avx512f avx2")
    assert training.resolve_mixed_precision("auto", accelerator=True, cpuinfo_path=plain) == "mixed_float16"
    assert training.resolve_mixed_precision("auto", accelerator=False, cpuinfo_path=bf16) == "mixed_bfloat16"
    assert training.resolve_mixed_precision("auto", accelerator=False, cpuinfo_path=cpuinfo("amx_bf16")) == (
        "mixed_bfloat16")
    assert training.resolve_mixed_precision("auto", accelerator=False, cpuinfo_path=plain) == "float32"
    missing = "/nonexistent"
    assert training.resolve_mixed_precision("auto", accelerator=False, cpuinfo_path=missing) == "float32"
    assert training.resolve_mixed_precision("off", accelerator=True) == "float32"
    assert training.resolve_mixed_precision("mixed_float16", accelerator=False) == "mixed_float16"
    with pytest.raises(ValueError, match="mixed precision must be one of"):
        training.resolve_mixed_precision("float16")


def test_jit_compile_resolution():
    assert training.resolve_jit_compile("auto", accelerator=True) is True
    assert training.resolve_jit_compile("auto", accelerator=False) is False
    assert training.resolve_jit_compile("on") is True and training.resolve_jit_compile("off") is False
    with pytest.raises(ValueError, match="jit compile must be one of"):
        training.resolve_jit_compile("yes")


@pytest.mark.parametrize("policy, compute", [("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")])
def test_mixed_precision_run_keeps_float32_variables_and_outputs(policy, compute):
    previous = training.set_precision_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        model = tiny.model()
        before = tiny.weights(model)
        history = model.fit(tf.data.Dataset.from_tensor_slices(tiny.clips(8)).batch(4), epochs=1, verbose=0)
        assert model.cells[0].compute_dtype == compute
        assert all(v.dtype == "float32" for v in model.variables if "seed" not in v.path)
        assert all(w.dtype == np.float32 for w in tiny.weights(model))
        assert any(not np.array_equal(a, b) for a, b in zip(before, tiny.weights(model)))  # it trained
        assert np.isfinite(history.history["loss"][0])
        prediction = model.predict_frames(tiny.clips(2)[:, :2], 2)
        assert prediction.dtype == "float32"
        assert model(tiny.clips(2), training=True).dtype == "float32"
        if policy == "mixed_float16":
            assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    finally:
        training.set_precision_policy(previous)
