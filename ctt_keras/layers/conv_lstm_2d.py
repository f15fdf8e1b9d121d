"""`ConvLSTM2D`: the official code's ConvLSTM as a layer with the arguments of `keras.layers.ConvLSTM2D`."""

import keras

from ctt_keras.layers._cell_layer import CellLayer
from ctt_keras.layers.conv_lstm_cell import ConvLSTMCell


@keras.saving.register_keras_serializable(package="ctt_keras")
class ConvLSTM2D(CellLayer):
    """2D convolutional LSTM over image sequences, the cell of the official Conv-TT-LSTM code.

    Takes the arguments of `keras.layers.ConvLSTM2D` where they apply; its
    defaults are the official code's (github.com/NVlabs/conv-tt-lstm), so a
    network built from it reproduces that code. It computes exactly what
    `keras.layers.ConvLSTM2D(filters, kernel_size, padding="same",
    unit_forget_bias=False)` computes for the same weights, which are laid out
    differently (see "Weights" below; `tests/layers/test_conv_layers.py` maps
    one onto the other and compares the outputs).

    Differences from `keras.layers.ConvLSTM2D`:

    - `padding` is `"same"` only (the default here; Keras defaults to
      `"valid"`); `strides` and `dilation_rate` are 1.
    - `unit_forget_bias=False` and PyTorch's `nn.Conv2d` initialisation by
      default (`kernel_initializer=None`, `bias_initializer=None`).
    - One kernel over `[x ; h]` (input channels first) with gates in the order
      i, f, o, g, so there are no `recurrent_*` initialiser, regulariser or
      constraint arguments: the kernel's arguments cover both parts.
    - One dropout mask per sequence shared by the four gates (Keras draws one per
      gate).

    Args:
        filters: Number of output (hidden) channels.
        kernel_size: Odd int or pair of odd ints.
        padding: `"same"`.
        data_format: `"channels_last"` (`[batch, time, height, width,
            channels]`) or `"channels_first"` (`[batch, time, channels, height,
            width]`); default `keras.config.image_data_format()`.
        activation: Activation of the candidate and the cell state (`"tanh"`).
        recurrent_activation: Activation of the gates (`"sigmoid"`).
        use_bias: Whether the convolution has a bias.
        kernel_initializer, bias_initializer: `None` = PyTorch's defaults.
        unit_forget_bias: Forget-gate bias initialised to ones (default `False`).
        kernel_regularizer, bias_regularizer, activity_regularizer: Regularisers.
        kernel_constraint, bias_constraint: Constraints.
        dropout: Fraction of the input units to drop (training only).
        recurrent_dropout: Fraction of the recurrent units to drop.
        seed: Seed of the dropout masks.
        return_sequences: Return every step's output (default: the last one).
        return_state: Also return the final states `[h, c]`.
        go_backwards: Process the sequence backwards.
        stateful: Keep the last states of a batch for the next batch.
        unroll: Unroll the time loop.
        **kwargs: Other layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: 5-D sequence (see `data_format`).
        initial_state: Optional `[h, c]`.
        mask: Optional boolean `[batch, time]`.
        training: Turns dropout on.

    Input shape:
        `[batch, time, height, width, channels]` (channels last).

    Output shape:
        `[batch, time, height, width, filters]` with `return_sequences`, else
        `[batch, height, width, filters]`; with `return_state`, then `h` and `c`.

    Weights:
        `kernel [kh, kw, in_channels + filters, 4 * filters]`, `bias
        [4 * filters]`. With `k, r, b` the kernel, recurrent kernel and bias of
        `keras.layers.ConvLSTM2D` (gate order i, f, c, o):
        `kernel[:, :, :in_channels] = k`, `kernel[:, :, in_channels:] = r` and
        `bias = b`, each with its gate blocks reordered i, f, o, c.

    Example:

    >>> inputs = keras.Input((10, 64, 64, 1))
    >>> x = ConvLSTM2D(32, 5, return_sequences=True)(inputs)
    >>> x = ConvLSTM2D(32, 5)(x)
    >>> model = keras.Model(inputs, keras.layers.Conv2D(1, 1)(x))
    """

    cell_class = ConvLSTMCell

    def __init__(
        self,
        filters,
        kernel_size,
        padding="same",
        data_format=None,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer=None,
        bias_initializer=None,
        unit_forget_bias=False,
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        **kwargs,
    ):
        super().__init__(
            dict(
                filters=filters,
                kernel_size=kernel_size,
                padding=padding,
                activation=activation,
                recurrent_activation=recurrent_activation,
                use_bias=use_bias,
                kernel_initializer=kernel_initializer,
                bias_initializer=bias_initializer,
                unit_forget_bias=unit_forget_bias,
                kernel_regularizer=kernel_regularizer,
                bias_regularizer=bias_regularizer,
                kernel_constraint=kernel_constraint,
                bias_constraint=bias_constraint,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                seed=seed,
            ),
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            data_format=data_format,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
