"""Presets: a folder with `config.json`, `model.weights.h5`, `metadata.json` and a `README.md` model card.

This module holds the preset folder format (save and load one folder). The
registry of built-in presets (`list`, `info`, `load`, `register`) builds on it.
"""

import hashlib
import json
import os

import keras

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
MODEL_CARD_FILE = "README.md"


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
    config_path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"{config_path} not found: a preset folder needs {CONFIG_FILE}.")
    with open(config_path) as f:
        try:
            config = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"{config_path} is not valid JSON: {error}") from None
    import ctt_keras  # noqa: F401  (registers the serialisable classes)

    model = keras.saving.deserialize_keras_object(config)
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
        model.load_weights(weights_path)
    return model


def read_metadata(directory):
    """The preset's `metadata.json` as a dict (empty if absent)."""
    path = os.path.join(os.fspath(directory), METADATA_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _default_card(metadata, config):
    name = metadata.get("name", config.get("config", {}).get("name", "preset"))
    lines = [f"# {name}", "", metadata.get("description", "A ctt_keras VideoPredictor preset."), ""]
    for key in ("dataset", "frame_shape", "context_frames", "future_frames", "license", "source", "training_command"):
        if key in metadata:
            lines.append(f"- **{key}**: {metadata[key]}")
    if "metrics" in metadata:
        lines += ["", "## Metrics", "", "```json", json.dumps(metadata["metrics"], indent=2), "```"]
    return "\n".join(lines) + "\n"
