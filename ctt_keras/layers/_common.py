"""Pieces shared by the recurrent cells: argument checks, PyTorch-like initialisers, conv, gate update."""

import math
import numbers
import random

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
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for conv biases.

    Unseeded, it draws from Keras's global seed generator wherever that can
    run (eagerly: how every network of this library is built, so seeded runs
    keep their initial weights); where it cannot (a variable initialised inside
    a traced function, e.g. a cell that Keras builds lazily in a subclassed
    model's `fit`, or JAX tracing) it draws statelessly, from a seed taken from
    Python's `random` (seeded by `keras.utils.set_random_seed`).
    """

    def __init__(self, fan_in, seed=None):
        self.fan_in = int(fan_in)
        self.seed = seed
        self._traced_seed = None

    def __call__(self, shape, dtype=None):
        limit = 1.0 / math.sqrt(self.fan_in)
        seed = self.seed
        if seed is None and not _global_generator_usable():
            if self._traced_seed is None:
                self._traced_seed = random.randint(1, 10**9)
            seed = self._traced_seed
        return keras.random.uniform(shape, -limit, limit, dtype=dtype, seed=seed)

    def get_config(self):
        return {"fan_in": self.fan_in, "seed": self.seed}


def _global_generator_usable():
    """Whether an unseeded random op may advance Keras's global seed generator here (eager, not traced)."""
    from keras.src.backend.common.stateless_scope import in_stateless_scope

    if in_stateless_scope():
        return False
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.executing_eagerly()
    if backend == "jax":
        from keras.src.utils.jax_utils import is_in_jax_tracing_scope

        return not is_in_jax_tracing_scope()
    return True


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


def fresh(initializer):
    """`initializer`, re-created with a new default seed if it is an unseeded random one.

    A Keras random initialiser draws its default seed once, so calling one
    object twice gives identical values; the two random parts of a
    `unit_forget_bias` gate bias get their own draws through this.
    """
    config = initializer.get_config()
    if isinstance(config, dict) and "seed" in config and config["seed"] is None:
        return type(initializer).from_config(config)
    return initializer


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


def lstm_update(gates, c_prev, activation=ops.tanh, recurrent_activation=ops.sigmoid):
    """Gate update of the official code: split i, f, o, g; returns (h, c).

    With the defaults (tanh, sigmoid) this is the official update exactly.
    """
    i, f, o, g = ops.split(gates, 4, axis=-1)
    i = recurrent_activation(i)
    f = recurrent_activation(f)
    o = recurrent_activation(o)
    g = activation(g)
    c = f * c_prev + i * g
    h = o * activation(c)
    return h, c


def check_rate(name, value):
    """A dropout rate in [0, 1)."""
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a float in [0, 1), got {name}={value!r}.") from None
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"`{name}` must be in [0, 1), got {name}={value!r}.")
    return rate


def check_padding(padding):
    if not isinstance(padding, str) or padding.lower() != "same":
        raise ValueError(
            f'`padding` must be "same" (the recurrent state keeps the input\'s height and width, as in the '
            f"official code), got padding={padding!r}."
        )
    return "same"
