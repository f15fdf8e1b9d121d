"""tf.data builders for the datasets of the Conv-TT-LSTM paper (one module per dataset): `ctt_keras.pipelines`.

Modules:
    datasets: the table of datasets (name -> module) and the surface every dataset module exposes.
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

The folder is `pipelines/` in the repository and is installed as `ctt_keras.pipelines` (nothing is installed
under a generic top-level name); write `from ctt_keras.pipelines import moving_mnist`.
"""

import importlib as _importlib
import sys as _sys

__all__ = ["clips", "datasets", "failures", "kth", "mnist_digits", "moving_mnist", "moving_mnist_arrays",
           "moving_mnist_files", "ssv2", "video"]

if __name__ == "pipelines":
    # `import pipelines` from a source checkout (the folder's own name): `pipelines.X` is the very module
    # `ctt_keras.pipelines.X`, whenever it is first imported, so that no module (and no TFDS builder) is
    # loaded twice under two names.
    import importlib.abc as _abc
    import importlib.util as _util

    class _SameModules(_abc.MetaPathFinder, _abc.Loader):
        def find_spec(self, name, path=None, target=None):
            if name.startswith("pipelines."):
                return _util.spec_from_loader(name, self)
            return None

        def create_module(self, spec):
            return _importlib.import_module("ctt_keras." + spec.name)

        def exec_module(self, module):
            pass

    _sys.meta_path.insert(0, _SameModules())
    _sys.modules["pipelines"] = _importlib.import_module("ctt_keras.pipelines")
else:
    def __getattr__(name):
        # Submodules load on first use (PEP 562), so that `moving_mnist_arrays` and the other NumPy-only
        # parts never import TensorFlow (a JAX or PyTorch install may not have it).
        if name in __all__:
            module = _importlib.import_module(f"{__name__}.{name}")
            globals()[name] = module
            return module
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
