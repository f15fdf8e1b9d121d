"""A Keras RNN layer for cells whose states are images: boundary checks and the data format."""

import keras
from keras import ops

_FORMATS = ("channels_last", "channels_first")


@keras.saving.register_keras_serializable(package="ctt_keras")
class ConvRNN(keras.layers.RNN):
    """Runs a convolutional recurrent cell over `[batch, time, height, width, channels]`.

    Our cells also run in plain `keras.layers.RNN`; this thin subclass adds
    what a layer over image sequences needs and `keras.layers.RNN` lacks:

    - `data_format="channels_first"` (`[batch, time, channels, height, width]`
      inputs, outputs, `initial_state` and returned states; the cells compute
      channels last);
    - checks at the boundary with errors that name the problem (not 5-D,
      unknown height or width, a size or channel count other than the built
      one) instead of a failure deep inside a convolution;
    - output shapes computed here, without relying on the shape support that
      `ctt_keras.layers` adds to `keras.layers.RNN`.

    It is the base of `ConvLSTM2D` and `ConvTTLSTM2D`. Everything else
    (`return_sequences`, `return_state`, `initial_state`, `go_backwards`,
    `stateful`, `unroll`, masks `[batch, time]`) is Keras's.

    Args:
        cell: A `ConvLSTMCell` or `ConvTTLSTMCell` (or any `ConvRecurrentCell`).
        return_sequences: Return the output of every step (default: the last).
        return_state: Also return the final states (the cell's state list).
        go_backwards: Process the sequence backwards.
        stateful: Carry the final states of a batch over to the next batch.
        unroll: Unroll the time loop (static time axis needed).
        data_format: `"channels_last"` (default) or `"channels_first"`; `None`
            means `keras.config.image_data_format()`.
        **kwargs: Other `keras.layers.RNN` arguments.

    Call arguments:
        sequences: `[batch, time, height, width, channels]` (channels last).
        initial_state: Optional list of states in the cell's order.
        mask: Optional boolean `[batch, time]`; masked steps keep the states.
        training: Passed to the cell (dropout).

    Input shape:
        5-D `[batch, time, height, width, channels]` (or channels first),
        height and width known.

    Output shape:
        `[batch, time, height, width, filters]` if `return_sequences` else
        `[batch, height, width, filters]`; with `return_state`, followed by
        the states.

    Example:

    >>> layer = ConvRNN(ConvTTLSTMCell(16, 5), return_sequences=True)
    >>> model = keras.Sequential([keras.Input((10, 64, 64, 1)), layer,
    ...                           keras.layers.Conv2D(1, 1)])
    """

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )
        data_format = keras.config.image_data_format() if data_format is None else data_format
        if data_format not in _FORMATS:
            raise ValueError(f"`data_format` must be one of {_FORMATS}, got data_format={data_format!r}.")
        self.data_format = data_format

    # -- channels first <-> last ----------------------------------------------------------------------

    def _to_last_shape(self, shape):
        shape = tuple(shape)
        if self.data_format == "channels_first" and len(shape) >= 4:
            return shape[:-3] + shape[-2:] + shape[-3:-2]
        return shape

    def _to_first_shape(self, shape):
        shape = tuple(shape)
        if self.data_format == "channels_first" and len(shape) >= 4:
            return shape[:-3] + shape[-1:] + shape[-3:-1]
        return shape

    def _to_last(self, x):
        if self.data_format != "channels_first":
            return x
        rank = len(x.shape)
        return ops.transpose(x, tuple(range(rank - 3)) + (rank - 2, rank - 1, rank - 3))

    def _to_first(self, x):
        if self.data_format != "channels_first":
            return x
        rank = len(x.shape)
        return ops.transpose(x, tuple(range(rank - 3)) + (rank - 1, rank - 3, rank - 2))

    # -- the layer --------------------------------------------------------------------------------------

    def build(self, sequences_shape, initial_state_shape=None):
        sequences_shape = tuple(sequences_shape)
        if len(sequences_shape) != 5:
            raise ValueError(
                f"{self.name}: input must be 5-D [batch, time, height, width, channels], got shape "
                f"{sequences_shape} (rank {len(sequences_shape)})."
            )
        sequences_shape = self._to_last_shape(sequences_shape)
        if sequences_shape[2] is None or sequences_shape[3] is None:
            raise ValueError(
                f"{self.name}: height and width must be known when the layer is built, got shape "
                f"{self._to_first_shape(sequences_shape)}; give them in "
                f"keras.Input(shape=(time, height, width, "
                f"channels))."
            )
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        shape = tuple(sequences.shape)
        if len(shape) != 5:
            raise ValueError(
                f"{self.name}: input must be 5-D [batch, time, height, width, channels], got shape {shape}."
            )
        sequences = self._to_last(sequences)
        expected = tuple(self.cell.spatial_dims or (None, None)) + (self.cell.input_channels,)
        got_shape = tuple(sequences.shape)
        for axis, (got, want) in enumerate(zip(got_shape[2:], expected)):
            if got is not None and want is not None and got != want:
                name = ("height", "width", "channels")[axis]
                raise ValueError(
                    f"{self.name}: input {name} is {got} but the layer was built for {want} "
                    f"(input shape {shape}, built step shape {self._to_first_shape((None,) + expected)[1:]})."
                )
        if initial_state is not None:
            initial_state = [self._to_last(s) for s in initial_state]
        outputs = super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        if self.return_state:
            return tuple(self._to_first(x) for x in outputs)
        return self._to_first(outputs)

    def get_initial_state(self, batch_size):
        return list(self.cell.get_initial_state(batch_size=batch_size))

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        sequences_shape = self._to_last_shape(sequences_shape)
        batch, time = sequences_shape[0], sequences_shape[1]
        step_shape = (batch,) + tuple(sequences_shape[2:])
        output_step, states = self.cell.compute_output_shape(step_shape)
        output = (batch, time) + tuple(output_step[1:]) if self.return_sequences else tuple(output_step)
        if self.return_state:
            return (self._to_first_shape(output), *[self._to_first_shape(s) for s in states])
        return self._to_first_shape(output)

    def compute_mask(self, _, mask):
        if mask is None:
            return [None] * (1 + len(self.cell.state_size)) if self.return_state else None
        return super().compute_mask(_, mask)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
