"""Clips of any dataset in `ctt_keras.pipelines.datasets`, shaped the way the networks read them (TensorFlow).

The dataset module decides what a split holds (`clips`); this module adds what every run needs on top:
a static time axis (the networks unroll over it), skipping the clips a resumed run has seen, taking the first
clips of a fixed split, and prefetching.
"""

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
