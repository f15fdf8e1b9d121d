"""The ConvLSTM cell of the official Conv-TT-LSTM code (SPEC §1)."""

import keras
from keras import ops

from ctt_keras.layers import _common


@keras.saving.register_keras_serializable(package="ctt_keras")
class ConvLSTMCell(_common.ConvRecurrentCell):
    """One step of a convolutional LSTM, exactly as in the official Conv-TT-LSTM code.

    A single convolution over the channel concatenation `[x_t ; h_{t-1}]`
    (input first) gives `4 * filters` channels, split in the order
    **i, f, o, g**; `c_t = f * c_{t-1} + i * g`, `h_t = o * tanh(c_t)`. No
    peepholes, no forget-gate bias offset, "same" padding, stride 1, bias on.

    Args:
        filters: Number of hidden channels `Ch`.
        kernel_size: Odd int or pair of odd ints.
        kernel_initializer: Initialiser of the convolution kernel. `None`
            (default) reproduces PyTorch's `nn.Conv2d` initialisation,
            U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        bias_initializer: Initialiser of the bias; `None` as above.
        kernel_regularizer, bias_regularizer: Optional regularisers.
        **kwargs: Standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[batch, height, width, in_channels]`, one time step.
        states: list `[h, c]`, each `[batch, height, width, filters]`.
        training: Unused; accepted for the RNN interface.

    Returns:
        `(h_t, [h_t, c_t])`.

    Input shape:
        `[batch, height, width, in_channels]` with known height and width.

    Output shape:
        `[batch, height, width, filters]`.

    Example:

    >>> cell = ConvLSTMCell(filters=8, kernel_size=3)
    >>> layer = ctt_keras.layers.ConvRNN(cell, return_sequences=True)
    >>> y = layer(np.zeros((2, 5, 16, 16, 1), "float32"))
    >>> y.shape
    (2, 5, 16, 16, 8)
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        self.state_size = [-1, -1]  # image states; shapes come from get_initial_state

    def build(self, input_shape):
        super().build(input_shape)
        kh, kw = self.kernel_size
        in_ch = self.input_channels + self.filters
        kernel_init, bias_init = self.initializers(in_ch)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(kh, kw, in_ch, 4 * self.filters),
            initializer=kernel_init,
            regularizer=self.kernel_regularizer,
        )
        self.bias = self.add_weight(
            name="bias", shape=(4 * self.filters,), initializer=bias_init, regularizer=self.bias_regularizer
        )

    def call(self, inputs, states, training=None):
        _common.check_step_input(self.name, inputs, self.input_channels)
        h_prev, c_prev = states[0], states[1]
        gates = _common.conv_same(ops.concatenate([inputs, h_prev], axis=-1), self.kernel, self.bias)
        h, c = _common.lstm_update(gates, c_prev)
        return h, [h, c]

    def multiply_accumulates(self):
        """Multiply-accumulates of one step for one sample (the convolution; built cell)."""
        kh, kw = self.kernel_size
        height, width = self.spatial_dims
        return height * width * kh * kw * (self.input_channels + self.filters) * 4 * self.filters

    def get_initial_state(self, batch_size=None):
        shape = (batch_size,) + self.spatial_dims + (self.filters,)
        return [ops.zeros(shape, dtype=self.compute_dtype), ops.zeros(shape, dtype=self.compute_dtype)]

    def compute_output_shape(self, input_shape, states_shape=None):
        shape = tuple(input_shape[:-1]) + (self.filters,)
        return shape, [shape, shape]
