"""SavedModel export of a `VideoPredictor`: one folder, or TF Serving's layout (TensorFlow only)."""

import json
import os
import pathlib

from ctt_keras import atomic
from ctt_keras.export import _signatures


def write_saved_model(
    model, path, context_frames, future_frames, overwrite=False, model_name=None, version=None
):
    """Writes `model` as a SavedModel folder `path` with the three signatures and `assets.extra/` description.

    A non-empty `path` is refused unless `overwrite`. The SavedModel is written into
    `<path>.partial` and renamed to `path` only when complete (`ctt_keras.atomic.replaced_directory`):
    a crash or a full disk leaves the old folder (or none), never half of one where TF Serving
    or `tf.saved_model.load` would read it. Returns `path` as a `pathlib.Path`.
    """
    _signatures.check_backend()
    context_frames, future_frames = _signatures.check_lengths(context_frames, future_frames)
    target = pathlib.Path(path)
    atomic.recover_directory(target)  # an earlier export interrupted between its two renames
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not overwrite:
        raise FileExistsError(
            f"{target} is not empty (an existing SavedModel version?); pass overwrite=True to "
            f"replace it, or export another version."
        )
    archive = _signatures.build_archive(model, context_frames, future_frames)
    info = _signatures.export_info(model, context_frames, future_frames, model_name, version)
    with atomic.replaced_directory(target) as folder:
        archive.write_out(folder, verbose=False)
        extra = pathlib.Path(folder) / "assets.extra"
        extra.mkdir(exist_ok=True)
        atomic.write_atomic(extra / _signatures.EXPORT_INFO_FILE, json.dumps(info, indent=2) + "\n")
    return target


def export_saved_model(
    model, export_dir, context_frames, future_frames, model_name=None, version=1, overwrite=False
):
    """Writes `model` as a TensorFlow Serving SavedModel, `export_dir/model_name/version/`.

    Signatures `serving_default` (context -> future), `step` and
    `initial_state` (see `docs/serving.md`); their description, with every
    state's name, role and shape, is written to
    `assets.extra/ctt_keras_export.json` beside the model (TF Serving ignores
    that folder). The batch dimension is dynamic; the rollout length is fixed
    at export time.

    Args:
        model: A built `VideoPredictor` (with its weights).
        export_dir: The model base folder; the SavedModel goes to
            `export_dir/model_name/version/`.
        context_frames: Frames read by `serving_default` (fixed at export).
        future_frames: Frames it predicts (fixed at export).
        model_name: Folder name and TF Serving `MODEL_NAME`; default `model.name`.
        version: Positive integer version folder (TF Serving serves the highest).
        overwrite: Replace a non-empty version folder; otherwise it is refused. The new
            version is written beside it and swapped in when complete.

    Returns:
        The version folder written, a `pathlib.Path`.

    Example:

    >>> from ctt_keras import zoo
    >>> from ctt_keras.export import export_saved_model
    >>> model = zoo.load("mmnist_convttlstm", weights="convttlstm-mnist.pt")
    >>> export_saved_model(model, "serving", context_frames=10, future_frames=10)
    PosixPath('serving/mmnist_convttlstm/1')
    """
    _signatures.check_lengths(context_frames, future_frames)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"`version` must be a positive int (a TF Serving version folder), got {version!r}.")
    model_name = model_name or model.name
    if not model_name or os.sep in model_name or model_name in (".", ".."):
        raise ValueError(f"`model_name` must be a plain folder name, got model_name={model_name!r}.")
    target = pathlib.Path(export_dir) / model_name / str(version)
    return write_saved_model(
        model,
        target,
        context_frames,
        future_frames,
        overwrite=overwrite,
        model_name=model_name,
        version=version,
    )
