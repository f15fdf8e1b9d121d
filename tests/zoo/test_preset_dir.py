"""The preset folder format: save, load, checksum."""

import numpy as np
import pytest

from ctt_keras import zoo
from ctt_keras.models import VideoPredictor


def test_preset_folder_round_trip(tmp_path):
    model = VideoPredictor((8, 8, 1), layers_per_block=(1,), hidden_channels=(4,), skip_stride=None,
                           kernel_size=3, rank=2, context_frames=2)
    metadata = zoo.save_preset(model, tmp_path / "p", metadata={"dataset": "moving_mnist"})
    assert metadata["weights_sha256"] == zoo.sha256_of(tmp_path / "p" / zoo.WEIGHTS_FILE)
    loaded = zoo.load_preset_dir(tmp_path / "p")
    assert loaded.get_config() == model.get_config()
    x = np.random.default_rng(0).random((1, 2, 8, 8, 1), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict_frames(x, 3), model.predict_frames(x, 3))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        zoo.save_preset(model, tmp_path / "p")
    with open(tmp_path / "p" / zoo.WEIGHTS_FILE, "r+b") as f:
        f.seek(-8, 2)
        f.write(b"corrupt!")
    with pytest.raises(ValueError, match="sha256"):
        zoo.load_preset_dir(tmp_path / "p")
