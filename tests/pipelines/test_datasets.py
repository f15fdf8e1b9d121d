"""The dataset table and the surface every dataset module exposes (`ctt_keras.pipelines.datasets`)."""

import numpy as np
import pytest
import tensorflow as tf

from ctt_keras.pipelines import datasets, kth, moving_mnist, ssv2
from ctt_keras.training import run_config

CONFIG = {"dataset": "moving_mnist", "data_dir": None, "image_size": None, "seed": 3, "context_frames": 2,
          "future_frames": 3, "validation_sequences": 0}


@pytest.mark.parametrize("name", datasets.names())
def test_every_dataset_module_has_the_whole_surface(name):
    module = datasets.get(name)
    assert module.TASK in datasets.TASKS
    assert isinstance(module.DEFAULT_IMAGE_SIZE, int) and module.DEFAULT_IMAGE_SIZE > 0
    assert all(isinstance(option, datasets.Option) for option in module.OPTIONS)
    assert set(module.RECIPES) <= set(run_config.RECIPES)
    assert module.TEST_SPLIT in ("test", "validation")
    for function in ("validate", "derive", "frame_shape", "clips", "metadata", "options_from_metadata"):
        assert callable(getattr(module, function)), function
    if module.TASK == "recognition":
        for function in ("num_classes", "classes", "class_names", "class_groups"):
            assert callable(getattr(module, function)), function


def test_the_table_is_the_only_list_and_names_unknown_datasets():
    assert datasets.names() == ("moving_mnist", "kth", "ssv2")
    assert datasets.get("kth") is kth
    with pytest.raises(ValueError, match="unknown dataset 'ucf101'; known: moving_mnist, kth, ssv2"):
        datasets.get("ucf101")
    assert {name: owner for name, (owner, _) in datasets.options().items()} == {
        "observed_fraction": "ssv2", "num_frames": "ssv2", "classes": "ssv2", "manual_dir": "ssv2"}


def test_import_pipelines_from_a_checkout_is_the_same_package():
    import pipelines
    from pipelines import moving_mnist as old_name

    from ctt_keras import pipelines as new_name

    assert pipelines is new_name and old_name is moving_mnist


def test_moving_mnist_clips_are_the_generator_sequences():
    config = dict(CONFIG)
    assert moving_mnist.frame_shape(config) == (64, 64, 1)
    got = next(iter(moving_mnist.clips(config, "test", 5))).numpy()
    expected = next(iter(moving_mnist.load("test", sequence_length=5, seed=3))).numpy()
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="--image-size 20 is too small for generated Moving-MNIST"):
        moving_mnist.validate(dict(config, image_size=20))


def test_endless_streams_report_infinite_cardinality():
    # Before: the generated train stream reported UNKNOWN, so Keras could not tell it never ends.
    assert moving_mnist.load("train", seed=0).cardinality() == tf.data.INFINITE_CARDINALITY
    assert moving_mnist.clips(dict(CONFIG), "train", 5).cardinality() == tf.data.INFINITE_CARDINALITY
    assert moving_mnist.load("test", num_sequences=7).cardinality() == 7


def test_moving_mnist_files_need_the_splits_read(tmp_path):
    np.savez(tmp_path / "test.npz", data=np.zeros((4, 6, 8, 8, 1), np.uint8))
    config = dict(CONFIG, data_dir=str(tmp_path))
    moving_mnist.validate(config, ("test",))
    with pytest.raises(FileNotFoundError, match="no train file"):
        moving_mnist.validate(config, ("train",))
    assert next(iter(moving_mnist.clips(config, "test", 5))).shape == (5, 8, 8, 1)
    with pytest.raises(ValueError, match="6 frames; --context-frames \\+ --future-frames needs 7"):
        moving_mnist.clips(config, "test", 7)


def test_kth_needs_its_data_dir():
    with pytest.raises(ValueError, match="--dataset kth needs --data-dir"):
        kth.validate(dict(CONFIG, dataset="kth"))
    assert kth.frame_shape(dict(CONFIG, dataset="kth")) == (128, 128, 1)


def test_ssv2_settings_derive_the_context_and_accept_class_id_0():
    config = dict(CONFIG, dataset="ssv2", observed_fraction=0.5, num_frames=8, classes="0,16",
                  manual_dir=None, image_size=16)
    assert ssv2.derive(config) == {"context_frames": ssv2.context_frames(0.5, 8)} == {"context_frames": 4}
    # SSv2 id 0 ("Approaching something with your camera") is a class; it used to be refused.
    assert ssv2.builder_config(config).class_ids == (0, 16) and ssv2.num_classes(config) == 2
    with pytest.raises(ValueError, match="--classes must be distinct SSv2 ids in 0..173"):
        ssv2.builder_config(dict(config, classes="16,174"))
    assert ssv2.frame_shape(config) == (16, 16, 3)
    stored = {"classes": [{"label": 0, "ssv2_id": 0, "template": "a"}, {"label": 1, "ssv2_id": 16,
                                                                          "template": "b"}],
              "observed_fraction": 0.5, "num_frames": 8}
    assert ssv2.options_from_metadata(stored) == {"classes": "0,16", "observed_fraction": 0.5,
                                                  "num_frames": 8}
    assert ssv2.class_names(stored["classes"]) == ["a", "b"]
