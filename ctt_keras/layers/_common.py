"""Pieces shared by the recurrent cells: argument checks, PyTorch-like initialisers, conv."""

import math
import numbers

import keras
from keras import ops


def check_int(name, value):
    """`value` as a Python int: Python and NumPy integers (a config stays plain JSON).

    Raises:
        ValueError: naming `name`, for booleans, floats (`16.7` is never truncated; `16.0` is refused
            like any float, as Keras does for sizes) and non-numbers.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):  # np.bool_ is not Integral
        return int(value)
    raise ValueError(f"`{name}` must be an integer, got {name}={value!r}.")


def check_positive_int(name, value):
    """`value` as a positive Python int (NumPy integers accepted), else a ValueError naming `name`."""
    try:
        number = check_int(name, value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {name}={value!r}.")
    return number


def check_kernel_size(kernel_size):
    """Returns `(kh, kw)` for an odd square-or-rectangular kernel, else raises."""
    if isinstance(kernel_size, numbers.Number):
        kernel_size = (kernel_size, kernel_size)
    try:
        kh, kw = (check_int("kernel_size", k) for k in kernel_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"`kernel_size` must be an odd int or a pair of odd ints, got kernel_size={kernel_size!r}."
        ) from None
    if kh < 1 or kw < 1 or kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(
            f"`kernel_size` must be odd and positive (\"same\" padding is symmetric only for odd "
            f"kernels, as in the official code), got kernel_size={kernel_size!r}."
        )
    return (kh, kw)


def check_build_shape(layer_name, input_shape):
    """Validates a cell's build shape `[batch, height, width, channels]`; returns it as a tuple."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 4:
        raise ValueError(
            f"{layer_name}: expected a step input [batch, height, width, channels], got {input_shape}."
        )
    if None in input_shape[1:]:
        raise ValueError(
            f"{layer_name}: height, width and channels must be known, got input shape {input_shape}."
        )
    return input_shape


def check_step_input(layer_name, inputs, expected_channels):
    """Validates one step's input `[batch, height, width, channels]` against the built weights."""
    shape = tuple(inputs.shape)
    if len(shape) != 4:
        raise ValueError(
            f"{layer_name}: a step input must be [batch, height, width, channels], got shape {shape}."
        )
    if expected_channels is not None and shape[-1] is not None and shape[-1] != expected_channels:
        raise ValueError(
            f"{layer_name}: input has {shape[-1]} channels but the layer was built for "
            f"{expected_channels} (input shape {shape})."
        )


class _FanInUniform(keras.initializers.Initializer):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for conv biases."""

    def __init__(self, fan_in, seed=None):
        self.fan_in = int(fan_in)
        self.seed = seed

    def __call__(self, shape, dtype=None):
        limit = 1.0 / math.sqrt(self.fan_in)
        return keras.random.uniform(shape, -limit, limit, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {"fan_in": self.fan_in, "seed": self.seed}


def conv_initializers(kernel_initializer, bias_initializer, fan_in):
    """Resolves the cell initialisers; `None` means PyTorch's defaults for `nn.Conv2d`.

    PyTorch initialises conv kernels with kaiming_uniform(a=sqrt(5)), i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which is Keras's VarianceScaling with
    scale 1/3, fan_in mode, uniform distribution; biases with the same bound.
    """
    if kernel_initializer is None:
        kernel = keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")
    else:
        kernel = keras.initializers.get(kernel_initializer)
    if bias_initializer is None:
        bias = _FanInUniform(fan_in)
    else:
        bias = keras.initializers.get(bias_initializer)
    return kernel, bias


def serialize_initializer(initializer):
    """Config value of an initialiser argument (`None` keeps meaning "PyTorch default")."""
    if initializer is None or isinstance(initializer, str):
        return initializer
    return keras.initializers.serialize(keras.initializers.get(initializer))


def conv_same(x, kernel, bias=None):
    """Stride-1 "same" convolution (symmetric for odd kernels), NHWC."""
    y = ops.conv(x, kernel, strides=1, padding="same", data_format="channels_last")
    if bias is not None:
        y = y + bias
    return y


def lstm_update(gates, c_prev):
    """Gate update of the official code: split i, f, o, g; returns (h, c)."""
    i, f, o, g = ops.split(gates, 4, axis=-1)
    i = ops.sigmoid(i)
    f = ops.sigmoid(f)
    o = ops.sigmoid(o)
    g = ops.tanh(g)
    c = f * c_prev + i * g
    h = o * ops.tanh(c)
    return h, c


class ConvRecurrentCell(keras.layers.Layer):
    """What the two cells share: their common arguments, build bookkeeping and config (private base).

    Subclasses set `state_size` and create their weights in `build` after calling
    `super().build(input_shape)`, which validates the shape and records
    `spatial_dims` and `input_channels`.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        kernel_initializer=None,
        bias_initializer=None,
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = check_kernel_size(kernel_size)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.spatial_dims = None
        self.input_channels = None

    def build(self, input_shape):
        input_shape = check_build_shape(self.name, input_shape)
        self.spatial_dims = tuple(input_shape[1:3])
        self.input_channels = int(input_shape[-1])

    def initializers(self, fan_in_channels):
        """(kernel, bias) initialisers for a conv reading `fan_in_channels` channels."""
        kh, kw = self.kernel_size
        return conv_initializers(self.kernel_initializer, self.bias_initializer, fan_in_channels * kh * kw)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "kernel_initializer": serialize_initializer(self.kernel_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            }
        )
        return config
