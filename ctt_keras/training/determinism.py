"""Bit-reproducible training on TensorFlow (opt-in): same flags and seed, same weights in any process.

Seeds alone do not make two TensorFlow processes train identically on CPU. Of 9 pairs of `ctt-train` runs
with the same flags (tiny network, 3 epochs of 300 steps, the two processes side by side), 5 ended with
weights differing by 3e-8 to 3e-3; each time the first difference was one step's update of one kernel,
on the same batch. The cause is the `AddN` kernel: it accumulates into the buffer of the first input it
may reuse in place and moves that input to the front of the sum, and whether an input's buffer is free
depends on whether its other consumers have finished, so the order of the sum, hence its rounding,
follows thread timing. Grappler's arithmetic optimizer turns chains of additions (the tensor-train sums
of `ConvTTLSTMCell`, sums in the gradients) into such `AddN` ops, and the gradient tape sums the
gradients of a tensor used several times with one `AddN` too. Op determinism
(`enable_op_determinism`, `TF_DETERMINISTIC_OPS`), one thread per pool, oneDNN off, denormals flushed
or a fixed `PYTHONHASHSEED` did not help (pairs still differed); with the arithmetic optimizer off, and
the tape's sums as fixed chains, every pair tried was identical (docs/reliability.md).

`enable_deterministic_training()` does exactly that: Grappler's arithmetic optimization off, the
gradient tape adding gradients as a fixed chain (`(a + b) + c`: a two-input add rounds the same whichever
buffer it reuses), plus TensorFlow's op determinism for the kernels it covers (GPU, `tf.data`). The tiny
run above took as long with it as without (16.2 s and 16.1 s); larger graphs may lose a little of what
the arithmetic optimizer gains. `ctt-train` / `tools/train.py` call it when the environment variable
`CTT_KERAS_DETERMINISTIC=1` is set.
"""

import functools
import os
import warnings

#: Set to 1 (or true/yes/on) to make `ctt-train` call `enable_deterministic_training` first.
ENVIRONMENT_VARIABLE = "CTT_KERAS_DETERMINISTIC"


def requested(environ=None):
    """Whether `CTT_KERAS_DETERMINISTIC` asks for deterministic training."""
    value = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE, "")
    value = value.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{ENVIRONMENT_VARIABLE} must be 1 or 0 (true/false, yes/no, on/off), got {value!r}.")


def enable_deterministic_training():
    """Makes this process's TensorFlow training reproducible to the bit (see the module docstring).

    Call it before the model is compiled and trained; it changes process-wide TensorFlow settings
    (Grappler's arithmetic optimization stays off, gradients are summed in a fixed order, op
    determinism is on) for the rest of the process. Other backends are left alone.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    tf.config.optimizer.set_experimental_options({"arithmetic_optimization": False})
    _sum_gradients_in_a_fixed_order()


def enable_if_requested(log=None):
    """Calls `enable_deterministic_training()` if `CTT_KERAS_DETERMINISTIC` asks for it; True if it did."""
    if not requested():
        return False
    enable_deterministic_training()
    if log is not None:
        log(f"deterministic training ({ENVIRONMENT_VARIABLE}=1): sums in a fixed order, bit-reproducible")
    return True


def _sum_gradients_in_a_fixed_order():
    # The gradient tape aggregates the gradients of a tensor used several times with the function of its
    # registered "vector space" (tensorflow/python/eager/backprop.py, `_aggregate_grads`: one AddN).
    try:
        from tensorflow.python import pywrap_tfe
        from tensorflow.python.eager import backprop
        from tensorflow.python.ops import math_ops

        default = backprop._default_vspace
        aggregate = default.aggregate_fn
    except (ImportError, AttributeError) as error:  # another TensorFlow layout: the rest still holds
        warnings.warn(f"deterministic training: could not make the gradient tape add in a fixed order "
                      f"({error}); Grappler's arithmetic optimization is off, op determinism is on.")
        return

    def fixed_order_sum(gradients):
        import tensorflow as tf

        if len(gradients) > 1 and all(isinstance(g, tf.Tensor) for g in gradients):
            return functools.reduce(math_ops.add, gradients)
        return aggregate(gradients)  # one gradient, or IndexedSlices

    pywrap_tfe.TFE_Py_RegisterVSpace(default._replace(aggregate_fn=fixed_order_sum))
