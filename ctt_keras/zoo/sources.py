"""Where a preset's weights come from: its folder, a download, or a conversion of NVIDIA's checkpoint.

In order, for `load(name)`:

1. the preset folder's `model.weights.h5`, checked against `metadata.json`'s `weights_sha256`;
2. `metadata["weights_url"]`: fetched once into the Keras cache (`$KERAS_HOME/models`)
   and checked against `weights_sha256` (required);
3. `metadata["official_checkpoint"]`: a cached conversion, else the `.pt` file in the
   cache (placed there by the user or fetched before), else the `.pt` fetched from
   `$CTT_KERAS_WEIGHTS_MIRROR/<file>` or NVIDIA's published link; converted once
   without torch (`ctt_keras.checkpoints.official`), the licence shown on conversion.

Otherwise `FileNotFoundError` names the file to put where, or says to pass `weights=False`.
"""

import os
import pathlib
import tempfile
import warnings

from ctt_keras.zoo import download
from ctt_keras.zoo.preset_format import WEIGHTS_FILE, check_file_name, sha256_of, verify_weights

_OFFICIAL_SUFFIXES = (".pt", ".pth", ".npz")
# The published checkpoints are about 11 MB; anything far larger is not one of them.
_MAX_CHECKPOINT_BYTES = 512 << 20


class OfficialWeightsNotice(UserWarning):
    """Shown when NVIDIA's weights are converted (once per cache): their non-commercial licence."""


def load_preset_weights(key, directory, metadata, model):
    """Gives `model` the weights of the preset `key` (folder `directory`); see the module docstring."""
    weights_file = check_file_name(metadata.get("weights_file", WEIGHTS_FILE), "weights_file")
    local = pathlib.Path(directory) / weights_file
    if local.is_file():
        verify_weights(directory, metadata, local)
        load_h5(model, local)
        return
    if metadata.get("weights_url"):
        load_h5(model, _fetch_weights(key, metadata), remove_on_error=True)
        return
    official = metadata.get("official_checkpoint")
    if official:
        _load_official(key, directory, metadata, official, model)
        return
    raise FileNotFoundError(missing_weights_message(key, directory, metadata))


def load_weights_from_path(key, metadata, model, path):
    """Gives `model` the weights in a user's file (never moved, changed or deleted)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found (passed as weights= for preset {key!r}).")
    if path.name.endswith(_OFFICIAL_SUFFIXES):
        _convert(key, metadata, model, path, origin=None)
    elif path.name.endswith(".h5"):
        load_h5(model, path)
    else:
        raise ValueError(
            f"cannot read weights from {path}: expected a Keras '.weights.h5' file or an official "
            f"PyTorch checkpoint ({', '.join(_OFFICIAL_SUFFIXES)})."
        )


# -- downloads ----------------------------------------------------------------------------------


def _fetch_weights(key, metadata):
    expected = metadata.get("weights_sha256")
    if not expected:
        raise ValueError(
            f"preset {key!r} has a weights_url but no weights_sha256: refusing unverified weights."
        )
    target = download.cache_dir() / f"{key}.weights.h5"
    if target.is_file() and sha256_of(target) == expected:
        return target
    manual = (f"Download {metadata['weights_url']} yourself and put it at {target} (sha256 {expected}), "
              "or pass weights=False.")
    try:
        return download.fetch(metadata["weights_url"], target, sha256=expected, manual=manual)
    except download.DownloadError as error:
        raise download.DownloadError(f"could not fetch the weights of preset {key!r}: {error}") from None


def _official_urls(official):
    """Where to fetch an official checkpoint: the mirror if set, else the published link."""
    from ctt_keras.checkpoints import official as nvidia

    mirror = download.mirror_url(official["file"])
    if mirror:
        return [mirror]
    if official.get("download_url"):
        return [official["download_url"]]
    if official["file"] in nvidia.PUBLISHED:
        return [nvidia.published_download(official["file"])]
    return []


# -- official checkpoints -----------------------------------------------------------------------


def _load_official(key, directory, metadata, official, model):
    from ctt_keras.checkpoints import official as nvidia

    cache = download.cache_dir()
    converted = nvidia.cached_conversion(cache, key)
    if converted is not None:
        load_h5(model, converted, remove_on_error=True)
        return
    checkpoint = cache / check_file_name(official.get("file"), "official_checkpoint.file")
    if checkpoint.is_file():
        _convert(key, metadata, model, checkpoint, origin=None, in_cache=True)
        return
    urls = _official_urls(official)
    if not urls:
        raise FileNotFoundError(missing_weights_message(key, directory, metadata))
    try:
        download.fetch(urls[0], checkpoint, max_bytes=_MAX_CHECKPOINT_BYTES,
                       manual=missing_weights_message(key, directory, metadata))
    except download.DownloadError as error:
        raise download.DownloadError(
            f"could not fetch {official['file']} for preset {key!r}: {error}"
        ) from None
    _convert(key, metadata, model, checkpoint, origin=urls[0], in_cache=True, downloaded=True)


def _convert(key, metadata, model, checkpoint, origin, in_cache=False, downloaded=False):
    """Converts an official checkpoint into `model` and caches the result (for official presets)."""
    from ctt_keras.checkpoints import official as nvidia

    try:
        nvidia.convert(model, checkpoint, what=f"preset {key!r}")
    except ValueError as error:
        message = str(error)
        if downloaded:  # our own download: nothing half-good stays in the cache
            os.remove(checkpoint)
            message += f"\nThe downloaded file was removed from the cache ({origin})."
        elif in_cache and isinstance(error, nvidia.CheckpointUnreadable):
            aside = pathlib.Path(f"{checkpoint}.corrupt")
            os.replace(checkpoint, aside)
            message += f"\nThe bad file was removed from the cache and kept as {aside}; delete it when done."
        raise ValueError(message) from None
    official = metadata.get("official_checkpoint")
    if not official:
        return
    licence = official.get("license", nvidia.NVIDIA_LICENSE)
    try:  # the weights do not depend on the frame size, so any frame_shape may share the cache
        nvidia.write_conversion(download.cache_dir(), key, model, checkpoint, license=licence, origin=origin)
    except OSError as error:  # a read-only cache costs a conversion per load, nothing else
        warnings.warn(
            f"could not cache the converted weights of preset {key!r} in {download.cache_dir()}: {error}"
        )
    warnings.warn(
        f"preset {key!r}: the weights come from NVIDIA's {official['file']}, licensed under {licence}; "
        "models built from them inherit it (non-commercial use only). This notice is shown once, when the "
        "checkpoint is converted.",
        OfficialWeightsNotice,
        stacklevel=4,
    )


# -- Keras weights files ------------------------------------------------------------------------


def load_h5(model, path, remove_on_error=False):
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
            from ctt_keras.checkpoints import official as nvidia

            key = path.name[: -len(".weights.h5")]
            nvidia.remove_conversion(path.parent, key)
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


# -- what is available --------------------------------------------------------------------------


def weights_status(key, directory, metadata):
    """Where `load(key)` would find its weights, or why it cannot, as one line."""
    cache = download.cache_dir()
    weights_file = metadata.get("weights_file", WEIGHTS_FILE)
    if (pathlib.Path(directory) / weights_file).is_file():
        return f"bundled: {pathlib.Path(directory) / weights_file}"
    if metadata.get("weights_url"):
        cached = cache / f"{key}.weights.h5"
        return f"cached: {cached}" if cached.is_file() else f"downloadable from {metadata['weights_url']}"
    official = metadata.get("official_checkpoint")
    if official:
        if (cache / f"{key}.weights.h5").is_file():
            return f"converted from {official['file']}: {cache / f'{key}.weights.h5'}"
        checkpoint = cache / official["file"]
        if checkpoint.is_file():
            return f"official checkpoint in the cache, converted on first load: {checkpoint}"
        urls = _official_urls(official)
        if urls:
            return f"downloadable on first load from {urls[0]} (then converted and cached)"
    return "unavailable: " + missing_weights_message(key, directory, metadata)


def missing_weights_message(key, directory, metadata):
    """What to do when no weights are available: which file to put where, or `weights=False`."""
    weights_file = metadata.get("weights_file", WEIGHTS_FILE)
    lines = [f"no weights available for preset {key!r}. Either:"]
    official = metadata.get("official_checkpoint")
    if official:
        url = official.get("url", "see its model card")
        lines.append(
            f"- download the official checkpoint {official['file']} by hand from {url} "
            f"and pass it: zoo.load({key!r}, weights='path/to/{official['file']}'), or put it at "
            f"{download.cache_dir() / official['file']} (converted once, then reused);"
        )
        lines.append(
            f"- or set {download.MIRROR_VARIABLE} to a base URL that serves {official['file']};"
        )
    else:
        lines.append(f"- put the preset's weights file {weights_file} in {directory};")
    lines.append("- or pass weights=False for a randomly initialised model.")
    if metadata.get("weights_note"):
        lines.append(f"Note: {metadata['weights_note']}")
    return "\n".join(lines)
