"""`ConvLSTM2D` against `keras.layers.ConvLSTM2D` (same weights, mapped) and `ConvTTLSTM2D` against the
official vectors and the numpy reference; their ConvLSTM2D-style arguments."""

import numpy as np
import pytest

import keras
from ctt_keras import layers as ctt_layers
from ctt_keras.layers import ConvLSTMCell, ConvRNN, ConvTTLSTM2D, ConvTTLSTMCell
from tests.layers import reference

SHAPE = (2, 5, 9, 7, 2)


def _x(seed=0, shape=SHAPE):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _keras_to_ours(kernel, recurrent_kernel, bias):
    """Keras's ConvLSTM2D weights (gates i, f, c, o; separate x, h kernels) -> ours (i, f, o, g; [x ; h])."""

    def reorder(w):
        i, f, c, o = np.split(w, 4, axis=-1)
        return np.concatenate([i, f, o, c], axis=-1)

    return [reorder(np.concatenate([kernel, recurrent_kernel], axis=2)), reorder(bias)]


def _pair(seed=1, **kwargs):
    """A keras.layers.ConvLSTM2D with random weights and our ConvLSTM2D with the same weights."""
    x = _x()
    theirs = keras.layers.ConvLSTM2D(3, (3, 5), padding="same", unit_forget_bias=False, **kwargs)
    theirs.build(x.shape)
    rng = np.random.default_rng(seed)
    theirs.set_weights([rng.normal(0, 0.4, w.shape).astype("float32") for w in theirs.get_weights()])
    ours = ctt_layers.ConvLSTM2D(3, (3, 5), **kwargs)
    ours.build(x.shape)
    ours.set_weights(_keras_to_ours(*theirs.get_weights()))
    return theirs, ours, x


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(return_sequences=True),
        dict(return_state=True),
        dict(return_sequences=True, go_backwards=True),
        dict(return_sequences=True, activation="relu", recurrent_activation="hard_sigmoid"),
    ],
)
def test_conv_lstm_2d_equals_keras_conv_lstm_2d_for_the_same_weights(kwargs):
    theirs, ours, x = _pair(**kwargs)
    expected, got = theirs(x), ours(x)
    expected = expected if isinstance(expected, (list, tuple)) else [expected]
    got = got if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-6)


def test_conv_lstm_2d_without_bias_and_stateful_equals_keras():
    theirs = keras.layers.ConvLSTM2D(
        3, 3, padding="same", use_bias=False, stateful=True, return_sequences=True
    )
    x = _x(2)
    theirs.build(x.shape)
    rng = np.random.default_rng(3)
    kernel, recurrent = [rng.normal(0, 0.4, w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights([kernel, recurrent])
    ours = ctt_layers.ConvLSTM2D(3, 3, use_bias=False, stateful=True, return_sequences=True)
    ours.build(x.shape)
    assert len(ours.weights) == 1
    ours.set_weights(_keras_to_ours(kernel, recurrent, np.zeros(12, "float32"))[:1])
    for part in (x[:, :2], x[:, 2:]):
        np.testing.assert_allclose(ours(part).numpy(), theirs(part).numpy(), atol=2e-6)


def test_channels_first_is_channels_last_transposed():
    x = _x(4)
    last = ctt_layers.ConvLSTM2D(3, 3, data_format="channels_last", return_sequences=True, return_state=True)
    first = ctt_layers.ConvLSTM2D(
        3, 3, data_format="channels_first", return_sequences=True, return_state=True
    )
    x_first = np.moveaxis(x, -1, 2)
    last.build(x.shape)
    first.build(x_first.shape)
    first.set_weights(last.get_weights())
    expected = last(x)
    got = first(x_first)
    assert tuple(got[0].shape) == (2, 5, 3, 9, 7)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(np.moveaxis(a.numpy(), -3, -1), b.numpy(), atol=1e-6)
    initial = [np.moveaxis(s.numpy(), -1, 1) for s in expected[1:]]
    again = first(x_first, initial_state=initial)
    continued = last(x, initial_state=[s.numpy() for s in expected[1:]])
    np.testing.assert_allclose(np.moveaxis(again[0].numpy(), -3, -1), continued[0].numpy(), atol=1e-6)
    symbolic = first(keras.Input((5, 2, 9, 7)))
    assert tuple(symbolic[0].shape) == (None, 5, 3, 9, 7) and tuple(symbolic[2].shape) == (None, 3, 9, 7)


def test_conv_tt_lstm_2d_equals_the_reference_and_plain_rnn():
    x = _x(5)
    layer = ConvTTLSTM2D(4, 3, order=2, steps=3, rank=2, return_sequences=True)
    layer.build(x.shape)
    rng = np.random.default_rng(6)
    for v in layer.weights:
        v.assign(rng.normal(0, 0.3, v.shape).astype("float32"))
    cell = layer.cell
    proj = cell.projection_kernel.numpy()
    kh, kw, ch, _ = proj.shape
    u = [
        np.transpose(proj[..., l * 4 : (l + 1) * 4].reshape(kh, kw, ch, 2, 2), (0, 1, 3, 2, 4)).reshape(
            kh, kw, 2 * ch, 2
        )
        for l in range(2)
    ]
    expected, _ = reference.conv_tt_lstm_sequence(
        x,
        u,
        np.split(cell.projection_bias.numpy(), 2),
        [k.numpy() for k in cell.core_kernels],
        [b.numpy() for b in cell.core_biases],
        cell.gate_kernel.numpy(),
        cell.gate_bias.numpy(),
        4,
        2,
        3,
    )
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=3e-5)
    plain = keras.layers.RNN(ConvTTLSTMCell(4, 3, order=2, steps=3, rank=2), return_sequences=True)
    plain.build(x.shape)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(plain(x).numpy(), layer(x).numpy(), atol=1e-6)


def test_conv_tt_lstm_2d_reproduces_the_official_first_layer(nvlabs_dir):
    # The first cell of the official test network `tiny2` reads only the frames during the context, so a
    # ConvTTLSTM2D with its weights must give the official hidden states of those steps.
    from ctt_keras.checkpoints import from_nvlabs

    data = dict(np.load(nvlabs_dir / "vectors_tiny2.npz"))
    model = from_nvlabs(data, frame_shape=(16, 16, 1))
    cell = model.cells[0]
    layer = ConvTTLSTM2D(
        cell.filters,
        cell.kernel_size,
        order=cell.order,
        steps=cell.steps,
        rank=cell.rank,
        return_sequences=True,
    )
    frames = np.moveaxis(data["input"], -3, -1)[:, :10]
    layer.build(frames.shape)
    layer.set_weights(cell.get_weights())
    expected = np.moveaxis(data["hidden/b0l0"][:10], -3, -1).swapaxes(0, 1)
    np.testing.assert_allclose(layer(frames).numpy(), expected, atol=1e-5, rtol=0)


def test_defaults_are_the_official_codes_and_keras_arguments_are_kept():
    layer = ConvTTLSTM2D(8, 5)
    assert (layer.order, layer.steps, layer.rank, layer.padding, layer.use_bias, layer.unit_forget_bias) == (
        3,
        3,
        8,
        "same",
        True,
        False,
    )
    assert (
        layer.activation is keras.activations.tanh and layer.recurrent_activation is keras.activations.sigmoid
    )
    config = ConvTTLSTM2D(
        4,
        3,
        order=2,
        steps=4,
        rank=3,
        activation="relu",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer="l2",
        kernel_constraint="non_neg",
        dropout=0.1,
        recurrent_dropout=0.2,
        seed=7,
        return_sequences=True,
        go_backwards=True,
        stateful=False,
        data_format="channels_last",
        name="tt",
    ).get_config()
    clone = ConvTTLSTM2D.from_config(config)
    assert clone.get_config() == config
    assert (config["order"], config["steps"], config["rank"], config["dropout"], config["seed"]) == (
        2,
        4,
        3,
        0.1,
        7,
    )
    assert "cell" not in config


def test_not_applicable_keras_arguments_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="strides"):
        ctt_layers.ConvLSTM2D(4, 3, strides=2)
    with pytest.raises(ValueError, match="recurrent_initializer.*one kernel"):
        ConvTTLSTM2D(4, 3, recurrent_initializer="orthogonal")
    with pytest.raises(ValueError, match="padding"):
        ctt_layers.ConvLSTM2D(4, 3, padding="valid")
    with pytest.raises(ValueError, match="dropout"):
        ConvTTLSTM2D(4, 3, dropout=1.5)
    with pytest.raises(ValueError, match="data_format"):
        ConvTTLSTM2D(4, 3, data_format="NHWC")
    assert ctt_layers.ConvLSTM2D(4, 3, strides=1, dilation_rate=(1, 1)).filters == 4


def test_dropout_masks_follow_keras_semantics():
    # Cell level: the masks are drawn once and reused; the step equals the reference on masked inputs.
    cell = ConvLSTMCell(3, 3, dropout=0.5, recurrent_dropout=0.5, seed=3)
    cell.build((2, 6, 6, 2))
    x = _x(7, (2, 6, 6, 2))
    h = np.random.default_rng(8).random((2, 6, 6, 3), dtype=np.float32)
    c = np.zeros_like(h)
    out, _ = cell(x, [h, c], training=True)
    mask, recurrent_mask = cell._dropout_mask.numpy(), cell._recurrent_dropout_mask.numpy()
    assert set(np.unique(mask)) == {0.0, 2.0} and set(np.unique(recurrent_mask)) == {0.0, 2.0}
    gates = reference.conv_same(
        np.concatenate([x * mask, h * recurrent_mask], -1), cell.kernel.numpy(), cell.bias.numpy()
    )
    np.testing.assert_allclose(out.numpy(), reference.lstm(gates, c)[0], atol=2e-6)
    again, _ = cell(x, [h, c], training=True)
    np.testing.assert_array_equal(again.numpy(), out.numpy())
    inference, _ = cell(x, [h, c], training=False)
    gates = reference.conv_same(np.concatenate([x, h], -1), cell.kernel.numpy(), cell.bias.numpy())
    np.testing.assert_allclose(inference.numpy(), reference.lstm(gates, c)[0], atol=2e-6)

    # Layer level: training changes the outputs, the masks are cleared after each call, inference keeps all.
    layer = ConvTTLSTM2D(3, 3, order=2, steps=2, rank=2, dropout=0.3, recurrent_dropout=0.3, seed=1)
    plain = ConvTTLSTM2D(3, 3, order=2, steps=2, rank=2)
    seq = _x(9, (2, 4, 6, 6, 1))
    layer.build(seq.shape)
    plain.build(seq.shape)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(layer(seq, training=False).numpy(), plain(seq).numpy(), atol=1e-6)
    assert np.abs(layer(seq, training=True).numpy() - plain(seq).numpy()).max() > 1e-3
    assert layer.cell._dropout_mask is None and layer.cell._recurrent_dropout_mask is None


def test_unit_forget_bias_regularizers_and_constraints():
    keras.utils.set_random_seed(0)
    layer = ctt_layers.ConvLSTM2D(
        4,
        3,
        unit_forget_bias=True,
        bias_initializer="zeros",
        kernel_regularizer="l2",
        kernel_constraint="non_neg",
        return_sequences=False,
    )
    x = _x(10, (4, 3, 6, 6, 1))
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1)(layer(inputs)))
    np.testing.assert_array_equal(layer.cell.bias.numpy(), np.repeat([0.0, 1.0, 0.0, 0.0], 4))
    assert len(model.losses) == 1
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    model.fit(x, x[:, -1], epochs=1, batch_size=4, verbose=0)
    assert layer.cell.kernel.numpy().min() >= 0.0


def test_seeded_initial_weights_are_those_of_earlier_versions():
    # Runs started with a seed must stay reproducible: sum |w| of every weight of this network under seed 0,
    # recorded with the code before cells took the ConvLSTM2D arguments (commit 55d4986).
    from ctt_keras.models import VideoPredictor

    keras.utils.set_random_seed(0)
    model = VideoPredictor(
        (16, 16, 1),
        layers_per_block=(2, 1),
        hidden_channels=(4, 3),
        skip_stride=1,
        kernel_size=3,
        order=3,
        steps=4,
        rank=2,
    )
    recorded = [
        1.0,
        23.734907,
        0.266981,
        4.219234,
        0.292836,
        4.219234,
        0.202321,
        42.264568,
        1.511029,
        24.298871,
        0.446399,
        4.334064,
        0.265632,
        4.334064,
        0.168278,
        57.377965,
        0.990035,
        21.905179,
        0.216529,
        3.886479,
        0.211171,
        3.886479,
        0.16925,
        44.857152,
        0.734621,
        1.026711,
        0.118236,
    ]
    sums = [float(np.abs(w).astype("float64").sum()) for w in model.get_weights()]
    np.testing.assert_allclose(sums, recorded, atol=2e-6)


@pytest.mark.parametrize("layer_cls", [ctt_layers.ConvLSTM2D, ConvTTLSTM2D])
def test_keras_file_round_trip(layer_cls, tmp_path):
    inputs = keras.Input((4, 8, 8, 1))
    kwargs = {"rank": 2} if layer_cls is ConvTTLSTM2D else {}
    hidden = layer_cls(3, 3, return_sequences=True, recurrent_dropout=0.1, **kwargs)(inputs)
    model = keras.Model(inputs, layer_cls(2, 3, data_format="channels_last", **kwargs)(hidden))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = _x(11, (2, 4, 8, 8, 1))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(loaded.layers[1], layer_cls) and isinstance(loaded.layers[1], ConvRNN)
