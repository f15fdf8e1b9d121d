"""Moving-MNIST sequences stored in files: the community `.npy`, the official `.npz`, and TFRecord shards.

Layouts:
- `mnist_test_seq.npy` (Srivastava et al.): `[T, N, 64, 64]` uint8, time first.
- the official Conv-TT-LSTM code's `.npz`: key `"data"`, `[N, T, 64, 64, 1]`, values 0..255.
- our TFRecord shards: one `tf.train.Example` per sequence with `frames` (raw uint8 bytes of
  `[T, H, W, 1]`) and `shape` (int64 `[T, H, W, 1]`).

Pixel values (`.npy` and `.npz`; the rule is the same for both):
- uint8: pixels 0..255, streamed as `value / 255`.
- floats whose values all lie in [0, 1]: frames in the library's convention, streamed as they are
  (float32; never rounded to 8 bits).
- other floats or integers whose values are all whole numbers in 0..255: pixels 0..255 (the official
  `.npz` stores such floats), read as uint8.
- anything else (NaN or inf, negative values, values above 255, fractional values above 1, bool and
  other dtypes) is refused with a `ValueError` naming the file, the count of bad values and the range found.
"""

import os
import pathlib

import numpy as np

from ._lazy_tf import tf  # TensorFlow only when a tf.data builder runs

NPZ_KEY = "data"


def read_mnist_test_seq(path):
    """Reads the community `mnist_test_seq.npy` and returns it sequence-first.

    Args:
        path: path of an `.npy` file holding a `[T, N, H, W]` uint8 array (time first).

    Returns:
        `[N, T, H, W, 1]`: for uint8 files a read-only memory-mapped view (nothing copied); float files
        with values in [0, 1] give float32 frames; see the module docstring for the other dtypes.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if the array is not 4-D, or its dtype or values are neither pixels 0..255 nor frames
            in [0, 1] (the message names the file, the number of bad values and the range found).

    Example:
    ```python
    seqs = read_mnist_test_seq("mnist_test_seq.npy")  # (10000, 20, 64, 64, 1)
    ```
    """
    path = _existing(path)
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.ndim != 4:
        raise ValueError(f"{path}: shape {array.shape}, expected [T, N, H, W] (time first, 4-D)")
    array = _pixels_or_unit_frames(array, str(path))
    return np.transpose(array, (1, 0, 2, 3))[..., None]


def read_npz(path, key=NPZ_KEY):
    """Reads sequences from an `.npz` file in the official code's layout.

    Args:
        path: path of the `.npz` file.
        key: the array's key (`"data"` in the official files).

    Returns:
        `[N, T, H, W, 1]`: `np.uint8` pixels for uint8 files and whole-number pixel values 0..255,
        float32 frames for float files whose values lie in [0, 1] (see the module docstring).

    Raises:
        FileNotFoundError: if `path` does not exist.
        KeyError: if `key` is not in the file (the message lists the keys present).
        ValueError: if the array is not 5-D with one channel, or its dtype or values are neither pixels
            0..255 nor frames in [0, 1] (the message names the file, the number of bad values and the range).

    Example:
    ```python
    seqs = read_npz("moving_mnist_test.npz")  # (N, 20, 64, 64, 1) uint8
    ```
    """
    path = _existing(path)
    with np.load(path, allow_pickle=False) as archive:
        if key not in archive.files:
            raise KeyError(f"{path}: no key {key!r}; keys present: {sorted(archive.files)}")
        array = archive[key]
    if array.ndim != 5 or array.shape[-1] != 1:
        raise ValueError(f"{path}[{key!r}]: shape {array.shape}, expected [N, T, H, W, 1]")
    return _pixels_or_unit_frames(array, f"{path}[{key!r}]")


def write_npz(path, sequences, key=NPZ_KEY):
    """Writes sequences to a compressed `.npz` file in the official layout.

    Args:
        path: output path (`.npz`).
        sequences: uint8 array `[N, T, H, W]` or `[N, T, H, W, 1]`.
        key: the array's key.

    Returns:
        The output path as a `pathlib.Path`.

    Example:
    ```python
    write_npz("test.npz", moving_mnist.generate(digits, 100, np.random.default_rng(0)))
    ```
    """
    sequences = _as_five_d(sequences)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target, then renamed: an interrupted write (full disk, kill) leaves the old file.
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb") as f:
            np.savez_compressed(f, **{key: sequences})
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_tfrecords(prefix, sequences, num_shards=1, progress=None):
    """Writes sequences to TFRecord shards `<prefix>-0000i-of-0000n.tfrecord`.

    Args:
        prefix: output path prefix (its folder is created).
        sequences: uint8 array `[N, T, H, W]` or `[N, T, H, W, 1]`.
        num_shards: number of shards; sequence `i` goes to shard `i * num_shards // N` (contiguous).
        progress: optional callable called with 1 after each written sequence (e.g. `tqdm.update`).

    Returns:
        The list of shard paths.

    Example:
    ```python
    paths = write_tfrecords("out/mmnist-test", seqs, num_shards=4)
    ```
    """
    sequences = _as_five_d(sequences)
    total = sequences.shape[0]
    if not 1 <= num_shards <= max(total, 1):
        raise ValueError(f"num_shards must be in 1..{total} for {total} sequences, got {num_shards}")
    prefix = pathlib.Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for shard in range(num_shards):
        begin, end = shard * total // num_shards, (shard + 1) * total // num_shards
        path = prefix.parent / f"{prefix.name}-{shard:05d}-of-{num_shards:05d}.tfrecord"
        # Each shard is renamed into place once complete: a glob never matches a half-written shard.
        partial = path.with_name(path.name + ".partial")
        try:
            with tf.io.TFRecordWriter(str(partial)) as writer:
                for sequence in sequences[begin:end]:
                    writer.write(_to_example(sequence))
                    if progress is not None:
                        progress(1)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        paths.append(path)
    return paths


def load_tfrecords(pattern):
    """Streams sequences from TFRecord shards written by `write_tfrecords`.

    Args:
        pattern: a file pattern (`"out/mmnist-test-*.tfrecord"`) or a list of paths, read in sorted order.

    Returns:
        A `tf.data.Dataset` of float32 `[T, H, W, 1]` in `[0, 1]`, prefetched.

    Raises:
        FileNotFoundError: if nothing matches `pattern`.

    Example:
    ```python
    test = load_tfrecords("out/mmnist-test-*.tfrecord")
    ```
    """
    paths = sorted(tf.io.gfile.glob(pattern) if isinstance(pattern, str) else [str(p) for p in pattern])
    if not paths:
        raise FileNotFoundError(f"no TFRecord shards match {pattern!r}")
    dataset = tf.data.TFRecordDataset(paths).map(_parse_example, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def load_file(path):
    """Streams sequences from an `.npy` (community), `.npz` (official) or `.tfrecord` file.

    Args:
        path: path of the file; the layout is chosen by its suffix.

    Returns:
        A `tf.data.Dataset` of float32 `[T, H, W, 1]` in `[0, 1]`, with known cardinality, prefetched
        (uint8 pixels divided by 255, float frames in [0, 1] as stored; see the module docstring).

    Raises:
        ValueError: for an unknown suffix or a malformed file (shape, dtype, NaN/inf or out-of-range values).

    Example:
    ```python
    test = load_file("mnist_test_seq.npy")  # 10,000 sequences [20, 64, 64, 1]
    ```
    """
    path = pathlib.Path(path)
    if path.suffix == ".tfrecord":
        return load_tfrecords([path])
    if path.suffix == ".npy":
        sequences = read_mnist_test_seq(path)
    elif path.suffix == ".npz":
        sequences = read_npz(path)
    else:
        raise ValueError(f"{path}: unknown Moving-MNIST file type {path.suffix!r} "
                         f"(expected .npy, .npz or .tfrecord)")
    if sequences.shape[0] == 0:
        raise ValueError(f"{path}: holds no sequences (shape {sequences.shape})")

    def generator():
        for sequence in sequences:
            yield np.ascontiguousarray(sequence)

    signature = tf.TensorSpec(sequences.shape[1:], tf.as_dtype(sequences.dtype))
    dataset = tf.data.Dataset.from_generator(generator, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(sequences.shape[0]))
    if sequences.dtype == np.uint8:
        dataset = dataset.map(lambda x: tf.cast(x, tf.float32) / 255.0, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _existing(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Moving-MNIST file not found: {path}")
    return path


def _pixels_or_unit_frames(array, where):
    """`array` as uint8 pixels or float32 frames in [0, 1] (the module docstring's rule), else ValueError."""
    if array.dtype == np.uint8:
        return array
    floating = np.issubdtype(array.dtype, np.floating)
    if array.dtype == np.bool_ or not (floating or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{where}: dtype {array.dtype}; expected uint8 pixels 0..255 or frames in [0, 1]")
    low, high, nonfinite = _value_range(array)
    if nonfinite:
        raise ValueError(f"{where}: {nonfinite} of {array.size} values are NaN or infinite "
                         f"(shape {array.shape}); frames must be finite")
    if not array.size:
        return array.astype(np.uint8 if not floating else np.float32)
    if floating and low >= 0 and high <= 1:
        return array.astype(np.float32, copy=False)
    if low >= 0 and high <= 255 and (not floating or _all_whole(array)):
        return array.astype(np.uint8)
    raise ValueError(
        f"{where}: dtype {array.dtype} with values in [{low}, {high}] (shape {array.shape}): neither "
        "frames in [0, 1] nor whole pixel values 0..255; rescale to [0, 1] or store uint8 pixels")


def _chunks(array, elements=1 << 22):
    """Slices of `array` along its first axis holding about `elements` values (bounded temporaries)."""
    rows = max(1, elements // max(1, array[:1].size))
    for begin in range(0, array.shape[0], rows):
        yield np.asarray(array[begin : begin + rows])


def _value_range(array):
    """`(min, max, count of NaN/inf)` of `array`, the range over its finite values."""
    low, high, nonfinite = np.inf, -np.inf, 0
    for chunk in _chunks(array):
        if np.issubdtype(chunk.dtype, np.floating):
            finite = np.isfinite(chunk)
            bad = chunk.size - int(np.count_nonzero(finite))
            if bad:
                nonfinite += bad
                chunk = chunk[finite]
        if chunk.size:
            low, high = min(low, chunk.min().item()), max(high, chunk.max().item())
    return low, high, nonfinite


def _all_whole(array):
    return all(np.array_equal(chunk, np.rint(chunk)) for chunk in _chunks(array))


def _as_five_d(sequences):
    sequences = np.asarray(sequences)
    if sequences.dtype != np.uint8:
        raise ValueError(f"sequences must be uint8 0..255, got dtype {sequences.dtype}")
    if sequences.ndim == 4:
        sequences = sequences[..., None]
    if sequences.ndim != 5 or sequences.shape[-1] != 1:
        raise ValueError(f"sequences must be [N, T, H, W] or [N, T, H, W, 1], got shape {sequences.shape}")
    return sequences


def _to_example(sequence):
    feature = {
        "frames": tf.train.Feature(bytes_list=tf.train.BytesList(value=[sequence.tobytes()])),
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=list(sequence.shape))),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _parse_example(record):
    parsed = tf.io.parse_single_example(record, {
        "frames": tf.io.FixedLenFeature([], tf.string),
        "shape": tf.io.FixedLenFeature([4], tf.int64),
    })
    raw = tf.io.decode_raw(parsed["frames"], tf.uint8)
    # Bytes that do not match the shape (e.g. float frames): our own message, not a reshape error.
    check = tf.debugging.assert_equal(
        tf.size(raw, out_type=tf.int64), tf.reduce_prod(parsed["shape"]),
        message="TFRecord Moving-MNIST record: the `frames` bytes do not hold one uint8 value per element of "
                "`shape` (our shards store uint8 pixels; float frames must be written as uint8 pixels)")
    with tf.control_dependencies([check]):
        frames = tf.reshape(raw, parsed["shape"])
    return tf.cast(frames, tf.float32) / 255.0
