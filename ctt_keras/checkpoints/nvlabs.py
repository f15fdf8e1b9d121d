"""Weights of the official (NVlabs) PyTorch Conv-TT-LSTM code <-> `VideoPredictor`.

The official code: https://github.com/NVlabs/conv-tt-lstm (`code/convlstmnet.py`, `eval_paper/`).

The official state_dict names each cell `layers.b{block}l{layer}`; a Conv-TT-LSTM
cell holds `layers.{0..N-2}` (tensor-train cores), `layers.{N-1}` (gate conv)
and `layers_.{0..N-1}` (pre-processing Conv3d, weight `[r, Ch, k, k, L]`), a
ConvLSTM cell `conv`; the head is `layers.output`. PyTorch kernels are
`[out, in, kh, kw]`, ours `[kh, kw, in, out]`.
"""

import os
import re

import numpy as np

_CELL_KEY = re.compile(r"^layers\.b(\d+)l(\d+)\.(.+)\.(weight|bias)$")


def _to_keras_kernel(w):
    return np.transpose(w, (2, 3, 1, 0))


def _to_torch_kernel(k):
    return np.transpose(k, (3, 2, 0, 1))


def load_state_dict(source):
    """Returns the model parameters of an official checkpoint as `{name: np.ndarray}`.

    Accepts a dict (a bare state_dict, or `{"model_state_dict": ...}`), a path to
    an `.npz` of such arrays, or a path to a PyTorch `.pt`/`.pth` file (read
    without torch). The multi-GPU prefix `module.` is removed. Entries that are
    not under `layers.` (e.g. test vectors stored beside the weights) are ignored.
    """
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"checkpoint not found: {path}")
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as data:
                source = {k: data[k] for k in data.files}
        else:
            from ctt_keras.checkpoints.torch_reader import read_torch_checkpoint

            source = read_torch_checkpoint(path)
    if not isinstance(source, dict):
        raise ValueError(f"expected a state_dict (dict) or a path, got {type(source).__name__}.")
    if "model_state_dict" in source and isinstance(source["model_state_dict"], dict):
        source = source["model_state_dict"]
    state = {}
    for key, value in source.items():
        name = key[len("module.") :] if key.startswith("module.") else key
        if name.startswith("layers."):
            state[name] = np.asarray(value, dtype=np.float32)
    if not state:
        raise ValueError(
            "no official Conv-TT-LSTM parameters found: expected keys like 'layers.b0l0.conv.weight' or "
            f"'layers.b0l0.layers_.0.weight'; got keys {sorted(source)[:10]}..."
        )
    return state


def _parameter(state, key):
    """`state[key]`, or a ValueError naming the missing parameter (a damaged or partial checkpoint)."""
    try:
        return state[key]
    except KeyError:
        raise ValueError(f"the checkpoint is missing the parameter '{key}' (damaged or incomplete).") from None


def infer_config(state):
    """Infers the `VideoPredictor` architecture from official parameter names and shapes.

    Returns:
        `(config, frame_channels)`: `config` holds `VideoPredictor` arguments (`cell`,
        `layers_per_block`, `hidden_channels`, `skip_stride`, `kernel_size` and, for
        Conv-TT-LSTM cells, `order`, `steps`, `rank`).

    Raises:
        ValueError: the names and shapes describe no network of the official code (the
            message names the missing parameter or the part that does not fit).
    """
    cells = {}
    for key in state:
        match = _CELL_KEY.match(key)
        if match:
            cells.setdefault((int(match.group(1)), int(match.group(2))), set()).add(match.group(3))
    if not cells:
        raise ValueError("no cell parameters 'layers.b{block}l{layer}.*' in the state_dict.")
    num_blocks = max(b for b, _ in cells) + 1
    layers_per_block = []
    for b in range(num_blocks):
        layer_ids = sorted(l for bb, l in cells if bb == b)
        if layer_ids != list(range(len(layer_ids))) or not layer_ids:
            raise ValueError(f"block {b} has cells {layer_ids}; expected layers 0..n-1 with none missing.")
        layers_per_block.append(len(layer_ids))
    first = cells[(0, 0)]
    config = {"layers_per_block": tuple(layers_per_block)}
    if "conv" in first:
        config["cell"] = "convlstm"
        gate = lambda b, l: _parameter(state, f"layers.b{b}l{l}.conv.weight")  # noqa: E731
        extra = lambda b: 0  # noqa: E731  (input channels = conv input - hidden)
    else:
        config["cell"] = "convttlstm"
        order = len([p for p in first if p.startswith("layers_.")])
        if order < 1:
            raise ValueError("cell b0l0 has neither 'conv' (ConvLSTM) nor 'layers_.*' (Conv-TT-LSTM) parameters.")
        u0 = _parameter(state, "layers.b0l0.layers_.0.weight")
        if u0.ndim != 5:
            raise ValueError(f"'layers.b0l0.layers_.0.weight' must be a 5-D Conv3d weight, got shape {u0.shape}.")
        rank, window = u0.shape[0], u0.shape[-1]
        config.update(order=order, steps=order + window - 1, rank=rank)
        gate = lambda b, l: _parameter(state, f"layers.b{b}l{l}.layers.{order - 1}.weight")  # noqa: E731
        extra = lambda b: rank  # noqa: E731
    hidden = []
    inputs = []
    for b in range(num_blocks):
        w = gate(b, 0)
        hidden.append(w.shape[0] // 4)
        inputs.append(w.shape[1] - extra(b) - (hidden[b] if config["cell"] == "convlstm" else 0))
    config["hidden_channels"] = tuple(hidden)
    config["kernel_size"] = int(gate(0, 0).shape[-1])
    head = _parameter(state, "layers.output.weight")
    if head.ndim != 4 or head.shape[2:] != (1, 1):
        raise ValueError(f"the head 'layers.output.weight' must be a 1x1 Conv2d weight, got shape {head.shape}.")
    frame_channels = head.shape[0]
    if inputs[0] != frame_channels:
        raise ValueError(
            f"first cell reads {inputs[0]} channels but the head writes {frame_channels}: not one network."
        )
    # What each block hands on (to the next block, the last one to the head) under each skip_stride.
    stage_inputs = inputs[1:] + [head.shape[1]]
    fitting_blocks = []
    for stride in [None] + list(range(1, num_blocks)):
        expected = []
        for b in range(num_blocks):
            expected.append(hidden[b] + (hidden[b - stride] if stride is not None and b >= stride else 0))
        if expected == stage_inputs:
            config["skip_stride"] = stride
            return config, int(frame_channels)
        if expected[:-1] == stage_inputs[:-1]:
            fitting_blocks.append((stride, expected[-1]))
    if fitting_blocks:
        stride, last = fitting_blocks[0]
        raise ValueError(
            f"the head 'layers.output.weight' reads {head.shape[1]} channels but the last block gives {last} "
            f"(skip_stride {stride}): the head's shape {tuple(head.shape)} does not fit the cells."
        )
    raise ValueError(
        f"the block input channels {stage_inputs[:-1]} fit no skip_stride for hidden channels {hidden}."
    )


def _cell_parameters(cell_type, cell, name):
    """Pairs (official key, our variable, to_ours, to_official) of one cell."""
    pairs = []
    if cell_type == "convlstm":
        pairs.append((f"layers.{name}.conv.weight", cell.kernel, _to_keras_kernel, _to_torch_kernel))
        pairs.append((f"layers.{name}.conv.bias", cell.bias, None, None))
        return pairs
    order, window, rank = cell.order, cell.window, cell.rank
    for i in range(order - 1):
        pairs.append((f"layers.{name}.layers.{i}.weight", cell.core_kernels[i], _to_keras_kernel, _to_torch_kernel))
        pairs.append((f"layers.{name}.layers.{i}.bias", cell.core_biases[i], None, None))
    pairs.append((f"layers.{name}.layers.{order - 1}.weight", cell.gate_kernel, _to_keras_kernel, _to_torch_kernel))
    pairs.append((f"layers.{name}.layers.{order - 1}.bias", cell.gate_bias, None, None))
    return pairs


def _projection_to_keras(u_weights):
    # [r, Ch, kh, kw, L] per map -> [kh, kw, Ch, (l*L + j)*r + q]
    parts = [np.transpose(w, (2, 3, 1, 4, 0)).reshape(w.shape[2], w.shape[3], w.shape[1], -1) for w in u_weights]
    return np.concatenate(parts, axis=-1)


def _projection_to_torch(kernel, order, window, rank):
    kh, kw, ch, _ = kernel.shape
    k = kernel.reshape(kh, kw, ch, order, window, rank)
    return [np.transpose(k[:, :, :, l], (4, 2, 0, 1, 3)) for l in range(order)]


def _parameter_table(model):
    table = []
    for cell in model.cells:
        table.extend(_cell_parameters(model.cell_type, cell, cell.name))
    table.append(("layers.output.weight", model.head.kernel, _to_keras_kernel, _to_torch_kernel))
    table.append(("layers.output.bias", model.head.bias, None, None))
    return table


def nvlabs_state_dict(model, values=None):
    """The model's weights (or per-variable `values`, e.g. gradients) under the official names and layouts.

    Args:
        model: A `VideoPredictor`.
        values: Optional dict `{variable.path: array}`; default: the variables' values.

    Returns:
        `{official_name: np.ndarray}` in PyTorch layouts.
    """

    def value(v):
        return np.asarray(values[v.path] if values is not None else v.numpy())

    out = {}
    for key, variable, _, to_torch in _parameter_table(model):
        array = value(variable)
        out[key] = to_torch(array) if to_torch else array
    if model.cell_type == "convttlstm":
        for cell in model.cells:
            us = _projection_to_torch(value(cell.projection_kernel), cell.order, cell.window, cell.rank)
            biases = np.split(value(cell.projection_bias), cell.order)
            for l in range(cell.order):
                out[f"layers.{cell.name}.layers_.{l}.weight"] = us[l]
                out[f"layers.{cell.name}.layers_.{l}.bias"] = biases[l]
    return out


def from_nvlabs(source, frame_shape=None, output_sigmoid=False, **model_kwargs):
    """Builds a `VideoPredictor` with the weights of an official checkpoint.

    The architecture (`cell`, `layers_per_block`, `hidden_channels`,
    `skip_stride`, `kernel_size`, `order`, `steps`, `rank`) is inferred from
    the parameter names and shapes. Outputs match the official code to float32
    rounding.

    Args:
        source: State dict, `{"model_state_dict": ...}` wrapper, or a path to an
            `.npz` of arrays or a PyTorch `.pt` checkpoint.
        frame_shape: `(height, width, channels)`; the channels must match the
            checkpoint. Default: 64x64 with the checkpoint's channels.
        output_sigmoid: The official `output_sigmoid` flag (not stored in
            checkpoints: the KTH scripts train with it, the published numbers were
            evaluated without).
        **model_kwargs: Other `VideoPredictor` arguments (`context_frames`, `name`, ...).

    Returns:
        A built `VideoPredictor`.

    Raises:
        ValueError: missing, unexpected or mis-shaped parameters (all listed).

    Example:

    >>> model = from_nvlabs("convttlstm-mnist.pt", frame_shape=(64, 64, 1))
    """
    from ctt_keras.models import VideoPredictor  # here: the models import the zoo, which imports this module

    state = load_state_dict(source)
    config, channels = infer_config(state)
    if frame_shape is None:
        frame_shape = (64, 64, channels)
    if tuple(frame_shape)[-1] != channels:
        raise ValueError(f"frame_shape={tuple(frame_shape)} has {tuple(frame_shape)[-1]} channels; the checkpoint has {channels}.")
    model = VideoPredictor(frame_shape, output_sigmoid=output_sigmoid, **config, **model_kwargs)
    assign_nvlabs_weights(model, state)
    return model


def assign_nvlabs_weights(model, state):
    """Assigns official parameters to an existing `VideoPredictor`; lists every mismatch."""
    state = dict(state)
    problems = []
    assignments = []
    for key, variable, to_keras, _ in _parameter_table(model):
        if key not in state:
            problems.append(f"missing: {key}")
            continue
        array = state.pop(key)
        array = to_keras(array) if to_keras else array
        if tuple(array.shape) != tuple(variable.shape):
            problems.append(f"shape mismatch: {key} gives {tuple(array.shape)}, model needs {tuple(variable.shape)}")
            continue
        assignments.append((variable, array))
    if model.cell_type == "convttlstm":
        for cell in model.cells:
            keys = [f"layers.{cell.name}.layers_.{l}" for l in range(cell.order)]
            missing = [k + s for k in keys for s in (".weight", ".bias") if k + s not in state]
            if missing:
                problems.extend(f"missing: {k}" for k in missing)
                continue
            weights = [state.pop(k + ".weight") for k in keys]
            biases = [state.pop(k + ".bias") for k in keys]
            expected = (cell.rank, cell.filters, *cell.kernel_size, cell.window)
            bad = [k for k, w in zip(keys, weights) if tuple(w.shape) != expected]
            if bad:
                problems.extend(f"shape mismatch: {k}.weight, model needs {expected}" for k in bad)
                continue
            assignments.append((cell.projection_kernel, _projection_to_keras(weights)))
            assignments.append((cell.projection_bias, np.concatenate(biases)))
    problems.extend(f"unexpected: {k}" for k in sorted(state))
    if problems:
        raise ValueError("the checkpoint does not fit the model:\n  " + "\n  ".join(problems))
    for variable, array in assignments:
        variable.assign(array.astype(variable.dtype))
    return model
