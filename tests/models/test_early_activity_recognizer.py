"""The early-activity-recognition network: objective, honest early recognition, learning, saving."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from ctt_keras.models import EarlyActivityRecognizer

TINY = dict(
    encoder_channels=(4, 8), layers_per_block=(1, 1), hidden_channels=(8, 6), skip_stride=1, kernel_size=3, rank=2,
    classifier_channels=(8,),
)


def _model(num_classes=3, context_frames=2, **kwargs):
    args = dict(TINY, num_classes=num_classes, context_frames=context_frames, future_frames=2, seed=0)
    args.update(kwargs)
    return EarlyActivityRecognizer((16, 16, 1), **args)


def _clips(n=4, t=4, seed=0, channels=1):
    return np.random.default_rng(seed).random((n, t, 16, 16, channels), dtype=np.float32)


def _direction_clips(n, seed, size=16, frames=4):
    """A 3x3 square moving 3 px per frame to the left (label 0) or right (label 1)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).astype("int32")
    clips = np.zeros((n, frames, size, size, 1), np.float32)
    for i, label in enumerate(labels):
        row, col = rng.integers(0, size - 3), rng.integers(6, size - 9)
        step = 3 if label == 1 else -3
        for k in range(frames):
            c = col + step * k
            clips[i, k, row : row + 3, max(c, 0) : max(c + 3, 0)] = 1.0
    return clips, labels


def _numpy_objective(frames, truth, logits, labels, weight):
    error = frames - truth
    prediction = np.mean(np.abs(error)) + np.mean(error**2)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    cross_entropy = -np.mean(log_probs[np.arange(len(labels)), labels])
    return weight * prediction + cross_entropy


def test_outputs_and_default_sizes():
    model = EarlyActivityRecognizer((64, 64, 3), num_classes=41)
    assert len(model.cells) == 8 and model.stack_input_shape == (16, 16, 64)
    # Skips (stride 2) as in the video network: the decoder reads [out3 ; out1].
    assert model.stage_channels == [64, 32, 48, 80, 80]
    assert model.decoder[0].kernel.shape == (3, 3, 32, 80)  # transposed conv: [k, k, out, in]
    assert model.class_scores.kernel.shape == (4 * 4 * 128, 41)  # 16x16 features after two stride-2 convs
    out = model(np.zeros((2, 12, 64, 64, 3), "float32"))
    assert tuple(out["frames"].shape) == (2, 2, 64, 64, 3) and tuple(out["logits"].shape) == (2, 41)


def test_recognition_reads_only_the_observed_frames():
    keras.utils.set_random_seed(0)
    model = _model()
    clip = _clips()
    changed_future = clip.copy()
    changed_future[:, 2:] = 1.0 - changed_future[:, 2:]
    first, second = model(clip), model(changed_future)
    np.testing.assert_array_equal(first["logits"], second["logits"])
    np.testing.assert_array_equal(first["frames"], second["frames"])
    recognized = model.recognize(clip[:, :2], future_frames=2)
    np.testing.assert_allclose(recognized["logits"], first["logits"], atol=1e-6)
    np.testing.assert_allclose(recognized["frames"], first["frames"], atol=1e-6)
    changed_context = clip.copy()
    changed_context[:, 1] = 0.0
    assert not np.allclose(model(changed_context)["logits"], first["logits"], atol=1e-5)
    # The class scores come after the imagined frames: classifying after fewer steps differs.
    assert not np.allclose(model.recognize(clip[:, :2], future_frames=1)["logits"], first["logits"], atol=1e-6)


def test_sampling_ratio_one_is_teacher_forcing_and_zero_is_the_closed_loop():
    keras.utils.set_random_seed(1)
    model = _model()
    clip = _clips(t=5)
    model.sampling_ratio.assign(1.0)
    forced = model(clip, training=True)
    np.testing.assert_allclose(forced["frames"], model.one_step_predictions(clip), atol=1e-6)
    model.sampling_ratio.assign(0.0)
    free = model(clip, training=True)
    closed = model(clip, training=False)
    np.testing.assert_allclose(free["frames"][:, 1:], closed["frames"], atol=1e-6)
    np.testing.assert_allclose(free["logits"], closed["logits"], atol=1e-6)
    assert not np.allclose(forced["logits"], free["logits"], atol=1e-5)


@pytest.mark.parametrize("weight", [None, 0.5])
def test_training_loss_is_weighted_prediction_loss_plus_cross_entropy(weight):
    keras.utils.set_random_seed(2)
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.0), prediction_weight=weight)
    clip, labels = _clips(t=5), np.array([0, 2, 1, 2], "int32")
    model.sampling_ratio.assign(1.0)
    out = model(clip, training=True)
    expected = _numpy_objective(
        out["frames"].numpy(), clip[:, 1:], out["logits"].numpy(), labels, 10.0 if weight is None else weight
    )
    logs = model.train_on_batch(clip, labels, return_dict=True)
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)
    # evaluate: the closed loop from the context, targets = the clip's frames after the context.
    closed = model(clip)
    expected_eval = _numpy_objective(
        closed["frames"].numpy(), clip[:, 2:], closed["logits"].numpy(), labels, 10.0 if weight is None else weight
    )
    result = model.evaluate(clip, labels, verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(expected_eval, rel=1e-5)
    top1 = np.mean(closed["logits"].numpy().argmax(axis=1) == labels)
    assert result["logits_accuracy"] == pytest.approx(top1)


def test_fit_learns_to_recognise_motion_from_the_observed_frames():
    keras.utils.set_random_seed(0)
    model = EarlyActivityRecognizer(
        (16, 16, 1), num_classes=2, encoder_channels=(4, 8), layers_per_block=(1, 1), hidden_channels=(16, 16),
        skip_stride=None, kernel_size=3, rank=2, classifier_channels=(8,), context_frames=2, future_frames=2, seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), prediction_weight=1.0)
    model.sampling_ratio.assign(0.0)  # trained as it is evaluated: from two observed frames only
    train, train_labels = _direction_clips(128, seed=0)
    test, test_labels = _direction_clips(64, seed=1)
    before = model.evaluate(test, test_labels, verbose=0, return_dict=True)
    model.fit(train, train_labels, batch_size=16, epochs=12, verbose=0)
    after = model.evaluate(test, test_labels, verbose=0, return_dict=True)
    assert before["logits_accuracy"] < 0.7
    assert after["logits_accuracy"] >= 0.9
    assert after["frames_loss"] < before["frames_loss"] / 2


def test_keras_file_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    model = _model(cell="convlstm")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), prediction_weight=2.0)
    clip, labels = _clips(t=4), np.array([0, 1, 2, 0], "int32")
    model.fit(clip, labels, epochs=1, verbose=0)
    model.sampling_ratio.assign(0.5)
    path = tmp_path / "recognizer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, EarlyActivityRecognizer)
    assert loaded.get_config() == model.get_config()
    assert float(loaded.sampling_ratio.numpy()) == 0.5
    np.testing.assert_array_equal(loaded.recognize(clip[:, :2])["logits"], model.recognize(clip[:, :2])["logits"])
    assert loaded.evaluate(clip, labels, verbose=0) == pytest.approx(model.evaluate(clip, labels, verbose=0))


def test_mixed_precision_outputs_float32():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(4)
        model = _model()
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        model.fit(_clips(t=4), np.array([0, 1, 2, 0], "int32"), epochs=1, verbose=0)
        assert all(v.dtype == "float32" for v in model.weights)
        assert model.encoder[0].compute_dtype == "bfloat16"
        out = model.recognize(_clips()[:, :2])
        assert out["logits"].dtype == "float32" and out["frames"].dtype == "float32"
    finally:
        keras.config.set_dtype_policy(previous)


def test_remat_gives_the_same_gradients():
    keras.utils.set_random_seed(5)
    plain, remat = _model(), _model(remat=True)
    remat.set_weights(plain.get_weights())
    clip, labels = _clips(t=4), np.array([0, 1, 2, 0], "int32")
    gradients = []
    for model in (plain, remat):
        model.compile(optimizer="sgd")
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=clip, y=labels, y_pred=model(clip, training=True))
        gradients.append(tape.gradient(loss, model.trainable_variables))
    for a, b in zip(*gradients):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(frame_shape=(18, 16, 1)), "divisible by 4"),
        (dict(num_classes=1), "num_classes"),
        (dict(encoder_channels=()), "encoder_channels"),
        (dict(classifier_channels=(8, 0)), "classifier_channels"),
        (dict(future_frames=0), "future_frames"),
        (dict(cell="gru"), "cell"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = dict(TINY, frame_shape=(16, 16, 1), num_classes=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        EarlyActivityRecognizer(**args)


def test_bad_clips_are_named():
    model = _model()
    with pytest.raises(ValueError, match=r"frame_shape=\(16, 16, 1\)"):
        model.recognize(np.zeros((1, 2, 16, 16, 3), "float32"))
    with pytest.raises(ValueError, match="context_frames=2"):
        model(np.zeros((1, 2, 16, 16, 1), "float32"))
    with pytest.raises(ValueError, match="prediction_weight"):
        model.compile(prediction_weight=1.0, loss_weights={"frames": 1.0, "logits": 1.0})
