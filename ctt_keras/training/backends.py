"""Training on any Keras backend: which `--strategy` each backend has, its distribution, compiled rollouts.

`ctt-train --backend jax|torch|tensorflow` runs the same recipes, schedules, checkpoints and evaluation on
each Keras backend. What differs per backend lives here:

- **Distribution** (`--strategy`): TensorFlow has `tf.distribute` (`default`, `mirrored`, `multi_worker`;
  `ctt_keras.training.strategy`); JAX has Keras' own `keras.distribution.DataParallel` over the local
  devices (`data_parallel`; `--cpu-replicas N` splits the CPU into N XLA host devices); PyTorch trains on
  one device (`default`).
- **Compiled rollouts** for evaluation: `tf.function` (TensorFlow), `jax.jit` (JAX), eager under
  `torch.no_grad()` (PyTorch).
- **The process**: Keras fixes its backend when it is first imported, so `ctt-train` re-runs itself with
  `KERAS_BACKEND` (and, for JAX CPU replicas, `XLA_FLAGS`) set when `--backend` differs from the backend
  Keras already runs on (`child_environment`).

Nothing here imports TensorFlow unless the TensorFlow backend asks for it.
"""

import contextlib
import importlib
import os
import re

import keras
import numpy as np

from ctt_keras import devices

# The `--strategy` values of each backend (the first is the default).
STRATEGIES = {
    "tensorflow": ("default", "mirrored", "multi_worker"),
    "jax": ("default", "data_parallel"),
    "torch": ("default",),
}
# The strategy that `--cpu-replicas` splits the CPU for, per backend.
CPU_REPLICA_STRATEGY = {"tensorflow": "mirrored", "jax": "data_parallel"}
STRATEGY_CHOICES = tuple(dict.fromkeys(s for names in STRATEGIES.values() for s in names))


def check_strategy(backend, strategy, cpu_replicas=None):
    """Raises `ValueError` naming the flags unless `--strategy` (and `--cpu-replicas`) exist on `backend`."""
    if backend not in STRATEGIES:
        raise ValueError(f"--backend must be one of {', '.join(STRATEGIES)}, got {backend!r}")
    if strategy not in STRATEGIES[backend]:
        others = [b for b, names in STRATEGIES.items() if strategy in names]
        where = f" (it is a strategy of --backend {' or '.join(others)})" if others else ""
        raise ValueError(f"--strategy {strategy} is not available with --backend {backend}{where}; "
                         f"choose one of {', '.join(STRATEGIES[backend])}")
    if cpu_replicas is not None:
        needed = CPU_REPLICA_STRATEGY.get(backend)
        if needed is None:
            raise ValueError(f"--cpu-replicas: --backend {backend} trains on one device")
        if strategy != needed:
            raise ValueError(f"--cpu-replicas needs --strategy {needed} with --backend {backend}")


def tensorflow_installed():
    """Whether TensorFlow imports here (it is imported: a spec alone does not prove it works)."""
    try:
        importlib.import_module("tensorflow")
    except ImportError:
        return False
    return True


def child_environment(backend, cpu_replicas=None, environ=None):
    """The environment of a process that runs Keras on `backend` (see the module docstring).

    `KERAS_BACKEND` is set; for JAX with `cpu_replicas`, `XLA_FLAGS` gains
    `--xla_force_host_platform_device_count=N` (replacing an earlier count), which JAX reads when it starts.
    """
    env = dict(os.environ if environ is None else environ)
    env["KERAS_BACKEND"] = backend
    if backend == "jax" and cpu_replicas:
        flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", env.get("XLA_FLAGS", "")).split()
        env["XLA_FLAGS"] = " ".join(flags + [f"--xla_force_host_platform_device_count={int(cpu_replicas)}"])
    return env


class KerasDistribution:
    """The JAX/PyTorch counterpart of a `tf.distribute.Strategy`, as far as a training run uses one.

    `scope()` builds the network under Keras' distribution (`keras.distribution.DataParallel` for
    `data_parallel`; nothing for `default`), `num_replicas_in_sync` is the number of devices a global batch
    is split over, and `name` is what the run's config.json records.

    Args:
        name: `"default"` or `"data_parallel"` (JAX).
        cpu_replicas: With `data_parallel` on a CPU: the number of XLA host devices to use (JAX must have
            been started with at least that many, see `child_environment`).
    """

    def __init__(self, name="default", cpu_replicas=None):
        backend = keras.backend.backend()
        check_strategy(backend, name, cpu_replicas)
        self.distribution = None
        self.num_replicas_in_sync = 1
        self.name = "one device"
        if name == "data_parallel":
            found = keras.distribution.list_devices()
            if cpu_replicas:
                cpus = keras.distribution.list_devices("cpu")
                if len(cpus) < cpu_replicas:
                    raise RuntimeError(
                        f"--cpu-replicas {cpu_replicas}: JAX sees {len(cpus)} CPU device(s); it must start "
                        f"with XLA_FLAGS=--xla_force_host_platform_device_count={cpu_replicas} (ctt-train "
                        "sets it when it starts JAX itself)")
                found = cpus[:cpu_replicas]
            self.distribution = keras.distribution.DataParallel(devices=found)
            self.num_replicas_in_sync = len(found)
            self.name = "DataParallel"

    @contextlib.contextmanager
    def scope(self):
        """Variables made inside are laid out for the distribution (replicated for data parallelism)."""
        if self.distribution is None:
            yield
        else:
            with self.distribution.scope():
                yield

    def activate(self):
        """Makes the distribution Keras' global one, so that `fit` splits every batch over the devices."""
        if self.distribution is not None:
            keras.distribution.set_distribution(self.distribution)

    def deactivate(self):
        if self.distribution is not None:
            keras.distribution.set_distribution(None)


def make_distribution(backend, name="default", cpu_replicas=None):
    """The run's strategy: a `tf.distribute.Strategy` on TensorFlow, else a `KerasDistribution`."""
    check_strategy(backend, name, cpu_replicas)
    active = keras.backend.backend()
    if active != backend:
        raise RuntimeError(
            f"--backend {backend}: Keras already runs on {active!r} in this process; set "
            f"KERAS_BACKEND={backend} before keras is first imported (ctt-train does this itself)")
    if backend == "tensorflow":
        from ctt_keras.training import strategy

        return strategy.make_strategy(name, cpu_replicas)
    return KerasDistribution(name, cpu_replicas)


def strategy_name(strategy):
    """How a run's config.json names its strategy."""
    if isinstance(strategy, KerasDistribution):
        return strategy.name
    name = type(strategy).__name__
    return {"_DefaultDistributionStrategy": "one device",
            "CollectiveAllReduceStrategy": "MultiWorkerMirroredStrategy"}.get(name, name)


def rollout_function(model, future_frames, jit_compile=False):
    """`context (NumPy [N, T, H, W, C]) -> NumPy predictions [N, future_frames, H, W, C]`, compiled.

    TensorFlow: a `tf.function` (XLA when `jit_compile`); JAX: `jax.jit` (always: JAX has no other
    compiler, and the weights are read as constants of the compiled rollout, which is what inference
    wants); PyTorch: eager, without recording gradients.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        compiled = tf.function(lambda c: model.predict_frames(c, future_frames), jit_compile=jit_compile,
                               reduce_retracing=True)
        return lambda context: np.asarray(compiled(tf.constant(context)))
    if backend == "jax":
        import jax

        compiled = jax.jit(lambda c: model.predict_frames(c, future_frames))
        return lambda context: np.asarray(compiled(context))
    if backend == "torch":
        import torch

        def rollout(context):
            with torch.no_grad():
                return keras.ops.convert_to_numpy(model.predict_frames(context, future_frames))

        return rollout
    devices.require_backend("compiled rollouts", *devices.BACKENDS)
