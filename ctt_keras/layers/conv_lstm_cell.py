"""The ConvLSTM cell of the official Conv-TT-LSTM code."""

import keras
from keras import ops

from ctt_keras.layers import _common
from ctt_keras.layers.conv_recurrent_cell import ConvRecurrentCell
from ctt_keras.layers.registry import register_cell


@register_cell("convlstm")
@keras.saving.register_keras_serializable(package="ctt_keras")
class ConvLSTMCell(ConvRecurrentCell):
    """One step of a convolutional LSTM, exactly as in the official Conv-TT-LSTM code.

    A single convolution over the channel concatenation `[x_t ; h_{t-1}]`
    (input first) gives `4 * filters` channels, split in the order
    **i, f, o, g**; `c_t = f * c_{t-1} + i * g`, `h_t = o * tanh(c_t)`. No
    peepholes, no forget-gate bias offset, "same" padding, stride 1, bias on
    (github.com/NVlabs/conv-tt-lstm). With `activation`/`recurrent_activation`
    the tanh/sigmoid above are replaced, as in `keras.layers.ConvLSTM2D`.

    It is a Keras RNN cell: it runs in `keras.layers.RNN` (and
    `StackedRNNCells`), in `ctt_keras.layers.ConvRNN` and `ConvLSTM2D`.

    Args:
        filters: Number of hidden channels `Ch`.
        kernel_size: Odd int or pair of odd ints.
        **kwargs: The arguments of `ConvRecurrentCell` (`padding`,
            `activation`, `recurrent_activation`, `use_bias`, initialisers
            (`None` = PyTorch's `nn.Conv2d` defaults), `unit_forget_bias`,
            regularisers, constraints, `dropout`, `recurrent_dropout`, `seed`)
            and standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[batch, height, width, in_channels]`, one time step.
        states: list `[h, c]`, each `[batch, height, width, filters]`.
        training: Turns dropout on.

    Returns:
        `(h_t, [h_t, c_t])`.

    Input shape:
        `[batch, height, width, in_channels]` with known height and width.

    Output shape:
        `[batch, height, width, filters]`.

    Example:

    >>> cell = ConvLSTMCell(filters=8, kernel_size=3)
    >>> layer = keras.layers.RNN(cell, return_sequences=True)
    >>> y = layer(np.zeros((2, 5, 16, 16, 1), "float32"))
    >>> y.shape
    (2, 5, 16, 16, 8)
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)

    @property
    def state_roles(self):
        return ("h", "c")

    @property
    def state_channels(self):
        return (self.filters, self.filters)

    def build(self, input_shape):
        super().build(input_shape)
        kh, kw = self.kernel_size
        in_ch = self.input_channels + self.filters
        kernel_init, bias_init = self.initializers(in_ch)
        self.kernel = self.add_kernel("kernel", (kh, kw, in_ch, 4 * self.filters), kernel_init)
        self.bias = self.add_bias("bias", 4 * self.filters, bias_init, gates=True)

    def call(self, inputs, states, training=None):
        _common.check_step_input(self.name, inputs, self.input_channels)
        h_prev, c_prev = states[0], states[1]
        x = self.dropped_inputs(inputs, training)
        h_in = self.dropped_hidden(h_prev, training)
        gates = _common.conv_same(ops.concatenate([x, h_in], axis=-1), self.kernel, self.bias)
        h, c = self.gate_update(gates, c_prev)
        return h, [h, c]

    def multiply_accumulates(self):
        """Multiply-accumulates of one step for one sample (the convolution; built cell)."""
        kh, kw = self.kernel_size
        height, width = self.spatial_dims
        return height * width * kh * kw * (self.input_channels + self.filters) * 4 * self.filters
