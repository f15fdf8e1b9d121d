"""Teaches `keras.layers.RNN` and `keras.layers.StackedRNNCells` the shapes of cells with image states.

Keras 3's RNN machinery runs any cell whose `call` maps `(inputs, states)` to
`(output, new_states)` (its loops take nested tensors of any shape), but two of
its shape methods assume vector states: `RNN.compute_output_shape` builds
`(batch, state_size)` shapes from integer sizes, and `StackedRNNCells.build`
builds the next cell for `(batch, output_size)`. For a cell with image states
both give negative or wrong shapes, so a functional model fails with "Cannot
convert '(None, -1)' to a shape" (Keras's own `ConvLSTMCell` shares this: only
its `ConvLSTM2D` wrapper works).

A third assumption sits in the JAX backend's loop: it broadcasts a
`[batch, time]` mask against the outputs as `[batch, 1]`, which fails for image
outputs; given as `[batch, time, 1, 1, 1]` it broadcasts on every backend.

`install()` (called when `ctt_keras.layers` is imported) extends those
methods: for a cell that declares `state_roles` (the protocol of
`ctt_keras.layers.ConvRecurrentCell`), or a `StackedRNNCells` holding one, the
shapes come from the cell's own `compute_output_shape(step_shape) ->
(output_shape, state_shapes)` and the mask gets the sequence's rank. Every
other cell takes Keras's original code path, unchanged.
"""

import keras

_MARK = "_ctt_keras_image_states"


def declares_image_states(cell):
    """Whether `cell` (or a cell of a `StackedRNNCells`) follows the image-state protocol."""
    if isinstance(cell, keras.layers.StackedRNNCells):
        return any(declares_image_states(c) for c in cell.cells)
    return hasattr(type(cell), "state_roles")


def step_shapes(cell, step_shape):
    """`(output_shape, state_shapes)` of one step of `cell` (a stack: per-cell state shape lists)."""
    if isinstance(cell, keras.layers.StackedRNNCells):
        states = []
        for inner in cell.cells:
            step_shape, inner_states = step_shapes(inner, step_shape)
            states.append(list(inner_states))
        return step_shape, (states[0] if len(states) == 1 else states)
    if not hasattr(type(cell), "state_roles"):
        # A vector cell inside a stack with image cells: Keras's convention.
        size = cell.output_size if getattr(cell, "output_size", None) is not None else cell.state_size
        size = size[0] if isinstance(size, (list, tuple)) else size
        states = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
        return (step_shape[0], size), [(step_shape[0], s) for s in states]
    output, states = cell.compute_output_shape(tuple(step_shape))
    return tuple(output), [tuple(s) for s in states]


def _rnn_compute_output_shape(original):
    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        if not declares_image_states(self.cell):
            return original(self, sequences_shape, initial_state_shape)
        batch, time = sequences_shape[0], sequences_shape[1]
        output, states = step_shapes(self.cell, (batch,) + tuple(sequences_shape[2:]))
        if self.return_sequences:
            output = (batch, time) + tuple(output[1:])
        if self.return_state:
            return (output, *states)
        return output

    setattr(compute_output_shape, _MARK, True)
    compute_output_shape.__doc__ = original.__doc__
    return compute_output_shape


def _stacked_build(original):
    def build(self, input_shape):
        if not declares_image_states(self):
            return original(self, input_shape)
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, keras.layers.Layer) and not cell.built:
                cell.build(shape)
                cell.built = True
            shape, _ = step_shapes(cell, shape)
        self.built = True

    setattr(build, _MARK, True)
    return build


def _rnn_inner_loop(original):
    def inner_loop(self, sequences, initial_state, mask, training=False):
        if mask is not None and declares_image_states(self.cell) and len(mask.shape) == 2:
            rank = len(sequences.shape)
            mask = keras.ops.reshape(mask, tuple(keras.ops.shape(mask)) + (1,) * (rank - 2))
        return original(self, sequences, initial_state, mask, training=training)

    setattr(inner_loop, _MARK, True)
    return inner_loop


def install():
    """Extends the RNN methods once per process (idempotent)."""
    rnn, stacked = keras.layers.RNN, keras.layers.StackedRNNCells
    if not getattr(rnn.compute_output_shape, _MARK, False):
        rnn.compute_output_shape = _rnn_compute_output_shape(rnn.compute_output_shape)
    if not getattr(rnn.inner_loop, _MARK, False):
        rnn.inner_loop = _rnn_inner_loop(rnn.inner_loop)
    if not getattr(stacked.build, _MARK, False):
        stacked.build = _stacked_build(stacked.build)
