"""Architecture keys and checks come from the networks themselves (`ctt_keras.training.architecture`)."""

import pytest

from ctt_keras.models import EarlyActivityRecognizer, VideoPredictor
from ctt_keras.training import architecture, run_config

TINY = dict(layers_per_block=(1,), hidden_channels=(2,), kernel_size=3, rank=2, skip_stride=None)


@pytest.mark.parametrize("model_class, kwargs", [
    (VideoPredictor, dict(TINY, patch_size=2)),
    (EarlyActivityRecognizer, dict(TINY, num_classes=3, encoder_channels=(2,), classifier_channels=())),
])
def test_keys_are_the_models_own_and_rebuild_it(model_class, kwargs):
    model = model_class((8, 8, 3), **kwargs)
    keys = architecture.architecture_keys(model_class)
    config = model.get_config()
    # `cell_options` is stored only when set (the shipped presets' config.json stay as they were).
    assert set(keys) - set(config) <= {"cell_options"}
    assert not set(keys) & set(architecture.RUN_ARGUMENTS)
    # The architecture alone (plus the run's frame shape) rebuilds the same network.
    again = model_class((8, 8, 3), **architecture.architecture_of(model))
    assert architecture.architecture_of(again) == architecture.architecture_of(model)
    assert {k: v for k, v in again.get_config().items() if k != "name"} == {
        k: v for k, v in config.items() if k != "name"}
    assert [w.shape for w in again.weights] == [w.shape for w in model.weights]


def test_flags_are_parsed_by_the_type_of_the_models_defaults():
    flags = {"model": "convlstm", "layers_per_block": "1,2", "hidden_channels": "4,4", "skip_stride": "none",
             "kernel_size": 3, "classifier_channels": "none", "encoder_channels": "8,16", "batch_size": 8}
    assert architecture.from_flags(VideoPredictor, flags) == {
        "cell": "convlstm", "layers_per_block": (1, 2), "hidden_channels": (4, 4), "skip_stride": None,
        "kernel_size": 3}
    assert architecture.from_flags(EarlyActivityRecognizer, flags)["classifier_channels"] == ()
    with pytest.raises(ValueError, match="--skip-stride must be a positive int or none, got 'x'"):
        architecture.from_flags(VideoPredictor, {"skip_stride": "x"})
    with pytest.raises(ValueError, match="--hidden-channels must be comma-separated ints"):
        architecture.from_flags(VideoPredictor, {"hidden_channels": "4;4"})


def test_the_models_messages_name_the_flags():
    with pytest.raises(ValueError) as error:
        VideoPredictor((8, 8, 1), **dict(TINY, kernel_size=4))
    keys = architecture.architecture_keys(VideoPredictor)
    assert architecture.flag_message(str(error.value), keys).startswith("--kernel-size must be odd")
    with pytest.raises(ValueError) as error:
        EarlyActivityRecognizer((18, 18, 3), **TINY, encoder_channels=(2, 4))
    made_by_flag = {"`frame_shape` (18, 18, 3)": "--image-size 18"}
    message = architecture.flag_message(str(error.value), keys, made_by_flag)
    assert message.startswith("--image-size 18 must be divisible by 4")


def test_flags_of_the_other_network_do_not_apply(tmp_path):
    with pytest.raises(run_config.ConfigError,
                       match="--encoder-channels does not apply to --dataset moving_mnist"):
        run_config.resolve({"encoder_channels": "8,8", "logdir": str(tmp_path)})
    with pytest.raises(run_config.ConfigError, match="--prediction-weight apply to --dataset ssv2 only"):
        run_config.resolve({"prediction_weight": 3.0, "logdir": str(tmp_path)})
    # A value equal to the default is no request for the part.
    assert run_config.resolve({"patch_size": 1, "logdir": str(tmp_path)})["patch_size"] == 1
