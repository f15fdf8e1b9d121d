"""Preset handles on model hubs, as keras-hub writes them: `hf://owner/repo` and `kaggle://owner/model/...`.

A handle is resolved to a local preset folder (then loaded like any folder):

- `hf://owner/repo`: `config.json`, `metadata.json`, `README.md` and the weights file
  are fetched from `$HF_ENDPOINT/owner/repo/resolve/main/<file>` (default endpoint
  https://huggingface.co) into `<cache>/hub/hf/owner/repo/`, once (`config.json` last, so a
  folder holding it is complete); delete that folder to fetch again. No extra package is needed.
- `kaggle://owner/model/keras/variation[/version]`: downloaded with `kagglehub`
  (`pip install kagglehub`), which keeps its own cache.

Without network (or without `kagglehub`) a `DownloadError` says so and what to do instead.
"""

import json
import os
import re

from ctt_keras.zoo import download
from ctt_keras.zoo.preset_format import (
    CONFIG_FILE, METADATA_FILE, MODEL_CARD_FILE, WEIGHTS_FILE, check_file_name,
)

SCHEMES = ("hf://", "kaggle://")
_HF_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def is_handle(preset):
    return isinstance(preset, str) and preset.startswith(SCHEMES)


def resolve(handle):
    """The local folder of a hub handle, fetched if needed."""
    if handle.startswith("hf://"):
        return _resolve_hf(handle[len("hf://"):])
    return _resolve_kaggle(handle[len("kaggle://"):])


def _resolve_hf(repo):
    repo = repo.strip("/")
    if not _HF_REPO.match(repo) or ".." in repo:
        raise ValueError(f"'hf://{repo}' is not a Hugging Face handle: expected hf://owner/repo.")
    folder = download.cache_dir() / "hub" / "hf" / repo
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")

    def url(file):
        return f"{endpoint}/{repo}/resolve/main/{file}"

    manual = (f"Download the preset's files ({CONFIG_FILE}, {METADATA_FILE}, {WEIGHTS_FILE}) from "
              f"{endpoint}/{repo} into a folder and pass that folder to zoo.load instead.")
    if (folder / CONFIG_FILE).is_file():  # written last: the folder is complete
        return folder
    for file in (METADATA_FILE, MODEL_CARD_FILE):
        _fetch_optional(url(file), folder / file, manual)
    weights_file = WEIGHTS_FILE
    if (folder / METADATA_FILE).is_file():
        with open(folder / METADATA_FILE) as f:
            try:
                metadata = json.load(f)
            except json.JSONDecodeError:
                metadata = {}
        if isinstance(metadata, dict) and metadata.get("weights_file"):
            what = f"hf://{repo} metadata.json: weights_file"
            weights_file = check_file_name(metadata["weights_file"], what)
    _fetch_optional(url(weights_file), folder / weights_file, manual)
    download.fetch(url(CONFIG_FILE), folder / CONFIG_FILE, max_bytes=1 << 20, manual=manual)
    return folder


def _fetch_optional(url, target, manual):
    """Fetches a file a preset may lack (HTTP 404 is fine; other failures are not)."""
    try:
        download.fetch(url, target, manual=manual)
    except download.DownloadError as error:
        if "HTTP 404" not in str(error):
            raise


def _resolve_kaggle(handle):
    try:
        import kagglehub
    except ImportError:
        raise download.DownloadError(
            f"kaggle://{handle} needs the kagglehub package (pip install kagglehub) and network access; or "
            "download the model's files from kaggle.com into a folder and pass that folder to zoo.load."
        ) from None
    try:
        return kagglehub.model_download(handle)
    except Exception as error:  # kagglehub raises its own errors for network, auth and unknown handles
        raise download.DownloadError(
            f"kagglehub could not download kaggle://{handle} ({type(error).__name__}: {error}); download the "
            "model's files from kaggle.com into a folder and pass that folder to zoo.load."
        ) from None
