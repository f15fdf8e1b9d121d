"""Choosing the mixed-precision policy and XLA for the device at hand."""

import keras

from ctt_keras import devices

MIXED_PRECISION_CHOICES = ("auto", "off", "mixed_float16", "mixed_bfloat16")
JIT_COMPILE_CHOICES = ("auto", "on", "off")

# CPU flags of instructions that make bfloat16 matrix products fast (Linux /proc/cpuinfo names).
_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_supports_bfloat16(cpuinfo_path="/proc/cpuinfo"):
    """True when the CPU has native bfloat16 instructions (AVX512_BF16 or AMX-BF16).

    Reads the Linux `/proc/cpuinfo` flags; elsewhere (no such file) answers False,
    so "auto" precision stays float32 rather than risking slow emulated bfloat16.
    """
    try:
        with open(cpuinfo_path) as f:
            text = f.read()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return any(flag in flags for flag in _BF16_CPU_FLAGS)
    return False


def resolve_mixed_precision(value="auto", accelerator=None, cpuinfo_path="/proc/cpuinfo"):
    """Resolves a `--mixed-precision` choice to a Keras dtype policy name.

    Args:
        value: `"auto"`, `"off"`, `"mixed_float16"` or `"mixed_bfloat16"`.
            `"auto"` means `"mixed_float16"` on a GPU, `"mixed_bfloat16"` on a CPU
            with native bfloat16 instructions, `"float32"` otherwise (float16 on a
            CPU is emulated and several times slower than float32).
        accelerator: Whether a GPU/TPU is present; `None` asks `ctt_keras.devices`.
        cpuinfo_path: Where to read the CPU flags from (for tests).

    Returns:
        `"float32"`, `"mixed_float16"` or `"mixed_bfloat16"`.

    Example:

    >>> keras.mixed_precision.set_global_policy(resolve_mixed_precision("auto"))
    """
    if value not in MIXED_PRECISION_CHOICES:
        raise ValueError(f"mixed precision must be one of {MIXED_PRECISION_CHOICES}, got {value!r}.")
    if value == "off":
        return "float32"
    if value != "auto":
        return value
    if accelerator is None:
        accelerator = devices.accelerator_available()
    if accelerator:
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_supports_bfloat16(cpuinfo_path) else "float32"


def resolve_jit_compile(value="auto", accelerator=None, backend=None):
    """Resolves a `--jit-compile` choice (`"auto"`, `"on"`, `"off"`) to a bool.

    `"auto"` follows `ctt_keras.devices.default_jit_compile`: on TensorFlow, XLA on
    accelerators only (on CPU the XLA-compiled recurrent loop is far slower than the
    default kernels); on JAX always (its only compiler); on PyTorch off
    (`torch.compile` is opt-in).

    Args:
        value: `"auto"`, `"on"` or `"off"`.
        accelerator: Whether a GPU/TPU is present; `None` asks the backend.
        backend: A Keras backend name; default the active one.
    """
    if value not in JIT_COMPILE_CHOICES:
        raise ValueError(f"jit compile must be one of {JIT_COMPILE_CHOICES}, got {value!r}.")
    if value == "auto":
        return devices.default_jit_compile(backend=backend, accelerator=accelerator)
    return value == "on"


def set_precision_policy(policy):
    """Sets Keras' global dtype policy; returns the previous policy's name (to restore it)."""
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    return previous
