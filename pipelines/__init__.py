"""tf.data builders for the datasets of the Conv-TT-LSTM paper (one module per dataset).

Modules:
    moving_mnist: Moving-MNIST generator (endless train stream, fixed validation/test sets).
    moving_mnist_files: readers/writers for `mnist_test_seq.npy`, the official `.npz`, TFRecord shards.
    mnist_digits: MNIST IDX reader and the bundled MNIST copy.
    clips: clip windows, resizing and `split_context` for (context, future) pairs.
"""

from pipelines import clips, mnist_digits, moving_mnist, moving_mnist_files  # noqa: F401

__all__ = ["clips", "mnist_digits", "moving_mnist", "moving_mnist_files"]
