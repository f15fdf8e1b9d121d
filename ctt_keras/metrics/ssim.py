"""Structural similarity (SSIM) per frame, matching scikit-image for two window conventions."""

import numpy as np
from keras import ops

from ctt_keras.metrics._inputs import check_pair, check_positive, fold

# name -> (window size, whether the variances use the sample (N - 1) normalisation)
_WINDOWS = {
    # scikit-image's default: 7x7 uniform window, sample covariance.
    "uniform": (7, True),
    # Wang et al. 2004 / tf.image.ssim: 11x11 Gaussian, sigma 1.5, population covariance.
    "gaussian": (11, False),
}


def _window_1d(window):
    size, _ = _WINDOWS[window]
    if window == "uniform":
        taps = np.ones(size)
    else:
        # scikit-image: sigma 1.5 truncated at 3.5 sigma -> radius 5 -> 11 taps.
        radius = size // 2
        x = np.arange(-radius, radius + 1, dtype=np.float64)
        taps = np.exp(-0.5 * (x / 1.5) ** 2)
    return taps / taps.sum()


def _separable_filter(x, taps):
    """Valid 2-D filtering of every channel of `x` `[N, H, W, C]` with the outer product of `taps`."""
    channels = x.shape[-1]
    size = taps.shape[0]
    rows = np.tile(taps.reshape(size, 1, 1, 1), (1, 1, channels, 1)).astype("float32")
    cols = np.tile(taps.reshape(1, size, 1, 1), (1, 1, channels, 1)).astype("float32")
    x = ops.depthwise_conv(x, ops.cast(rows, x.dtype), padding="valid")
    return ops.depthwise_conv(x, ops.cast(cols, x.dtype), padding="valid")


def ssim(a, b, data_range=1.0, window="uniform", k1=0.01, k2=0.03):
    """Mean structural similarity of each frame (as `skimage.metrics.structural_similarity`).

    The local statistics are computed over every full window position (scikit-image
    crops the `(size - 1) // 2` border before averaging, which is the same thing),
    then averaged over the positions and the channels of each frame.

    Args:
        a: predictions, `[B, H, W, C]` frames or `[B, T, H, W, C]` sequences;
            `H` and `W` must be at least the window size.
        b: targets, same shape and dtype as `a`.
        data_range: the span of possible pixel values (1 for [0, 1] images; the
            official Conv-TT-LSTM evaluation used 2, see `evaluate`).
        window: `"uniform"`: 7x7 uniform window with sample covariance
            (scikit-image's default); `"gaussian"`: 11x11 Gaussian window,
            sigma 1.5, population covariance (Wang et al. 2004, `tf.image.ssim`;
            scikit-image with `gaussian_weights=True, use_sample_covariance=False`).
        k1: stabiliser of the luminance term, `C1 = (k1 * data_range) ** 2`.
        k2: stabiliser of the contrast term, `C2 = (k2 * data_range) ** 2`.

    Returns:
        float tensor `[B]` or `[B, T]`: one value per frame.

    Example:
    ```python
    import numpy as np
    from ctt_keras.metrics import ssim
    x = np.random.default_rng(0).random((2, 10, 64, 64, 1), dtype="float32")
    ssim(x, x).shape  # (2, 10), all ones
    ```
    """
    if window not in _WINDOWS:
        raise ValueError(f"`window` must be one of {tuple(_WINDOWS)}; got {window!r}")
    data_range = check_positive(data_range, "data_range")
    a, b, lead = check_pair(a, b)
    size, sample_covariance = _WINDOWS[window]
    height, width = a.shape[1], a.shape[2]
    if height is not None and width is not None and min(height, width) < size:
        raise ValueError(
            f"frames must be at least {size}x{size} for window={window!r}; got {height}x{width}"
        )
    taps = _window_1d(window)
    channels = a.shape[-1]
    # One filtering pass over x, y, x*x, y*y, x*y stacked along the channels.
    stacked = ops.concatenate([a, b, a * a, b * b, a * b], axis=-1)
    moments = _separable_filter(stacked, taps)
    ux, uy, uxx, uyy, uxy = (moments[..., i * channels:(i + 1) * channels] for i in range(5))
    cov_norm = size * size / (size * size - 1.0) if sample_covariance else 1.0
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    numerator = (2.0 * ux * uy + c1) * (2.0 * vxy + c2)
    denominator = (ux * ux + uy * uy + c1) * (vx + vy + c2)
    return fold(ops.mean(numerator / denominator, axis=(1, 2, 3)), lead)


