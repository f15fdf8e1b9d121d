"""The base class of the convolutional recurrent cells: arguments, dropout, image states, config."""

import keras
from keras import ops

# Keras's RNN draws the dropout masks of cells of this (private) class once per sequence, before its
# loop, so that the loop body stays a pure function (JAX); our cells follow that protocol.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from ctt_keras.layers import _common


@keras.saving.register_keras_serializable(package="ctt_keras")
class ConvRecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Base class of a convolutional recurrent cell whose states are images.

    It holds what every cell of this library shares: the `keras.layers.ConvLSTM2D`
    style arguments, the dropout masks, the zero initial states, output and
    state shapes, and the config. A subclass declares its states (`state_roles`
    and `state_channels`), creates its weights in `build` (after calling
    `super().build(input_shape)`, with `add_kernel` / `add_bias`) and computes
    one step in `call`. Such a cell runs in `keras.layers.RNN`,
    `keras.layers.StackedRNNCells`, `ctt_keras.layers.ConvRNN` and, once
    registered with `ctt_keras.layers.register_cell`, inside the networks of
    `ctt_keras.models` (their export, rematerialisation and streaming read only
    `state_roles` and the initial states).

    Every state is a `[batch, height, width, channels]` tensor on the input's
    grid (channels last). The role `"h"` must name the state that equals the
    cell's latest output (the recognizer's classifier reads it); other role
    names are free (they label the states of exported models).

    Args:
        filters: Number of output channels.
        kernel_size: Odd int or pair of odd ints.
        padding: Only `"same"`: the states keep the input's height and width.
        activation: Activation of the candidate and of the cell state
            (default `"tanh"`, the official code's).
        recurrent_activation: Activation of the gates (default `"sigmoid"`).
        use_bias: Whether the convolutions have biases (the official code: yes).
        kernel_initializer: Initialiser of every kernel. `None` (default)
            reproduces PyTorch's `nn.Conv2d` initialisation,
            U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        bias_initializer: Initialiser of every bias; `None` as above.
        unit_forget_bias: Initialise the forget-gate bias to ones (Keras's
            default is `True`; the official code's, kept here, is `False`).
        kernel_regularizer, bias_regularizer: Optional regularisers.
        kernel_constraint, bias_constraint: Optional constraints.
        dropout: Fraction of the input units dropped (training only); one
            mask per sequence, shared by the four gates.
        recurrent_dropout: Fraction of the recurrent units dropped (training
            only); one mask per sequence.
        seed: Seed of the dropout masks.
        **kwargs: Standard layer arguments (`name`, `dtype`, ...).
    """

    def __init__(
        self,
        filters,
        kernel_size,
        padding="same",
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer=None,
        bias_initializer=None,
        unit_forget_bias=False,
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = _common.check_positive_int("filters", filters)
        self.kernel_size = _common.check_kernel_size(kernel_size)
        self.padding = _common.check_padding(padding)
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.dropout = _common.check_rate("dropout", dropout)
        self.recurrent_dropout = _common.check_rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        # Only a cell with dropout has a seed state: the variables of other cells (and so every saved
        # weights file) stay what they were before dropout existed.
        if self.dropout or self.recurrent_dropout:
            self.seed_generator = keras.random.SeedGenerator(seed, name="dropout_seed")
        else:
            self.seed_generator = None
        self.spatial_dims = None
        self.input_channels = None

    # -- what a subclass declares -----------------------------------------------------------------

    @property
    def state_roles(self):
        """One name per state, in the order of the state list; `"h"` is the latest output."""
        raise NotImplementedError(f"{type(self).__name__} must define `state_roles`.")

    @property
    def state_channels(self):
        """Channels of each state, in the order of `state_roles`."""
        raise NotImplementedError(f"{type(self).__name__} must define `state_channels`.")

    @property
    def state_size(self):
        # One entry per state for Keras's RNN; -1: the shape is the cell's (compute_output_shape).
        return [-1] * len(self.state_roles)

    # -- building -----------------------------------------------------------------------------------

    def build(self, input_shape):
        input_shape = _common.check_build_shape(self.name, input_shape)
        self.spatial_dims = tuple(input_shape[1:3])
        self.input_channels = int(input_shape[-1])

    def initializers(self, fan_in_channels):
        """(kernel, bias) initialisers for a conv reading `fan_in_channels` channels."""
        kh, kw = self.kernel_size
        return _common.conv_initializers(
            self.kernel_initializer, self.bias_initializer, fan_in_channels * kh * kw
        )

    def add_kernel(self, name, shape, initializer):
        """A kernel weight with the cell's regulariser and constraint."""
        return self.add_weight(
            name=name,
            shape=shape,
            initializer=initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )

    def add_bias(self, name, size, initializer, gates=False):
        """A bias weight (or `None` without `use_bias`); `gates`: the i, f, o, g gate bias."""
        if not self.use_bias:
            return None
        if gates and self.unit_forget_bias:
            initializer = _ForgetGateOnes(initializer, size // 4)
        return self.add_weight(
            name=name,
            shape=(size,),
            initializer=initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    # -- one step -----------------------------------------------------------------------------------

    def dropped_inputs(self, inputs, training):
        """`inputs` times the sequence's input dropout mask when training."""
        if training and self.dropout > 0:
            return inputs * self.get_dropout_mask(inputs)
        return inputs

    def dropped_hidden(self, hidden, training):
        """`hidden` times the sequence's recurrent dropout mask when training."""
        if training and self.recurrent_dropout > 0:
            return hidden * self.get_recurrent_dropout_mask(hidden)
        return hidden

    def gate_update(self, gates, c_prev):
        """The LSTM update from the i, f, o, g gate pre-activations: `(h, c)`."""
        return _common.lstm_update(gates, c_prev, self.activation, self.recurrent_activation)

    def get_initial_state(self, batch_size=None):
        grid = (batch_size,) + tuple(self.spatial_dims)
        return [ops.zeros(grid + (channels,), dtype=self.compute_dtype) for channels in self.state_channels]

    def compute_output_shape(self, input_shape, states_shape=None):
        grid = tuple(input_shape[:-1])
        return grid + (self.filters,), [grid + (channels,) for channels in self.state_channels]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "padding": self.padding,
                "activation": keras.activations.serialize(self.activation),
                "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias,
                "kernel_initializer": _common.serialize_initializer(self.kernel_initializer),
                "bias_initializer": _common.serialize_initializer(self.bias_initializer),
                "unit_forget_bias": self.unit_forget_bias,
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
                "bias_constraint": keras.constraints.serialize(self.bias_constraint),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed,
            }
        )
        return config


class _ForgetGateOnes(keras.initializers.Initializer):
    """A gate bias `[i, f, o, g]` with the forget part at one and the rest from `base`."""

    def __init__(self, base, filters):
        self.base, self.filters = base, filters

    def __call__(self, shape, dtype=None):
        f = self.filters
        return ops.concatenate(
            [
                _common.fresh(self.base)((f,), dtype=dtype),
                ops.ones((f,), dtype=dtype),
                _common.fresh(self.base)((2 * f,), dtype=dtype),
            ]
        )
