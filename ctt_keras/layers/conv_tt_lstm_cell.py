"""The Convolutional Tensor-Train LSTM cell (Su et al., NeurIPS 2020)."""

import keras
from keras import ops

from ctt_keras.layers import _common
from ctt_keras.layers.conv_recurrent_cell import ConvRecurrentCell
from ctt_keras.layers.registry import register_cell


@register_cell("convttlstm", network_arguments=("order", "steps", "rank"))
@keras.saving.register_keras_serializable(package="ctt_keras")
class ConvTTLSTMCell(ConvRecurrentCell):
    """One step of the Convolutional Tensor-Train LSTM (Su et al., NeurIPS 2020).

    With order `N`, steps `M >= N`, rank `r` and `L = M - N + 1`, the cell keeps
    the cell state `c` and the last `M` hidden states. Pre-processing
    convolutions `U_0 .. U_{N-1}` (`Ch * L -> r`) read the `N` overlapping
    windows of `L` consecutive hidden states (oldest first), a chain of
    tensor-train cores `W_0 .. W_{N-2}` (`r -> r`) combines them:
    `T_0 = U_0(w_0)`, `T_l = U_l(w_l) + W_{l-1}(T_{l-1})`, and one gate
    convolution over `[x_t ; T_{N-1}]` gives i, f, o, g as in `ConvLSTMCell`.
    Every convolution has a bias, exactly as the official code
    (github.com/NVlabs/conv-tt-lstm). It is a Keras RNN cell: it runs in
    `keras.layers.RNN` (and `StackedRNNCells`), `ConvRNN` and `ConvTTLSTM2D`.

    Implementation note: the maps `U_l` are linear in each hidden state, so a
    new state `h_t` is projected once, by one wide convolution, onto all the
    `N * L` kernel slices it will ever meet (`Ch -> N * L * r`); the state list
    keeps these bias-free projections instead of the raw hidden states. The
    arithmetic is the same as the official code's; the convolutions are fewer
    and wider.

    Args:
        filters: Number of hidden channels `Ch`.
        kernel_size: Odd int or pair of odd ints, shared by every convolution.
        order: Tensor-train order `N` (number of pre-processing maps), >= 1.
        steps: Number of past hidden states `M` kept, >= `order`.
        rank: Tensor-train rank `r` (channels of the chain), >= 1.
        **kwargs: The arguments of `ConvRecurrentCell` (`padding`,
            `activation`, `recurrent_activation`, `use_bias`, initialisers of
            all kernels/biases (`None` = PyTorch's conv default,
            U(-1/sqrt(fan_in), 1/sqrt(fan_in))), `unit_forget_bias`,
            regularisers, constraints, `dropout`, `recurrent_dropout`, `seed`)
            and standard layer arguments. `dropout` masks the input of the gate
            convolution; `recurrent_dropout` masks each new hidden state where
            it enters the history (its projection).

    Call arguments:
        inputs: `[batch, height, width, in_channels]`, one time step.
        states: list `[h, c, p_1, ..., p_M]`: the last output `h_{t-1}`, the
            cell state `c_{t-1}` (both `[batch, height, width, filters]`) and
            the projections of the last `M` hidden states, oldest first (each
            `[batch, height, width, order * L * rank]`). Zeros = the official
            zero history.
        training: Turns dropout on.

    Returns:
        `(h_t, new_states)`.

    Input shape:
        `[batch, height, width, in_channels]` with known height and width.

    Output shape:
        `[batch, height, width, filters]`.

    Example:

    >>> cell = ConvTTLSTMCell(filters=8, kernel_size=3, order=3, steps=3, rank=4)
    >>> layer = keras.layers.RNN(cell, return_sequences=True)
    >>> layer(np.zeros((2, 5, 16, 16, 1), "float32")).shape
    (2, 5, 16, 16, 8)
    """

    def __init__(self, filters, kernel_size, order=3, steps=3, rank=8, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        self.order = _common.check_positive_int("order", order)
        self.steps = _common.check_positive_int("steps", steps)
        self.rank = _common.check_positive_int("rank", rank)
        if self.steps < self.order:
            raise ValueError(
                f"`steps` must be >= `order` (the windows of L = steps - order + 1 states need "
                f"steps >= order), got steps={steps}, order={order}."
            )
        self.window = self.steps - self.order + 1

    @property
    def state_roles(self):
        return ("h", "c") + tuple(f"p_{i}" for i in range(1, self.steps + 1))

    @property
    def state_channels(self):
        return (self.filters, self.filters) + (self.projection_channels,) * self.steps

    @property
    def projection_channels(self):
        """Channels of the stored projection of one hidden state: `order * L * rank`."""
        return self.order * self.window * self.rank

    def build(self, input_shape):
        super().build(input_shape)
        kh, kw = self.kernel_size
        ch, r = self.filters, self.rank

        # U_0..U_{N-1}: one kernel for all maps and window positions. Output
        # channel (l * L + j) * r + q is U_l's output q applied to the j-th
        # (oldest first) state of its window.
        kernel_init, bias_init = self.initializers(ch * self.window)
        self.projection_kernel = self.add_kernel(
            "projection_kernel",
            (kh, kw, ch, self.projection_channels),
            _WindowKernelInitializer(kernel_init, self.order, self.window, r),
        )
        self.projection_bias = self.add_bias("projection_bias", self.order * r, bias_init)
        kernel_init, bias_init = self.initializers(r)
        self.core_kernels = []
        self.core_biases = []
        for i in range(self.order - 1):
            self.core_kernels.append(self.add_kernel(f"core_kernel_{i}", (kh, kw, r, r), kernel_init))
            self.core_biases.append(self.add_bias(f"core_bias_{i}", r, bias_init))
        gate_in = self.input_channels + r
        kernel_init, bias_init = self.initializers(gate_in)
        self.gate_kernel = self.add_kernel("gate_kernel", (kh, kw, gate_in, 4 * ch), kernel_init)
        self.gate_bias = self.add_bias("gate_bias", 4 * ch, bias_init, gates=True)

    def tensor_train(self, projections):
        """The chain output `T_{N-1}` from the stored projections (oldest first)."""
        r, L = self.rank, self.window
        if self.use_bias:
            biases = ops.split(self.projection_bias, self.order, axis=-1)
        t = None
        for l in range(self.order):
            # U_l(w_l): its window is the states at positions l .. l + L - 1.
            u = biases[l] if self.use_bias else None
            for j in range(L):
                start = (l * L + j) * r
                part = projections[l + j][..., start : start + r]
                u = part if u is None else u + part
            if t is None:
                t = u
            else:
                t = u + _common.conv_same(t, self.core_kernels[l - 1], self.core_biases[l - 1])
        return t

    def call(self, inputs, states, training=None):
        _common.check_step_input(self.name, inputs, self.input_channels)
        c_prev = states[1]
        projections = list(states[2:])
        t = self.tensor_train(projections)
        x = self.dropped_inputs(inputs, training)
        gates = _common.conv_same(ops.concatenate([x, t], axis=-1), self.gate_kernel, self.gate_bias)
        h, c = self.gate_update(gates, c_prev)
        new_projection = _common.conv_same(self.dropped_hidden(h, training), self.projection_kernel)
        return h, [h, c] + projections[1:] + [new_projection]

    def multiply_accumulates(self):
        """Multiply-accumulates of one step for one sample (all convolutions; built cell)."""
        kh, kw = self.kernel_size
        pixels = self.spatial_dims[0] * self.spatial_dims[1] * kh * kw
        projections = self.filters * self.projection_channels
        cores = (self.order - 1) * self.rank * self.rank
        gates = (self.input_channels + self.rank) * 4 * self.filters
        return pixels * (projections + cores + gates)

    def get_config(self):
        config = super().get_config()
        config.update({"order": self.order, "steps": self.steps, "rank": self.rank})
        return config


class _WindowKernelInitializer(keras.initializers.Initializer):
    """Initialises the stacked U kernel as `order` independent `[k, k, Ch * L, r]` kernels."""

    def __init__(self, base, order, window, rank):
        self.base, self.order, self.window, self.rank = base, order, window, rank

    def __call__(self, shape, dtype=None):
        kh, kw, ch, _ = shape
        parts = []
        for _ in range(self.order):
            k = self.base((kh, kw, self.window * ch, self.rank), dtype=dtype)
            # [kh, kw, L*Ch, r] -> [kh, kw, Ch, L*r] with channel j*r + q.
            k = ops.reshape(k, (kh, kw, self.window, ch, self.rank))
            k = ops.transpose(k, (0, 1, 3, 2, 4))
            parts.append(ops.reshape(k, (kh, kw, ch, self.window * self.rank)))
        return ops.concatenate(parts, axis=-1)
