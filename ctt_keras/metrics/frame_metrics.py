"""Per-frame pixel metrics: MSE, MAE and PSNR on frames or sequences."""

from keras import ops

from ctt_keras.metrics._inputs import check_pair, check_positive, fold

_REDUCTIONS = ("mean", "sum")


def _reduce_frame(x, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"`reduction` must be one of {_REDUCTIONS}; got {reduction!r}")
    if reduction == "sum":
        return ops.sum(x, axis=(1, 2, 3))
    return ops.mean(x, axis=(1, 2, 3))


def mse(a, b, reduction="mean"):
    """Mean (or summed) squared error of each frame.

    Args:
        a: predictions, `[B, H, W, C]` frames or `[B, T, H, W, C]` sequences.
        b: targets, same shape and dtype as `a`.
        reduction: `"mean"` over the pixels and channels of a frame (the usual
            convention) or `"sum"` (OpenSTL's per-frame convention).

    Returns:
        float tensor `[B]` or `[B, T]`: one value per frame.

    Example:
    ```python
    import numpy as np
    from ctt_keras.metrics import mse
    mse(np.zeros((2, 8, 8, 1), "float32"), np.ones((2, 8, 8, 1), "float32"))  # [1., 1.]
    ```
    """
    a, b, lead = check_pair(a, b)
    return fold(_reduce_frame(ops.square(a - b), reduction), lead)


def mae(a, b, reduction="mean"):
    """Mean (or summed) absolute error of each frame.

    Args:
        a: predictions, `[B, H, W, C]` frames or `[B, T, H, W, C]` sequences.
        b: targets, same shape and dtype as `a`.
        reduction: `"mean"` over the pixels and channels of a frame or `"sum"`.

    Returns:
        float tensor `[B]` or `[B, T]`: one value per frame.

    Example:
    ```python
    import numpy as np
    from ctt_keras.metrics import mae
    mae(np.zeros((1, 4, 4, 3), "float32"), np.full((1, 4, 4, 3), 0.5, "float32"))  # [0.5]
    ```
    """
    a, b, lead = check_pair(a, b)
    return fold(_reduce_frame(ops.abs(a - b), reduction), lead)


def psnr(a, b, data_range=1.0):
    """Peak signal-to-noise ratio of each frame, in dB (as `skimage.metrics.peak_signal_noise_ratio`).

    `10 * log10(data_range**2 / MSE)` with the MSE a mean over the frame's pixels
    and channels; identical frames give `inf`.

    Args:
        a: predictions, `[B, H, W, C]` frames or `[B, T, H, W, C]` sequences.
        b: targets, same shape and dtype as `a`.
        data_range: the span of possible pixel values (1 for [0, 1] images).

    Returns:
        float tensor `[B]` or `[B, T]`: one value per frame.

    Example:
    ```python
    import numpy as np
    from ctt_keras.metrics import psnr
    psnr(np.zeros((1, 4, 4, 1), "float32"), np.full((1, 4, 4, 1), 0.1, "float32"))  # [20.]
    ```
    """
    data_range = check_positive(data_range, "data_range")
    a, b, lead = check_pair(a, b)
    err = ops.mean(ops.square(a - b), axis=(1, 2, 3))
    value = 10.0 * ops.log(data_range**2 / err) / ops.log(10.0)
    return fold(value, lead)
