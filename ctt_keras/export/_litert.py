"""LiteRT (TensorFlow Lite) export of a `VideoPredictor` with its three signatures (TensorFlow only)."""

import pathlib
import tempfile

from ctt_keras import atomic, devices
from ctt_keras.export import _saved_model, _signatures

tf = devices.require_tensorflow("ctt_keras.export (SavedModel, ONNX and LiteRT export)")


def export_litert(model, path, context_frames, future_frames, overwrite=False, **converter_options):
    """Writes `model` as one LiteRT flatbuffer (`.tflite`) holding the three signatures.

    `serving_default`, `step` and `initial_state` are signature runners of the
    same file (`Interpreter.get_signature_runner(name)`), with the inputs and
    outputs of the SavedModel signatures. Built-in LiteRT ops only, float32.

    Args:
        model: A built `VideoPredictor`.
        path: The `.tflite` file to write (refused if it exists, unless `overwrite`);
            written beside it and renamed into place when complete.
        context_frames, future_frames: The fixed rollout of `serving_default`.
        overwrite: Replace an existing file.
        **converter_options: Attributes set on the `tf.lite.TFLiteConverter`
            (e.g. `optimizations=[tf.lite.Optimize.DEFAULT]`).

    Returns:
        `path` as a `pathlib.Path`.

    Example:

    >>> export_litert(model, "predictor.tflite", 10, 10)
    """
    _signatures.check_backend()
    context_frames, future_frames = _signatures.check_lengths(context_frames, future_frames)
    target = pathlib.Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it.")
    flatbuffer = _convert(model, context_frames, future_frames, converter_options)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_atomic(target, flatbuffer)
    return target


def _convert(model, context_frames, future_frames, converter_options):
    """The LiteRT flatbuffer (bytes), converted from a SavedModel in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="ctt_keras_litert_") as tmp:
        saved = _saved_model.write_saved_model(
            model, pathlib.Path(tmp) / "saved_model", context_frames, future_frames
        )
        converter = tf.lite.TFLiteConverter.from_saved_model(
            str(saved), signature_keys=list(_signatures.SIGNATURES)
        )
        for name, value in converter_options.items():
            if not hasattr(converter, name):
                raise ValueError(f"unknown LiteRT converter option {name!r}.")
            setattr(converter, name, value)
        return converter.convert()
