"""VideoPredictor(patch_size=p): space-to-depth before the cells, depth-to-space after the head."""

import numpy as np
import pytest
import tensorflow as tf

from ctt_keras.models import VideoPredictor

ARCH = dict(layers_per_block=(1, 1), hidden_channels=(8, 8), skip_stride=None, kernel_size=3, rank=2, context_frames=2)


def _clip(shape, seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def test_fold_and_unfold_match_tensorflow_space_to_depth():
    model = VideoPredictor((16, 24, 2), patch_size=4, **ARCH)
    frame = _clip((3, 16, 24, 2))
    folded = np.asarray(model._fold_patches(frame))
    np.testing.assert_array_equal(folded, tf.nn.space_to_depth(frame, 4).numpy())
    np.testing.assert_array_equal(np.asarray(model._unfold_patches(folded)), frame)


@pytest.mark.parametrize("cell", ["convttlstm", "convlstm"])
def test_patch_network_is_a_small_grid_network_between_space_to_depth_and_depth_to_space(cell):
    # Reference: the same weights in a patch_size=1 network on the folded (4x4 grid, 16-channel) frames.
    patched = VideoPredictor((16, 16, 1), cell=cell, patch_size=4, **dict(ARCH, context_frames=3))
    small = VideoPredictor((4, 4, 16), cell=cell, patch_size=1, **dict(ARCH, context_frames=3))
    assert patched.count_params() == small.count_params()
    small.set_weights(patched.get_weights())
    clip = _clip((2, 6, 16, 16, 1), seed=1)
    folded = tf.reshape(tf.nn.space_to_depth(tf.reshape(clip, (-1, 16, 16, 1)), 4), (2, 6, 4, 4, 16)).numpy()

    def unfold(x):
        t = x.shape[1]
        return tf.reshape(tf.nn.depth_to_space(tf.reshape(x, (-1, 4, 4, 16)), 4), (2, t, 16, 16, 1)).numpy()

    np.testing.assert_allclose(np.asarray(patched(clip)), unfold(np.asarray(small(folded))), atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(patched.predict_frames(clip[:, :3], 4)),
        unfold(np.asarray(small.predict_frames(folded[:, :3], 4))),
        atol=1e-6,
    )


def test_patch_size_shrinks_the_grid_and_the_work():
    one = VideoPredictor((16, 16, 1), **ARCH)
    four = VideoPredictor((16, 16, 1), patch_size=4, **ARCH)
    assert four.stack_input_shape == (4, 4, 16)
    out = four(_clip((2, 5, 16, 16, 1)), training=True)
    assert tuple(out.shape) == (2, 4, 16, 16, 1)
    # Cells and head on a 16x smaller grid; only the first cell's input and the head grow 16x in channels.
    assert four.multiply_accumulates_per_step() < one.multiply_accumulates_per_step() / 4


def test_patch_size_one_is_the_default_network():
    default = VideoPredictor((8, 8, 1), seed=3, **ARCH)
    explicit = VideoPredictor((8, 8, 1), seed=3, patch_size=1, **ARCH)
    explicit.set_weights(default.get_weights())
    clip = _clip((1, 4, 8, 8, 1))
    np.testing.assert_array_equal(np.asarray(default(clip)), np.asarray(explicit(clip)))
    assert [w.shape for w in default.weights] == [w.shape for w in explicit.weights]


def test_patch_size_round_trips_through_config_and_keras_file(tmp_path):
    model = VideoPredictor((16, 16, 1), patch_size=2, **ARCH)
    assert model.get_config()["patch_size"] == 2
    path = str(tmp_path / "m.keras")
    model.save(path)
    import keras

    loaded = keras.saving.load_model(path)
    assert loaded.patch_size == 2
    clip = _clip((1, 4, 16, 16, 1))
    np.testing.assert_allclose(np.asarray(loaded(clip)), np.asarray(model(clip)), atol=1e-6)


@pytest.mark.parametrize("patch", [0, -2, 2.0, True])
def test_bad_patch_size_is_named(patch):
    with pytest.raises(ValueError, match="patch_size"):
        VideoPredictor((16, 16, 1), patch_size=patch, **ARCH)


def test_patch_size_must_divide_the_frame():
    with pytest.raises(ValueError, match=r"patch_size.*divide.*\(18, 16, 1\)"):
        VideoPredictor((18, 16, 1), patch_size=4, **ARCH)
