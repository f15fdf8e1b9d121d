"""What the public model API does with bad frames, horizons, arguments, targets and weights (docs/reliability.md)."""

import json

import keras
import numpy as np
import pytest

from ctt_keras.models import VideoPredictor
from ctt_keras.models import _inputs

TINY = dict(layers_per_block=(1,), hidden_channels=(4,), skip_stride=None, kernel_size=3, rank=2)


def _model(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    return VideoPredictor((8, 8, 1), context_frames=2, seed=seed, **{**TINY, **kwargs})


def _clips(n=4, t=4, seed=0):
    return np.random.default_rng(seed).random((n, t, 8, 8, 1), dtype=np.float32)


@pytest.fixture(scope="module")
def model():
    m = _model()
    m.compile(optimizer="sgd")
    return m


@pytest.mark.parametrize("call", [
    lambda m, x: m.predict_frames(x, 2),
    lambda m, x: m.one_step_predictions(x),
    lambda m, x: m.predict(x, verbose=0),
    lambda m, x: m.evaluate(x, verbose=0),
])
def test_non_finite_frames_are_refused_with_count_and_shape(model, call):
    clips = _clips()
    clips[0, 1, 2, 3, 0] = np.nan
    clips[1, 0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"holds 2 NaN or infinite values out of 1024 \(shape \(4, 4, 8, 8, 1\)\)"):
        call(model, clips)


@pytest.mark.parametrize("name, call", [
    ("context", lambda m, x: m.predict_frames(x, 2)),
    ("clip", lambda m, x: m.one_step_predictions(x)),
    ("x", lambda m, x: m.predict(x, verbose=0)),
])
def test_pixel_range_floats_are_refused_naming_the_range(model, name, call):
    pixels = np.round(_clips() * 255)
    with pytest.raises(ValueError, match=rf"`{name}` has \d+ of 1024 values outside \[0, 1\] \(range found "
                                         r"\[0, 255\].*divide by 255"):
        call(model, pixels)
    with pytest.raises(ValueError, match=r"range found \[-0\.5, 0\.98\d*\].*np\.clip"):
        call(model, np.where(_clips() > 0.99, -0.5, _clips()).astype("float32"))
    with pytest.raises(ValueError, match="dtype int64"):
        call(model, pixels.astype("int64"))


def test_uint8_frames_are_pixels_divided_by_255(model):
    pixels = np.round(_clips() * 255).astype(np.uint8)
    floats = pixels.astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(model.predict_frames(pixels[:, :2], 3), model.predict_frames(floats[:, :2], 3))
    np.testing.assert_array_equal(model.one_step_predictions(pixels), model.one_step_predictions(floats))
    np.testing.assert_array_equal(model.predict(pixels, verbose=0), model.predict(floats, verbose=0))
    assert model.evaluate(pixels, verbose=0) == model.evaluate(floats, verbose=0)


def test_fit_checks_and_converts_numpy_clips_before_training():
    pixels = np.round(_clips(8) * 255).astype(np.uint8)
    a, b = _model(), _model()
    a.compile(optimizer=keras.optimizers.SGD(0.1))
    b.compile(optimizer=keras.optimizers.SGD(0.1))
    a.fit(pixels, batch_size=4, epochs=1, shuffle=False, verbose=0)
    b.fit(pixels.astype(np.float32) / np.float32(255), batch_size=4, epochs=1, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    before = [w.copy() for w in a.get_weights()]
    bad = _clips(8)
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"`x` holds 64 NaN"):
        a.fit(bad, batch_size=4, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"`validation_data\[0\]` has \d+ of \d+ values outside \[0, 1\]"):
        a.fit(_clips(8), batch_size=4, epochs=1, verbose=0, validation_data=(_clips(4) * 255, None))
    for w, w0 in zip(a.get_weights(), before):  # refused before any step
        np.testing.assert_array_equal(w, w0)


def test_fit_and_evaluate_accept_the_clip_itself_as_target():
    # fit(clips, clips) ended in a raw TensorFlow shape error: the targets are the frames the model predicts.
    clips = _clips(8, t=5)
    a, b = _model(), _model()
    a.compile(optimizer=keras.optimizers.SGD(0.1))
    b.compile(optimizer=keras.optimizers.SGD(0.1))
    history_a = a.fit(clips, clips, batch_size=4, epochs=1, shuffle=False, verbose=0)
    history_b = b.fit(clips, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert history_a.history["loss"] == history_b.history["loss"]
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert a.evaluate(clips, clips, verbose=0) == a.evaluate(clips, verbose=0)
    # One clip target serves training and validation (frames 1..T-1, then the frames after the context).
    split = a.fit(clips, clips, batch_size=4, epochs=1, verbose=0, validation_split=0.5, shuffle=False)
    assert split.history["val_loss"][0] == pytest.approx(a.evaluate(clips[4:], batch_size=4, verbose=0), rel=1e-6)
    # The predicted frames alone are targets too (training: frames 1..T-1; evaluation: after the context).
    assert a.evaluate(clips, clips[:, 2:], verbose=0) == a.evaluate(clips, verbose=0)
    with pytest.raises(ValueError, match=r"`y` has 2 frames .* predicts 4 frames of the 5-frame clips in `x`\. "
                                         r"Pass no `y`"):
        a.fit(clips, clips[:, :2], batch_size=4, epochs=1, verbose=0)


def test_prediction_horizon_is_bounded_before_anything_runs(model, monkeypatch):
    context = _clips(1, t=2)
    with pytest.raises(ValueError, match=r"`future_frames=1000000000` exceeds the limit of 10000 frames"):
        model.predict_frames(context, 10**9)
    # The outputs of 8,000 frames of 8x8 for one clip: 8,001 steps x 256 bytes, about 2 MB; a 1 MB machine:
    monkeypatch.setattr(_inputs, "_physical_memory", lambda: 2**20)
    with pytest.raises(ValueError, match=r"`future_frames=8000` for a batch of 1 needs about 0\.0 GiB .* "
                                         r"this machine's 0\.0 GiB"):
        model.predict_frames(context, 8000)
    monkeypatch.setattr(model, "max_future_frames", 5)
    with pytest.raises(ValueError, match="exceeds the limit of 5 frames"):
        model.predict_frames(context, 6)


def test_numpy_integers_are_integers():
    i = np.int64
    m = VideoPredictor((i(8), i(8), i(1)), context_frames=i(2), layers_per_block=(i(1),), hidden_channels=(i(4),),
                       skip_stride=None, kernel_size=i(3), order=i(2), steps=i(2), rank=i(2), patch_size=i(2))
    config = json.loads(json.dumps(m.get_config()))  # plain ints: the config is JSON
    assert config["frame_shape"] == [8, 8, 1] and config["context_frames"] == 2 and config["patch_size"] == 2
    assert m.predict_frames(_clips(1, t=2), i(3)).shape == (1, 3, 8, 8, 1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(frame_shape=(16.7, 16, 1)), r"`frame_shape` must be three positive integers .* \(16\.7, 16, 1\)"),
    (dict(kernel_size=3.5), r"kernel_size=\(3\.5, 3\.5\)"),
    (dict(layers_per_block=(1.5,)), r"layers_per_block=\(1\.5,\)"),
    (dict(hidden_channels=(4.2,)), r"hidden_channels=\(4\.2,\)"),
    (dict(context_frames=np.bool_(True)), "context_frames"),
    (dict(layers_per_block=(1, 1), hidden_channels=(4, 4), skip_stride=2),
     r"`skip_stride=2` joins block b to block b - 2, but the network has 2 blocks"),
    (dict(layers_per_block=(1, 1), hidden_channels=(4, 4), skip_stride=5), "has 2 blocks"),
])
def test_bad_architecture_numbers_are_refused(kwargs, message):
    args = dict(frame_shape=(8, 8, 1), **TINY)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        VideoPredictor(**args)


def test_float_sizes_are_refused_even_when_whole():
    # As Keras does for sizes (and as patch_size=2.0 already was): an integer, not a float.
    with pytest.raises(ValueError, match=r"`frame_shape` must be three positive integers .* \(16\.0, 16, 1\)"):
        VideoPredictor((16.0, 16, 1), **TINY)


def test_nan_weights_are_refused_when_loaded(model, tmp_path):
    path = str(tmp_path / "nan.weights.h5")
    other = _model(seed=1)
    kernel = next(w for w in other.weights if len(w.shape) == 4)
    values = kernel.numpy()
    values.flat[:3] = np.nan
    kernel.assign(values)
    other.save_weights(path)
    with pytest.raises(ValueError, match=r"nan\.weights\.h5: non-finite \(NaN or inf\) weights in .*\(3 of \d+\)"):
        _model(seed=2).load_weights(path)


def test_traced_calls_are_not_checked_per_step(model):
    # Compiled rollouts (tools, export) trace predict_frames with symbolic tensors: no value check is added.
    import tensorflow as tf

    rollout = tf.function(lambda c: model.predict_frames(c, 2))
    graph = rollout.get_concrete_function(tf.TensorSpec((None, 2, 8, 8, 1), tf.float32)).graph
    assert not [op for op in graph.get_operations() if op.type in ("Assert", "CheckNumerics", "IsFinite")]
