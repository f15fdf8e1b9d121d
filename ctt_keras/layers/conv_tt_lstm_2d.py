"""`ConvTTLSTM2D`: the Conv-TT-LSTM as a layer with the arguments of `keras.layers.ConvLSTM2D`."""

import keras

from ctt_keras.layers._cell_layer import CellLayer, read_through
from ctt_keras.layers.conv_tt_lstm_cell import ConvTTLSTMCell


@keras.saving.register_keras_serializable(package="ctt_keras")
class ConvTTLSTM2D(CellLayer):
    """2D Convolutional Tensor-Train LSTM over image sequences (Su et al., NeurIPS 2020).

    The `ConvTTLSTMCell` in a layer that takes the arguments of
    `keras.layers.ConvLSTM2D` where they apply, plus the tensor-train's
    `order`, `steps` and `rank`. Its defaults are the official code's
    (github.com/NVlabs/conv-tt-lstm): with them it reproduces that code's
    arithmetic (tested against its vectors). The differences from
    `keras.layers.ConvLSTM2D` are those of `ctt_keras.layers.ConvLSTM2D`:
    `padding="same"` only (and the default), stride and dilation 1, PyTorch's
    initialisation and `unit_forget_bias=False` by default, no `recurrent_*`
    arguments (the kernel arguments apply to every convolution), one dropout
    mask per sequence; `recurrent_dropout` masks each new hidden state where it
    enters the history.

    Args:
        filters: Number of output (hidden) channels.
        kernel_size: Odd int or pair of odd ints (every convolution).
        order: Tensor-train order `N` (default 3).
        steps: Number of past hidden states `M >= order` kept (default 3).
        rank: Tensor-train rank `r` (default 8).
        padding: `"same"`.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.
        activation: Activation of the candidate and the cell state (`"tanh"`).
        recurrent_activation: Activation of the gates (`"sigmoid"`).
        use_bias: Whether the convolutions have biases.
        kernel_initializer, bias_initializer: `None` = PyTorch's defaults.
        unit_forget_bias: Forget-gate bias initialised to ones (default `False`).
        kernel_regularizer, bias_regularizer, activity_regularizer: Regularisers.
        kernel_constraint, bias_constraint: Constraints.
        dropout: Fraction of the input units to drop (training only).
        recurrent_dropout: Fraction of the recurrent units to drop.
        seed: Seed of the dropout masks.
        return_sequences: Return every step's output (default: the last one).
        return_state: Also return the final states `[h, c, p_1, ..., p_M]`.
        go_backwards: Process the sequence backwards.
        stateful: Keep the last states of a batch for the next batch.
        unroll: Unroll the time loop.
        **kwargs: Other layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: 5-D sequence (see `data_format`).
        initial_state: Optional list of states in the cell's order.
        mask: Optional boolean `[batch, time]`.
        training: Turns dropout on.

    Input shape:
        `[batch, time, height, width, channels]` (channels last).

    Output shape:
        `[batch, time, height, width, filters]` with `return_sequences`, else
        `[batch, height, width, filters]`; with `return_state`, then the states.

    Example:

    >>> inputs = keras.Input((10, 64, 64, 1))
    >>> x = ConvTTLSTM2D(32, 5, order=3, steps=3, rank=8, return_sequences=True)(inputs)
    >>> outputs = keras.layers.TimeDistributed(keras.layers.Conv2D(1, 1))(x)
    >>> model = keras.Model(inputs, outputs)
    """

    cell_class = ConvTTLSTMCell
    extra_cell_arguments = ("order", "steps", "rank")

    def __init__(
        self,
        filters,
        kernel_size,
        order=3,
        steps=3,
        rank=8,
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
                order=order,
                steps=steps,
                rank=rank,
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


read_through(ConvTTLSTM2D, ConvTTLSTM2D.extra_cell_arguments)
