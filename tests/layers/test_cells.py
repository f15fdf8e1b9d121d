"""Cells and the ConvRNN layer against the plain-numpy reference (tests/layers/reference.py)."""

import numpy as np
import pytest

import keras
from ctt_keras.layers import ConvLSTMCell, ConvRNN, ConvTTLSTMCell
from tests.layers import reference


def _random_sequence(seed=0, shape=(2, 6, 9, 7, 3)):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _randomise(layer, seed=1, scale=0.3):
    rng = np.random.default_rng(seed)
    for v in layer.weights:
        v.assign(rng.normal(0, scale, v.shape).astype("float32"))


def _tt_reference_weights(cell):
    """The documented layout: U_l[:, :, j*Ch + c, q] = projection_kernel[:, :, c, (l*L + j)*r + q]."""
    proj = cell.projection_kernel.numpy()
    kh, kw, ch, _ = proj.shape
    L, r = cell.window, cell.rank
    u = []
    for l in range(cell.order):
        block = proj[..., l * L * r : (l + 1) * L * r].reshape(kh, kw, ch, L, r)
        u.append(np.transpose(block, (0, 1, 3, 2, 4)).reshape(kh, kw, L * ch, r))
    biases = np.split(cell.projection_bias.numpy(), cell.order)
    return dict(
        u_kernels=u, u_biases=biases,
        core_kernels=[k.numpy() for k in cell.core_kernels], core_biases=[b.numpy() for b in cell.core_biases],
        gate_kernel=cell.gate_kernel.numpy(), gate_bias=cell.gate_bias.numpy(),
    )


def test_conv_lstm_cell_matches_reference():
    x = _random_sequence()
    layer = ConvRNN(ConvLSTMCell(5, (3, 5)), return_sequences=True, return_state=True)
    layer.build(x.shape)
    _randomise(layer)
    out, h, c = layer(x)
    expected, expected_c = reference.conv_lstm_sequence(
        x, layer.cell.kernel.numpy(), layer.cell.bias.numpy(), 5
    )
    np.testing.assert_allclose(out.numpy(), expected, atol=2e-5)
    np.testing.assert_allclose(h.numpy(), expected[:, -1], atol=2e-5)
    np.testing.assert_allclose(c.numpy(), expected_c, atol=2e-5)


@pytest.mark.parametrize("order,steps,rank", [(3, 3, 4), (2, 4, 3), (1, 2, 2), (3, 5, 2)])
def test_conv_tt_lstm_cell_matches_reference_for_any_window(order, steps, rank):
    x = _random_sequence(seed=order + steps)
    cell = ConvTTLSTMCell(4, 3, order=order, steps=steps, rank=rank)
    layer = ConvRNN(cell, return_sequences=True, return_state=True)
    layer.build(x.shape)
    _randomise(layer, seed=steps)
    out, h, c, *projections = layer(x)
    expected, expected_c = reference.conv_tt_lstm_sequence(
        x, filters=4, order=order, steps=steps, **_tt_reference_weights(cell)
    )
    np.testing.assert_allclose(out.numpy(), expected, atol=3e-5)
    np.testing.assert_allclose(c.numpy(), expected_c, atol=3e-5)
    assert len(projections) == steps


def test_zero_history_still_adds_every_bias():
    # With all kernels zero, T = b_U[N-1] + W-bias chain; the gates see only biases.
    cell = ConvTTLSTMCell(2, 3, order=2, steps=2, rank=1)
    layer = ConvRNN(cell)
    layer.build((1, 1, 4, 4, 1))
    for v in layer.weights:
        v.assign(np.zeros(v.shape, "float32"))
    cell.projection_bias.assign(np.array([1.0, 2.0], "float32"))
    cell.core_biases[0].assign(np.array([0.5], "float32"))
    gate = np.zeros((3, 3, 2, 8), "float32")
    gate[1, 1, 1, :] = 1.0  # every gate reads T at the centre tap
    cell.gate_kernel.assign(gate)
    h = layer(np.zeros((1, 1, 4, 4, 1), "float32")).numpy()
    t = 2.0 + 0.5  # U_1 bias + W_0 bias (W_0 applied to T_0 = 1 with a zero kernel)
    s = 1 / (1 + np.exp(-t))
    np.testing.assert_allclose(h, np.full_like(h, s * np.tanh(s * np.tanh(t))), rtol=1e-6)


def test_initial_state_and_stateful_continue_a_sequence():
    x = _random_sequence(seed=3, shape=(2, 8, 6, 6, 1))
    cell_args = dict(filters=3, kernel_size=3, order=2, steps=3, rank=2)
    full = ConvRNN(ConvTTLSTMCell(**cell_args), return_sequences=True)
    full.build(x.shape)
    expected = full(x).numpy()

    split = ConvRNN(ConvTTLSTMCell(**cell_args), return_sequences=True, return_state=True)
    split.build(x.shape)
    split.set_weights(full.get_weights())
    first, *states = split(x[:, :5])
    second, *_ = split(x[:, 5:], initial_state=states)
    np.testing.assert_allclose(np.concatenate([first, second], 1), expected, atol=1e-6)

    stateful = ConvRNN(ConvTTLSTMCell(**cell_args), return_sequences=True, stateful=True)
    stateful.build(x.shape)
    stateful.set_weights(full.get_weights())
    parts = [stateful(x[:, :4]).numpy(), stateful(x[:, 4:]).numpy()]
    np.testing.assert_allclose(np.concatenate(parts, 1), expected, atol=1e-6)
    stateful.reset_state()
    np.testing.assert_allclose(stateful(x[:, :4]).numpy(), expected[:, :4], atol=1e-6)


def test_parameter_count_formula():
    n, m, r, k, ch, cin = 3, 4, 5, 3, 6, 2
    cell = ConvTTLSTMCell(ch, k, order=n, steps=m, rank=r)
    cell.build((None, 8, 8, cin))
    L = m - n + 1
    expected = (n - 1) * (r * r * k * k + r) + 4 * ch * (cin + r) * k * k + 4 * ch + n * (r * ch * L * k * k + r)
    assert cell.count_params() == expected


def test_default_initialisation_is_pytorch_uniform():
    keras.utils.set_random_seed(0)
    cell = ConvLSTMCell(16, 5)
    cell.build((None, 8, 8, 16))
    bound = 1 / np.sqrt(32 * 25)
    kernel, bias = cell.kernel.numpy(), cell.bias.numpy()
    assert np.abs(kernel).max() <= bound and np.abs(kernel).max() > 0.95 * bound
    assert np.abs(bias).max() <= bound and np.abs(bias).max() > 0.8 * bound
    assert abs(kernel.std() - bound / np.sqrt(3)) < 0.02 * bound  # uniform(-b, b) has std b/sqrt(3)
    custom = ConvLSTMCell(4, 3, kernel_initializer="zeros", bias_initializer="ones")
    custom.build((None, 8, 8, 1))
    assert not custom.kernel.numpy().any() and (custom.bias.numpy() == 1).all()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ConvTTLSTMCell(4, 3, order=3, steps=2), "steps"),
        (lambda: ConvTTLSTMCell(4, 3, rank=0), "rank"),
        (lambda: ConvTTLSTMCell(4, 4), "kernel_size"),
        (lambda: ConvLSTMCell(4, (3, 2)), "kernel_size"),
        (lambda: ConvLSTMCell(0, 3), "filters"),
        (lambda: ConvTTLSTMCell(4, 3, order=0), "order"),
    ],
)
def test_bad_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_input_shapes_are_named():
    layer = ConvRNN(ConvLSTMCell(4, 3))
    with pytest.raises(ValueError, match="5-D"):
        layer(np.zeros((2, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="height and width must be known"):
        ConvRNN(ConvLSTMCell(4, 3))(keras.Input((5, None, None, 1)))
    layer = ConvRNN(ConvTTLSTMCell(4, 3, rank=2))
    layer(np.zeros((1, 2, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="channels is 2 but the layer was built for 1"):
        layer(np.zeros((1, 2, 8, 8, 2), "float32"))
    with pytest.raises(ValueError, match="height is 9"):
        layer(np.zeros((1, 2, 9, 8, 1), "float32"))


def test_config_round_trip_keeps_everything():
    cell = ConvTTLSTMCell(7, (3, 5), order=2, steps=4, rank=3, kernel_initializer="he_normal",
                          bias_regularizer="l2", name="tt")
    clone = ConvTTLSTMCell.from_config(cell.get_config())
    for key in ("filters", "kernel_size", "order", "steps", "rank", "name"):
        assert getattr(clone, key) == getattr(cell, key)
    assert clone.get_config() == cell.get_config()
    layer = ConvRNN(cell, return_sequences=True, stateful=False)
    clone_layer = ConvRNN.from_config(layer.get_config())
    assert clone_layer.return_sequences and isinstance(clone_layer.cell, ConvTTLSTMCell)


@pytest.mark.parametrize("cell_cls", [ConvLSTMCell, ConvTTLSTMCell])
def test_keras_file_round_trip_gives_identical_outputs(tmp_path, cell_cls):
    kwargs = {"rank": 3} if cell_cls is ConvTTLSTMCell else {}
    inputs = keras.Input((4, 8, 8, 1))
    y = ConvRNN(cell_cls(4, 3, **kwargs), return_sequences=True)(inputs)
    y = keras.layers.TimeDistributed(keras.layers.Conv2D(1, 1))(y)
    model = keras.Model(inputs, y)
    x = _random_sequence(shape=(2, 4, 8, 8, 1))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
