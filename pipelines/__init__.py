"""tf.data builders for the datasets of the Conv-TT-LSTM paper (one module per dataset).

Modules:
    moving_mnist: Moving-MNIST generator (endless train stream, fixed validation/test sets).
    moving_mnist_arrays: the same Moving-MNIST clips without TensorFlow (NumPy iterators, keras PyDataset).
    moving_mnist_files: readers/writers for `mnist_test_seq.npy`, the official `.npz`, TFRecord shards.
    mnist_digits: MNIST IDX reader and the bundled MNIST copy.
    kth: KTH action: `00sequences.txt` parser, TFDS builder over the raw AVIs, clip loader.
    ssv2: Something-Something V2: JSON readers, class subsets (default: a reconstruction of the 41-class
        subset), TFDS builder over the WebM videos, (clip, label) loader for early activity recognition.
    clips: clip windows, resizing and `split_context` for (context, future) pairs.
    video: decoding video files (OpenCV or PyAV) with clear errors for bad files.
    failures: skipping bad source files with a warning and a summary.
"""

import importlib

__all__ = ["clips", "failures", "kth", "mnist_digits", "moving_mnist", "moving_mnist_arrays",
           "moving_mnist_files", "ssv2", "video"]


def __getattr__(name):
    # Submodules load on first use (PEP 562), so that `import pipelines.moving_mnist_arrays` and the other
    # NumPy-only parts never import TensorFlow (a JAX or PyTorch install may not have it).
    if name in __all__:
        module = importlib.import_module(f"pipelines.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
