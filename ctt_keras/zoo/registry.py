"""The preset registry: `list`, `info`, `register`, `unregister`, `load`.

A preset is found by name (built-in, or added with `register`), by folder path, or
by hub handle (`hf://...`, `kaggle://...`). Built-in presets are package data of
`ctt_keras` (`ctt_keras/presets/` in an installed wheel; the `zoo/` folder of a
source checkout).
"""

import os
import pathlib
import re

from ctt_keras.zoo import hub, sources
from ctt_keras.zoo.preset_format import CONFIG_FILE, build_model, is_preset_folder, read_metadata


def _find_builtin_dir():
    package = pathlib.Path(__file__).resolve().parents[1]
    installed = package / "presets"
    return installed if installed.is_dir() else package.parent / "zoo"


#: Folder of the built-in presets.
BUILTIN_DIR = _find_builtin_dir()

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

# User presets: name -> folder. Built-in presets are found by scanning BUILTIN_DIR.
_registered = {}


def list():  # noqa: A001  (the registry's public verb)
    """Names of all presets, built-in and registered, sorted."""
    return sorted(set(_builtin_presets()) | set(_registered))


def info(preset):
    """What is known about a preset, without building it.

    Args:
        preset: A preset name (see `list()`), a preset folder or a hub handle.

    Returns:
        The preset's metadata dict plus `name`, `directory` and `weights_status`
        (where `load` would find its weights, or why it cannot).
    """
    key, directory = resolve(preset)
    metadata = read_metadata(directory)
    result = dict(metadata)
    result.update(name=metadata.get("name", key), directory=str(directory),
                  weights_status=sources.weights_status(key, directory, metadata))
    return result


def register(name, directory, overwrite=False):
    """Adds a preset folder (e.g. one written by `save_preset` or the training command) under `name`.

    The folder is used in place, not copied; the registration lasts for this
    Python process.

    Args:
        name: Letters, digits, `_`, `.`, `-`.
        directory: Folder with at least `config.json`.
        overwrite: Replace a registered preset of the same name. Built-in names
            cannot be replaced; choose another name.

    Returns:
        The preset folder as a `pathlib.Path`.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"preset name must be letters, digits, '_', '.' or '-', got {name!r}.")
    directory = pathlib.Path(directory).resolve()
    if not is_preset_folder(directory):
        raise FileNotFoundError(f"{directory} is not a preset folder: {CONFIG_FILE} not found there.")
    read_metadata(directory)  # fail now on an unreadable metadata.json
    if name in _builtin_presets():
        raise ValueError(f"{name!r} is a built-in preset; register yours under another name.")
    if name in _registered and not overwrite and _registered[name] != directory:
        raise ValueError(
            f"preset {name!r} is already registered to {_registered[name]}; "
            "pass overwrite=True to replace it."
        )
    _registered[name] = directory
    return directory


def unregister(name):
    """Removes a preset added with `register` (its folder is left untouched)."""
    if name not in _registered:
        raise KeyError(f"{name!r} is not a registered preset; registered: {sorted(_registered) or 'none'}.")
    del _registered[name]


def load(preset, weights=True, compile=False, frame_shape=None, expected_class=None):
    """Builds a preset's model, with its weights.

    Args:
        preset: A preset name (see `list()`), the path of a preset folder, or a
            hub handle (`hf://owner/repo`, `kaggle://owner/model/keras/variation`).
        weights: `True`: the preset's weights, from its folder, the Keras cache or
            a download (see `ctt_keras.zoo.sources`); `False`: randomly initialised;
            a path: a `.weights.h5` file of this architecture, or an official PyTorch
            checkpoint (`.pt`/`.pth`, or an `.npz` of its arrays), converted (and, for
            presets built from an official checkpoint, cached so later loads reuse it).
        compile: Compile with the model's defaults (`VideoPredictor.compile()`:
            Adam, L1 + L2 loss; `EarlyActivityRecognizer.compile()`: Adam,
            10 * (L1 + L2) + cross-entropy, accuracy metrics).
        frame_shape: Run at another `(height, width, channels)`; a
            `VideoPredictor` is fully convolutional, so height and width may
            differ from the preset's (its metrics were measured at the preset's
            size), but the channels must match the weights. An
            `EarlyActivityRecognizer`'s dense classifier fixes the frame size its
            weights fit.
        expected_class: Refuse a preset that holds another class (used by `from_preset`).

    Returns:
        A built model (`VideoPredictor` or `EarlyActivityRecognizer`).

    Raises:
        FileNotFoundError: no weights available here (the message says which
            file to put where, or to pass `weights=False`); a failed download is a
            `DownloadError`, a subclass.
        ValueError: unknown preset (the message lists the available names); a
            `config.json` that names no ctt_keras model; weights that do not fit
            the preset (wrong architecture, frame channels, corrupt or truncated
            files; bad cache entries are removed).
    """
    key, directory = resolve(preset)
    metadata = read_metadata(directory)
    model = build_model(directory, frame_shape, expected_class)
    if weights is True:
        sources.load_preset_weights(key, directory, metadata, model)
    elif isinstance(weights, (str, os.PathLike)):
        sources.load_weights_from_path(key, metadata, model, pathlib.Path(weights))
    elif weights not in (False, None):
        raise TypeError(f"`weights` must be True, False or a path, got {weights!r}.")
    if compile:
        model.compile()
    return model


def resolve(preset):
    """`(key, folder)` of a preset name, folder path or hub handle; `key` names its cache entries."""
    if isinstance(preset, str) and preset in _registered:
        return preset, _registered[preset]
    builtin = _builtin_presets()
    if isinstance(preset, str) and preset in builtin:
        return preset, builtin[preset]
    if hub.is_handle(preset):
        folder = pathlib.Path(hub.resolve(preset))
        return _folder_key(folder), folder
    if isinstance(preset, os.PathLike) or (isinstance(preset, str) and _looks_like_path(preset)):
        folder = pathlib.Path(preset).expanduser()
        if not is_preset_folder(folder):
            raise FileNotFoundError(f"{folder} is not a preset folder: {CONFIG_FILE} not found there.")
        return _folder_key(folder.resolve()), folder.resolve()
    raise ValueError(f"unknown preset {preset!r}; available presets: {', '.join(list()) or 'none'}.")


def _looks_like_path(text):
    return "/" in text or os.sep in text or text.startswith(("~", ".")) or os.path.isdir(text)


def _folder_key(folder):
    """A cache key for a preset given by folder: its metadata name, else the folder's name."""
    name = read_metadata(folder).get("name")
    key = name if isinstance(name, str) and _NAME.match(name) else folder.name
    return key if _NAME.match(key) else "preset"


def _builtin_presets():
    if not BUILTIN_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(BUILTIN_DIR.iterdir()) if (p / CONFIG_FILE).is_file()}


