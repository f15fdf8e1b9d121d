"""ONNX export of a `VideoPredictor`'s signatures through tf2onnx (TensorFlow only; needs `tf2onnx`)."""

import io
import json
import pathlib

from ctt_keras import atomic, devices
from ctt_keras.export import _signatures

tf = devices.require_tensorflow("ctt_keras.export (SavedModel, ONNX and LiteRT export)")

#: Key of the export description (JSON) in the ONNX model's metadata.
METADATA_KEY = "ctt_keras_export"
DEFAULT_OPSET = 17


def export_onnx(
    model,
    path,
    context_frames,
    future_frames,
    signature="serving_default",
    opset=DEFAULT_OPSET,
    overwrite=False,
):
    """Writes one signature of `model` as an ONNX model file.

    An ONNX graph has one entry point, so each signature is its own file:
    `serving_default` (`frames` -> `predictions`, the default), `step`
    (`frame`, `state_00..` -> `prediction`, `next_state_00..`: ONNX value
    names are unique, so the new states are named `next_state_XX`) or
    `initial_state` (`batch_size` -> `state_00..`).
    The export description (signatures, every state's name, role and shape) is
    stored in the model's metadata under `"ctt_keras_export"`.

    Args:
        model: A built `VideoPredictor`.
        path: The `.onnx` file to write (refused if it exists, unless `overwrite`);
            written beside it and renamed into place when complete.
        context_frames, future_frames: The fixed rollout of `serving_default`.
        signature: Which signature to write.
        opset: ONNX opset version.
        overwrite: Replace an existing file.

    Returns:
        `path` as a `pathlib.Path`.

    Example:

    >>> export_onnx(model, "predictor.onnx", 10, 10)
    >>> export_onnx(model, "predictor_step.onnx", 10, 10, signature="step")
    """
    _signatures.check_backend()
    context_frames, future_frames = _signatures.check_lengths(context_frames, future_frames)
    if signature not in _signatures.SIGNATURES:
        raise ValueError(f"`signature` must be one of {_signatures.SIGNATURES}, got signature={signature!r}.")
    target = pathlib.Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it.")
    proto = _convert(model, context_frames, future_frames, signature, opset)
    import onnx

    serialized = io.BytesIO()
    onnx.save(proto, serialized)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_atomic(target, serialized.getvalue())
    return target


def _convert(model, context_frames, future_frames, signature, opset):
    """The ONNX `ModelProto` of one signature, with the export description in its metadata."""
    try:
        import onnx  # noqa: F401
        import tf2onnx
    except ImportError as error:
        raise ImportError(
            f"ONNX export needs the packages `tf2onnx` and `onnx` (pip install tf2onnx onnx): {error}"
        ) from error
    specs = _signatures.input_signatures(model, context_frames)[signature]
    fn = _signatures.functions(model, context_frames, future_frames)[signature]
    if signature == "step":
        fn = _renamed_outputs(fn)
    proto, _ = tf2onnx.convert.from_function(
        tf.function(fn, input_signature=specs), input_signature=specs, opset=opset
    )
    info = _signatures.export_info(model, context_frames, future_frames, format="onnx")
    info["signature"] = signature
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(info)
    return proto


def _renamed_outputs(fn):
    """`fn` with its state outputs renamed `next_state_XX` (ONNX value names must be unique)."""

    def with_next_state_names(*args):
        return {(f"next_{k}" if k.startswith("state_") else k): v for k, v in fn(*args).items()}

    return with_next_state_names
