"""The cell registry: the names under which the networks find their recurrent cells.

`VideoPredictor(cell="convttlstm")` and `EarlyActivityRecognizer(cell=...)`
look the name up here. A user adds a cell with one class and one decorator:

    @ctt_keras.layers.register_cell("my_cell")
    @keras.saving.register_keras_serializable(package="my_project")
    class MyCell(ctt_keras.layers.ConvRecurrentCell):
        ...

and then `VideoPredictor(frame_shape, cell="my_cell", cell_options={...})`.
"""

import inspect

_CELLS = {}


class _Entry:
    __slots__ = ("name", "cls", "network_arguments")

    def __init__(self, name, cls, network_arguments):
        self.name, self.cls, self.network_arguments = name, cls, network_arguments


def register_cell(name, cls=None, network_arguments=(), overwrite=False):
    """Registers a cell class under `name`; usable as a decorator.

    The networks build each recurrent layer as
    `cls(filters, kernel_size, name=..., dtype=..., **options)`, so the class
    must accept those, follow the cell protocol of `ConvRecurrentCell`
    (`state_roles`, `get_initial_state`, `call(inputs, states, training)`,
    `compute_output_shape`, a `filters` attribute) and be registered with
    `keras.saving.register_keras_serializable` so that saved models load.

    Args:
        name: The name the networks' `cell` argument takes.
        cls: The cell class (omit to use as a decorator).
        network_arguments: Names of network arguments this cell reads (the
            built-in Conv-TT-LSTM reads the networks' `order`, `steps`, `rank`).
            A network passes their values to every cell it builds, unless its
            `cell_options` give them.
        overwrite: Replace an existing registration of `name`; without it a
            second class under a taken name is refused.

    Returns:
        `cls` (or the decorator).

    Example:

    >>> @register_cell("conv_gru")
    ... @keras.saving.register_keras_serializable(package="mine")
    ... class ConvGRUCell(ConvRecurrentCell):
    ...     ...
    >>> VideoPredictor((64, 64, 1), cell="conv_gru")
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a cell's registry name must be a non-empty string, got name={name!r}.")
    network_arguments = tuple(network_arguments)

    def decorate(cell_cls):
        if not inspect.isclass(cell_cls):
            raise ValueError(f"register_cell({name!r}) needs a class, got {cell_cls!r}.")
        existing = _CELLS.get(name)
        if existing is not None and existing.cls is not cell_cls and not overwrite:
            raise ValueError(
                f"cell name {name!r} is already registered for {existing.cls.__module__}."
                f"{existing.cls.__qualname__}; pass overwrite=True to replace it or choose another name."
            )
        _CELLS[name] = _Entry(name, cell_cls, network_arguments)
        return cell_cls

    return decorate if cls is None else decorate(cls)


def get_cell(name):
    """The registered cell class of `name`; a `ValueError` listing the names otherwise."""
    return _entry(name).cls


def cell_names():
    """The registered cell names, sorted."""
    return sorted(_CELLS)


def name_of(cell_cls):
    """The registry name of a registered cell class, else a `ValueError`."""
    for entry in _CELLS.values():
        if entry.cls is cell_cls:
            return entry.name
    raise ValueError(
        f"cell class {cell_cls.__module__}.{cell_cls.__qualname__} is not registered; decorate it with "
        f"ctt_keras.layers.register_cell(name) (registered: {cell_names()})."
    )


def network_arguments(name):
    """The network arguments the cell registered as `name` reads (see `register_cell`)."""
    return _entry(name).network_arguments


def _entry(name):
    entry = _CELLS.get(name) if isinstance(name, str) else None
    if entry is None:
        raise ValueError(
            f"`cell` must be a registered cell name, one of {cell_names()}, got cell={name!r}; a new cell "
            f"class is added with ctt_keras.layers.register_cell."
        )
    return entry
