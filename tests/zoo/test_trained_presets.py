"""The trained small Moving-MNIST presets: their weights load and predict what they predicted when published."""

import itertools
import json

import numpy as np
import pytest

from ctt_keras import zoo
from ctt_keras.pipelines import moving_mnist_arrays

from tests.conftest import TEST_DATA_DIR

PRESETS = ("mmnist_convttlstm_small", "mmnist_convlstm_small")


@pytest.fixture(scope="module")
def clips():
    return np.stack(list(itertools.islice(moving_mnist_arrays.sequences("test", sequence_length=20, seed=0), 2)))


@pytest.mark.parametrize("name", PRESETS)
def test_preset_predicts_its_recorded_frames(name, clips):
    expected = np.load(TEST_DATA_DIR / "presets" / f"{name}_expected.npz")
    np.testing.assert_allclose(clips[:, :10].sum(), expected["context_sum"], rtol=1e-9)  # the same clips
    model = zoo.load(name)
    prediction = np.asarray(model.predict_frames(clips[:, :10], 3))
    np.testing.assert_allclose(prediction, expected["frames"], atol=1e-5)
    # And they are predictions: closer to the truth than black frames, on these two clips.
    truth = clips[:, 10:13]
    assert np.mean((prediction - truth) ** 2) < 0.6 * np.mean(truth**2)


def test_the_conv_tt_lstm_preset_is_the_smaller_twin():
    tt, lstm = (zoo.load(name, weights=False) for name in PRESETS)
    assert tt.count_params() < lstm.count_params()
    tt_arch, lstm_arch = tt.get_config(), lstm.get_config()
    for key in ("layers_per_block", "hidden_channels", "kernel_size", "patch_size", "skip_stride"):
        assert tt_arch[key] == lstm_arch[key], key


@pytest.mark.parametrize("name", PRESETS)
def test_metadata_records_the_training_and_the_measured_metrics(name):
    metadata = json.loads((zoo.BUILTIN_DIR / name / "metadata.json").read_text())
    assert metadata["training_command"].startswith("python tools/train.py ")
    assert f"--name {name}" in metadata["training_command"]
    assert metadata["training_clips"] == 32000
    (ten,) = [m for m in metadata["metrics"] if m["future_frames"] == 10]
    assert ten["values"]["mse_x1e3"] < 30 and ten["values"]["ssim"] > 0.78
    assert (zoo.BUILTIN_DIR / name / metadata["prediction_gif"]).is_file()
