"""What the current Keras backend runs on, for defaults that depend on the device."""

import keras


def accelerator_available():
    """True when the active backend sees a GPU (or TPU)."""
    backend = keras.backend.backend()
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


def default_jit_compile():
    """XLA on by default only on accelerators.

    On CPU an XLA-compiled recurrent loop of convolutions is 37-60x slower than
    the default kernels (measured on the project's 2-core machine), so "auto"
    means on for GPU/TPU and off for CPU.
    """
    return accelerator_available()
