"""A Keras RNN layer for cells whose states are images."""

import keras


@keras.saving.register_keras_serializable(package="ctt_keras")
class ConvRNN(keras.layers.RNN):
    """Runs a convolutional recurrent cell over `[batch, time, height, width, channels]`.

    A thin subclass of `keras.layers.RNN` that only fixes what image states
    need: shape checks at the boundary, initial states built by the cell from
    the spatial size, and output shapes. Everything else (`return_sequences`,
    `return_state`, `initial_state`, `stateful`, `go_backwards`, `unroll`) is
    Keras's.

    Args:
        cell: A `ConvLSTMCell` or `ConvTTLSTMCell` (or any cell with
            `filters`, `get_initial_state` and `compute_output_shape`).
        return_sequences: Return the output of every step (default: the last).
        return_state: Also return the final states (the cell's state list).
        stateful: Carry the final states of a batch over to the next batch.
        **kwargs: Other `keras.layers.RNN` arguments.

    Call arguments:
        sequences: `[batch, time, height, width, channels]`.
        initial_state: Optional list of states in the cell's order.
        training: Passed to the cell.

    Input shape:
        5-D `[batch, time, height, width, channels]`, height and width known.

    Output shape:
        `[batch, time, height, width, filters]` if `return_sequences` else
        `[batch, height, width, filters]`; with `return_state`, followed by
        the states.

    Example:

    >>> layer = ConvRNN(ConvTTLSTMCell(16, 5), return_sequences=True)
    >>> model = keras.Sequential([keras.Input((10, 64, 64, 1)), layer,
    ...                           keras.layers.Conv2D(1, 1)])
    """

    def __init__(self, cell, return_sequences=False, return_state=False, stateful=False, **kwargs):
        super().__init__(
            cell, return_sequences=return_sequences, return_state=return_state, stateful=stateful, **kwargs
        )

    def build(self, sequences_shape, initial_state_shape=None):
        sequences_shape = tuple(sequences_shape)
        if len(sequences_shape) != 5:
            raise ValueError(
                f"{self.name}: input must be 5-D [batch, time, height, width, channels], got shape "
                f"{sequences_shape} (rank {len(sequences_shape)})."
            )
        if sequences_shape[2] is None or sequences_shape[3] is None:
            raise ValueError(
                f"{self.name}: height and width must be known when the layer is built, got shape "
                f"{sequences_shape}; give them in keras.Input(shape=(time, height, width, channels))."
            )
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        shape = tuple(sequences.shape)
        if len(shape) != 5:
            raise ValueError(
                f"{self.name}: input must be 5-D [batch, time, height, width, channels], got shape {shape}."
            )
        expected = (self.cell.spatial_dims or (None, None)) + (self.cell.input_channels,)
        for axis, (got, want) in enumerate(zip(shape[2:], expected), start=2):
            if got is not None and want is not None and got != want:
                name = ("height", "width", "channels")[axis - 2]
                raise ValueError(
                    f"{self.name}: input {name} is {got} but the layer was built for {want} "
                    f"(input shape {shape}, built step shape {expected})."
                )
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def get_initial_state(self, batch_size):
        return list(self.cell.get_initial_state(batch_size=batch_size))

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, time = sequences_shape[0], sequences_shape[1]
        step_shape = (batch,) + tuple(sequences_shape[2:])
        output_step, states = self.cell.compute_output_shape(step_shape)
        output = (batch, time) + tuple(output_step[1:]) if self.return_sequences else tuple(output_step)
        if self.return_state:
            return (output, *[tuple(s) for s in states])
        return output

    def compute_mask(self, _, mask):
        if mask is None:
            return [None] * (1 + len(self.cell.state_size)) if self.return_state else None
        return super().compute_mask(_, mask)
