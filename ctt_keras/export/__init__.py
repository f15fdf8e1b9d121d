"""Exporting a `VideoPredictor` for serving (TensorFlow only): SavedModel, ONNX, LiteRT.

Every format carries the same three signatures: `serving_default` (a fixed
`context -> future` rollout), `step` (one recurrent step with explicit states,
for streaming) and `initial_state` (see `docs/serving.md`).

- `export_saved_model`: TensorFlow Serving's layout, `export_dir/name/version/`.
- `write_saved_model`: a SavedModel in one folder (what `model.export(path)` writes).
- `export_onnx`: one signature per `.onnx` file (needs `tf2onnx`).
- `export_litert`: one `.tflite` file with the three signatures.
- `export_model`: the `model.export(path, format=...)` dispatcher.
"""

from ctt_keras.export._litert import export_litert
from ctt_keras.export._onnx import export_onnx
from ctt_keras.export._saved_model import export_saved_model, write_saved_model
from ctt_keras.export._signatures import EXPORT_INFO_FILE, SIGNATURES, export_info, state_names

FORMATS = ("tf_saved_model", "onnx", "litert")


def export_model(
    model,
    filepath,
    format="tf_saved_model",
    context_frames=None,
    future_frames=None,
    overwrite=False,
    **options,
):
    """Writes `model` in `format` with its serving signatures; `VideoPredictor.export` calls this.

    `context_frames` defaults to the model's, `future_frames` to as many frames
    as the context. `options`: for `"onnx"`, `signature` and `opset`; for
    `"litert"`, converter attributes.
    """
    if format not in FORMATS:
        raise ValueError(f"`format` must be one of {FORMATS}, got format={format!r}.")
    context_frames = model.context_frames if context_frames is None else context_frames
    future_frames = context_frames if future_frames is None else future_frames
    if format == "tf_saved_model":
        if options:
            raise ValueError(f"unknown tf_saved_model export options {sorted(options)}.")
        return write_saved_model(model, filepath, context_frames, future_frames, overwrite=overwrite)
    if format == "onnx":
        return export_onnx(model, filepath, context_frames, future_frames, overwrite=overwrite, **options)
    return export_litert(model, filepath, context_frames, future_frames, overwrite=overwrite, **options)


__all__ = [
    "EXPORT_INFO_FILE",
    "FORMATS",
    "SIGNATURES",
    "export_info",
    "export_litert",
    "export_model",
    "export_onnx",
    "export_saved_model",
    "state_names",
    "write_saved_model",
]
