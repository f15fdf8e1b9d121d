"""SSIM against scikit-image for both windows and data ranges 1 and 2."""

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from ctt_keras.metrics import ssim

_SKIMAGE_OPTIONS = {
    "uniform": {},
    "gaussian": {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False},
}


def _reference(a, b, data_range, window):
    return [
        structural_similarity(a[i], b[i], data_range=data_range, channel_axis=-1, **_SKIMAGE_OPTIONS[window])
        for i in range(a.shape[0])
    ]


def _moving_digits_like(shape, seed):
    """Mostly-black frames with bright blobs, like Moving-MNIST (stresses variance cancellation)."""
    rng = np.random.default_rng(seed)
    x = np.zeros(shape, np.float32)
    x[..., 10:30, 12:28, :] = rng.random(x[..., 10:30, 12:28, :].shape)
    return x


@pytest.mark.parametrize("window", ["uniform", "gaussian"])
@pytest.mark.parametrize("data_range", [1.0, 2.0])
@pytest.mark.parametrize("channels", [1, 3])
def test_matches_scikit_image(window, data_range, channels):
    rng = np.random.default_rng(channels)
    a = rng.random((3, 33, 40, channels), dtype=np.float32)
    b = np.clip(a + 0.15 * rng.standard_normal(a.shape), 0, 1).astype(np.float32)
    b[2] = _moving_digits_like(b[2].shape, 1)
    a[2] = _moving_digits_like(a[2].shape, 2)
    expected = _reference(a, b, data_range, window)
    np.testing.assert_allclose(ssim(a, b, data_range, window), expected, atol=1e-4)


def test_gray_frames_match_two_dimensional_scikit_image():
    a = _moving_digits_like((2, 64, 64, 1), 3)
    b = _moving_digits_like((2, 64, 64, 1), 4)
    expected = [structural_similarity(a[i, ..., 0], b[i, ..., 0], data_range=2.0) for i in range(2)]
    np.testing.assert_allclose(ssim(a, b, data_range=2.0), expected, atol=1e-4)


def test_sequences_and_identity():
    rng = np.random.default_rng(5)
    a = rng.random((2, 3, 16, 16, 1), dtype=np.float32)
    b = rng.random((2, 3, 16, 16, 1), dtype=np.float32)
    values = np.asarray(ssim(a, b))
    assert values.shape == (2, 3)
    np.testing.assert_allclose(values[1], _reference(a[1], b[1], 1.0, "uniform"), atol=1e-4)
    np.testing.assert_allclose(ssim(a, a), np.ones((2, 3)), atol=1e-6)


def test_nan_is_reported():
    a = _moving_digits_like((2, 16, 16, 1), 0)
    b = a.copy()
    a[0, 5, 5, 0] = np.nan
    values = np.asarray(ssim(a, b))
    assert np.isnan(values[0]) and values[1] == pytest.approx(1.0)


def test_bad_inputs_raise():
    a = np.zeros((1, 16, 16, 1), np.float32)
    with pytest.raises(ValueError, match="window"):
        ssim(a, a, window="box")
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(a[:, :10], a[:, :10], window="gaussian")
    with pytest.raises(ValueError, match="same dtype"):
        ssim(a, a.astype(np.float16))
    with pytest.raises(ValueError, match="data_range"):
        ssim(a, a, data_range=-1)
