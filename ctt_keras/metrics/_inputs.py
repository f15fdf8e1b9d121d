"""Boundary checks shared by the metric functions: matching shapes and dtypes, frames or sequences."""

import keras
from keras import ops


def _describe(x):
    return f"shape {tuple(x.shape)} and dtype {keras.backend.standardize_dtype(x.dtype)}"


def check_pair(a, b, names=("a", "b")):
    """Validates two image batches and flattens sequences to frames.

    Args:
        a: images `[B, H, W, C]` or sequences `[B, T, H, W, C]`.
        b: same shape and dtype as `a`.
        names: how the two arguments are called in error messages.

    Returns:
        `(a, b, lead_shape)`: both as float tensors `[N, H, W, C]` and the leading
        shape (`(B,)` or `(B, T)`, entries may be `-1` when unknown) to fold the
        per-frame values back into.

    Raises:
        ValueError: ranks other than 4 or 5, different shapes or different dtypes.
    """
    a = a if hasattr(a, "dtype") and hasattr(a, "shape") else ops.convert_to_tensor(a)
    b = b if hasattr(b, "dtype") and hasattr(b, "shape") else ops.convert_to_tensor(b)
    a_dtype = keras.backend.standardize_dtype(a.dtype)
    b_dtype = keras.backend.standardize_dtype(b.dtype)
    if len(a.shape) not in (4, 5):
        raise ValueError(
            f"`{names[0]}` must be frames [B, H, W, C] or sequences [B, T, H, W, C]; got {_describe(a)}"
        )
    if tuple(a.shape) != tuple(b.shape) and not _compatible(a.shape, b.shape):
        raise ValueError(f"`{names[0]}` and `{names[1]}` must have the same shape; got {_describe(a)} "
                         f"and {_describe(b)}")
    if a_dtype != b_dtype:
        raise ValueError(f"`{names[0]}` and `{names[1]}` must have the same dtype; got {_describe(a)} "
                         f"and {_describe(b)}")
    if "float" not in a_dtype:
        a = ops.cast(a, "float32")
        b = ops.cast(b, "float32")
    if len(a.shape) == 5:
        lead = (-1, a.shape[1] if a.shape[1] is not None else ops.shape(a)[1])
        frame_shape = tuple(a.shape[2:])
        if None in frame_shape:
            frame_shape = tuple(ops.shape(a)[2:])
        a = ops.reshape(a, (-1,) + frame_shape)
        b = ops.reshape(b, (-1,) + frame_shape)
    else:
        lead = (-1,)
    return a, b, lead


def _compatible(shape_a, shape_b):
    if len(shape_a) != len(shape_b):
        return False
    return all(x is None or y is None or x == y for x, y in zip(shape_a, shape_b))


def fold(values, lead):
    """Reshapes per-frame values `[N]` back to the leading shape `[B]` or `[B, T]`."""
    return ops.reshape(values, lead)


def check_positive(value, name):
    """Raises `ValueError` unless `value` is a positive finite number."""
    try:
        ok = float(value) > 0 and float(value) != float("inf")
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"`{name}` must be a positive number; got {value!r}")
    return float(value)
