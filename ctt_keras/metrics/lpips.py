"""LPIPS v0.1 ("net-lin") perceptual distance with the AlexNet or SqueezeNet 1.1 backbone, in keras.ops."""

import keras
import numpy as np
from keras import ops

from ctt_keras.metrics._inputs import check_pair, fold
from ctt_keras.metrics.lpips_weights import load_weights

# LPIPS' ScalingLayer: inputs in [-1, 1] are shifted and scaled to ImageNet statistics.
_SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
_SCALE = np.array([0.458, 0.448, 0.450], np.float32)
_EPS = 1e-10

# The backbones as data: ("conv", weight prefix, stride, padding) is conv + ReLU,
# ("fire", prefix) a SqueezeNet Fire module, ("pool", ceil_mode) a 3x3 stride-2 max-pool,
# ("tap",) marks a feature map compared by LPIPS (lin0, lin1, ... in order).
_ARCHITECTURES = {
    "alex": (
        ("conv", "features.0", 4, 2), ("tap",), ("pool", False),
        ("conv", "features.3", 1, 2), ("tap",), ("pool", False),
        ("conv", "features.6", 1, 1), ("tap",),
        ("conv", "features.8", 1, 1), ("tap",),
        ("conv", "features.10", 1, 1), ("tap",),
    ),
    "squeeze": (
        ("conv", "features.0", 2, 0), ("tap",),
        ("pool", True), ("fire", "features.3"), ("fire", "features.4"), ("tap",),
        ("pool", True), ("fire", "features.6"), ("fire", "features.7"), ("tap",),
        ("pool", True), ("fire", "features.9"), ("tap",),
        ("fire", "features.10"), ("tap",),
        ("fire", "features.11"), ("tap",),
        ("fire", "features.12"), ("tap",),
    ),
}
_FIRE_PARTS = (("squeeze", 0), ("expand1x1", 0), ("expand3x3", 1))  # (part, padding)


def _pooled_size(n, ceil_mode):
    if ceil_mode:
        return -(-(n - 3) // 2) + 1
    return (n - 3) // 2 + 1


def _feature_sizes(net, kernels, size):
    """Spatial size of each stage for an input of `size` pixels, or None when a stage would be empty."""
    for step in _ARCHITECTURES[net]:
        if step[0] == "conv":
            size = (size + 2 * step[3] - kernels[step[1]]) // step[2] + 1
        elif step[0] == "pool":
            size = _pooled_size(size, step[1]) if size >= 3 else 0
        if size < 1:
            return None
    return size


@keras.saving.register_keras_serializable(package="ctt_keras")
class LPIPS(keras.layers.Layer):
    """Learned Perceptual Image Patch Similarity, LPIPS v0.1 "net-lin" (Zhang et al., CVPR 2018).

    Reproduces the official PyTorch `lpips` package (version 0.1): both images go
    through a frozen ImageNet backbone; at each tapped layer the features are
    unit-normalised over channels, their squared difference weighted by the learned
    linear layer, averaged over space; the distance is the sum over taps. Weights
    are bundled with ctt_keras (converted by `tools/convert_lpips.py`, checked by
    sha256) and load without network.

    Args:
        net: backbone, `"alex"` (AlexNet, the usual choice) or `"squeeze"` (SqueezeNet 1.1).
        input_range: `(low, high)` range of the input pixels; they are mapped
            linearly to the [-1, 1] the network was trained on. The official
            Conv-TT-LSTM evaluation passed [0, 1] images unscaled, which is
            `input_range=(-1.0, 1.0)` on [0, 1] data (see `evaluate`).
        **kwargs: base layer arguments (`name`, ...). The layer is frozen and
            computes in float32.

    Call arguments:
        img0: images `[B, H, W, C]` or sequences `[B, T, H, W, C]`, `C` in {1, 3}
            (gray is repeated to RGB); at least 31x31 (alex) or 25x25 (squeeze).
        img1: same shape and dtype as `img0`.

    Returns:
        float32 tensor `[B]` (or `[B, T]`): one distance per image; 0 for identical images.

    Example:
    ```python
    import numpy as np
    from ctt_keras.metrics import LPIPS
    lpips = LPIPS(net="alex", input_range=(0.0, 1.0))
    x = np.random.default_rng(0).random((4, 64, 64, 3), dtype="float32")
    lpips(x, np.clip(x + 0.1, 0, 1)).shape  # (4,)
    ```
    """

    def __init__(self, net="alex", input_range=(0.0, 1.0), **kwargs):
        if net not in _ARCHITECTURES:
            raise ValueError(f"`net` must be one of {tuple(_ARCHITECTURES)}; got {net!r}")
        try:
            low, high = (float(v) for v in input_range)
        except (TypeError, ValueError):
            raise ValueError(f"`input_range` must be a pair (low, high); got {input_range!r}") from None
        if not high > low:
            raise ValueError(f"`input_range` must have high > low; got {input_range!r}")
        kwargs.setdefault("dtype", "float32")
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        # Keep the caller's dtypes so that a mismatch is reported instead of silently cast.
        self._convert_input_args = False
        self.net = net
        self.input_range = (low, high)
        self._arrays = load_weights(net)
        self._kernel_sizes = {
            name[: -len(".kernel")]: array.shape[0]
            for name, array in self._arrays.items()
            if name.endswith(".kernel")
        }
        # Input affine map: [low, high] -> [-1, 1] -> ScalingLayer, folded into one scale and offset.
        to_unit = 2.0 / (high - low)
        self._input_scale = (to_unit / _SCALE).astype(np.float32)
        self._input_offset = ((-low * to_unit - 1.0 - _SHIFT) / _SCALE).astype(np.float32)

    def build(self, img0_shape=None, img1_shape=None):
        self._vars = {}
        for name, array in self._arrays.items():
            self._vars[name] = self.add_weight(
                name=name.replace(".", "_"),
                shape=array.shape,
                initializer=keras.initializers.Constant(array),
                trainable=False,
                dtype="float32",
            )
        self._arrays = None  # the variables now own the values

    def _conv(self, x, prefix, stride, padding):
        if padding:
            x = ops.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
        x = ops.conv(x, self._vars[prefix + ".kernel"], strides=stride, padding="valid")
        return ops.relu(x + self._vars[prefix + ".bias"])

    def _pool(self, x, ceil_mode):
        if ceil_mode:
            # PyTorch ceil_mode: one more window when the last one would overhang; pad it with -inf.
            h, w = x.shape[1], x.shape[2]
            extra_h = (_pooled_size(h, True) - 1) * 2 + 3 - h
            extra_w = (_pooled_size(w, True) - 1) * 2 + 3 - w
            if extra_h or extra_w:
                x = ops.pad(x, ((0, 0), (0, extra_h), (0, extra_w), (0, 0)), constant_values=-np.inf)
        return ops.max_pool(x, pool_size=3, strides=2, padding="valid")

    def _features(self, x):
        taps = []
        for step in _ARCHITECTURES[self.net]:
            if step[0] == "conv":
                x = self._conv(x, *step[1:])
            elif step[0] == "pool":
                x = self._pool(x, step[1])
            elif step[0] == "fire":
                squeezed = self._conv(x, step[1] + ".squeeze", 1, 0)
                expanded = [
                    self._conv(squeezed, f"{step[1]}.{part}", 1, pad) for part, pad in _FIRE_PARTS[1:]
                ]
                x = ops.concatenate(expanded, axis=-1)
            else:
                taps.append(x)
        return taps

    def __call__(self, img0, img1, **kwargs):
        # NumPy inputs become tensors of their own dtype (Keras would otherwise refuse or cast them).
        img0, img1 = (
            ops.convert_to_tensor(x) if isinstance(x, (np.ndarray, list)) else x for x in (img0, img1)
        )
        return super().__call__(img0, img1, **kwargs)

    def call(self, img0, img1):
        img0, img1, lead = check_pair(img0, img1, names=("img0", "img1"))
        channels = img0.shape[-1]
        if channels not in (1, 3):
            raise ValueError(
                f"LPIPS needs 1 (gray) or 3 (RGB) channels; got images of shape {tuple(img0.shape)}"
            )
        height, width = img0.shape[1], img0.shape[2]
        for size in (height, width):
            if size is not None and _feature_sizes(self.net, self._kernel_sizes, size) is None:
                raise ValueError(
                    f"images of shape {tuple(img0.shape)} are too small for the {self.net!r} LPIPS backbone"
                )
        x = ops.concatenate([ops.cast(img0, "float32"), ops.cast(img1, "float32")], axis=0)
        if channels == 1:
            x = ops.repeat(x, 3, axis=-1)
        x = x * self._input_scale + self._input_offset
        batch = ops.shape(img0)[0]
        distance = 0.0
        for k, feature in enumerate(self._features(x)):
            feature = feature / (ops.sqrt(ops.sum(ops.square(feature), axis=-1, keepdims=True)) + _EPS)
            diff = ops.square(feature[:batch] - feature[batch:])
            weighted = ops.matmul(diff, ops.expand_dims(self._vars[f"lin{k}"], -1))
            distance = distance + ops.mean(weighted, axis=(1, 2, 3))
        return fold(distance, lead)

    def compute_output_spec(self, img0, img1):
        return keras.KerasTensor(tuple(img0.shape[: len(img0.shape) - 3]), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update({"net": self.net, "input_range": list(self.input_range)})
        return config


_CACHE = {}


def lpips(a, b, net="alex", input_range=(0.0, 1.0)):
    """LPIPS distance of each frame, with a cached `LPIPS` layer per configuration.

    Args:
        a: images `[B, H, W, C]` or sequences `[B, T, H, W, C]`, `C` in {1, 3}.
        b: same shape and dtype as `a`.
        net: `"alex"` or `"squeeze"`.
        input_range: `(low, high)` range of the pixels (see `LPIPS`).

    Returns:
        float32 tensor `[B]` or `[B, T]`.

    Example:
    ```python
    import numpy as np
    from ctt_keras.metrics import lpips
    x = np.zeros((2, 5, 64, 64, 1), "float32")
    lpips(x, x).shape  # (2, 5), all zeros
    ```
    """
    return shared_lpips_layer(net, input_range)(a, b)


def shared_lpips_layer(net="alex", input_range=(0.0, 1.0)):
    """The process-wide, already built `LPIPS` layer for one configuration (weights loaded once)."""
    key = (net, tuple(float(v) for v in input_range))
    if key not in _CACHE:
        layer = LPIPS(net=net, input_range=input_range)
        layer.build()
        _CACHE[key] = layer
    return _CACHE[key]
