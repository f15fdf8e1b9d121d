"""SavedModel export of a `VideoPredictor` for TensorFlow Serving (TensorFlow only).

`export_saved_model` writes `<export_dir>/<model_name>/<version>/`, the layout
TensorFlow Serving watches, with three signatures:

- `serving_default`: `frames` `[batch, context_frames, H, W, C]` float32 ->
  `predictions` `[batch, future_frames, H, W, C]` float32 (the closed-loop
  rollout of `VideoPredictor.predict_frames`, unclamped);
- `step`: one recurrent step with explicit state, for frame-by-frame serving:
  `frame` `[batch, H, W, C]` plus `state_00 .. state_{K-1}` -> `prediction`
  (of the next frame) plus the new `state_00 .. state_{K-1}`;
- `initial_state`: `batch_size` (int32 scalar) -> the zero states
  `state_00 .. state_{K-1}`.

State order: the cells in order (block by block, `b0l0, b0l1, ...`), each
cell's state list in its documented order: `[h, c]` for `ConvLSTMCell`,
`[h, c, p_1, ..., p_M]` for `ConvTTLSTMCell` (the projections of the last `M`
hidden states, oldest first). The same description, with every shape, is
written to `assets.extra/ctt_keras_export.json` beside the model (TF Serving
ignores that folder).

Feeding the `context_frames` context frames, then each returned `prediction`,
through `step` from `initial_state` reproduces `serving_default` exactly.
The batch dimension is dynamic; the rollout length is fixed at export time.
"""

import json
import os
import pathlib
import shutil

import keras
import tensorflow as tf

from ctt_keras.layers import _common

#: Name of the JSON file describing the export, under `assets.extra/` of the version folder.
EXPORT_INFO_FILE = "ctt_keras_export.json"
SIGNATURES = ("serving_default", "step", "initial_state")


def state_names(model):
    """The names of the flattened recurrent states, `state_00 ...`, one per state tensor."""
    return [f"state_{i:02d}" for i in range(sum(len(states) for states in model.initial_states(1)))]


def export_saved_model(model, export_dir, context_frames, future_frames, model_name=None, version=1,
                       overwrite=False):
    """Writes `model` as a TensorFlow Serving SavedModel.

    Args:
        model: A built `VideoPredictor` (with its weights).
        export_dir: The model base folder; the SavedModel goes to
            `export_dir/model_name/version/`.
        context_frames: Frames read by `serving_default` (fixed at export).
        future_frames: Frames it predicts (fixed at export).
        model_name: Folder name and TF Serving `MODEL_NAME`; default `model.name`.
        version: Positive integer version folder (TF Serving serves the highest).
        overwrite: Replace a non-empty version folder; otherwise it is refused.

    Returns:
        The version folder written, a `pathlib.Path`.

    Example:

    >>> from ctt_keras import zoo
    >>> from ctt_keras.export import export_saved_model
    >>> model = zoo.load("mmnist_convttlstm", weights="convttlstm-mnist.pt")
    >>> export_saved_model(model, "serving", context_frames=10, future_frames=10)
    PosixPath('serving/mmnist_convttlstm/1')
    """
    context_frames = _common.check_positive_int("context_frames", context_frames)
    future_frames = _common.check_positive_int("future_frames", future_frames)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"`version` must be a positive int (a TF Serving version folder), got {version!r}.")
    model_name = model_name or model.name
    if not model_name or os.sep in model_name or model_name in (".", ".."):
        raise ValueError(f"`model_name` must be a plain folder name, got model_name={model_name!r}.")
    target = pathlib.Path(export_dir) / model_name / str(version)
    if target.exists() and any(target.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f"{target} is not empty (an existing SavedModel version?); pass overwrite=True to "
                f"replace it, or export another version."
            )
        shutil.rmtree(target)

    archive = _build_archive(model, context_frames, future_frames)
    target.parent.mkdir(parents=True, exist_ok=True)
    archive.write_out(os.fspath(target), verbose=False)
    extra = target / "assets.extra"
    extra.mkdir(exist_ok=True)
    info = export_info(model, context_frames, future_frames, model_name, version)
    (extra / EXPORT_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return target


def export_info(model, context_frames, future_frames, model_name, version):
    """The description written to `assets.extra/ctt_keras_export.json`: signatures, shapes, state layout."""
    height, width, channels = model.frame_shape
    names = iter(state_names(model))
    cells = []
    for (cell, kinds), states in zip(model.state_layout(), model.initial_states(1)):
        cells.append({
            "cell": cell.name,
            "type": type(cell).__name__,
            "states": [{"name": next(names), "role": kind, "shape": [None, *states[i].shape[1:]],
                        "dtype": str(states[i].dtype)} for i, kind in enumerate(kinds)],
        })
    return {
        "model_name": model_name,
        "version": version,
        "context_frames": context_frames,
        "future_frames": future_frames,
        "signatures": {
            "serving_default": {"inputs": {"frames": [None, context_frames, height, width, channels]},
                                "outputs": {"predictions": [None, future_frames, height, width, channels]}},
            "step": {"inputs": ["frame", "state_*"], "outputs": ["prediction", "state_*"]},
            "initial_state": {"inputs": {"batch_size": []}, "outputs": ["state_*"]},
        },
        "state_layout": cells,
        "model_config": json.loads(json.dumps(model.get_config())),
    }


def _build_archive(model, context_frames, future_frames):
    height, width, channels = model.frame_shape
    names = state_names(model)
    state_specs = [
        tf.TensorSpec((None, *state.shape[1:]), state.dtype, name=name)
        for name, state in zip(names, model.flatten_states(model.initial_states(1)))
    ]

    def flatten(nested):
        return dict(zip(names, model.flatten_states(nested)))

    def serving_default(frames):
        return {"predictions": model.predict_frames(frames, future_frames)}

    def step(frame, *states):
        prediction, new_states = model.step(frame, model.unflatten_states(states), training=False)
        return {"prediction": prediction, **flatten(new_states)}

    def initial_state(batch_size):
        return flatten(model.initial_states(batch_size))

    archive = keras.export.ExportArchive()
    # Track the sub-layers, not the model: tracking a subclassed Keras model makes TensorFlow trace its
    # default save signature over `[None, None, H, W, C]`, which a model needing a static time axis refuses.
    for layer in model.layers:
        archive.track(layer)
    frames_spec = tf.TensorSpec((None, context_frames, height, width, channels), tf.float32, name="frames")
    frame_spec = tf.TensorSpec((None, height, width, channels), tf.float32, name="frame")
    archive.add_endpoint("serving_default", serving_default, input_signature=[frames_spec])
    archive.add_endpoint("step", step, input_signature=[frame_spec] + state_specs)
    archive.add_endpoint(
        "initial_state", initial_state, input_signature=[tf.TensorSpec((), tf.int32, name="batch_size")]
    )
    return archive
