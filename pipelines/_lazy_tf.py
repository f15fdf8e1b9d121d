"""TensorFlow, imported on first use, so that the NumPy parts of `pipelines` work without it.

`from ._lazy_tf import tf` in a module whose tf.data builders sit next to
plain NumPy readers and generators: importing the module (and calling the NumPy
parts) never imports TensorFlow; the first `tf.<name>` does, and without
TensorFlow installed it raises an `ImportError` that says what needs it and what
to use instead.
"""

import importlib

_MISSING = (
    "this part of `pipelines` builds tf.data datasets or TFRecord files and needs TensorFlow, which is not "
    "installed (pip install tensorflow-cpu, or tensorflow for a GPU). Without TensorFlow, read and "
    "generate Moving-MNIST clips with `pipelines.moving_mnist_arrays` (NumPy iterators and "
    "keras.utils.PyDataset, usable on every Keras backend)."
)


class _LazyTensorFlow:
    """Stands for the `tensorflow` module; imports it at the first attribute access."""

    def __init__(self):
        self._module = None

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if self._module is None:
            try:
                self._module = importlib.import_module("tensorflow")
            except ImportError as error:
                raise ImportError(_MISSING) from error
        return getattr(self._module, name)

    def __repr__(self):
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy tensorflow module, {state}>"


tf = _LazyTensorFlow()
