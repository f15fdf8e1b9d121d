"""The Something-Something V2 presets: configuration-only EarlyActivityRecognizer networks."""

import keras
import numpy as np
import pytest

import pipelines
from ctt_keras import zoo
from ctt_keras.losses import L1L2Loss
from ctt_keras.models import EarlyActivityRecognizer

SSV2 = ["ssv2_convttlstm", "ssv2_convlstm"]
# EarlyActivityRecognizer's documented defaults (its docstring), which the presets must be.
DOCUMENTED = dict(frame_shape=(64, 64, 3), num_classes=41, encoder_channels=(32, 64),
                  layers_per_block=(2, 2, 2, 2), hidden_channels=(32, 48, 48, 32), skip_stride=2,
                  kernel_size=(5, 5), order=3, steps=3, rank=8, classifier_channels=(64, 128),
                  output_sigmoid=True, context_frames=10, future_frames=10)


@pytest.mark.parametrize("name, cell", [("ssv2_convttlstm", "convttlstm"), ("ssv2_convlstm", "convlstm")])
def test_preset_is_the_documented_recognizer(name, cell):
    model = zoo.load(name, weights=False)
    assert type(model) is EarlyActivityRecognizer
    config = model.get_config()
    assert {k: config[k] for k in DOCUMENTED} == DOCUMENTED
    assert config["cell"] == cell and len(model.cells) == 8
    # The class defaults are the preset: nothing else differs.
    assert config == EarlyActivityRecognizer(cell=cell, name=name).get_config()


def test_recognize_gives_41_logits_and_the_predicted_frames():
    model = zoo.load("ssv2_convttlstm", weights=False)
    clip = np.random.default_rng(0).random((1, 20, 64, 64, 3), dtype=np.float32)  # 10 observed + 10 future
    out = model.recognize(clip[:, :10])
    assert tuple(out["logits"].shape) == (1, 41)
    assert tuple(out["frames"].shape) == (1, 10, 64, 64, 3)
    frames = out["frames"].numpy()
    assert np.all(np.isfinite(out["logits"].numpy())) and frames.min() >= 0 and frames.max() <= 1  # sigmoid
    # The preset's clip layout (10 -> 10) is what evaluation reads: the same logits from the whole clip.
    evaluated = model(clip)
    np.testing.assert_allclose(evaluated["logits"].numpy(), out["logits"].numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", SSV2)
def test_no_weights_message_says_why_and_what_to_do(name):
    with pytest.raises(FileNotFoundError) as error:
        zoo.load(name)
    message = str(error.value)
    assert f"no weights available for preset {name!r}" in message
    assert "weights=False" in message
    assert "Something-Something V2 is licence-gated" in message
    assert zoo.info(name)["weights_status"].startswith("unavailable")


def test_compile_uses_the_recognition_objective():
    model = zoo.load("ssv2_convlstm", weights=False, compile=True)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    config = model.get_compile_config()
    assert config["loss_weights"] == {"frames": 10.0, "logits": 1.0}
    assert config["loss"]["frames"]["class_name"] == L1L2Loss.__name__
    assert config["loss"]["logits"]["class_name"] == "SparseCategoricalCrossentropy"
    assert config["loss"]["logits"]["config"]["from_logits"] is True
    assert [m["config"]["name"] for m in config["metrics"]["logits"]] == ["accuracy", "top5_accuracy"]


@pytest.mark.parametrize("name", SSV2)
def test_metadata_records_the_data_the_choices_and_no_metrics(name):
    info = zoo.info(name)
    assert "Something-Something V2" in info["dataset"] and "RECONSTRUCTION" in info["dataset"]
    assert "'Putting' classes are a guess" in info["dataset"]
    classes = info["classes"]
    assert classes["reconstruction"] is True and classes["note"] == pipelines.ssv2.SUBSET_41_NOTE
    assert classes["ssv2_ids"] == list(pipelines.ssv2.SUBSET_41_IDS) and classes["num_classes"] == 41
    clips = info["clips"]
    assert (clips["num_frames"], clips["observed_fraction"]) == (40, 0.25)
    assert info["frame_shape"] == [64, 64, 3] and clips["frame_size"] == [64, 64]
    observed = pipelines.ssv2.context_frames(clips["observed_fraction"], clips["num_frames"])
    assert observed == info["context_frames"] == clips["context_frames"] == 10
    assert info["future_frames"] == clips["future_frames"] == 10
    assert info["loss"]["prediction_weight"] == 10.0
    assert "eight recurrent layers" in info["paper_outline"] and "ctt_keras's choices" in info["source"]
    # No weights and no numbers: nothing was trained or measured, and the paper's accuracies are not copied.
    assert info["metrics"] == [] and "reference_metrics" not in info and info["weights_sha256"] is None
    assert info["license"] == "Apache-2.0 (configuration; no weights)"
    assert not (zoo.BUILTIN_DIR / name / zoo.WEIGHTS_FILE).exists()
    card = (zoo.BUILTIN_DIR / name / zoo.MODEL_CARD_FILE).read_text()
    assert "model.recognize(context)" in card and "predict_frames" not in card
    assert "| classes | 41: a reconstruction" in card
