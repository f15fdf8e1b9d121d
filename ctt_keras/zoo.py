"""The model zoo: named presets of `VideoPredictor` and `EarlyActivityRecognizer` that load in one line.

A preset is a folder holding `config.json` (the model, written by
`keras.saving.serialize_keras_object`), `metadata.json` (dataset, frame shape,
default context/future lengths, licence, provenance, metrics with their
convention and split, training command, the weights' file name and sha256), a
`README.md` model card and, when the weights were honestly obtained,
`model.weights.h5`. Built-in presets live in the top-level `zoo/` folder of the
source tree (installed beside `ctt_keras` by the wheel); `register` adds your own.

Where a preset's weights come from, in order:

1. `model.weights.h5` inside the preset folder (checked against the sha256 in
   `metadata.json`);
2. `metadata["weights_url"]`: fetched once with `keras.utils.get_file` into the
   Keras cache (`$KERAS_HOME/models`, default `~/.keras/models`) and checked
   against `metadata["weights_sha256"]`; a file with another hash is removed;
3. `metadata["official_checkpoint"]` (the NVlabs PyTorch `.pt` files, which
   cannot be fetched automatically): a conversion cached as
   `<cache>/<preset>.weights.h5`, else the `.pt` file placed in the cache
   folder, converted once with `ctt_keras.checkpoints` (no torch needed).

Otherwise `load` raises `FileNotFoundError` naming the file to put where, or
telling you to pass `weights=False` (random initialisation).

Example:

>>> from ctt_keras import zoo
>>> zoo.list()
['kth_convlstm', 'kth_convttlstm', 'mmnist_convlstm', ...]
>>> model = zoo.load("mmnist_convttlstm", weights="convttlstm-mnist.pt")  # converts and caches
>>> model = zoo.load("mmnist_convttlstm")                                 # reuses the cached conversion
>>> future = model.predict_frames(context, future_frames=10)               # context [B, 10, 64, 64, 1]
"""

import builtins
import datetime
import hashlib
import json
import os
import pathlib
import re
import shutil
import tempfile
import warnings

import keras

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
MODEL_CARD_FILE = "README.md"

#: Folder of the built-in presets: `zoo/` beside the `ctt_keras` package, in a
#: source checkout and in an installed wheel alike.
BUILTIN_DIR = pathlib.Path(__file__).resolve().parent.parent / "zoo"

NVIDIA_LICENSE = "NVIDIA Source Code License-NC (non-commercial)"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CONVERSION_SUFFIX = ".conversion.json"
_OFFICIAL_SUFFIXES = (".pt", ".pth", ".npz")
_ARCHITECTURE_KEYS = ("cell", "layers_per_block", "hidden_channels", "skip_stride", "kernel_size")
_TT_KEYS = ("order", "steps", "rank")

# User presets: name -> folder. Built-in presets are found by scanning BUILTIN_DIR.
_registered = {}


# -- the preset folder format -------------------------------------------------------------------


def sha256_of(path, chunk_size=1 << 20):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_preset(model, directory, metadata=None, overwrite=False, model_card=None):
    """Writes `model` as a preset folder.

    Args:
        model: A built Keras model (e.g. `VideoPredictor`).
        directory: Folder to write; created if needed.
        metadata: Dict merged into `metadata.json` (dataset, frame_shape,
            context/future frames, licence, provenance, metrics with their
            convention and split, training command). `weights_sha256` and
            `weights_file` are filled in here.
        overwrite: Replace an existing preset in `directory`; otherwise a
            folder that already holds preset files is refused.
        model_card: Text of `README.md`; default: a short card from the metadata.

    Returns:
        The metadata dict written.
    """
    directory = os.fspath(directory)
    existing = [f for f in (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE) if os.path.exists(os.path.join(directory, f))]
    if existing and not overwrite:
        raise FileExistsError(
            f"{directory} already holds a preset ({', '.join(existing)}); pass overwrite=True to replace it."
        )
    os.makedirs(directory, exist_ok=True)
    config = keras.saving.serialize_keras_object(model)
    with open(os.path.join(directory, CONFIG_FILE), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    weights_path = os.path.join(directory, WEIGHTS_FILE)
    model.save_weights(weights_path, overwrite=True)
    metadata = dict(metadata or {})
    metadata.update(weights_file=WEIGHTS_FILE, weights_sha256=sha256_of(weights_path))
    with open(os.path.join(directory, METADATA_FILE), "w") as f:
        json.dump(metadata, f, indent=2, sort_keys=True)
    card = model_card if model_card is not None else _default_card(metadata, config)
    with open(os.path.join(directory, MODEL_CARD_FILE), "w") as f:
        f.write(card)
    return metadata


def load_preset_dir(directory, weights=True):
    """Builds the model of a preset folder, with its weights unless `weights=False`.

    The weights file is checked against `metadata.json`'s `weights_sha256` before loading.
    """
    directory = os.fspath(directory)
    model = _build_model(directory)
    if weights:
        weights_path = weights if isinstance(weights, (str, os.PathLike)) else os.path.join(directory, WEIGHTS_FILE)
        weights_path = os.fspath(weights_path)
        if not os.path.isfile(weights_path):
            raise FileNotFoundError(
                f"weights file {weights_path} not found; put the preset's weights there or pass weights=False."
            )
        metadata = read_metadata(directory)
        expected = metadata.get("weights_sha256")
        if expected and weights_path == os.path.join(directory, WEIGHTS_FILE) and sha256_of(weights_path) != expected:
            raise ValueError(f"{weights_path} does not match the sha256 in {METADATA_FILE}: corrupt or replaced file.")
        _load_h5(model, weights_path)
    return model


def read_metadata(directory):
    """The preset's `metadata.json` as a dict (empty if absent)."""
    path = os.path.join(os.fspath(directory), METADATA_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None


# -- the registry --------------------------------------------------------------------------------


def list():  # noqa: A001  (the registry's public verb, as in the issue)
    """Names of all presets, built-in and registered, sorted."""
    return sorted(set(_builtin_presets()) | set(_registered))


def info(name):
    """What is known about a preset, without building it.

    Args:
        name: A preset name (see `list()`).

    Returns:
        The preset's metadata dict plus `name`, `directory` and `weights_status`
        (where `load(name)` would find its weights, or why it cannot).
    """
    directory = _preset_dir(name)
    metadata = read_metadata(directory)
    result = dict(metadata)
    status = _weights_status(name, directory, metadata)
    result.update(name=name, directory=str(directory), weights_status=status)
    return result


def register(name, directory, overwrite=False):
    """Adds a preset folder (e.g. one written by `save_preset` or the training tool) under `name`.

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
    if not (directory / CONFIG_FILE).is_file():
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


def cache_dir():
    """Where fetched and converted weights are kept: `$KERAS_HOME/models` (default `~/.keras/models`)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(home) / "models"


def load(name, weights=True, compile=False, frame_shape=None):
    """Builds a preset's model, with its weights.

    Args:
        name: A preset name (see `list()`).
        weights: `True`: the preset's weights, from the folder, the Keras cache
            or a download (see the module docstring); `False`: randomly
            initialised; a path: a `.weights.h5` file of this architecture, or
            an official PyTorch checkpoint (`.pt`/`.pth`, or an `.npz` of its
            arrays), converted (and, for presets built from an official
            checkpoint, cached so later `load(name)` calls reuse it).
        compile: Compile with the model's defaults (`VideoPredictor.compile()`:
            Adam, L1 + L2 loss; `EarlyActivityRecognizer.compile()`: Adam,
            10 * (L1 + L2) + cross-entropy, accuracy metrics).
        frame_shape: Run at another `(height, width, channels)`; a
            `VideoPredictor` is fully convolutional, so height and width may
            differ from the preset's (its metrics were measured at the preset's
            size), but the channels must match the weights. An
            `EarlyActivityRecognizer`'s dense classifier fixes the frame size its
            weights fit.

    Returns:
        A built model (`VideoPredictor` or `EarlyActivityRecognizer`).

    Raises:
        FileNotFoundError: no weights available here (the message says which
            file to put where, or to pass `weights=False`).
        ValueError: unknown preset (the message lists the available names);
            weights that do not fit the preset (wrong architecture,
            frame channels, corrupt or truncated files; bad cache entries are
            removed).
    """
    directory = _preset_dir(name)
    metadata = read_metadata(directory)
    model = _build_model(directory, frame_shape)
    if weights is True:
        _load_preset_weights(name, directory, metadata, model)
    elif isinstance(weights, (str, os.PathLike)):
        _load_weights_from_path(name, metadata, model, pathlib.Path(weights))
    elif weights not in (False, None):
        raise TypeError(f"`weights` must be True, False or a path, got {weights!r}.")
    if compile:
        model.compile()
    return model


# -- finding presets ----------------------------------------------------------------------------


def _builtin_presets():
    if not BUILTIN_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(BUILTIN_DIR.iterdir()) if (p / CONFIG_FILE).is_file()}


def _preset_dir(name):
    if name in _registered:
        return _registered[name]
    builtin = _builtin_presets()
    if name in builtin:
        return builtin[name]
    raise ValueError(f"unknown preset {name!r}; available presets: {', '.join(list()) or 'none'}.")


def _build_model(directory, frame_shape=None):
    config_path = os.path.join(os.fspath(directory), CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"{config_path} not found: a preset folder needs {CONFIG_FILE}.")
    with open(config_path) as f:
        try:
            config = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"{config_path} is not valid JSON: {error}") from None
    if frame_shape is not None:
        config = json.loads(json.dumps(config))
        preset_shape = tuple(config.get("config", {}).get("frame_shape", ()))
        frame_shape = tuple(int(d) for d in frame_shape)
        if len(frame_shape) != 3 or not preset_shape or frame_shape[-1] != preset_shape[-1]:
            raise ValueError(
                f"frame_shape={frame_shape} does not fit the preset in {directory}: its weights read "
                f"frames of shape {preset_shape}; height and width may change, the channels "
                f"({preset_shape[-1]}) may not."
            )
        config["config"]["frame_shape"] = builtins.list(frame_shape)
    import ctt_keras  # noqa: F401  (registers the serialisable classes)

    return keras.saving.deserialize_keras_object(config)


# -- weights ------------------------------------------------------------------------------------


def _load_preset_weights(name, directory, metadata, model):
    weights_file = metadata.get("weights_file", WEIGHTS_FILE)
    local = pathlib.Path(directory) / weights_file
    if local.is_file():
        expected = metadata.get("weights_sha256")
        if expected and sha256_of(local) != expected:
            raise ValueError(
                f"{local} does not match the weights_sha256 in {pathlib.Path(directory) / METADATA_FILE}: "
                f"the file is corrupt or was replaced. Restore it, or pass weights=False."
            )
        _load_h5(model, local)
        return
    if metadata.get("weights_url"):
        _load_h5(model, _fetch(name, metadata), remove_on_error=True)
        return
    official = metadata.get("official_checkpoint")
    if official:
        converted = _cached_conversion(name)
        if converted is not None:
            _load_h5(model, converted, remove_on_error=True)
            return
        checkpoint = cache_dir() / official["file"]
        if checkpoint.is_file():
            _convert_official(name, metadata, model, checkpoint, in_cache=True)
            return
    raise FileNotFoundError(_missing_weights_message(name, directory, metadata))


def _load_weights_from_path(name, metadata, model, path):
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found (passed as weights= for preset {name!r}).")
    if path.name.endswith(_OFFICIAL_SUFFIXES):
        _convert_official(name, metadata, model, path, in_cache=False)
    elif path.name.endswith(".h5"):
        _load_h5(model, path)
    else:
        raise ValueError(
            f"cannot read weights from {path}: expected a Keras '.weights.h5' file or an official "
            f"PyTorch checkpoint ({', '.join(_OFFICIAL_SUFFIXES)})."
        )


def _fetch(name, metadata):
    """Downloads `weights_url` into the cache (once) and checks its sha256."""
    expected = metadata.get("weights_sha256")
    if not expected:
        raise ValueError(
            f"preset {name!r} has a weights_url but no weights_sha256: refusing unverified weights."
        )
    fname = f"{name}.weights.h5"
    target = cache_dir() / fname
    try:
        path = keras.utils.get_file(
            fname=fname, origin=metadata["weights_url"], file_hash=expected, hash_algorithm="sha256",
            cache_subdir="models", cache_dir=str(cache_dir().parent),
        )
    except Exception as error:  # no network, HTTP error, or keras's own hash check
        _remove(target)
        raise FileNotFoundError(
            f"could not fetch the weights of preset {name!r} from {metadata['weights_url']} ({error}). "
            f"Download that file yourself and put it at {target} (sha256 {expected}), or pass weights=False."
        ) from None
    path = pathlib.Path(path)
    if sha256_of(path) != expected:
        _remove(path)
        raise ValueError(
            f"the file fetched for preset {name!r} does not have the expected sha256 {expected}; it was "
            f"refused and removed from the cache ({path})."
        )
    return path


def _cached_conversion(name):
    """The cached converted weights of an official checkpoint, if present and intact (else removed)."""
    weights = cache_dir() / f"{name}.weights.h5"
    record = cache_dir() / f"{name}{_CONVERSION_SUFFIX}"
    if not weights.is_file():
        return None
    try:
        with open(record) as f:
            expected = json.load(f)["weights_sha256"]
    except (OSError, ValueError, KeyError):
        expected = None
    if expected is None or sha256_of(weights) != expected:
        _remove(weights, record)
        return None
    return weights


def _convert_official(name, metadata, model, checkpoint, in_cache):
    """Assigns an official checkpoint's weights to `model` after checking it is the preset's network."""
    from ctt_keras import checkpoints

    try:
        state = checkpoints.load_state_dict(os.fspath(checkpoint))
        inferred, channels = checkpoints.infer_config(state)
    except ValueError as error:  # TorchCheckpointError is a ValueError
        message = f"cannot read the checkpoint {checkpoint} for preset {name!r}: {error}"
        if in_cache:
            aside = _move_aside(checkpoint)
            message += f"\nThe bad file was removed from the cache and kept as {aside}; delete it when done."
        raise ValueError(message) from None
    problems = _architecture_differences(model, inferred, channels)
    if problems:
        raise ValueError(
            f"the checkpoint {checkpoint} is not the network of preset {name!r}:\n  " + "\n  ".join(problems)
        )
    checkpoints.assign_nvlabs_weights(model, state)  # checks every key and shape, lists all mismatches
    official = metadata.get("official_checkpoint")
    if official:  # the weights do not depend on the frame size, so any frame_shape may share the cache
        try:
            _write_conversion(name, model, checkpoint, official)
        except OSError as error:  # a read-only cache costs a conversion per load, nothing else
            warnings.warn(f"could not cache the converted weights of preset {name!r} in {cache_dir()}: {error}")


def _architecture_differences(model, inferred, channels):
    ours = {key: getattr(model, attr) for key, attr in zip(_ARCHITECTURE_KEYS, (
        "cell_type", "layers_per_block", "hidden_channels", "skip_stride", "kernel_size"))}
    if model.cell_type == "convttlstm":
        ours.update(order=model.order, steps=model.steps, rank=model.rank)
    theirs = dict(inferred)
    if isinstance(theirs.get("kernel_size"), int):
        theirs["kernel_size"] = (theirs["kernel_size"],) * 2
    problems = [
        f"{key}: checkpoint {theirs.get(key)!r}, preset {value!r}"
        for key, value in ours.items()
        if _normalise(theirs.get(key)) != _normalise(value)
    ]
    if channels != model.frame_shape[-1]:
        problems.append(
            f"frame channels: checkpoint {channels}, preset frame_shape {model.frame_shape} "
            f"({model.frame_shape[-1]} channels)"
        )
    return problems


def _normalise(value):
    if isinstance(value, (tuple, builtins.list)):
        return tuple(int(v) for v in value)
    return value


def _write_conversion(name, model, checkpoint, official):
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.weights.h5"
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        partial = pathlib.Path(scratch) / "converted.weights.h5"
        model.save_weights(partial)
        digest = sha256_of(partial)
        os.replace(partial, target)
    record = {
        "preset": name,
        "source_file": os.fspath(pathlib.Path(checkpoint).resolve()),
        "source_sha256": sha256_of(checkpoint),
        "weights_sha256": digest,
        "converted_with": "ctt_keras.checkpoints.assign_nvlabs_weights",
        "converted_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "license": official.get("license", NVIDIA_LICENSE),
    }
    with open(folder / f"{name}{_CONVERSION_SUFFIX}", "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)


def _load_h5(model, path, remove_on_error=False):
    """Loads `.weights.h5` after checking that it holds exactly the model's variables (names and shapes)."""
    path = pathlib.Path(path)
    try:
        problems = _layout_differences(model, path)
        if not problems:
            model.load_weights(os.fspath(path))
    except Exception as error:  # h5py/keras errors on truncated or non-HDF5 files
        problems = [f"unreadable ({type(error).__name__}: {error})"]
    if problems:
        message = f"the weights file {path} does not fit the model:\n  " + "\n  ".join(problems)
        if remove_on_error:
            _remove(path, path.with_name(path.name[: -len(".weights.h5")] + _CONVERSION_SUFFIX))
            message += "\nThe bad cache entry was removed; load again to fetch or convert it anew."
        raise ValueError(message)


def _layout_differences(model, path):
    import h5py

    def layout(file_path):
        shapes = {}

        def visit(key, item):
            if isinstance(item, h5py.Dataset):
                shapes[key] = item.shape

        with h5py.File(file_path, "r") as f:
            f.visititems(visit)
        return shapes

    with tempfile.TemporaryDirectory() as scratch:
        reference = os.path.join(scratch, "reference.weights.h5")
        model.save_weights(reference)
        expected = layout(reference)
    found = layout(path)
    problems = [f"missing: {key} {shape}" for key, shape in expected.items() if key not in found]
    problems += [f"unexpected: {key} {shape}" for key, shape in found.items() if key not in expected]
    problems += [
        f"shape mismatch: {key} is {found[key]}, the model needs {shape}"
        for key, shape in expected.items()
        if key in found and tuple(found[key]) != tuple(shape)
    ]
    return problems


def _weights_status(name, directory, metadata):
    weights_file = metadata.get("weights_file", WEIGHTS_FILE)
    if (pathlib.Path(directory) / weights_file).is_file():
        return f"bundled: {pathlib.Path(directory) / weights_file}"
    if metadata.get("weights_url"):
        cached = cache_dir() / f"{name}.weights.h5"
        return f"cached: {cached}" if cached.is_file() else f"downloadable from {metadata['weights_url']}"
    official = metadata.get("official_checkpoint")
    if official:
        if (cache_dir() / f"{name}.weights.h5").is_file():
            return f"converted from {official['file']}: {cache_dir() / f'{name}.weights.h5'}"
        checkpoint = cache_dir() / official["file"]
        if checkpoint.is_file():
            return f"official checkpoint in the cache, converted on first load: {checkpoint}"
    return "unavailable: " + _missing_weights_message(name, directory, metadata)


def _missing_weights_message(name, directory, metadata):
    weights_file = metadata.get("weights_file", WEIGHTS_FILE)
    lines = [f"no weights available for preset {name!r}. Either:"]
    official = metadata.get("official_checkpoint")
    if official:
        url = official.get("url", "see its model card")
        lines.append(
            f"- download the official checkpoint {official['file']} ({url}) "
            f"and pass it: zoo.load({name!r}, weights='path/to/{official['file']}'), or put it at "
            f"{cache_dir() / official['file']} (converted once, then reused);"
        )
    else:
        lines.append(f"- put the preset's weights file {weights_file} in {directory};")
    lines.append("- or pass weights=False for a randomly initialised model.")
    if metadata.get("weights_note"):
        lines.append(f"Note: {metadata['weights_note']}")
    return "\n".join(lines)


def _remove(*paths):
    for path in paths:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def _move_aside(path):
    aside = pathlib.Path(f"{path}.corrupt")
    shutil.move(os.fspath(path), os.fspath(aside))
    return aside


def _default_card(metadata, config):
    name = metadata.get("name", config.get("config", {}).get("name", "preset"))
    lines = [f"# {name}", "", metadata.get("description", "A ctt_keras preset."), ""]
    for key in ("dataset", "frame_shape", "context_frames", "future_frames", "license", "source", "training_command"):
        if key in metadata:
            lines.append(f"- **{key}**: {metadata[key]}")
    if "metrics" in metadata:
        lines += ["", "## Metrics", "", "```json", json.dumps(metadata["metrics"], indent=2), "```"]
    return "\n".join(lines) + "\n"
