"""Adding a cell = one class + its registration: a user's cell trains, saves, rematerialises and exports
inside the networks with no other change."""

import json

import numpy as np
import pytest
import tensorflow as tf

import keras
from ctt_keras.layers import ConvRecurrentCell, _common, cell_names, get_cell, register_cell
from ctt_keras.models import EarlyActivityRecognizer, VideoPredictor
from tests.layers import reference


@register_cell("test_minimal_conv_rnn")
@keras.saving.register_keras_serializable(package="ctt_keras_tests")
class MinimalConvRNNCell(ConvRecurrentCell):
    """h_t = activation(conv([x_t ; h_{t-1}]) + b): one state."""

    def __init__(self, filters, kernel_size, gain=1.0, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        self.gain = float(gain)

    @property
    def state_roles(self):
        return ("h",)

    @property
    def state_channels(self):
        return (self.filters,)

    def build(self, input_shape):
        super().build(input_shape)
        kh, kw = self.kernel_size
        kernel, bias = self.initializers(self.input_channels + self.filters)
        self.kernel = self.add_kernel(
            "kernel", (kh, kw, self.input_channels + self.filters, self.filters), kernel
        )
        self.bias = self.add_bias("bias", self.filters, bias)

    def call(self, inputs, states, training=None):
        x = keras.ops.concatenate([inputs, states[0]], axis=-1)
        h = self.activation(self.gain * _common.conv_same(x, self.kernel, self.bias))
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


def _model(**kwargs):
    keras.utils.set_random_seed(0)
    return VideoPredictor(
        (8, 8, 1),
        cell="test_minimal_conv_rnn",
        cell_options={"gain": 0.5},
        layers_per_block=(1, 1),
        hidden_channels=(3, 3),
        skip_stride=1,
        kernel_size=3,
        context_frames=2,
        **kwargs,
    )


def _clips(n=4, frames=5):
    return np.random.default_rng(0).random((n, frames, 8, 8, 1), dtype=np.float32)


def test_registered_cell_is_built_with_its_options_and_computes_its_formula():
    assert "test_minimal_conv_rnn" in cell_names() and get_cell("test_minimal_conv_rnn") is MinimalConvRNNCell
    model = _model()
    assert model.cell_type == "test_minimal_conv_rnn" and all(c.gain == 0.5 for c in model.cells)
    assert [type(c) for c in model.cells] == [MinimalConvRNNCell] * 2
    frame = _clips()[:, 0]
    prediction, states = model.step(frame, model.initial_states(4))
    cell0, cell1 = model.cells
    h0 = np.tanh(
        0.5
        * reference.conv_same(
            np.concatenate([frame, np.zeros((4, 8, 8, 3))], -1), cell0.kernel.numpy(), cell0.bias.numpy()
        )
    )
    h1 = np.tanh(
        0.5
        * reference.conv_same(
            np.concatenate([h0, np.zeros((4, 8, 8, 3))], -1), cell1.kernel.numpy(), cell1.bias.numpy()
        )
    )
    head = reference.conv_same(
        np.concatenate([h1, h0], -1), model.head.kernel.numpy(), model.head.bias.numpy()
    )
    np.testing.assert_allclose(states[0][0].numpy(), h0, atol=1e-5)
    np.testing.assert_allclose(prediction.numpy(), head, atol=1e-5)


def test_custom_cell_network_trains_round_trips_and_rematerialises(tmp_path):
    clips = _clips()
    model = _model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    losses = model.fit(clips, batch_size=4, epochs=4, verbose=0).history["loss"]
    assert losses[-1] < losses[0], losses
    path = tmp_path / "custom.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config()["cell"] == "test_minimal_conv_rnn"
    assert loaded.get_config()["cell_options"] == {"gain": 0.5}
    np.testing.assert_array_equal(
        loaded.predict_frames(clips[:, :2], 3).numpy(), model.predict_frames(clips[:, :2], 3).numpy()
    )

    remat = _model(remat=True)
    remat.set_weights(model.get_weights())
    grads = []
    for m in (model, remat):
        with tf.GradientTape() as tape:
            loss = keras.ops.mean(keras.ops.abs(m(clips, training=True) - clips[:, 1:]))
        grads.append(tape.gradient(loss, m.trainable_variables))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)


def test_custom_cell_network_exports_its_state_layout(tmp_path):
    from ctt_keras.export import EXPORT_INFO_FILE, export_saved_model

    model = _model()
    context = _clips(2)[:, :2]
    path = export_saved_model(model, tmp_path, 2, 3, model_name="custom")
    info = json.loads((path / "assets.extra" / EXPORT_INFO_FILE).read_text())
    assert [[s["role"] for s in cell["states"]] for cell in info["state_layout"]] == [["h"], ["h"]]
    assert info["state_layout"][0]["type"] == "MinimalConvRNNCell"
    loaded = tf.saved_model.load(str(path))
    served = loaded.signatures["serving_default"](frames=tf.constant(context))["predictions"].numpy()
    np.testing.assert_allclose(served, model.predict_frames(context, 3).numpy(), atol=1e-5)
    states = loaded.signatures["initial_state"](batch_size=tf.constant(2))
    assert sorted(states) == ["state_00", "state_01"]
    result = loaded.signatures["step"](frame=tf.constant(context[:, 0]), **states)
    expected, _ = model.step(context[:, 0], model.initial_states(2))
    np.testing.assert_allclose(result["prediction"].numpy(), expected.numpy(), atol=1e-5)


def test_recognizer_reads_the_output_role_of_a_custom_cell():
    keras.utils.set_random_seed(0)
    model = EarlyActivityRecognizer(
        (8, 8, 1),
        num_classes=3,
        cell=MinimalConvRNNCell,
        encoder_channels=(2,),
        layers_per_block=(1,),
        hidden_channels=(3,),
        skip_stride=None,
        kernel_size=3,
        classifier_channels=(),
        context_frames=2,
        future_frames=2,
    )
    assert model.get_config()["cell"] == "test_minimal_conv_rnn"
    context = _clips(2)[:, :2]
    out = model.recognize(context)
    frames, states = model.rollout(context, 2, 3, return_states=True)
    np.testing.assert_allclose(
        out["logits"].numpy(), model.class_scores(model.flatten(states[0][0])).numpy(), atol=1e-6
    )


def test_registry_errors_name_the_problem():
    with pytest.raises(ValueError, match="registered cell name.*convlstm.*convttlstm"):
        VideoPredictor((8, 8, 1), cell="gru")
    with pytest.raises(ValueError, match="already registered"):
        register_cell("convlstm", MinimalConvRNNCell)
    with pytest.raises(ValueError, match="must not set.*filters"):
        VideoPredictor((8, 8, 1), cell_options={"filters": 3})

    class Unregistered(MinimalConvRNNCell):
        pass

    with pytest.raises(ValueError, match="not registered"):
        VideoPredictor((8, 8, 1), cell=Unregistered)


def test_builtin_cells_keep_their_names_weights_and_config_keys():
    model = VideoPredictor(
        (8, 8, 1),
        layers_per_block=(1,),
        hidden_channels=(2,),
        skip_stride=None,
        kernel_size=3,
        order=2,
        steps=2,
        rank=1,
    )
    # The same paths, in the same order, as before cells were pluggable (the checkpoint maps rely on them).
    assert [w.path.split("/", 1)[1] for w in model.weights] == [
        "sampling_ratio",
        "b0l0/projection_kernel",
        "b0l0/projection_bias",
        "b0l0/core_kernel_0",
        "b0l0/core_bias_0",
        "b0l0/gate_kernel",
        "b0l0/gate_bias",
        "output/kernel",
        "output/bias",
    ]
    config = model.get_config()
    assert (config["cell"], config["order"], config["steps"], config["rank"]) == ("convttlstm", 2, 2, 1)
    assert "cell_options" not in config  # a config without options reads as before options existed
    lstm = VideoPredictor(
        (8, 8, 1), cell="convlstm", layers_per_block=(1,), hidden_channels=(2,), skip_stride=None
    )
    assert [w.name for w in lstm.cells[0].weights] == ["kernel", "bias"]
