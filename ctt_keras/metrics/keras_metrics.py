"""Stateful Keras metrics (per-frame MSE, MAE, PSNR, SSIM, LPIPS) for `model.compile` and `model.evaluate`."""

import keras
from keras import ops

from ctt_keras.metrics.frame_metrics import mae, mse, psnr
from ctt_keras.metrics.lpips import shared_lpips_layer
from ctt_keras.metrics.ssim import ssim


class _FrameMetric(keras.metrics.Metric):
    """Mean over frames of a per-frame value, kept as a (sum, count) pair.

    Sums and counts add up exactly over batches and over replicas (their
    variables aggregate by sum), so the result is the mean over all frames seen,
    whatever the batching. NaN values are kept (the result becomes NaN).
    """

    def __init__(self, clip_predictions=False, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.clip_predictions = bool(clip_predictions)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, aggregation="sum",
                                       name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, aggregation="sum",
                                       name="count")

    def _frame_values(self, y_pred, y_true):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds a batch.

        Args:
            y_true: target frames `[B, H, W, C]` or sequences `[B, T, H, W, C]`;
                cast to the dtype of `y_pred`.
            y_pred: predictions, same shape.
            sample_weight: optional weights `[B]` (per sample) or `[B, T]` (per frame).
        """
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        if self.clip_predictions:
            y_pred = ops.clip(y_pred, 0.0, 1.0)
        values = ops.cast(self._frame_values(y_pred, y_true), self.dtype)
        if sample_weight is None:
            weights = ops.ones_like(values)
        else:
            weights = ops.cast(sample_weight, self.dtype)
            while len(weights.shape) < len(values.shape):
                weights = ops.expand_dims(weights, -1)
            weights = ops.broadcast_to(weights, ops.shape(values))
        self.total.assign_add(ops.sum(values * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        # A plain 0.0: `ops.zeros_like` of a Variable fails on the JAX backend.
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        config = super().get_config()
        config["clip_predictions"] = self.clip_predictions
        return config


@keras.saving.register_keras_serializable(package="ctt_keras")
class FrameMSE(_FrameMetric):
    """Mean over frames of the per-frame mean (or summed) squared error.

    Args:
        reduction: `"mean"` over a frame's pixels, or `"sum"` (OpenSTL).
        clip_predictions: clamp predictions to [0, 1] first (the paper's code).
        name: metric name.
        dtype: dtype of the accumulators.

    Example:
    ```python
    model.compile(optimizer="adam", loss="mse",
                  metrics=[FrameMSE(), FramePSNR(), FrameSSIM()])
    ```
    """

    def __init__(self, reduction="mean", clip_predictions=False, name="frame_mse", dtype=None):
        super().__init__(clip_predictions=clip_predictions, name=name, dtype=dtype)
        if reduction not in ("mean", "sum"):
            raise ValueError(f"`reduction` must be 'mean' or 'sum'; got {reduction!r}")
        self.reduction = reduction

    def _frame_values(self, y_pred, y_true):
        return mse(y_pred, y_true, reduction=self.reduction)

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction}


@keras.saving.register_keras_serializable(package="ctt_keras")
class FrameMAE(_FrameMetric):
    """Mean over frames of the per-frame mean (or summed) absolute error.

    Args:
        reduction: `"mean"` over a frame's pixels, or `"sum"` (OpenSTL).
        clip_predictions: clamp predictions to [0, 1] first.
        name: metric name.
        dtype: dtype of the accumulators.

    Example:
    ```python
    metric = FrameMAE(reduction="sum")
    metric.update_state(targets, predictions)
    metric.result()
    ```
    """

    def __init__(self, reduction="mean", clip_predictions=False, name="frame_mae", dtype=None):
        super().__init__(clip_predictions=clip_predictions, name=name, dtype=dtype)
        if reduction not in ("mean", "sum"):
            raise ValueError(f"`reduction` must be 'mean' or 'sum'; got {reduction!r}")
        self.reduction = reduction

    def _frame_values(self, y_pred, y_true):
        return mae(y_pred, y_true, reduction=self.reduction)

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction}


@keras.saving.register_keras_serializable(package="ctt_keras")
class FramePSNR(_FrameMetric):
    """Mean over frames of the per-frame PSNR (dB).

    Args:
        data_range: span of the pixel values.
        clip_predictions: clamp predictions to [0, 1] first.
        name: metric name.
        dtype: dtype of the accumulators.

    Example:
    ```python
    model.compile(optimizer="adam", loss="mse", metrics=[FramePSNR(data_range=1.0)])
    ```
    """

    def __init__(self, data_range=1.0, clip_predictions=False, name="frame_psnr", dtype=None):
        super().__init__(clip_predictions=clip_predictions, name=name, dtype=dtype)
        self.data_range = float(data_range)

    def _frame_values(self, y_pred, y_true):
        return psnr(y_pred, y_true, data_range=self.data_range)

    def get_config(self):
        return {**super().get_config(), "data_range": self.data_range}


@keras.saving.register_keras_serializable(package="ctt_keras")
class FrameSSIM(_FrameMetric):
    """Mean over frames of the per-frame SSIM.

    Args:
        data_range: span of the pixel values (the paper's code used 2 on [0, 1] frames).
        window: `"uniform"` (7x7, sample covariance) or `"gaussian"` (11x11, sigma 1.5).
        clip_predictions: clamp predictions to [0, 1] first.
        name: metric name.
        dtype: dtype of the accumulators.

    Example:
    ```python
    model.compile(optimizer="adam", loss="mse", metrics=[FrameSSIM(data_range=1.0)])
    ```
    """

    def __init__(
        self, data_range=1.0, window="uniform", clip_predictions=False, name="frame_ssim", dtype=None
    ):
        super().__init__(clip_predictions=clip_predictions, name=name, dtype=dtype)
        if window not in ("uniform", "gaussian"):
            raise ValueError(f"`window` must be 'uniform' or 'gaussian'; got {window!r}")
        self.data_range = float(data_range)
        self.window = window

    def _frame_values(self, y_pred, y_true):
        return ssim(y_pred, y_true, data_range=self.data_range, window=self.window)

    def get_config(self):
        return {**super().get_config(), "data_range": self.data_range, "window": self.window}


@keras.saving.register_keras_serializable(package="ctt_keras")
class FrameLPIPS(_FrameMetric):
    """Mean over frames of the per-frame LPIPS distance.

    The LPIPS network is shared by the process (see `LPIPS`); it is not one of
    this metric's variables.

    Args:
        net: `"alex"` or `"squeeze"`.
        input_range: `(low, high)` range of the pixels (see `LPIPS`).
        clip_predictions: clamp predictions to [0, 1] first.
        name: metric name.
        dtype: dtype of the accumulators.

    Example:
    ```python
    model.compile(optimizer="adam", loss="mse", metrics=[FrameLPIPS(net="alex")])
    ```
    """

    def __init__(self, net="alex", input_range=(0.0, 1.0), clip_predictions=False, name="frame_lpips",
                 dtype=None):
        super().__init__(clip_predictions=clip_predictions, name=name, dtype=dtype)
        self.net = net
        self.input_range = tuple(float(v) for v in input_range)
        shared_lpips_layer(net, self.input_range)  # validate and load the weights now, outside any graph

    def _frame_values(self, y_pred, y_true):
        return shared_lpips_layer(self.net, self.input_range)(y_pred, y_true)

    def get_config(self):
        return {**super().get_config(), "net": self.net, "input_range": list(self.input_range)}
