"""Moving-MNIST generator: trajectories, rendering, splits and determinism."""

import hashlib
import math

import numpy as np
import pytest

from pipelines import mnist_digits, moving_mnist


def _simulate_bounce(start, velocity, steps, free_range):
    # Independent reference: step-by-step integration that flips the velocity at a wall.
    pos, vel, out = np.array(start, float), np.array(velocity, float), []
    for _ in range(steps):
        out.append(pos.copy())
        pos = pos + vel
        for axis in range(2):
            if pos[axis] > free_range:
                pos[axis], vel[axis] = 2 * free_range - pos[axis], -vel[axis]
            elif pos[axis] < 0:
                pos[axis], vel[axis] = -pos[axis], -vel[axis]
    return np.array(out)


def test_bounce_closed_form():
    got = moving_mnist.bounce(np.array([-1.0, 0.0, 10.0, 36.0, 37.0, 72.0, 80.0, 108.5]), 36.0)
    np.testing.assert_allclose(got, [1.0, 0.0, 10.0, 36.0, 35.0, 0.0, 8.0, 35.5])


def test_trajectories_match_step_by_step_bouncing():
    n, d, t = 6, 2, 40
    offsets = moving_mnist.sample_trajectories(np.random.default_rng(7), n, d, t)
    rng = np.random.default_rng(7)  # redraw the same numbers in the documented order
    start = rng.uniform(0.0, 36.0, size=(n, d, 2))
    theta = rng.uniform(0.0, 2 * math.pi, size=(n, d))
    for i in range(n):
        for j in range(d):
            velocity = 3.6 * np.array([math.sin(theta[i, j]), math.cos(theta[i, j])])
            expected = np.rint(_simulate_bounce(start[i, j], velocity, t, 36.0))
            np.testing.assert_array_equal(offsets[i, j], expected)
    assert offsets.min() >= 0 and offsets.max() <= 36


def test_speed_is_a_tenth_of_the_free_range():
    offsets = moving_mnist.sample_trajectories(np.random.default_rng(0), 200, 1, 2, image_size=100)
    # Unrounded displacement is 7.2 px; rounding each end moves it by at most 1 px in norm per axis.
    step = np.linalg.norm((offsets[:, 0, 1] - offsets[:, 0, 0]).astype(float), axis=-1)
    interior = np.all((offsets[:, 0] > 8) & (offsets[:, 0] < 64), axis=(1, 2))
    assert interior.sum() > 50
    assert np.all(np.abs(step[interior] - 7.2) <= math.sqrt(2))


def test_render_closed_form_and_pixelwise_maximum():
    digits = np.zeros((2, 28, 28), np.uint8)
    digits[0] = 100
    digits[1, :14] = 200  # upper half only
    offsets = np.array([[[[0, 0], [10, 5]], [[0, 0], [36, 36]]]])  # [1 seq, 2 digits, 2 frames, 2]
    frames = moving_mnist.render(digits, np.array([[0, 1]]), offsets)
    assert frames.shape == (1, 2, 64, 64) and frames.dtype == np.uint8
    first = np.zeros((64, 64), np.uint8)
    first[:28, :28] = 100
    first[:14, :28] = 200  # maximum of 100 and 200 where they overlap
    np.testing.assert_array_equal(frames[0, 0], first)
    second = np.zeros((64, 64), np.uint8)
    second[10:38, 5:33] = 100
    second[36:50, 36:64] = 200
    np.testing.assert_array_equal(frames[0, 1], second)


def test_render_matches_scatter_implementation():
    digits = mnist_digits.load_digits("test")[:50]
    rng = np.random.default_rng(3)
    indices = rng.integers(0, 50, size=(5, 3))
    offsets = moving_mnist.sample_trajectories(rng, 5, 3, 12)
    expected = np.zeros((5, 12, 64, 64), np.uint8)
    for i in range(5):
        for j in range(3):
            for t in range(12):
                r, c = offsets[i, j, t]
                region = expected[i, t, r:r + 28, c:c + 28]
                expected[i, t, r:r + 28, c:c + 28] = np.where(digits[indices[i, j]] > region,
                                                              digits[indices[i, j]], region)
    np.testing.assert_array_equal(moving_mnist.render(digits, indices, offsets), expected)


def test_bundled_digits_have_canonical_md5():
    # The canonical md5s of the uncompressed original IDX files.
    for split, md5 in (("train", "6bbc9ace898e44ae57da46a324031adb"),
                       ("test", "2646ac647ad5339dbf082846283269ea")):
        images = mnist_digits.load_digits(split)
        header = (b"\x00\x00\x08\x03" + len(images).to_bytes(4, "big")
                  + (28).to_bytes(4, "big") + (28).to_bytes(4, "big"))
        assert hashlib.md5(header + images.tobytes()).hexdigest() == md5


def test_digits_from_uncompressed_folder(tmp_path):
    images = mnist_digits.load_digits("test")[:3]
    header = b"\x00\x00\x08\x03" + (3).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(header + images.tobytes())
    np.testing.assert_array_equal(mnist_digits.load_digits("test", source=tmp_path), images)


def test_digit_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        mnist_digits.load_digits("test", source=tmp_path / "no_such_dir")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        mnist_digits.load_digits("test", source=tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 20)
    with pytest.raises(ValueError, match="IDX3"):
        mnist_digits.load_digits("test", source=tmp_path)
    header = b"\x00\x00\x08\x03" + (3).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(header + b"\x00" * 100)
    with pytest.raises(ValueError, match="needs"):
        mnist_digits.load_digits("test", source=tmp_path)
    with pytest.raises(ValueError, match="split"):
        mnist_digits.load_digits("validation")


def _take(dataset, n):
    return np.stack([x for x in dataset.take(n).as_numpy_iterator()])


def test_train_stream_is_the_seeded_generator():
    got = _take(moving_mnist.load("train", seed=5), 3)
    assert got.shape == (3, 20, 64, 64, 1) and got.dtype == np.float32
    digits = mnist_digits.load_digits("train")
    # The stream renders chunks of parameters drawn from default_rng([seed, 0]).
    expected = moving_mnist.generate(digits, moving_mnist._CHUNK, np.random.default_rng([5, 0]))[:3]
    np.testing.assert_array_equal(got[..., 0], expected.astype(np.float32) / 255.0)
    assert got.max() == 1.0 and got.min() == 0.0
    np.testing.assert_array_equal(_take(moving_mnist.load("train", seed=5), 3), got)
    assert not np.array_equal(_take(moving_mnist.load("train", seed=6), 3), got)


def test_fixed_splits_are_deterministic_and_distinct():
    test = moving_mnist.load("test", seed=1, num_sequences=70, sequence_length=4, num_digits=1)
    assert int(test.cardinality()) == 70
    a = _take(test, 70)
    assert a.shape == (70, 4, 64, 64, 1)
    np.testing.assert_array_equal(_take(test, 70), a)  # re-iterating gives the same data
    again = moving_mnist.load("test", seed=1, num_sequences=70, sequence_length=4, num_digits=1)
    np.testing.assert_array_equal(_take(again, 70), a)
    val = moving_mnist.load("validation", seed=1, num_sequences=70, sequence_length=4, num_digits=1)
    assert not np.array_equal(_take(val, 70), a)
    # Test sequences come from the MNIST test digits and the random stream of [seed, 2].
    digits = mnist_digits.load_digits("test")
    expected = moving_mnist.generate(digits, 70, np.random.default_rng([1, 2]), 4, 1)
    np.testing.assert_array_equal(a[..., 0], expected.astype(np.float32) / 255.0)


def test_shuffled_fixed_split_is_a_permutation():
    kwargs = dict(seed=2, num_sequences=130, sequence_length=3)
    plain = _take(moving_mnist.load("validation", **kwargs), 130)
    shuffled = _take(moving_mnist.load("validation", shuffle=True, **kwargs), 130)
    assert not np.array_equal(plain, shuffled)
    key = lambda x: x.reshape(130, -1).sum(axis=1)  # noqa: E731
    np.testing.assert_allclose(np.sort(key(plain)), np.sort(key(shuffled)), rtol=1e-6)
    np.testing.assert_array_equal(
        _take(moving_mnist.load("validation", shuffle=True, **kwargs), 130), shuffled)


def test_default_test_split_has_ten_thousand_sequences():
    assert int(moving_mnist.load("test").cardinality()) == 10000


@pytest.mark.parametrize("kwargs, match", [
    (dict(split="valid"), "split"),
    (dict(split="train", num_sequences=10), "num_sequences"),
    (dict(split="test", sequence_length=0), "sequence_length"),
    (dict(split="test", num_digits=0), "num_digits"),
    (dict(split="test", image_size=20), "image_size"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        moving_mnist.load(**kwargs)


def test_keras_source_picks_the_right_split(monkeypatch):
    import keras

    train = np.full((4, 28, 28), 7, np.uint8)
    test = np.full((3, 28, 28), 9, np.uint8)
    monkeypatch.setattr(keras.datasets.mnist, "load_data",
                        lambda: ((train, np.zeros(4)), (test, np.zeros(3))))  # no download in tests
    np.testing.assert_array_equal(mnist_digits.load_digits("train", source="keras"), train)
    got = _take(moving_mnist.load("test", num_sequences=2, sequence_length=2, source="keras"), 2)
    assert set(np.unique(np.rint(got * 255))) == {0.0, 9.0}
