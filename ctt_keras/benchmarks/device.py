"""What a benchmark needs from the active Keras backend: the device, its peak memory, and a conv peak.

Every function reads `keras.backend.backend()` and imports only that backend's
framework, so a JAX-only or PyTorch-only machine (no TensorFlow) runs them.
"""

import resource
import sys

import keras
import numpy as np

from ctt_keras import devices


def describe():
    """The backend, its version and the device that runs the model, as a JSON-ready dict."""
    backend = keras.backend.backend()
    info = {
        "backend": backend,
        "keras": keras.__version__,
        "accelerator": devices.accelerator_available(),
        "tensorflow_imported": "tensorflow" in sys.modules,
    }
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        info.update(
            framework=f"jax {jax.__version__}",
            device=f"{device.platform}: {device.device_kind}",
            device_count=jax.device_count(),
        )
    elif backend == "torch":
        import torch

        name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        info.update(
            framework=f"torch {torch.__version__}",
            device=name,
            device_count=max(1, torch.cuda.device_count()),
        )
    else:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "gpu") if gpus else "cpu"
        info.update(framework=f"tensorflow {tf.__version__}", device=name, device_count=max(1, len(gpus)))
    return info


def reset_peak_memory():
    """Starts a new peak-memory window where the backend allows it (PyTorch and TensorFlow GPUs)."""
    backend = keras.backend.backend()
    if not devices.accelerator_available():
        return
    if backend == "torch":
        import torch

        torch.cuda.reset_peak_memory_stats()
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.reset_memory_stats("GPU:0")
    # JAX keeps one peak per process: the benchmark runs each measured group in its own process.


def peak_memory_gb():
    """`(gigabytes, kind)`: the accelerator's peak allocated memory, or on CPU the process's peak RSS."""
    backend = keras.backend.backend()
    if devices.accelerator_available():
        if backend == "jax":
            import jax

            stats = jax.devices()[0].memory_stats() or {}
            if "peak_bytes_in_use" in stats:
                return stats["peak_bytes_in_use"] / 1e9, "device"
        elif backend == "torch":
            import torch

            return torch.cuda.max_memory_allocated() / 1e9, "device"
        else:
            import tensorflow as tf

            return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 1e9, "device"
    scale = 1e3 if sys.platform != "darwin" else 1.0  # ru_maxrss: kilobytes on Linux, bytes on macOS
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e9, "host RSS"


def conv_peak_step(dtype, batch=8, size=64, in_channels=64, out_channels=128, jit_compile=False, seed=0):
    """A large 5x5 convolution forward + backward (input and kernel gradients) in `dtype`.

    The same `keras.ops.conv` the cells use, differentiated by the backend's own
    autodiff. Its speed is the achievable peak that the model's training step is
    compared with, measured in the same process and dtype.

    Returns:
        `(step, flops)`: `step()` runs one forward + backward and waits for it;
        `flops` = `3 x 2 x` multiply-accumulates of the forward convolution.
    """
    rng = np.random.default_rng(seed)
    x_np = rng.standard_normal((batch, size, size, in_channels), dtype=np.float32)
    w_np = rng.standard_normal((5, 5, in_channels, out_channels), dtype=np.float32) * 0.05
    flops = 3 * 2 * batch * size * size * in_channels * out_channels * 25
    backend = keras.backend.backend()

    def loss_of(x, w):
        y = keras.ops.conv(x, w, strides=1, padding="same")
        return keras.ops.sum(keras.ops.square(keras.ops.cast(y, "float32")))

    if backend == "jax":
        import jax

        x, w = keras.ops.cast(x_np, dtype), keras.ops.cast(w_np, dtype)
        # JAX has no other compiler: the conv runs under jit whatever `jit_compile` says.
        gradients = jax.jit(jax.grad(loss_of, argnums=(0, 1)))

        def step():
            gx, gw = gradients(x, w)
            return float(gx[0, 0, 0, 0]) + float(gw[0, 0, 0, 0])

        return step, flops
    if backend == "torch":
        import torch

        x = keras.ops.cast(x_np, dtype).requires_grad_(True)
        w = keras.ops.cast(w_np, dtype).requires_grad_(True)

        def step():
            gx, gw = torch.autograd.grad(loss_of(x, w), [x, w])
            return float(gx[0, 0, 0, 0]) + float(gw[0, 0, 0, 0])

        return step, flops
    import tensorflow as tf

    x = tf.cast(x_np, dtype)
    w = tf.Variable(tf.cast(w_np, dtype))

    @tf.function(jit_compile=jit_compile)
    def tape_gradients():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = loss_of(x, w)
        return tape.gradient(loss, [x, w])

    def step():
        gx, gw = tape_gradients()
        return float(gx[0, 0, 0, 0]) + float(gw[0, 0, 0, 0])

    return step, flops
