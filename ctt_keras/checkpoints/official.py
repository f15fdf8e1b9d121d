"""NVIDIA's published Conv-TT-LSTM checkpoints: what they are, the model check, the conversion cache.

The official code (https://github.com/NVlabs/conv-tt-lstm, `eval_paper/README.md`)
publishes two checkpoints of the paper's network, `convttlstm-mnist.pt` and
`convttlstm-kth.pt`, under the NVIDIA Source Code License-NC. Their sha256 is not
published, so a checkpoint is checked structurally instead: the architecture
inferred from its parameter names and shapes must be the model's (compared through
the model's own `get_config`), and every parameter must fit (see
`assign_nvlabs_weights`). A conversion is cached as `<cache>/<key>.weights.h5`
beside a record `<key>.conversion.json` (source file and sha256, converted
weights' sha256, licence, time).
"""

import datetime
import json
import os
import pathlib
import tempfile

from ctt_keras import atomic
from ctt_keras.checkpoints.nvlabs import assign_nvlabs_weights, infer_config, load_state_dict

NVIDIA_LICENSE = "NVIDIA Source Code License-NC (non-commercial)"
OFFICIAL_REPO = "https://github.com/NVlabs/conv-tt-lstm"
EVAL_README = "https://github.com/NVlabs/conv-tt-lstm/tree/master/eval_paper"

#: The published checkpoints: file name -> Google Drive file id (official eval_paper/README.md).
PUBLISHED = {
    "convttlstm-mnist.pt": "1MnK1ftUJgB0H4QOS-k4CVkwtBUjHtSO-",
    "convttlstm-kth.pt": "1gVicaRn6gJqIR-r89NxnIzVXAaIRomLc",
}

CONVERSION_SUFFIX = ".conversion.json"


def published_page(file):
    """The link the official README gives for `file` (a Google Drive page)."""
    return f"https://drive.google.com/file/d/{PUBLISHED[file]}/view?usp=sharing"


def published_download(file):
    """The direct-download form of `published_page(file)`."""
    return f"https://drive.usercontent.google.com/download?id={PUBLISHED[file]}&export=download&confirm=t"


def read_checkpoint(path):
    """The official parameters in `path` (`.pt`/`.pth`, or an `.npz` of arrays) and their architecture.

    Returns:
        `(state, config, channels)`; see `load_state_dict` and `infer_config`.

    Raises:
        ValueError: the file is unreadable or describes no official network (the
            reader's own `TorchCheckpointError` is a `ValueError`).
    """
    state = load_state_dict(os.fspath(path))
    config, channels = infer_config(state)
    return state, config, channels


def architecture_differences(model, inferred, channels):
    """How the network of a checkpoint differs from `model`, as readable lines (empty if it is the same).

    The inferred arguments are put into the model's own `get_config()` and a model
    of the same class is configured from it, so the comparison uses the model's own
    validation and normalisation (e.g. `kernel_size=5` is `(5, 5)`), with no list
    of architecture keys kept here.
    """
    ours = model.get_config()
    candidate = dict(ours, **inferred)
    shape = list(ours["frame_shape"])
    candidate["frame_shape"] = shape[:-1] + [int(channels)]
    try:
        theirs = type(model).from_config(candidate).get_config()
    except (ValueError, TypeError) as error:
        return [f"the checkpoint's architecture {inferred} is not a valid {type(model).__name__}: {error}"]
    problems = [
        f"{key}: checkpoint {theirs[key]!r}, preset {value!r}"
        for key, value in ours.items()
        if key not in ("frame_shape", "name") and theirs.get(key) != value
    ]
    if theirs["frame_shape"] != ours["frame_shape"]:
        problems.append(
            f"frame channels: checkpoint {channels}, preset frame_shape {tuple(ours['frame_shape'])} "
            f"({ours['frame_shape'][-1]} channels)"
        )
    return problems


def convert(model, checkpoint, what="the model"):
    """Assigns the official checkpoint's weights to `model` after checking it is the same network.

    Raises:
        ValueError: unreadable checkpoint (message starts "cannot read the checkpoint"),
            another network, or parameters that do not fit.
    """
    try:
        state, inferred, channels = read_checkpoint(checkpoint)
    except ValueError as error:  # TorchCheckpointError is a ValueError
        raise CheckpointUnreadable(f"cannot read the checkpoint {checkpoint} for {what}: {error}") from None
    problems = architecture_differences(model, inferred, channels)
    if problems:
        raise ValueError(
            f"the checkpoint {checkpoint} is not the network of {what}:\n  " + "\n  ".join(problems)
        )
    assign_nvlabs_weights(model, state)  # checks every key and shape, lists all mismatches
    return model


class CheckpointUnreadable(ValueError):
    """An official checkpoint file that cannot be read (corrupt, truncated, not a checkpoint)."""


def cached_conversion(cache_dir, key):
    """The cached converted weights `<cache_dir>/<key>.weights.h5` if present and intact (else removed)."""
    weights = pathlib.Path(cache_dir) / f"{key}.weights.h5"
    record = pathlib.Path(cache_dir) / f"{key}{CONVERSION_SUFFIX}"
    if not weights.is_file():
        return None
    try:
        with open(record) as f:
            expected = json.load(f)["weights_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        expected = None
    if expected is None or atomic.sha256_of(weights) != expected:
        remove_conversion(cache_dir, key)
        return None
    return weights


def remove_conversion(cache_dir, key):
    """Removes a cached conversion and its record (missing files are fine)."""
    folder = pathlib.Path(cache_dir)
    for path in (folder / f"{key}.weights.h5", folder / f"{key}{CONVERSION_SUFFIX}"):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def write_conversion(cache_dir, key, model, checkpoint, license=NVIDIA_LICENSE, origin=None):
    """Caches `model`'s (converted) weights with a record of where they came from; returns the record.

    Both files are written beside their final names and renamed into place (the
    record last), so an interruption leaves either no entry or one whose record
    does not match, which `cached_conversion` removes.
    """
    folder = pathlib.Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{key}.conversion.", dir=folder) as scratch:
        partial = pathlib.Path(scratch) / "converted.weights.h5"
        model.save_weights(partial)
        record = {
            "preset": key,
            "source_file": os.fspath(pathlib.Path(checkpoint).resolve()),
            "source_sha256": atomic.sha256_of(checkpoint),
            "weights_sha256": atomic.sha256_of(partial),
            "converted_with": "ctt_keras.checkpoints.assign_nvlabs_weights",
            "converted_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "license": license,
        }
        if origin:
            record["source_url"] = origin
        partial_record = pathlib.Path(scratch) / "record.json"
        partial_record.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        os.replace(partial, folder / f"{key}.weights.h5")
        os.replace(partial_record, folder / f"{key}{CONVERSION_SUFFIX}")
    return record
