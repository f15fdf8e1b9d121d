"""Cutting videos into fixed-length clips and clips into (context, future) pairs, as tf.data transforms."""

import numpy as np
import tensorflow as tf


def window_starts(num_frames, clip_length, stride):
    """Start indices of the clips `[s, s + clip_length)` that fit in a video.

    Args:
        num_frames: frames in the video.
        clip_length: frames per clip.
        stride: distance between consecutive starts (1 = maximal overlap, `clip_length` = no overlap).

    Returns:
        An `np.int64` array of starts `0, stride, 2 * stride, ...` with `start + clip_length <= num_frames`
        (empty when the video is shorter than a clip).

    Example:
    ```python
    window_starts(45, 20, 20)  # -> [0, 20]
    ```
    """
    if clip_length < 1 or stride < 1:
        raise ValueError(f"clip_length and stride must be >= 1, got {clip_length} and {stride}")
    return np.arange(0, max(num_frames - clip_length + 1, 0), stride, dtype=np.int64)


def windows(frames, clip_length, stride):
    """Cuts one video tensor into clips, as a dataset (use inside `flat_map`).

    Args:
        frames: tensor `[N, H, W, C]`.
        clip_length: frames per clip `T`.
        stride: distance between clip starts.

    Returns:
        A `tf.data.Dataset` of tensors `[T, H, W, C]`, the clips starting at `0, stride, ...` that fit.

    Example:
    ```python
    clips = videos.flat_map(lambda v: windows(v, 20, 1))
    ```
    """
    count = tf.maximum(tf.shape(frames, out_type=tf.int64)[0] - clip_length + 1, 0)
    starts = tf.data.Dataset.range(0, count, stride)
    return starts.map(lambda s: frames[s:s + clip_length])


def resize_frames(frames, size):
    """Resizes uint8 frames and scales them to float32 in [0, 1].

    The resize is bilinear with antialiasing (`tf.image.resize(..., antialias=True)`), so downscaling
    averages over the source pixels instead of skipping them; results are clipped to [0, 1].

    Args:
        frames: uint8 tensor `[N, H, W, C]`.
        size: `(height, width)` of the output, or None to keep the input size.

    Returns:
        A float32 tensor `[N, height, width, C]` in `[0, 1]`.

    Example:
    ```python
    resize_frames(tf.zeros([5, 120, 160, 1], tf.uint8), (128, 128)).shape  # (5, 128, 128, 1)
    ```
    """
    frames = tf.cast(frames, tf.float32) / 255.0
    if size is None:
        return frames
    resized = tf.image.resize(frames, size, method="bilinear", antialias=True)
    return tf.clip_by_value(resized, 0.0, 1.0)


def split_context(dataset, context_frames):
    """Splits every clip of a dataset into its first `context_frames` frames and the rest.

    Args:
        dataset: a `tf.data.Dataset` whose elements are clips `[T, ...]`, or `(clip, label)` pairs
            (as yielded by `pipelines.ssv2.load`). Batched datasets are not supported: split first.
        context_frames: frames given to the model, `0 < context_frames < T`.

    Returns:
        A dataset of `(context, future)` pairs (`[context_frames, ...]`, `[T - context_frames, ...]`),
        or of `(context, future, label)` triples for `(clip, label)` elements; prefetched.

    Raises:
        ValueError: if `context_frames` leaves no context or no future for the dataset's clip length.

    Example:
    ```python
    pairs = split_context(pipelines.moving_mnist.load("test"), 10)  # ([10,64,64,1], [10,64,64,1])
    ```
    """
    spec = dataset.element_spec
    clip_spec = spec[0] if isinstance(spec, tuple) else spec
    if isinstance(spec, tuple) and len(spec) != 2:
        raise ValueError(f"split_context expects clips or (clip, label) pairs, got elements {spec}")
    length = clip_spec.shape[0] if clip_spec.shape.rank else None
    if not isinstance(context_frames, int) or context_frames < 1 or (
            length is not None and context_frames >= length):
        raise ValueError(f"context_frames must be an int in 1..{length - 1 if length else 'T-1'} "
                         f"for clips of {length} frames, got {context_frames!r}")

    if isinstance(spec, tuple):
        fn = lambda clip, label: (clip[:context_frames], clip[context_frames:], label)  # noqa: E731
    else:
        fn = lambda clip: (clip[:context_frames], clip[context_frames:])  # noqa: E731
    return dataset.map(fn, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def repeat_shuffled(dataset, seed, buffer_size=256):
    """An endless, shuffled stream of `dataset`'s elements that is the same on every iteration.

    `dataset.repeat().shuffle(buffer_size, seed, reshuffle_each_iteration=False)`.
    Unlike `dataset.shuffle(...).repeat()`, whose order changes with every new
    iterator, every iterator of the result yields the same stream: the same seed
    gives the same batches whether the stream is iterated once (one device) or
    restarted (Keras iterates a training dataset once more to build the model
    under a distribution strategy; a resumed run re-creates it). The buffer runs
    across pass boundaries, so a pass may end before all of its elements appeared
    (they come early in the next one).

    Args:
        dataset: a finite `tf.data.Dataset` (unbatched), e.g. `pipelines.ssv2.load(..., shuffle=False)`.
        seed: int seed of the stream.
        buffer_size: elements held by the shuffle buffer.

    Returns:
        An infinite dataset.

    Example:
    ```python
    train = repeat_shuffled(pipelines.ssv2.load(data_dir, "train", shuffle=False), seed=0)
    ```
    """
    if not isinstance(buffer_size, int) or buffer_size < 1:
        raise ValueError(f"buffer_size must be a positive int, got {buffer_size!r}")
    return dataset.repeat().shuffle(buffer_size, seed=int(seed), reshuffle_each_iteration=False)
