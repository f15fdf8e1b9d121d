"""Moving-MNIST clips without TensorFlow: NumPy iterators and `keras.utils.PyDataset`s for every backend.

The same clips as the tf.data builders, value for value:

- `sequences("train" | "validation" | "test", seed=...)` yields what
  `pipelines.moving_mnist.load(...)` yields (same generator, same random streams,
  same order, float32 in [0, 1] computed as `uint8 / 255` like the tf.data map);
- `file_sequences(path)` yields what `pipelines.moving_mnist_files.load_file(path)`
  yields for the community `.npy` and the official `.npz` files;
- `MovingMNIST` and `MovingMNISTFile` serve those clips in batches as
  `keras.utils.PyDataset`s, which `model.fit` / `evaluate` / `predict` accept on the
  TensorFlow, JAX and PyTorch backends alike. Batch `i` is always the same clips
  (random access, so `workers > 1` changes nothing but speed).

Nothing here imports TensorFlow (TFRecord shards still need it:
`pipelines.moving_mnist_files.load_tfrecords`).
"""

import itertools
import math
import pathlib
import threading

import keras
import numpy as np

from . import mnist_digits, moving_mnist, moving_mnist_files

__all__ = ["MovingMNIST", "MovingMNISTFile", "batches", "file_sequences", "read_file", "sequences"]


def _to_unit_float(frames):
    # The tf.data builders compute tf.cast(x, float32) / 255.0: one correctly rounded float32 division.
    return frames.astype(np.float32) / np.float32(255.0)


class _Generator:
    """Random access to the sequences of one split, in the tf.data builder's order, as uint8 arrays."""

    def __init__(
        self,
        split,
        sequence_length,
        num_digits,
        seed,
        num_sequences,
        image_size,
        shuffle,
        shuffle_seed,
        source,
    ):
        moving_mnist._validate(split, sequence_length, num_digits, image_size, num_sequences)
        if split == "train" and num_sequences is not None:
            raise ValueError(
                "num_sequences must be None for split='train' (an endless stream); "
                "take as many sequences as you need from it"
            )
        self.split = split
        self.sequence_length, self.num_digits, self.image_size = sequence_length, num_digits, image_size
        self.digits = mnist_digits.load_digits(moving_mnist._DIGIT_SPLIT[split], source=source)
        rng = np.random.default_rng([seed, moving_mnist._SPLIT_STREAM[split]])
        self._lock = threading.Lock()
        if split == "train":
            self.total = None
            # The endless stream draws its parameters chunk by chunk from one generator; keeping the
            # generator's state at the start of every chunk seen makes any chunk reproducible on demand.
            self._rng = rng
            self._chunk_states = [rng.bit_generator.state]
            self._cached_chunk = (None, None)
        else:
            self.total = num_sequences or moving_mnist.DEFAULT_NUM_SEQUENCES[split]
            self.indices, self.offsets = moving_mnist._sample_params(
                rng, self.digits.shape[0], self.total, num_digits, sequence_length, image_size
            )
            self.order = np.arange(self.total)
            if shuffle:
                order_seed = seed if shuffle_seed is None else shuffle_seed
                self.order = np.random.default_rng(order_seed).permutation(self.total)

    def _chunk_params(self, chunk):
        with self._lock:
            cached_chunk, params = self._cached_chunk
            if cached_chunk == chunk:
                return params
            known = min(chunk, len(self._chunk_states) - 1)
            self._rng.bit_generator.state = self._chunk_states[known]
            for k in range(known, chunk + 1):
                params = moving_mnist._sample_params(
                    self._rng,
                    self.digits.shape[0],
                    moving_mnist._CHUNK,
                    self.num_digits,
                    self.sequence_length,
                    self.image_size,
                )
                if k + 1 == len(self._chunk_states):
                    self._chunk_states.append(self._rng.bit_generator.state)
            self._cached_chunk = (chunk, params)
            return params

    def render(self, begin, end):
        """Sequences `begin..end-1` (reading order) as uint8 `[end - begin, T, H, W, 1]`."""
        if self.total is not None:
            chosen = self.order[begin:end]
            frames = moving_mnist.render(
                self.digits, self.indices[chosen], self.offsets[chosen], self.image_size
            )
            return frames[..., None]
        parts = []
        position = begin
        while position < end:
            chunk, start = divmod(position, moving_mnist._CHUNK)
            stop = min(moving_mnist._CHUNK, start + end - position)
            indices, offsets = self._chunk_params(chunk)
            parts.append(
                moving_mnist.render(self.digits, indices[start:stop], offsets[start:stop], self.image_size)
            )
            position += stop - start
        return np.concatenate(parts)[..., None]


def sequences(
    split="train",
    sequence_length=20,
    num_digits=2,
    seed=0,
    num_sequences=None,
    image_size=64,
    shuffle=None,
    shuffle_seed=None,
    source="bundled",
):
    """Yields Moving-MNIST sequences one by one, exactly those of `pipelines.moving_mnist.load`.

    Args:
        split, sequence_length, num_digits, seed, num_sequences, image_size, shuffle, shuffle_seed, source:
            as for `pipelines.moving_mnist.load` (`"train"` is endless; `"validation"` and `"test"` are
            fixed sets of 3,000 and 10,000 sequences by default).

    Yields:
        float32 arrays `[sequence_length, image_size, image_size, 1]` in [0, 1].

    Example:
    ```python
    import itertools
    first = list(itertools.islice(sequences("train", seed=0), 4))  # 4 clips [20, 64, 64, 1]
    ```
    """
    generator = _Generator(
        split, sequence_length, num_digits, seed, num_sequences, image_size, shuffle, shuffle_seed, source
    )
    for begin in _chunk_starts(generator.total):
        end = (
            begin + moving_mnist._CHUNK
            if generator.total is None
            else min(generator.total, begin + moving_mnist._CHUNK)
        )
        yield from _to_unit_float(generator.render(begin, end))


def batches(
    split="train",
    batch_size=16,
    drop_remainder=False,
    sequence_length=20,
    num_digits=2,
    seed=0,
    num_sequences=None,
    image_size=64,
    shuffle=None,
    shuffle_seed=None,
    source="bundled",
):
    """Yields batches `[batch_size, T, H, W, 1]` of `sequences(...)` (same arguments, same order).

    Args:
        split: `"train"`, `"validation"` or `"test"`.
        batch_size: Sequences per batch.
        drop_remainder: Drop a last, smaller batch of a fixed split.
        sequence_length, num_digits, seed, num_sequences, image_size, shuffle, shuffle_seed, source: as for
            `sequences`.

    Example:
    ```python
    clips = next(batches("train", batch_size=16, seed=0))  # [16, 20, 64, 64, 1] float32
    ```
    """
    batch_size = _check_batch_size(batch_size)
    generator = _Generator(
        split, sequence_length, num_digits, seed, num_sequences, image_size, shuffle, shuffle_seed, source
    )
    for begin in _chunk_starts(generator.total, batch_size):
        end = begin + batch_size if generator.total is None else min(generator.total, begin + batch_size)
        if end - begin < batch_size and drop_remainder:
            return
        yield _to_unit_float(generator.render(begin, end))


class MovingMNIST(keras.utils.PyDataset):
    """Moving-MNIST batches as a `keras.utils.PyDataset`: the clips of `pipelines.moving_mnist.load`.

    Batch `i` holds sequences `i * batch_size ... (i + 1) * batch_size - 1` of the
    tf.data builder's stream for the same arguments, as float32 in [0, 1]. The
    train split is endless (`num_batches` is None; pass `steps_per_epoch` to
    `fit`); the fixed splits have `ceil(N / batch_size)` batches (the last one may
    be smaller). Pass `shuffle=False` to `model.fit` to keep the builder's order
    (Keras shuffles the batches of a finite PyDataset by default).

    Args:
        split: `"train"`, `"validation"` or `"test"`.
        batch_size: Sequences per batch.
        sequence_length, num_digits, seed, num_sequences, image_size, shuffle, shuffle_seed, source: as for
            `pipelines.moving_mnist.load`.
        workers, use_multiprocessing, max_queue_size: as for `keras.utils.PyDataset`.

    Example:
    ```python
    train = MovingMNIST("train", batch_size=16, seed=0)
    model.fit(train, steps_per_epoch=1000, epochs=10,
              validation_data=MovingMNIST("validation", batch_size=16, seed=0))
    ```
    """

    def __init__(
        self,
        split="train",
        batch_size=16,
        sequence_length=20,
        num_digits=2,
        seed=0,
        num_sequences=None,
        image_size=64,
        shuffle=None,
        shuffle_seed=None,
        source="bundled",
        workers=1,
        use_multiprocessing=False,
        max_queue_size=10,
    ):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        self.batch_size = _check_batch_size(batch_size)
        self._generator = _Generator(
            split, sequence_length, num_digits, seed, num_sequences, image_size, shuffle, shuffle_seed, source
        )

    @property
    def num_batches(self):
        if self._generator.total is None:
            return None
        return math.ceil(self._generator.total / self.batch_size)

    def __len__(self):
        if self._generator.total is None:
            raise TypeError(
                "the Moving-MNIST train stream is endless and has no length (num_batches is None)"
            )
        return self.num_batches

    def __getitem__(self, index):
        begin = _check_index(index, self.num_batches) * self.batch_size
        end = begin + self.batch_size
        if self._generator.total is not None:
            end = min(end, self._generator.total)
        return _to_unit_float(self._generator.render(begin, end))


def read_file(path):
    """The uint8 sequences `[N, T, H, W, 1]` of an `.npy` (community) or `.npz` (official) file.

    Raises:
        ValueError: for another suffix (`.tfrecord` shards need TensorFlow:
            `pipelines.moving_mnist_files.load_tfrecords`), a malformed file, or a file with no sequences.
        FileNotFoundError: if `path` does not exist.
    """
    path = pathlib.Path(path)
    if path.suffix == ".npy":
        array = moving_mnist_files.read_mnist_test_seq(path)
    elif path.suffix == ".npz":
        array = moving_mnist_files.read_npz(path)
    elif path.suffix == ".tfrecord":
        raise ValueError(
            f"{path}: TFRecord shards need TensorFlow (pipelines.moving_mnist_files.load_tfrecords); "
            f"the NumPy readers take .npy and .npz files"
        )
    else:
        raise ValueError(f"{path}: unknown Moving-MNIST file type {path.suffix!r} (expected .npy or .npz)")
    if array.shape[0] == 0:
        raise ValueError(f"{path}: holds no sequences (shape {array.shape})")
    return array


def file_sequences(path):
    """Yields the sequences of an `.npy` / `.npz` file as float32 `[T, H, W, 1]` in [0, 1], in file order.

    The same values, in the same order, as `pipelines.moving_mnist_files.load_file(path)`.

    Example:
    ```python
    for clip in file_sequences("mnist_test_seq.npy"):  # 10,000 clips [20, 64, 64, 1]
        ...
    ```
    """
    array = read_file(path)
    for sequence in array:
        yield _to_unit_float(np.asarray(sequence))


class MovingMNISTFile(keras.utils.PyDataset):
    """The sequences of an `.npy` / `.npz` Moving-MNIST file in batches, as a `keras.utils.PyDataset`.

    The `.npy` file is memory-mapped: only the batches asked for are read.

    Args:
        path: The `.npy` (community, time first) or `.npz` (official, key `"data"`) file.
        batch_size: Sequences per batch (the last batch may be smaller).
        workers, use_multiprocessing, max_queue_size: as for `keras.utils.PyDataset`.

    Example:
    ```python
    test = MovingMNISTFile("mnist_test_seq.npy", batch_size=16)
    model.evaluate(test)
    ```
    """

    def __init__(self, path, batch_size=16, workers=1, use_multiprocessing=False, max_queue_size=10):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        self.path = pathlib.Path(path)
        self.batch_size = _check_batch_size(batch_size)
        self._array = read_file(self.path)

    @property
    def num_batches(self):
        return math.ceil(self._array.shape[0] / self.batch_size)

    def __len__(self):
        return self.num_batches

    def __getitem__(self, index):
        begin = _check_index(index, self.num_batches) * self.batch_size
        return _to_unit_float(np.asarray(self._array[begin : begin + self.batch_size]))


def _chunk_starts(total, step=moving_mnist._CHUNK):
    return itertools.count(0, step) if total is None else range(0, total, step)


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)


def _check_index(index, num_batches):
    index = int(index)
    if index < 0 or (num_batches is not None and index >= num_batches):
        limit = "an endless stream" if num_batches is None else f"{num_batches} batches"
        raise IndexError(f"batch index {index} out of range ({limit})")
    return index
