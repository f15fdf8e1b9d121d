"""Zoo tests never touch the real Keras cache or leave presets registered."""

import json

import numpy as np
import pytest

from ctt_keras import zoo
from ctt_keras.models import VideoPredictor

# The architecture of the official test network `tiny2` (tests/data/nvlabs).
TINY2 = dict(frame_shape=(16, 16, 1), layers_per_block=(2,), hidden_channels=(8,), skip_stride=None,
             kernel_size=3, order=3, steps=3, rank=4, output_sigmoid=False)


@pytest.fixture(autouse=True)
def keras_home(tmp_path, monkeypatch):
    """A private KERAS_HOME: the cache is `<tmp>/keras_home/models`."""
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    registered = dict(zoo._registered)
    yield home
    zoo._registered.clear()
    zoo._registered.update(registered)


def nhwc(a):
    """[B, T, C, H, W] (PyTorch) -> channels last."""
    return np.moveaxis(a, -3, -1)


def write_config_only_preset(directory, model, metadata):
    """A preset folder without weights (as the built-in official presets): config.json + metadata.json."""
    import keras

    directory.mkdir(parents=True)
    (directory / zoo.CONFIG_FILE).write_text(json.dumps(keras.saving.serialize_keras_object(model)))
    (directory / zoo.METADATA_FILE).write_text(json.dumps(metadata))
    return directory


@pytest.fixture
def tiny2_preset(tmp_path):
    """A registered preset with tiny2's architecture whose weights come from an official `.pt` file."""
    model = VideoPredictor(name="tiny2", **TINY2)
    metadata = {
        "frame_shape": [16, 16, 1],
        "official_checkpoint": {"file": "tiny2.pt", "url": "test", "license": zoo.NVIDIA_LICENSE},
        "license": zoo.NVIDIA_LICENSE,
    }
    zoo.register("tiny2_official", write_config_only_preset(tmp_path / "tiny2_official", model, metadata))
    return "tiny2_official"
