"""The model zoo: named presets of `VideoPredictor` and `EarlyActivityRecognizer` that load in one line.

In parts, as keras-hub separates `preset_utils`, `from_preset` and its presets tables:

- `preset_format`: the preset folder (`config.json`, `model.weights.h5`, `metadata.json`,
  `README.md`, keras-hub's file names): save (atomic: an interrupted save leaves the old preset or
  the new one), read, verify, build;
- `registry`: `list`, `info`, `register`, `unregister`, `load` (by name, folder or hub handle);
- `sources`: where weights come from (the folder, a download, NVIDIA's checkpoint converted
  by `ctt_keras.checkpoints.official`); `download` fetches files into the Keras cache;
  `hub` resolves `hf://` and `kaggle://` handles;
- `cards`: the one model-card generator (`model_card`);
- `preset_mixin`: `from_preset` / `save_to_preset` of the model classes.

Example:

>>> from ctt_keras import zoo
>>> zoo.list()
['kth_convlstm', 'kth_convttlstm', 'mmnist_convlstm', ...]
>>> model = zoo.load("mmnist_convttlstm")          # first use: fetches NVIDIA's checkpoint, converts, caches
>>> model = zoo.load("path/to/my_preset")          # a preset folder
>>> future = model.predict_frames(context, future_frames=10)   # context [B, 10, 64, 64, 1]
"""

from ctt_keras.checkpoints.official import NVIDIA_LICENSE
from ctt_keras.zoo.download import MIRROR_VARIABLE, DownloadError, cache_dir
from ctt_keras.zoo.cards import model_card
from ctt_keras.zoo.preset_format import (
    CONFIG_FILE,
    METADATA_FILE,
    MODEL_CARD_FILE,
    WEIGHTS_FILE,
    load_preset_dir,
    read_metadata,
    recover_preset,
    save_preset,
    sha256_of,
)
from ctt_keras.zoo.preset_mixin import PresetMixin
from ctt_keras.zoo.registry import BUILTIN_DIR, info, list, load, register, unregister  # noqa: A004
from ctt_keras.zoo.sources import OfficialWeightsNotice

__all__ = [
    "BUILTIN_DIR", "CONFIG_FILE", "METADATA_FILE", "MIRROR_VARIABLE", "MODEL_CARD_FILE", "NVIDIA_LICENSE",
    "WEIGHTS_FILE", "DownloadError", "OfficialWeightsNotice", "PresetMixin", "cache_dir", "info", "list",
    "load", "load_preset_dir", "model_card", "read_metadata", "recover_preset", "register", "save_preset",
    "sha256_of", "unregister",
]
