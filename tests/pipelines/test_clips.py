"""Clip windows, resizing and (context, future) splitting."""

import numpy as np
import pytest
import tensorflow as tf

from pipelines import clips


@pytest.mark.parametrize("n, length, stride, expected", [
    (45, 20, 20, [0, 20]), (40, 20, 20, [0, 20]), (39, 20, 20, [0]), (19, 20, 1, []),
    (23, 20, 1, [0, 1, 2, 3]), (30, 10, 7, [0, 7, 14])])
def test_window_starts(n, length, stride, expected):
    np.testing.assert_array_equal(clips.window_starts(n, length, stride), expected)


def test_windows_cut_the_right_frames():
    video = tf.reshape(tf.range(12, dtype=tf.float32), [12, 1, 1, 1])
    got = [c[:, 0, 0, 0].numpy().tolist() for c in clips.windows(video, 5, 3)]
    assert got == [[0, 1, 2, 3, 4], [3, 4, 5, 6, 7], [6, 7, 8, 9, 10]]


def test_resize_averages_and_scales():
    frames = tf.constant(np.tile(np.array([0, 255], np.uint8), 8).reshape(1, 4, 4, 1))
    got = clips.resize_frames(frames, (2, 2)).numpy()
    # Antialiased 2x downscale = triangle kernel of radius 2 source pixels, renormalised at the border:
    # output 0 sees columns (0, 1, 2) = (0, 1, 0) with weights (3/4, 3/4, 1/4) -> 3/7; output 1 -> 4/7.
    np.testing.assert_allclose(got[0, :, :, 0], [[3 / 7, 4 / 7], [3 / 7, 4 / 7]], atol=1e-6)
    same = clips.resize_frames(frames, None).numpy()
    np.testing.assert_array_equal(same, frames.numpy() / 255.0)


def test_split_context_clips_and_labelled_clips():
    data = np.arange(2 * 6, dtype=np.float32).reshape(2, 6, 1, 1, 1)
    pairs = list(clips.split_context(tf.data.Dataset.from_tensor_slices(data), 4))
    np.testing.assert_array_equal(pairs[1][0].numpy().ravel(), [6, 7, 8, 9])
    np.testing.assert_array_equal(pairs[1][1].numpy().ravel(), [10, 11])
    labelled = tf.data.Dataset.from_tensor_slices((data, np.array([3, 5])))
    triples = list(clips.split_context(labelled, 2))
    assert [t[2].numpy() for t in triples] == [3, 5]
    np.testing.assert_array_equal(triples[0][1].numpy().ravel(), [2, 3, 4, 5])
    with pytest.raises(ValueError, match="context_frames"):
        clips.split_context(tf.data.Dataset.from_tensor_slices(data), 6)


def test_repeat_shuffled_is_one_stream_for_every_iterator():
    from pipelines import clips

    tf.random.set_seed(1)  # as keras.utils.set_random_seed in a training run
    stream = clips.repeat_shuffled(tf.data.Dataset.range(10), seed=3, buffer_size=10)
    first = [int(v) for v in stream.take(40)]
    again = [int(v) for v in stream.take(40)]
    assert first == again  # a new iterator replays the same stream
    assert set(first[:15]) == set(range(10)) and first[:10] != list(range(10))
    assert first[10:20] != first[:10]  # later passes in other orders
    other = [int(v) for v in clips.repeat_shuffled(tf.data.Dataset.range(10), seed=4, buffer_size=10).take(40)]
    assert other != first
    with pytest.raises(ValueError, match="buffer_size"):
        clips.repeat_shuffled(tf.data.Dataset.range(3), seed=0, buffer_size=0)
