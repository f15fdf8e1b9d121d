"""Moving-MNIST sequences stored in files: the community `.npy`, the official `.npz`, and TFRecord shards.

Layouts:
- `mnist_test_seq.npy` (Srivastava et al.): `[T, N, 64, 64]` uint8, time first.
- the official Conv-TT-LSTM code's `.npz`: key `"data"`, `[N, T, 64, 64, 1]`, values 0..255.
- our TFRecord shards: one `tf.train.Example` per sequence with `frames` (raw uint8 bytes of
  `[T, H, W, 1]`) and `shape` (int64 `[T, H, W, 1]`).
"""

import pathlib

import numpy as np

from ._lazy_tf import tf  # TensorFlow only when a tf.data builder runs

NPZ_KEY = "data"


def read_mnist_test_seq(path):
    """Reads the community `mnist_test_seq.npy` and returns it sequence-first.

    Args:
        path: path of an `.npy` file holding a `[T, N, H, W]` uint8 array (time first).

    Returns:
        A read-only `np.uint8` array view `[N, T, H, W, 1]` (memory-mapped, nothing copied).

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if the dtype is not uint8 or the array is not 4-D.

    Example:
    ```python
    seqs = read_mnist_test_seq("mnist_test_seq.npy")  # (10000, 20, 64, 64, 1)
    ```
    """
    path = _existing(path)
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.dtype != np.uint8:
        raise ValueError(f"{path}: dtype {array.dtype}, expected uint8 (mnist_test_seq.npy layout)")
    if array.ndim != 4:
        raise ValueError(f"{path}: shape {array.shape}, expected [T, N, H, W] (time first, 4-D)")
    return np.transpose(array, (1, 0, 2, 3))[..., None]


def read_npz(path, key=NPZ_KEY):
    """Reads sequences from an `.npz` file in the official code's layout.

    Args:
        path: path of the `.npz` file.
        key: the array's key (`"data"` in the official files).

    Returns:
        A `np.uint8` array `[N, T, H, W, 1]`.

    Raises:
        FileNotFoundError: if `path` does not exist.
        KeyError: if `key` is not in the file (the message lists the keys present).
        ValueError: if the array is not 5-D with one channel, or its dtype/values are not 0..255 pixels.

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
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{path}[{key!r}]: dtype {array.dtype}, expected uint8 pixels 0..255")
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(f"{path}[{key!r}]: dtype {array.dtype} with values in "
                         f"[{array.min()}, {array.max()}], expected pixels 0..255")
    return np.rint(array).astype(np.uint8)


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
    np.savez_compressed(path, **{key: sequences})
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
        with tf.io.TFRecordWriter(str(path)) as writer:
            for sequence in sequences[begin:end]:
                writer.write(_to_example(sequence))
                if progress is not None:
                    progress(1)
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
        A `tf.data.Dataset` of float32 `[T, H, W, 1]` in `[0, 1]`, with known cardinality, prefetched.

    Raises:
        ValueError: for an unknown suffix or a malformed file.

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

    signature = tf.TensorSpec(sequences.shape[1:], tf.uint8)
    dataset = tf.data.Dataset.from_generator(generator, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(sequences.shape[0]))
    dataset = dataset.map(lambda x: tf.cast(x, tf.float32) / 255.0, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _existing(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Moving-MNIST file not found: {path}")
    return path


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
    frames = tf.reshape(tf.io.decode_raw(parsed["frames"], tf.uint8), parsed["shape"])
    return tf.cast(frames, tf.float32) / 255.0
