"""The paper's network: topology, rollouts, scheduled sampling, fit/evaluate, saving."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from ctt_keras.losses import L1L2Loss
from ctt_keras.models import VideoPredictor

SMALL = dict(layers_per_block=(1, 1, 1), hidden_channels=(4, 6, 4), skip_stride=1, kernel_size=3, rank=2)


def _clips(n=4, t=6, seed=0, size=8):
    return np.random.default_rng(seed).random((n, t, size, size, 1), dtype=np.float32)


def test_paper_parameter_counts():
    assert VideoPredictor((64, 64, 1)).count_params() == 2_687_281
    assert VideoPredictor((64, 64, 1), cell="convlstm").count_params() == 3_973_201


def test_paper_multiply_accumulates_per_step():
    # The paper network: 11.00 G (Conv-TT-LSTM) / 16.27 G (ConvLSTM) at 64x64, 43.99 G / 65.07 G at 128x128.
    for size, tt, lstm in [(64, 11.00, 16.27), (128, 43.99, 65.07)]:
        assert round(VideoPredictor((size, size, 1)).multiply_accumulates_per_step() / 1e9, 2) == tt
        assert round(VideoPredictor((size, size, 1), cell="convlstm").multiply_accumulates_per_step() / 1e9, 2) == lstm


def test_paper_skip_topology_channels():
    model = VideoPredictor((64, 64, 1))
    # block inputs: frame, out0, out1, [out2; out0], head: [out3; out1]
    assert model.stage_channels == [1, 32, 48, 80, 80]
    assert model.cells[9].input_channels == 80 and model.head.kernel.shape == (1, 1, 80, 1)
    no_skip = VideoPredictor((8, 8, 2), skip_stride=None)
    assert no_skip.stage_channels == [2, 32, 48, 48, 32]


def test_sampling_ratio_one_is_teacher_forcing_and_zero_is_closed_loop():
    keras.utils.set_random_seed(1)
    model = VideoPredictor((8, 8, 1), context_frames=3, **SMALL)
    clip = _clips()
    model.sampling_ratio.assign(1.0)
    np.testing.assert_allclose(model(clip, training=True), model.one_step_predictions(clip), atol=1e-6)
    model.sampling_ratio.assign(0.0)
    closed = model.predict_frames(clip[:, :3], future_frames=3, return_all_steps=True)
    np.testing.assert_allclose(model(clip, training=True), closed, atol=1e-6)
    assert not np.allclose(closed, model.one_step_predictions(clip), atol=1e-4)


def test_scheduled_sampling_flips_one_coin_per_sample_and_step():
    keras.utils.set_random_seed(2)
    model = VideoPredictor((8, 8, 1), context_frames=2, seed=5, **SMALL)
    clip = _clips(n=64, t=4)
    model.sampling_ratio.assign(0.5)
    mixed = model(clip, training=True).numpy()
    model.sampling_ratio.assign(1.0)
    forced = model(clip, training=True).numpy()
    model.sampling_ratio.assign(0.0)
    free = model(clip, training=True).numpy()
    # Step 2 (the first after the context) reads either the true frame or the own prediction.
    step = 2
    took_truth = np.all(np.isclose(mixed[:, step], forced[:, step], atol=1e-6), axis=(1, 2, 3))
    took_own = np.all(np.isclose(mixed[:, step], free[:, step], atol=1e-6), axis=(1, 2, 3))
    assert np.all(took_truth ^ took_own)
    assert 16 <= took_truth.sum() <= 48  # about half of 64 samples


def test_evaluate_is_the_closed_loop_rollout_and_fit_learns():
    keras.utils.set_random_seed(3)
    model = VideoPredictor((8, 8, 1), context_frames=3, **SMALL)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), metrics=["mae"])
    assert model.jit_compile is False  # "auto" on CPU
    clips = _clips(n=8, t=6)
    ds = tf.data.Dataset.from_tensor_slices(clips).batch(4)
    before = model.evaluate(ds, verbose=0, return_dict=True)
    predicted = model.predict_frames(clips[:, :3], 3).numpy()
    expected_loss = float(L1L2Loss()(clips[:, 3:], predicted))
    np.testing.assert_allclose(before["loss"], expected_loss, rtol=1e-5)
    np.testing.assert_allclose(before["mae"], np.abs(clips[:, 3:] - predicted).mean(), rtol=1e-5)
    history = model.fit(ds, epochs=8, shuffle=False, verbose=0).history["loss"]
    assert history[-1] < 0.8 * history[0], history
    np.testing.assert_allclose(model.predict(clips, verbose=0), model.predict_frames(clips[:, :3], 3), atol=1e-5)


def test_train_step_loss_is_the_official_objective():
    keras.utils.set_random_seed(4)
    model = VideoPredictor((8, 8, 1), context_frames=2, **SMALL)
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    clips = _clips(n=2, t=5)
    logs = model.train_on_batch(clips, return_dict=True)
    one_step = model.one_step_predictions(clips)
    np.testing.assert_allclose(logs["loss"], float(L1L2Loss()(clips[:, 1:], one_step)), rtol=1e-5)


def test_keras_file_round_trip(tmp_path):
    keras.utils.set_random_seed(5)
    model = VideoPredictor((8, 8, 1), cell="convlstm", output_sigmoid=True, context_frames=2, **SMALL)
    model.compile()
    clips = _clips(n=2, t=5)
    model.train_on_batch(clips)
    model.sampling_ratio.assign(0.25)
    path = tmp_path / "predictor.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, VideoPredictor)
    assert loaded.get_config() == model.get_config()
    assert float(loaded.sampling_ratio.numpy()) == 0.25
    assert isinstance(loaded.loss, L1L2Loss) and int(loaded.optimizer.iterations.numpy()) == 1
    np.testing.assert_array_equal(loaded.predict_frames(clips[:, :2], 4), model.predict_frames(clips[:, :2], 4))


@pytest.mark.parametrize("remat", [False, True])
def test_mixed_precision_model_outputs_float32(remat):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(6)
        model = VideoPredictor((8, 8, 1), context_frames=2, remat=remat, **SMALL)
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        clips = _clips(n=4, t=5)
        history = model.fit(clips, batch_size=2, epochs=4, verbose=0).history["loss"]
        assert history[-1] < history[0]
        assert all(v.dtype == "float32" for v in model.weights)
        assert model.cells[0].compute_dtype == "bfloat16"
        assert model.predict_frames(clips[:, :2], 2).dtype == "float32"
    finally:
        keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(cell="gru"), "cell"),
        (dict(layers_per_block=(2, 2), hidden_channels=(4,)), "hidden_channels"),
        (dict(skip_stride=0), "skip_stride"),
        (dict(kernel_size=2), "kernel_size"),
        (dict(frame_shape=(8, 8)), "frame_shape"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = dict(frame_shape=(8, 8, 1))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        VideoPredictor(**args)


def test_bad_clips_are_named():
    model = VideoPredictor((8, 8, 1), context_frames=3, **SMALL)
    with pytest.raises(ValueError, match=r"frame_shape=\(8, 8, 1\)"):
        model.predict_frames(np.zeros((1, 3, 16, 16, 1), "float32"), 2)
    with pytest.raises(ValueError, match="5-D"):
        model.predict_frames(np.zeros((3, 8, 8, 1), "float32"), 2)
    with pytest.raises(ValueError, match="context_frames=3"):
        model(np.zeros((1, 3, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="future_frames"):
        model.predict_frames(np.zeros((1, 3, 8, 8, 1), "float32"), 0)


@pytest.mark.parametrize("sampling_ratio", [1.0, 0.5])
def test_remat_gives_the_same_loss_and_gradients(sampling_ratio):
    keras.utils.set_random_seed(7)
    plain = VideoPredictor((8, 8, 1), context_frames=2, seed=3, **SMALL)
    remat = VideoPredictor((8, 8, 1), context_frames=2, seed=3, remat=True, **SMALL)
    remat.set_weights(plain.get_weights())
    clips = _clips(n=2, t=5)
    results = []
    for model in (plain, remat):
        model.sampling_ratio.assign(sampling_ratio)
        with tf.GradientTape() as tape:
            loss = L1L2Loss()(clips[:, 1:], model(clips, training=True))
        results.append((float(loss), tape.gradient(loss, model.trainable_variables)))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
    assert VideoPredictor.from_config(remat.get_config()).remat
