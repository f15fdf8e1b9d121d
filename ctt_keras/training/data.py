"""Clips of any dataset in `ctt_keras.pipelines.datasets`, shaped the way the networks read them.

The dataset module decides what a split holds (`clips`, a tf.data pipeline; optionally `py_dataset`, the
same clips without TensorFlow); this module adds what every run needs on top: a static time axis (the
networks unroll over it), skipping the clips a resumed run has seen, taking the first clips of a fixed split,
and prefetching. On the TensorFlow backend the clips come from tf.data; on JAX and PyTorch from the dataset's
`py_dataset` where it has one (no TensorFlow needed), else from tf.data (TensorFlow installed).
"""

import math

import keras

from ctt_keras.pipelines import datasets
from ctt_keras.training import progress as progress_lib


def dataset_module(config):
    """The `ctt_keras.pipelines` module of `config["dataset"]`."""
    return datasets.get(config["dataset"])


def clip_dataset(config, split, clip_length, num_sequences=None, skip=0):
    """Unbatched clips `[clip_length, H, W, C]` (or `(clip, label)`) of one split of `config["dataset"]`.

    Args:
        config: A run's settings (see `ctt_keras.pipelines.datasets`).
        split: "train" (endless and seeded), "validation" or "test" (fixed, in order).
        clip_length: Frames per clip (context + future).
        num_sequences: Keep the first clips of a fixed split (None: all of them).
        skip: Drop the first clips (a resumed run continues the train stream after the finished epochs).

    Returns:
        A prefetched `tf.data.Dataset` whose clips have a static time axis.
    """
    import tensorflow as tf

    dataset = dataset_module(config).clips(config, split, clip_length)
    dataset = dataset.map(_static_length(clip_length))
    if skip:
        dataset = dataset.skip(skip)
    if num_sequences is not None and split != "train":
        dataset = dataset.take(num_sequences)
    return dataset.prefetch(tf.data.AUTOTUNE)


def fixed_clips(config, split, clip_length, count, progress=False):
    """The first `count` clips of a split as one NumPy array (raises if there are fewer).

    Args:
        progress: Show a `keras.utils.Progbar` while reading.
    """
    import numpy as np

    bar = progress_lib.progbar(count) if progress else None
    clips = []
    source = py_dataset_of(config, split, clip_length, 16) if keras.backend.backend() != "tensorflow" else None
    if source is not None:
        for index in range(source.num_batches or math.ceil(count / 16)):
            if len(clips) >= count:
                break
            batch = np.asarray(source[index])[: count - len(clips)]
            clips.extend(batch)
            if bar is not None:
                bar.add(len(batch))
    else:
        for clip in clip_dataset(config, split, clip_length, num_sequences=count):
            clips.append(clip.numpy())
            if bar is not None:
                bar.add(1)
    if bar is not None and len(clips) < count:
        progress_lib.finish(bar, len(clips))
    if len(clips) < count:
        raise ValueError(f"the {split} split holds {len(clips)} clips of {clip_length} frames; "
                         f"{count} needed")
    return np.stack(clips)


def _static_length(clip_length):
    import tensorflow as tf

    def ensure(clip, *label):
        clip = tf.ensure_shape(clip, [clip_length, None, None, None])
        return (clip, *label) if label else clip

    return ensure


def py_dataset_of(config, split, clip_length, batch_size):
    """The dataset's own `py_dataset` for these settings (no TensorFlow), or None where it has none."""
    make = getattr(dataset_module(config), "py_dataset", None)
    return None if make is None else make(config, split, clip_length, batch_size)


def batches(config, split, clip_length, batch_size, num_sequences=None, skip=0):
    """Batches for `fit` on any backend: the dataset's `py_dataset`, else tf.data (needs TensorFlow).

    The same clips in the same order as `clip_dataset(...)` batched by `batch_size`.

    Args:
        config, split, clip_length, num_sequences: As for `clip_dataset` (`num_sequences`: a fixed split is
            cut to its first whole batches).
        batch_size: Clips per batch (the train split's batches are always whole).
        skip: Clips to drop first (a multiple of `batch_size`; a resumed run continues the train stream).

    Returns:
        A `keras.utils.PyDataset`, or a batched `tf.data.Dataset` where the dataset has no `py_dataset`.
    """
    if skip % batch_size:
        raise ValueError(f"skip={skip} is not a whole number of batches of {batch_size}")
    source = py_dataset_of(config, split, clip_length, batch_size)
    if source is None:
        from ctt_keras import devices

        devices.require_tensorflow(
            f"--dataset {config['dataset']} with these settings on --backend {keras.backend.backend()} "
            "(read by tf.data)", "generated Moving-MNIST (--dataset moving_mnist without --data-dir)")
        dataset = clip_dataset(config, split, clip_length, num_sequences=num_sequences, skip=skip)
        return dataset.batch(batch_size, drop_remainder=split == "train" or num_sequences is not None)
    count = None
    if split != "train":
        total = source.num_batches
        count = total if num_sequences is None else min(total, num_sequences // batch_size)
    return BatchWindow(source, skip // batch_size, count)


class BatchWindow(keras.utils.PyDataset):
    """Batches `first, first + 1, ...` of another `keras.utils.PyDataset` (all of them, or `count`).

    Args:
        source: A `PyDataset` (endless when its `num_batches` is None).
        first: The first batch served.
        count: How many batches (None: the rest of `source`, endless if it is).
    """

    def __init__(self, source, first=0, count=None):
        super().__init__()
        self.source, self.first, self.count = source, int(first), count
        if count is None and source.num_batches is not None:
            self.count = max(source.num_batches - self.first, 0)

    @property
    def num_batches(self):
        return self.count

    def __len__(self):
        if self.count is None:
            raise TypeError("an endless stream has no length")
        return self.count

    def __getitem__(self, index):
        if index < 0 or (self.count is not None and index >= self.count):
            raise IndexError(f"batch {index} out of range ({self.count} batches)")
        return self.source[self.first + index]
