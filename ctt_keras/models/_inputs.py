"""What users pass the networks, checked once at the boundary (private to `ctt_keras.models`).

Architecture arguments (`check_frame_shape`, integer sequences) and frames: NumPy arrays and eager tensors are
scanned once for NaN/inf and values outside [0, 1] (uint8 pixels are divided by 255); traced tensors pass
unchanged, so compiled training and exported models carry no per-step checks. `clip_target` lets `fit` and
`evaluate` take a whole clip as the target.
"""

import numbers
import os

import keras
import numpy as np
from keras import ops

from ctt_keras.layers import _common


def check_frame_shape(frame_shape):
    """`frame_shape` as a tuple of three positive ints, else a ValueError naming it."""
    try:
        shape = tuple(_common.check_int("frame_shape", d) for d in frame_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"`frame_shape` must be three positive integers (height, width, channels), "
            f"got {frame_shape!r}."
        ) from None
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"`frame_shape` must be three positive ints (height, width, channels), got {frame_shape!r}.")
    return shape


def _int_tuple(name, values):
    try:
        return tuple(_common.check_int(name, v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a sequence of positive integers, got {name}={values!r}.") \
            from None


def _plain_int(name, value):
    # NumPy integers become ints (configs are JSON); the cells validate these (ConvLSTM ignores them).
    return _common.check_int(name, value) if isinstance(value, numbers.Number) else value


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _concrete(x):
    """`x` as a NumPy array when its values are at hand (NumPy, lists, eager tensors), else None (traced)."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)):
        return np.asarray(x)
    if not ops.is_tensor(x):
        return None
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return x.numpy() if tf.executing_eagerly() and hasattr(x, "numpy") else None
    if backend == "jax":
        import jax

        return None if isinstance(x, jax.core.Tracer) else np.asarray(x)
    if backend == "torch":
        return x.detach().cpu().numpy()
    return None


def _checked_frames(frames, name):
    """Frames a user passed: uint8 pixels divided by 255; NaN/inf or values outside [0, 1] refused.

    Symbolic and traced tensors, datasets and generators pass unchanged (nothing is checked per step
    inside compiled functions); NumPy arrays and eager tensors are scanned once, in bounded chunks.
    """
    values = _concrete(frames)
    if values is None:
        return frames
    if values.dtype == np.uint8:
        return values.astype("float32") / np.float32(255.0)
    if values.dtype.kind not in "f":
        raise ValueError(
            f"`{name}` has dtype {values.dtype} (shape {values.shape}); frames are floats in [0, 1] or uint8 "
            "pixels 0..255 (divided by 255)."
        )
    low, high, nonfinite, outside = np.inf, -np.inf, 0, 0
    flat = values.reshape(-1)
    for begin in range(0, flat.size, 1 << 22):
        chunk = flat[begin : begin + (1 << 22)]
        finite = np.isfinite(chunk)
        count = int(np.count_nonzero(finite))
        nonfinite += chunk.size - count
        if count < chunk.size:
            chunk = chunk[finite]
        if chunk.size:
            low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
            outside += int(np.count_nonzero((chunk < 0) | (chunk > 1)))
    if nonfinite:
        raise ValueError(
            f"`{name}` holds {nonfinite} NaN or infinite values out of {values.size} (shape {values.shape}); "
            "frames must be finite, in [0, 1]."
        )
    if outside:
        hint = " (0..255 pixels? divide by 255, or pass uint8)" if high > 1.5 else " (np.clip(x, 0, 1)?)"
        raise ValueError(
            f"`{name}` has {outside} of {values.size} values outside [0, 1] (range found "
            f"[{low:g}, {high:g}], shape {values.shape}); frames must be in [0, 1]{hint}."
        )
    return frames


def _checked_target(y, name):
    """A frame target (5-D) is checked like frames; labels and other targets pass unchanged."""
    values = _concrete(y)
    if values is None or values.ndim != 5:
        return y
    return _checked_frames(y, name)


def _clip_target(x, y, y_pred):
    """`y` given as a whole clip (as many frames as `x`): the frames the model predicts, its last ones.

    Works on NumPy arrays (checked eagerly by `fit`/`evaluate`) and on traced tensors (static shapes
    only: no op is added but a slice). A time axis left unknown by retracing is sliced the same way,
    which leaves a `y` of just the predicted frames unchanged.
    """
    if y is None or isinstance(y, dict) or isinstance(y_pred, dict) or len(getattr(y, "shape", ())) != 5:
        return y
    y_frames, x_frames, predicted = y.shape[1], x.shape[1], y_pred.shape[1]
    if predicted is None or y_frames == predicted:
        return y
    if y_frames is None or y_frames == x_frames:
        return y[:, -predicted:]
    raise ValueError(
        f"`y` has {y_frames} frames (shape {tuple(y.shape)}) but the model predicts {predicted} frames of "
        f"the {x_frames}-frame clips in `x`. Pass no `y` (the targets are the clips' own frames), the clips "
        f"themselves, or the {predicted} frames that follow (training: frames 1..T-1; evaluation: the frames "
        "after context_frames)."
    )
