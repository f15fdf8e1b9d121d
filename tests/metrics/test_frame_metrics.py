"""MSE, MAE, PSNR: closed-form cases, scikit-image, sequences, bad inputs."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from ctt_keras.metrics import mae, mse, psnr


def _pair(shape, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random(shape, dtype=np.float32)
    b = np.clip(a + 0.1 * rng.standard_normal(shape), 0, 1).astype(np.float32)
    return a, b


def test_closed_form_values():
    a = np.zeros((2, 4, 5, 3), np.float32)
    b = np.stack([np.full((4, 5, 3), 0.5), np.full((4, 5, 3), -0.1)]).astype(np.float32)
    np.testing.assert_allclose(mse(a, b), [0.25, 0.01], rtol=1e-6)
    np.testing.assert_allclose(mae(a, b), [0.5, 0.1], rtol=1e-6)
    np.testing.assert_allclose(mse(a, b, reduction="sum"), [0.25 * 60, 0.01 * 60], rtol=1e-6)
    np.testing.assert_allclose(mae(a, b, reduction="sum"), [30.0, 6.0], rtol=1e-6)
    np.testing.assert_allclose(psnr(a, b), [10 * np.log10(4.0), 20.0], rtol=1e-6)
    np.testing.assert_allclose(psnr(a, b, data_range=2.0), [10 * np.log10(16.0), 10 * np.log10(400.0)],
                               rtol=1e-6)


@pytest.mark.parametrize("data_range", [1.0, 2.0])
def test_psnr_matches_scikit_image(data_range):
    a, b = _pair((4, 16, 16, 3))
    expected = [peak_signal_noise_ratio(a[i], b[i], data_range=data_range) for i in range(4)]
    np.testing.assert_allclose(psnr(a, b, data_range=data_range), expected, atol=1e-4)


def test_sequences_give_per_frame_values():
    a, b = _pair((2, 3, 8, 8, 1))
    per_frame = np.asarray(mse(a, b))
    assert per_frame.shape == (2, 3)
    expected = ((a - b) ** 2).reshape(2, 3, -1).mean(-1)
    np.testing.assert_allclose(per_frame, expected, rtol=1e-5)
    np.testing.assert_allclose(mae(a, b), np.abs(a - b).reshape(2, 3, -1).mean(-1), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(psnr(a, b))[1, 2], psnr(a[1], b[1])[2], rtol=1e-6)


def test_identical_frames_give_infinite_psnr():
    a, _ = _pair((1, 8, 8, 1))
    assert np.isposinf(np.asarray(psnr(a, a))[0])


def test_nan_predictions_give_nan_for_that_frame_only():
    a, b = _pair((3, 8, 8, 1))
    a[1, 2, 3, 0] = np.nan
    for fn in (mse, mae, psnr):
        values = np.asarray(fn(a, b))
        assert np.isnan(values[1]) and np.isfinite(values[[0, 2]]).all(), fn.__name__


def test_integer_frames_are_accepted():
    a = np.zeros((1, 4, 4, 1), np.uint8)
    b = np.full((1, 4, 4, 1), 255, np.uint8)
    np.testing.assert_allclose(mse(a, b), [255.0**2])  # no uint8 wrap-around
    np.testing.assert_allclose(psnr(a, b, data_range=255), [0.0], atol=1e-6)


@pytest.mark.parametrize("fn", [mse, mae, psnr])
def test_bad_inputs_raise(fn):
    a, b = _pair((2, 8, 8, 1))
    with pytest.raises(ValueError, match="same shape"):
        fn(a, b[:, :7])
    with pytest.raises(ValueError, match="same dtype"):
        fn(a, b.astype(np.float64))
    with pytest.raises(ValueError, match=r"\[B, H, W, C\]"):
        fn(a[0], b[0])


def test_bad_arguments_raise():
    a, b = _pair((1, 8, 8, 1))
    with pytest.raises(ValueError, match="reduction"):
        mse(a, b, reduction="median")
    with pytest.raises(ValueError, match="data_range"):
        psnr(a, b, data_range=0)
