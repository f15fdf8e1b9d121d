"""The preset folder format (as keras-hub's `preset_utils`): file names, save, read, verify, build.

A preset is a folder holding `config.json` (the model, written by
`keras.saving.serialize_keras_object`), `metadata.json` (dataset, frame shape,
context/future lengths, licence, provenance, metrics, training command, the
weights' file name and sha256), a `README.md` model card and, when the weights
were honestly obtained, `model.weights.h5`. The file names are keras-hub's, so
its upload tools accept our folders.
"""

import contextlib
import copy
import json
import os
import pathlib
import shutil

import keras

from ctt_keras import atomic

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
MODEL_CARD_FILE = "README.md"
#: Where `save_preset` writes a preset's files before its commit (removed by the next save).
STAGING_FOLDER = ".preset.partial"
#: A complete new preset being moved into place; `recover_preset` finishes the move.
COMMIT_FOLDER = ".preset.commit"
# The order of the moves: weights first, metadata.json (with the weights' sha256) last.
_COMMIT_ORDER = (WEIGHTS_FILE, MODEL_CARD_FILE, CONFIG_FILE, METADATA_FILE)

# Metadata fields that name a file: plain names, read from the preset folder or the weights cache only.
_FILE_FIELDS = (("weights_file",), ("official_checkpoint", "file"))


sha256_of = atomic.sha256_of  # part of the zoo API (`zoo.sha256_of`)


def model_classes():
    """The classes a preset may hold: `VideoPredictor`, `EarlyActivityRecognizer` (and their subclasses)."""
    from ctt_keras.models import EarlyActivityRecognizer, VideoPredictor

    return (VideoPredictor, EarlyActivityRecognizer)


def save_preset(model, directory, metadata=None, overwrite=False, model_card=None):
    """Writes `model` as a preset folder; an interruption leaves the old preset (or none) or the new one.

    The files are written into `directory/.preset.partial/`, flushed to disk, and that
    folder is renamed to `directory/.preset.commit/` (the commit: from here on the new
    preset counts), whose files are then renamed into place. A crash or a full disk before
    the commit leaves the folder as it was (the next save removes `.preset.partial/`); one
    after it is finished by `recover_preset`, which every reader of a preset folder calls
    first. Other files in `directory` are left alone.

    Args:
        model: A built `VideoPredictor` or `EarlyActivityRecognizer`.
        directory: Folder to write; created if needed.
        metadata: Dict merged into `metadata.json` (dataset, frame_shape,
            context/future frames, licence, provenance, metrics with their
            convention and split, training command). `weights_sha256` and
            `weights_file` are filled in here.
        overwrite: Replace an existing preset in `directory`; otherwise a
            folder that already holds preset files is refused.
        model_card: Text of `README.md`; default: the card that
            `ctt_keras.zoo.model_card` writes from the metadata and config.

    Returns:
        The metadata dict written.
    """
    from ctt_keras.zoo import cards

    if not isinstance(model, model_classes()):
        raise TypeError(
            "save_preset writes VideoPredictor or EarlyActivityRecognizer models, "
            f"got {type(model).__name__}."
        )
    directory = pathlib.Path(directory)
    recover_preset(directory)
    existing = [f for f in (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE) if (directory / f).exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{directory} already holds a preset ({', '.join(existing)}); pass overwrite=True to replace it."
        )
    config = keras.saving.serialize_keras_object(model)
    metadata = dict(metadata or {})
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / STAGING_FOLDER
    if os.path.lexists(staging):  # left by an interrupted save: never committed
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        model.save_weights(staging / WEIGHTS_FILE)
        atomic.sync_file(staging / WEIGHTS_FILE)
        metadata.update(weights_file=WEIGHTS_FILE, weights_sha256=sha256_of(staging / WEIGHTS_FILE))
        card = model_card if model_card is not None else cards.model_card(metadata, config)
        atomic.write_atomic(staging / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True) + "\n")
        atomic.write_atomic(staging / MODEL_CARD_FILE, card)
        atomic.write_atomic(staging / METADATA_FILE, json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        os.replace(staging, directory / COMMIT_FOLDER)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    atomic.sync_folder(directory)
    recover_preset(directory)
    return metadata


def recover_preset(directory):
    """Finishes a `save_preset` that a crash interrupted after its commit; returns True if there was one.

    `directory/.preset.commit/` holds a complete preset: its files are renamed into
    `directory` (weights first, `metadata.json` last) and the folder is removed. The
    readers of a preset folder call this first, so they never see half of a replaced preset.
    """
    directory = pathlib.Path(directory)
    committed = directory / COMMIT_FOLDER
    if not committed.is_dir():
        return False
    try:
        for name in sorted(os.listdir(committed), key=_commit_rank):
            with contextlib.suppress(FileNotFoundError):  # another process finishing the same commit
                os.replace(committed / name, directory / name)
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(committed)
    except OSError as error:
        raise OSError(
            error.errno,
            f"{directory} holds a preset save that was interrupted after its commit ({COMMIT_FOLDER}/) "
            f"and could not be finished ({error.strerror or error}); make the folder writable and load "
            "it again",
        ) from error
    atomic.sync_folder(directory)
    return True


def is_preset_folder(directory):
    """Whether `directory` holds a preset (its `config.json`), after finishing an interrupted save."""
    directory = pathlib.Path(directory)
    if directory.is_dir():
        recover_preset(directory)
    return (directory / CONFIG_FILE).is_file()


def _commit_rank(name):
    return (_COMMIT_ORDER.index(name) if name in _COMMIT_ORDER else -1, name)


def read_metadata(directory):
    """The preset's `metadata.json` as a dict (empty if absent), its file-name fields checked.

    Raises:
        ValueError: invalid JSON, not an object, or a file-name field that is not a
            plain file name (an absolute path or one with folders would let a preset
            reach, and on a failed conversion move, any file of the user).
    """
    recover_preset(directory)
    path = pathlib.Path(directory) / METADATA_FILE
    if not path.is_file():
        return {}
    with open(path) as f:
        try:
            metadata = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(metadata).__name__}.")
    for field in _FILE_FIELDS:
        value = metadata
        for key in field:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            check_file_name(value, f"{path}: {'.'.join(field)}")
    return metadata


def check_file_name(value, what):
    """Refuses anything but a plain file name (no folders, not absolute, not '.' or '..')."""
    if (not isinstance(value, str) or not value or value in (".", "..") or "/" in value or "\\" in value
            or os.path.isabs(value) or os.path.basename(value) != value or "\0" in value):
        raise ValueError(
            f"{what} must be a plain file name (no folders, not an absolute path), got {value!r}: "
            "a preset may only name files inside its own folder or the weights cache."
        )
    return value


def read_config(directory, frame_shape=None, expected_class=None):
    """The preset's `config.json`, checked to name one of our model classes; optionally another frame_shape.

    Args:
        directory: The preset folder.
        frame_shape: Optional `(height, width, channels)` to run at; the channels must
            stay the preset's.
        expected_class: Optional class the config must name (or a subclass of).

    Returns:
        `(config, cls)`: the config dict and the model class it names.
    """
    recover_preset(directory)
    path = pathlib.Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: a preset folder needs {CONFIG_FILE}.")
    with open(path) as f:
        try:
            config = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
    cls = _model_class_of(config, path)
    if expected_class is not None and not issubclass(cls, expected_class):
        raise ValueError(
            f"{path} holds a {cls.__name__}, not a {expected_class.__name__}: use "
            f"{cls.__name__}.from_preset or ctt_keras.zoo.load."
        )
    if frame_shape is not None:
        config = copy.deepcopy(config)
        preset_shape = tuple(config.get("config", {}).get("frame_shape", ()))
        try:
            frame_shape = tuple(int(d) for d in frame_shape)
        except (TypeError, ValueError):
            raise ValueError(f"frame_shape must be (height, width, channels), got {frame_shape!r}.") from None
        if len(frame_shape) != 3 or not preset_shape or frame_shape[-1] != preset_shape[-1]:
            raise ValueError(
                f"frame_shape={frame_shape} does not fit the preset in {directory}: its weights read "
                f"frames of shape {preset_shape}; height and width may change, the channels "
                f"({preset_shape[-1] if preset_shape else '?'}) may not."
            )
        config["config"]["frame_shape"] = list(frame_shape)
    return config, cls


def _model_class_of(config, path):
    """The class `config` names, if it is one of our models; refused before anything is built."""
    import ctt_keras  # noqa: F401  (registers the serialisable classes)

    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError(f"{path} is not a serialised Keras model (no 'class_name' and 'config').")
    name = config.get("registered_name") or config.get("class_name")
    cls = keras.saving.get_registered_object(name) if isinstance(name, str) else None
    allowed = model_classes()
    if not (isinstance(cls, type) and issubclass(cls, allowed)):
        described = ".".join(str(part) for part in (config.get("module"), config.get("class_name")) if part)
        raise ValueError(
            f"{path} names {described or repr(name)}, which is not a ctt_keras model: a preset holds a "
            f"{' or '.join(c.__name__ for c in allowed)} (or a registered subclass)."
        )
    return cls


def build_model(directory, frame_shape=None, expected_class=None):
    """The preset's model, randomly initialised (see `read_config` for the arguments)."""
    config, _ = read_config(directory, frame_shape, expected_class)
    return keras.saving.deserialize_keras_object(config)


def verify_weights(directory, metadata, weights_path):
    """Checks a preset's bundled weights against the sha256 that `metadata.json` records."""
    expected = metadata.get("weights_sha256")
    if expected and sha256_of(weights_path) != expected:
        raise ValueError(
            f"{weights_path} does not match the weights_sha256 in {pathlib.Path(directory) / METADATA_FILE}: "
            "the file is corrupt or was replaced. Restore it, or pass weights=False."
        )


def load_preset_dir(directory, weights=True):
    """Builds the model of a preset folder, with its weights unless `weights=False`.

    The bundled weights file is checked against `metadata.json`'s `weights_sha256`
    before loading; `weights` may also be the path of another `.weights.h5` file.
    """
    from ctt_keras.zoo import sources

    directory = pathlib.Path(directory)
    metadata = read_metadata(directory)
    model = build_model(directory)
    if weights:
        if isinstance(weights, (str, os.PathLike)):
            weights_path = pathlib.Path(weights)
        else:
            weights_path = directory / metadata.get("weights_file", WEIGHTS_FILE)
        if not weights_path.is_file():
            raise FileNotFoundError(
                f"weights file {weights_path} not found; put the preset's weights there or pass "
                "weights=False."
            )
        if weights_path == directory / metadata.get("weights_file", WEIGHTS_FILE):
            verify_weights(directory, metadata, weights_path)
        sources.load_h5(model, weights_path)
    return model
