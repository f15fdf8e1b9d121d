"""tf.data builders for the datasets of the Conv-TT-LSTM paper (one module per dataset): `ctt_keras.pipelines`.

Modules:
    datasets: the table of datasets (name -> module) and the surface every dataset module exposes.
    moving_mnist: Moving-MNIST generator (endless train stream, fixed validation/test sets).
    moving_mnist_files: readers/writers for `mnist_test_seq.npy`, the official `.npz`, TFRecord shards.
    mnist_digits: MNIST IDX reader and the bundled MNIST copy.
    kth: KTH action: `00sequences.txt` parser, TFDS builder over the raw AVIs, clip loader.
    ssv2: Something-Something V2: JSON readers, class subsets (default: a reconstruction of the 41-class
        subset), TFDS builder over the WebM videos, (clip, label) loader for early activity recognition.
    clips: clip windows, resizing and `split_context` for (context, future) pairs.
    video: decoding video files (OpenCV or PyAV) with clear errors for bad files.
    failures: skipping bad source files with a warning and a summary.

The folder is `pipelines/` in the repository and is installed as `ctt_keras.pipelines` (nothing is installed
under a generic top-level name); write `from ctt_keras.pipelines import moving_mnist`.
"""

if __name__ == "pipelines":
    # `import pipelines` from a source checkout (the folder's own name): hand out the very modules of
    # `ctt_keras.pipelines`, so that no module (and no TFDS builder) is loaded twice under two names.
    import importlib as _importlib
    import sys as _sys

    _package = _importlib.import_module("ctt_keras.pipelines")
    for _name, _module in list(_sys.modules.items()):
        if _name.startswith("ctt_keras.pipelines."):
            _sys.modules["pipelines." + _name[len("ctt_keras.pipelines."):]] = _module
    _sys.modules["pipelines"] = _package
else:
    from . import (  # noqa: F401
        clips, datasets, failures, kth, mnist_digits, moving_mnist, moving_mnist_files, ssv2, video)

__all__ = ["clips", "datasets", "failures", "kth", "mnist_digits", "moving_mnist", "moving_mnist_files",
           "ssv2", "video"]
