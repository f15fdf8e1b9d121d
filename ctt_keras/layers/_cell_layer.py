"""What `ConvLSTM2D` and `ConvTTLSTM2D` share: a `ConvRNN` built from the cell's own arguments (private)."""

import keras

from ctt_keras.layers.conv_rnn import ConvRNN

#: Arguments of `ConvRecurrentCell` a layer forwards to its cell, in `keras.layers.ConvLSTM2D`'s order.
CELL_ARGUMENTS = (
    "filters",
    "kernel_size",
    "padding",
    "activation",
    "recurrent_activation",
    "use_bias",
    "kernel_initializer",
    "bias_initializer",
    "unit_forget_bias",
    "kernel_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "seed",
)
#: `keras.layers.ConvLSTM2D` arguments that do not apply to the official cells, with the reason.
_NOT_APPLICABLE = {
    "strides": "the recurrent state keeps the input's height and width (stride 1)",
    "dilation_rate": "the official cells use undilated convolutions",
    "recurrent_initializer": "the input and recurrent kernels are one kernel over [x ; h] (the official "
    "layout); "
    "use kernel_initializer",
    "recurrent_regularizer": "the input and recurrent kernels are one kernel (use kernel_regularizer)",
    "recurrent_constraint": "the input and recurrent kernels are one kernel (use kernel_constraint)",
}
#: Values of those arguments that mean "as the official cell does" and are therefore accepted.
_HARMLESS = {"strides": (1, (1, 1)), "dilation_rate": (1, (1, 1))}


class CellLayer(ConvRNN):
    """A `ConvRNN` whose cell is made from the layer's arguments, configured like ConvLSTM2D."""

    cell_class = None
    #: Cell arguments beyond `CELL_ARGUMENTS` (e.g. the tensor-train's order, steps, rank).
    extra_cell_arguments = ()

    def __init__(
        self,
        cell_arguments,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        data_format=None,
        activity_regularizer=None,
        **kwargs,
    ):
        for name, reason in _NOT_APPLICABLE.items():
            if name in kwargs:
                value = kwargs.pop(name)
                if value is not None and value not in _HARMLESS.get(name, ()):
                    raise ValueError(
                        f"`{name}` is not supported by {type(self).__name__}: {reason}; got "
                        f"{name}={value!r}."
                    )
        cell = self.cell_class(
            name=f"{self.cell_class.__name__.lower()}", dtype=kwargs.get("dtype"), **cell_arguments
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            data_format=data_format,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell = self.cell.get_config()
        for name in CELL_ARGUMENTS + tuple(self.extra_cell_arguments):
            config[name] = cell[name]
        config["activity_regularizer"] = keras.regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def read_through(cls, names):
    """Adds read-only properties `names` to `cls` that return the cell's attribute (as ConvLSTM2D has)."""
    for name in names:
        setattr(
            cls, name, property(lambda self, name=name: getattr(self.cell, name), doc=f"The cell's `{name}`.")
        )
    return cls


read_through(CellLayer, CELL_ARGUMENTS)
