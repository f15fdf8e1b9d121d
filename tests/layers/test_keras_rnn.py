"""Our cells in Keras's own RNN machinery: `keras.layers.RNN`, `StackedRNNCells`, `RNN([cells])`.

The numbers come from the numpy reference (`tests/layers/reference.py`) or from the cell run step by step.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import keras
from ctt_keras.layers import ConvLSTMCell, ConvRNN, ConvTTLSTMCell
from tests.layers import reference

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHAPE = (2, 5, 8, 8, 1)
TT = dict(order=2, steps=3, rank=2)


def _x(seed=0, shape=SHAPE):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _cell(kind, filters=3, name=None):
    if kind == "tt":
        return ConvTTLSTMCell(filters, 3, name=name, **TT)
    return ConvLSTMCell(filters, 3, name=name)


def _randomise(layer, seed=1, scale=0.4):
    rng = np.random.default_rng(seed)
    for v in layer.weights:
        v.assign(rng.normal(0, scale, v.shape).astype("float32"))


def _steps(cell, x, states=None):
    """Runs `cell` step by step in Python: (outputs [B, T, ...], final states)."""
    states = states or cell.get_initial_state(x.shape[0])
    outputs = []
    for t in range(x.shape[1]):
        y, states = cell(x[:, t], states)
        outputs.append(keras.ops.convert_to_numpy(y))
    return np.stack(outputs, 1), [keras.ops.convert_to_numpy(s) for s in states]


@pytest.mark.parametrize("kind", ["lstm", "tt"])
def test_functional_model_with_keras_rnn_matches_the_step_loop(kind):
    inputs = keras.Input(SHAPE[1:])
    rnn = keras.layers.RNN(_cell(kind), return_sequences=True, return_state=True)
    outputs = rnn(inputs)
    n_states = 2 if kind == "lstm" else 2 + TT["steps"]
    assert len(outputs) == 1 + n_states
    assert tuple(outputs[0].shape) == (None, 5, 8, 8, 3) and tuple(outputs[1].shape) == (None, 8, 8, 3)
    model = keras.Model(inputs, outputs)
    _randomise(model)
    x = _x()
    got = model.predict(x, verbose=0)
    expected, states = _steps(rnn.cell, x)
    np.testing.assert_allclose(got[0], expected, atol=1e-5)
    for a, b in zip(got[1:], states):
        np.testing.assert_allclose(a, b, atol=1e-5)
    if kind == "lstm":
        ref, ref_c = reference.conv_lstm_sequence(x, rnn.cell.kernel.numpy(), rnn.cell.bias.numpy(), 3)
        np.testing.assert_allclose(got[0], ref, atol=2e-5)
        np.testing.assert_allclose(got[2], ref_c, atol=2e-5)


@pytest.mark.parametrize("kind", ["lstm", "tt"])
def test_last_output_go_backwards_and_unroll(kind):
    x = _x(1)
    plain = keras.layers.RNN(_cell(kind))
    plain.build(x.shape)
    _randomise(plain)
    expected, _ = _steps(plain.cell, x)
    np.testing.assert_allclose(plain(x).numpy(), expected[:, -1], atol=1e-5)

    backwards = keras.layers.RNN(_cell(kind), go_backwards=True, return_sequences=True)
    backwards.build(x.shape)
    backwards.set_weights(plain.get_weights())
    reversed_steps, _ = _steps(backwards.cell, x[:, ::-1])
    np.testing.assert_allclose(backwards(x).numpy(), reversed_steps, atol=1e-5)

    unrolled = keras.layers.RNN(_cell(kind), unroll=True)
    unrolled.build(x.shape)
    unrolled.set_weights(plain.get_weights())
    np.testing.assert_allclose(unrolled(x).numpy(), expected[:, -1], atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "tt"])
def test_masked_steps_keep_the_states(kind):
    x = _x(2)
    mask = np.array([[1, 1, 0, 1, 0], [1, 0, 1, 1, 1]], bool)
    layer = keras.layers.RNN(_cell(kind), return_state=True)
    layer.build(x.shape)
    _randomise(layer)
    out, *states = layer(x, mask=mask)
    for b in range(2):
        kept = x[b : b + 1, mask[b]]
        expected, expected_states = _steps(layer.cell, kept)
        np.testing.assert_allclose(out.numpy()[b], expected[0, -1], atol=1e-5)
        for got, want in zip(states, expected_states):
            np.testing.assert_allclose(got.numpy()[b], want[0], atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "tt"])
def test_stateful_continues_across_calls(kind):
    x = _x(3, (2, 6, 8, 8, 1))
    layer = keras.layers.RNN(_cell(kind), return_sequences=True, stateful=True)
    layer.build(x.shape)
    _randomise(layer)
    expected, _ = _steps(layer.cell, x)
    parts = [layer(x[:, :2]).numpy(), layer(x[:, 2:]).numpy()]
    np.testing.assert_allclose(np.concatenate(parts, 1), expected, atol=1e-5)
    layer.reset_state()
    np.testing.assert_allclose(layer(x[:, :2]).numpy(), expected[:, :2], atol=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda cells: keras.layers.RNN(keras.layers.StackedRNNCells(cells), True, True),
        lambda cells: keras.layers.RNN(cells, return_sequences=True, return_state=True),
    ],
)
def test_stacked_cells_equal_two_chained_layers(make):
    inputs = keras.Input(SHAPE[1:])
    cells = [_cell("tt", 3, name="first"), _cell("lstm", 4, name="second")]
    outputs = make(cells)(inputs)
    y, first_states, second_states = outputs
    assert tuple(y.shape) == (None, 5, 8, 8, 4)
    assert [tuple(s.shape)[-1] for s in first_states] == [3, 3] + [TT["order"] * 2 * TT["rank"]] * TT["steps"]
    assert [tuple(s.shape) for s in second_states] == [(None, 8, 8, 4)] * 2
    model = keras.Model(inputs, y)
    _randomise(model)
    x = _x(4)
    hidden, _ = _steps(cells[0], x)
    expected, _ = _steps(cells[1], hidden)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


class SubclassedRNNModel(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rnn = keras.layers.RNN(ConvTTLSTMCell(3, 3, **TT))
        self.head = keras.layers.Conv2D(1, 1)

    def call(self, x):
        return self.head(self.rnn(x))


def test_subclassed_model_trains_and_keras_file_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    x = _x(5, (4, 5, 8, 8, 1))
    y = x[:, -1]
    model = SubclassedRNNModel()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    losses = model.fit(x, y, epochs=4, batch_size=4, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    expected, _ = _steps(model.rnn.cell, x)
    head = model.head(expected[:, -1]).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), head, atol=1e-5)

    inputs = keras.Input(SHAPE[1:])
    stacked = keras.layers.RNN([_cell("tt"), _cell("lstm")], return_sequences=True)(inputs)
    functional = keras.Model(inputs, keras.layers.RNN(_cell("lstm"))(stacked))
    path = tmp_path / "m.keras"
    functional.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), functional.predict(x, verbose=0))


def test_vector_cells_keep_keras_behaviour():
    inputs = keras.Input((5, 4))
    out, h, c = keras.layers.RNN(keras.layers.LSTMCell(3), return_sequences=True, return_state=True)(inputs)
    assert tuple(out.shape) == (None, 5, 3) and tuple(h.shape) == (None, 3) and tuple(c.shape) == (None, 3)
    stacked = keras.layers.RNN([keras.layers.LSTMCell(3), keras.layers.GRUCell(2)])(inputs)
    assert tuple(stacked.shape) == (None, 2)


def test_conv_rnn_still_names_bad_inputs():
    with pytest.raises(ValueError, match="height and width must be known"):
        ConvRNN(ConvLSTMCell(4, 3))(keras.Input((5, None, None, 1)))


_OTHER_BACKEND = """
    import numpy as np, keras
    from ctt_keras.layers import ConvLSTMCell, ConvTTLSTMCell
    data = np.load({path!r})
    inputs = keras.Input((5, 8, 8, 1))
    stacked = keras.layers.RNN([ConvTTLSTMCell(3, 3, order=2, steps=3, rank=2), ConvLSTMCell(4, 3)],
                               return_sequences=True)(inputs)
    out, *states = keras.layers.RNN(ConvTTLSTMCell(2, 3, order=2, steps=3, rank=2), return_state=True,
                                    go_backwards=True)(stacked)
    model = keras.Model(inputs, [out] + states)
    model.set_weights([data[f"w{{i}}"] for i in range(len(model.weights))])
    got = model.predict(data["x"], verbose=0)
    for i, g in enumerate(got):
        np.testing.assert_allclose(np.asarray(g), data[f"y{{i}}"], atol=1e-5)
    masked = keras.layers.RNN(ConvLSTMCell(4, 3))
    masked.build((2, 5, 8, 8, 1))
    masked.set_weights([data["mw0"], data["mw1"]])
    got_masked = keras.ops.convert_to_numpy(masked(data["x"], mask=data["mask"]))
    np.testing.assert_allclose(got_masked, data["masked"],
                               atol=1e-5)
    print("OK", keras.backend.backend())
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_give_the_same_numbers(backend, tmp_path):
    pytest.importorskip(backend)
    inputs = keras.Input((5, 8, 8, 1))
    stacked = keras.layers.RNN([ConvTTLSTMCell(3, 3, **TT), ConvLSTMCell(4, 3)], return_sequences=True)(
        inputs
    )
    out, *states = keras.layers.RNN(ConvTTLSTMCell(2, 3, **TT), return_state=True, go_backwards=True)(stacked)
    model = keras.Model(inputs, [out] + states)
    _randomise(model)
    x = _x(6)
    masked = keras.layers.RNN(ConvLSTMCell(4, 3))
    masked.build(x.shape)
    _randomise(masked, seed=9)
    mask = np.array([[1, 1, 0, 1, 0], [1, 0, 1, 1, 1]], bool)
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update({f"y{i}": y for i, y in enumerate(model.predict(x, verbose=0))})
    arrays.update(
        mw0=masked.get_weights()[0],
        mw1=masked.get_weights()[1],
        mask=mask,
        masked=masked(x, mask=mask).numpy(),
        x=x,
    )
    np.savez(tmp_path / "data.npz", **arrays)
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    code = textwrap.dedent(_OTHER_BACKEND.format(path=str(tmp_path / "data.npz")))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"OK {backend}" in result.stdout
