"""Distribution strategies for `model.fit`: building them, feeding them data, and a multi-worker fix.

TensorFlow only. `--strategy mirrored` on a machine without GPUs splits the CPU
into logical devices (`configure_cpu_replicas`), which must happen before
TensorFlow initialises its devices, i.e. before anything creates a tensor.
"""

import json
import os

import keras

from ctt_keras import devices

STRATEGY_CHOICES = ("default", "mirrored", "multi_worker")


def configure_cpu_replicas(num_replicas):
    """Splits the first CPU into `num_replicas` logical devices for `MirroredStrategy`.

    Must run before TensorFlow initialises its devices (first thing in a program).

    Args:
        num_replicas: Number of logical CPU devices, >= 1.

    Returns:
        The names of the logical CPU devices.

    Raises:
        ValueError: for a bad count.
        RuntimeError: if TensorFlow's devices are already initialised with another split.
    """
    import tensorflow as tf

    if not isinstance(num_replicas, int) or num_replicas < 1:
        raise ValueError(f"cpu replicas must be a positive int, got {num_replicas!r}.")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(num_replicas)]
        )
    except RuntimeError:
        existing = tf.config.list_logical_devices("CPU")
        if len(existing) != num_replicas:
            raise RuntimeError(
                f"TensorFlow's devices are already initialised with {len(existing)} logical CPU(s); "
                f"configure_cpu_replicas({num_replicas}) must run before any TensorFlow op."
            ) from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def make_strategy(name="default", cpu_replicas=None):
    """Builds a `tf.distribute.Strategy` by name.

    Args:
        name: `"default"` (one device), `"mirrored"` (`MirroredStrategy` over all
            local GPUs, or over `cpu_replicas` logical CPUs when given or when there
            is no GPU) or `"multi_worker"` (`MultiWorkerMirroredStrategy` from the
            `TF_CONFIG` environment variable).
        cpu_replicas: Logical CPU devices to mirror over (call
            `configure_cpu_replicas` first).

    Call it early: `MultiWorkerMirroredStrategy` must be created before any
    TensorFlow op runs (it configures the collective ops at start-up).

    Returns:
        The strategy. Build and compile the model inside `strategy.scope()`.
    """
    devices.require_backend("tf.distribute strategies (make_strategy)", "tensorflow")
    import tensorflow as tf

    if name not in STRATEGY_CHOICES:
        raise ValueError(f"strategy must be one of {STRATEGY_CHOICES}, got {name!r}.")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus and not cpu_replicas:
            return tf.distribute.MirroredStrategy([d.name for d in gpus])
        cpus = tf.config.list_logical_devices("CPU")
        if cpu_replicas and len(cpus) < cpu_replicas:
            raise RuntimeError(
                f"{cpu_replicas} CPU replicas requested but TensorFlow sees {len(cpus)} logical CPU(s); "
                "call configure_cpu_replicas before any TensorFlow op."
            )
        names = [d.name for d in cpus[: cpu_replicas or len(cpus)]]
        return tf.distribute.MirroredStrategy(names, cross_device_ops=tf.distribute.ReductionToOneDevice())
    check_tf_config()
    apply_multi_worker_fix()
    return tf.distribute.MultiWorkerMirroredStrategy()


def check_tf_config(environ=None):
    """Validates the `TF_CONFIG` environment variable for multi-worker training; returns it parsed."""
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            "--strategy multi_worker needs the TF_CONFIG environment variable, e.g. "
            '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}.'
        )
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"TF_CONFIG is not a valid cluster description ({error!r}): {raw}") from None
    if not 0 <= index < len(workers):
        raise ValueError(f"TF_CONFIG task index {index} is outside the {len(workers)} workers: {raw}")
    return config


def worker_info(strategy):
    """`(task_index, num_workers, is_chief)` of this process under `strategy`."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return 0, 1, True
    index = resolver.task_id or 0
    num_workers = len(resolver.cluster_spec().as_dict().get("worker", [])) or 1
    is_chief = resolver.task_type in (None, "chief") or (resolver.task_type == "worker" and index == 0)
    return index, num_workers, is_chief


def distribute_clips(strategy, make_dataset, global_batch_size, drop_remainder=True):
    """Builds a distributed dataset: each input pipeline batches its share of the global batch.

    Uses `strategy.distribute_datasets_from_function`. `make_dataset` builds the
    unbatched clip dataset; each input pipeline (one per worker) keeps every
    `num_input_pipelines`-th clip (`Dataset.shard`) and batches per replica, so
    one step sees `global_batch_size` distinct clips, the same ones a single
    device would see in one batch.

    Args:
        strategy: A `tf.distribute.Strategy`.
        make_dataset: Callable `() -> tf.data.Dataset` of unbatched clips.
        global_batch_size: Clips per step over all replicas; must divide evenly.
        drop_remainder: Drop a last partial batch (static shapes for XLA).

    Returns:
        A `tf.distribute.DistributedDataset` for `model.fit`.
    """
    import tensorflow as tf

    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise ValueError(
            f"batch size {global_batch_size} (global) does not split evenly over {replicas} replicas."
        )

    def dataset_fn(context):
        dataset = make_dataset()
        if context.num_input_pipelines > 1:
            dataset = dataset.shard(context.num_input_pipelines, context.input_pipeline_id)
        per_replica = context.get_per_replica_batch_size(global_batch_size)
        return dataset.batch(per_replica, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

    return strategy.distribute_datasets_from_function(dataset_fn)


def batch_for_strategy(dataset, strategy, global_batch_size, drop_remainder=True):
    """Batches an unbatched dataset globally, with data sharding for multi-worker evaluation.

    For datasets that Keras distributes itself (validation data): the global
    batch is split over replicas by Keras; under several workers, sharding by
    data (not by file) gives each worker distinct clips.
    """
    import tensorflow as tf

    dataset = dataset.batch(global_batch_size, drop_remainder=drop_remainder)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)


# -- Keras 3 fit under MultiWorkerMirroredStrategy --------------------------------------------------

# Keras versions in which fit under MultiWorkerMirroredStrategy fails (keras-team/keras#20585):
# `_maybe_symbolic_build` reduces the first PerReplica batch eagerly ("Attempt to convert a value
# (PerReplica...)"), and `reduce_per_replica` reduces scalar logs along axis 0 ("Invalid reduction
# dimension 0"). Measured broken on 3.15.1; newer versions are left alone until checked.
_BROKEN_KERAS = ((3, 0), (3, 15))
_fix_applied = False


def _keras_version():
    parts = keras.__version__.split(".")
    return int(parts[0]), int(parts[1])


def multi_worker_fix_needed(version=None):
    """True for the Keras versions whose `fit` breaks under `MultiWorkerMirroredStrategy`."""
    version = version or _keras_version()
    return _BROKEN_KERAS[0] <= version <= _BROKEN_KERAS[1]


def apply_multi_worker_fix():
    """Makes Keras 3 `fit`/`evaluate` work under `MultiWorkerMirroredStrategy` (keras-team/keras#20585).

    Patches two functions of Keras' TensorFlow trainer, only for the Keras
    versions known to be broken (`multi_worker_fix_needed`); idempotent:
    - the symbolic build takes the first replica's batch (it only needs shapes)
      instead of an eager cross-worker reduction of a `PerReplica` batch;
    - scalar logs are reduced with `axis=None` instead of `axis=0`.
    Single-worker strategies take the original code paths.

    Returns:
        True if the fix is (now) in place, False if this Keras version needs none.
    """
    global _fix_applied
    if _fix_applied:
        return True
    if not multi_worker_fix_needed():
        return False
    import tensorflow as tf
    from keras import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original_reduce = tf_trainer.reduce_per_replica
    original_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build

    def reduce_per_replica(values, strategy, reduction):
        if not (tf_trainer._collective_all_reduce_multi_worker(strategy) and reduction in ("auto", "mean")):
            return original_reduce(values, strategy, reduction)

        def reduce_one(value):
            if tf_trainer._is_per_replica_instance(value):
                rank = value.values[0].shape.rank
            elif isinstance(value, tf.Tensor):
                rank = value.shape.rank
            else:
                return value
            return strategy.reduce("MEAN", value, axis=0 if rank else None)

        return tree.map_structure(reduce_one, values)

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if strategy is None or not tf_trainer._collective_all_reduce_multi_worker(strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        if iterator is not None:
            for _, _, it in iterator:
                batch = next(it)
                data_batch = tree.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues)
                    else v,
                    batch,
                )
                break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    _fix_applied = True
    return True
