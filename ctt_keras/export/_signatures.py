"""The serving signatures of a `VideoPredictor`, as TensorFlow functions (TensorFlow only).

Three signatures, the same in every format:

- `serving_default`: `frames` `[batch, context_frames, H, W, C]` float32 ->
  `predictions` `[batch, future_frames, H, W, C]` float32 (the closed-loop
  rollout of `VideoPredictor.predict_frames`, unclamped);
- `step`: one recurrent step with explicit state, for frame-by-frame serving:
  `frame` `[batch, H, W, C]` plus `state_00 .. state_{K-1}` -> `prediction`
  (of the next frame) plus the new `state_00 .. state_{K-1}`;
- `initial_state`: `batch_size` (int32 scalar) -> the zero states.

State order: the cells in order (block by block, `b0l0, b0l1, ...`), each
cell's states in the order of its `state_roles` (`[h, c]` for `ConvLSTMCell`,
`[h, c, p_1, ..., p_M]` for `ConvTTLSTMCell`). Nothing here knows a cell type:
the layout comes from the model's `state_layout()`.
"""

import json

import keras
from ctt_keras import devices

from ctt_keras.layers import _common

tf = devices.require_tensorflow("ctt_keras.export (SavedModel, ONNX and LiteRT export)")

#: Name of the JSON file describing an export (SavedModel: under `assets.extra/`).
EXPORT_INFO_FILE = "ctt_keras_export.json"
SIGNATURES = ("serving_default", "step", "initial_state")


def check_lengths(context_frames, future_frames):
    return (
        _common.check_positive_int("context_frames", context_frames),
        _common.check_positive_int("future_frames", future_frames),
    )


def check_backend():
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"exporting a model for serving traces it with TensorFlow, but the Keras backend is "
            f"{keras.backend.backend()!r}: run the export with KERAS_BACKEND=tensorflow (weights saved with "
            f"model.save_weights load on any backend)."
        )


def state_names(model):
    """The names of the flattened recurrent states, `state_00 ...`, one per state tensor."""
    return [f"state_{i:02d}" for i in range(sum(len(roles) for _, roles in model.state_layout()))]


def _state_specs(model):
    return [
        tf.TensorSpec((None, *state.shape[1:]), state.dtype, name=name)
        for name, state in zip(state_names(model), model.flatten_states(model.initial_states(1)))
    ]


def input_signatures(model, context_frames):
    """`{signature: [tf.TensorSpec, ...]}` of the three signatures."""
    height, width, channels = model.frame_shape
    return {
        "serving_default": [
            tf.TensorSpec((None, context_frames, height, width, channels), tf.float32, name="frames")
        ],
        "step": [tf.TensorSpec((None, height, width, channels), tf.float32, name="frame")]
        + _state_specs(model),
        "initial_state": [tf.TensorSpec((), tf.int32, name="batch_size")],
    }


def functions(model, context_frames, future_frames):
    """`{signature: python function}` of the three signatures (trace them with `input_signatures`)."""
    names = state_names(model)

    def flatten(nested):
        return dict(zip(names, model.flatten_states(nested)))

    def serving_default(frames):
        return {"predictions": model.predict_frames(frames, future_frames)}

    def step(frame, *states):
        prediction, new_states = model.step(frame, model.unflatten_states(states), training=False)
        return {"prediction": prediction, **flatten(new_states)}

    def initial_state(batch_size):
        return flatten(model.initial_states(batch_size))

    return {"serving_default": serving_default, "step": step, "initial_state": initial_state}


def tf_function(model, signature, context_frames, future_frames):
    """One signature as a `tf.function` with its input signature."""
    return tf.function(
        functions(model, context_frames, future_frames)[signature],
        input_signature=input_signatures(model, context_frames)[signature],
    )


def build_archive(model, context_frames, future_frames):
    """A `keras.export.ExportArchive` with the three signatures."""
    archive = keras.export.ExportArchive()
    # Track the sub-layers, not the model: tracking the model would also trace its own default save
    # signature, a second copy of the unrolled rollout.
    for layer in model.layers:
        archive.track(layer)
    specs = input_signatures(model, context_frames)
    for name, fn in functions(model, context_frames, future_frames).items():
        archive.add_endpoint(name, fn, input_signature=specs[name])
    return archive


def export_info(model, context_frames, future_frames, model_name=None, version=None, format="tf_saved_model"):
    """The description of an export: format, signatures, shapes, state layout, model config."""
    height, width, channels = model.frame_shape
    names = iter(state_names(model))
    cells = []
    for (cell, roles), states in zip(model.state_layout(), model.initial_states(1)):
        cells.append(
            {
                "cell": cell.name,
                "type": type(cell).__name__,
                "states": [
                    {
                        "name": next(names),
                        "role": role,
                        "shape": [None, *states[i].shape[1:]],
                        "dtype": str(states[i].dtype),
                    }
                    for i, role in enumerate(roles)
                ],
            }
        )
    return {
        "format": format,
        "model_name": model_name,
        "version": version,
        "context_frames": context_frames,
        "future_frames": future_frames,
        "signatures": {
            "serving_default": {
                "inputs": {"frames": [None, context_frames, height, width, channels]},
                "outputs": {"predictions": [None, future_frames, height, width, channels]},
            },
            "step": {"inputs": ["frame", "state_*"], "outputs": ["prediction", "state_*"]},
            "initial_state": {"inputs": {"batch_size": []}, "outputs": ["state_*"]},
        },
        "state_layout": cells,
        "model_config": json.loads(json.dumps(model.get_config())),
    }
