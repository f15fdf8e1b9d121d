"""What the current Keras backend runs on, and what a backend-specific feature needs.

Defaults that depend on the device (XLA, mixed precision) and the clear errors that
the TensorFlow-only parts raise under another backend (or without TensorFlow
installed) come from here, so that every module words them alike.
"""

import importlib

import keras

BACKENDS = ("tensorflow", "jax", "torch")


def accelerator_available(backend=None):
    """True when the given (default: the active) Keras backend sees a GPU or TPU."""
    backend = backend or keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))
    if backend == "jax":
        import jax

        return any(d.platform in ("gpu", "tpu") for d in jax.devices())
    if backend == "torch":
        import torch

        return bool(torch.cuda.is_available())
    return False


def default_jit_compile(backend=None, accelerator=None):
    """Whether `compile(jit_compile="auto")` turns XLA on, per backend and device.

    - TensorFlow: on accelerators only. On CPU the XLA-compiled training step of
      the paper's network was 1.5-2.4x slower than TensorFlow's default kernels
      (measured on the project's 2-core machine; docs/performance.md).
    - JAX: always on. JAX has no graph runtime besides XLA: without `jax.jit`
      every op is dispatched one by one from Python, which is slower than the
      compiled step even on CPU (docs/performance.md).
    - PyTorch: off. Keras maps `jit_compile=True` to `torch.compile`, not XLA;
      compiling the unrolled recurrent loop takes minutes and is opt-in.

    Args:
        backend: A Keras backend name; default the active one.
        accelerator: Whether a GPU/TPU is present; `None` asks the backend.
    """
    backend = backend or keras.backend.backend()
    if backend == "jax":
        return True
    if backend == "torch":
        return False
    return accelerator_available(backend) if accelerator is None else bool(accelerator)


def require_backend(feature, *backends):
    """Raises a `RuntimeError` naming `feature` unless the active Keras backend is one of `backends`.

    Example:

    >>> require_backend("tf.distribute strategies", "tensorflow")  # under KERAS_BACKEND=jax: RuntimeError
    """
    backend = keras.backend.backend()
    if backend not in backends:
        wanted = " or ".join(f"KERAS_BACKEND={b}" for b in backends)
        raise RuntimeError(
            f"{feature} needs the {' or '.join(backends)} Keras backend, but the active backend is "
            f"{backend!r}. Set {wanted} before importing keras, or use the backend-agnostic path "
            f"(docs/performance.md, 'Backends')."
        )


def require_tensorflow(feature, alternative=None):
    """Imports and returns `tensorflow`, or raises an `ImportError` naming `feature` and what to do.

    TensorFlow-only parts (tf.data builders, TFRecord files, SavedModel export) call
    this where they need TensorFlow, so that a JAX or PyTorch user without
    TensorFlow installed reads which feature needs it instead of a bare
    `No module named 'tensorflow'`.

    Args:
        feature: What needs TensorFlow, e.g. `"pipelines.moving_mnist.load (a tf.data.Dataset)"`.
        alternative: Optional hint at the TensorFlow-free way to do the same.
    """
    try:
        return importlib.import_module("tensorflow")
    except ImportError as error:
        hint = f" Without TensorFlow, use {alternative}." if alternative else ""
        raise ImportError(
            f"{feature} needs TensorFlow, which is not installed (pip install tensorflow-cpu, or "
            f"tensorflow for a GPU).{hint}"
        ) from error
