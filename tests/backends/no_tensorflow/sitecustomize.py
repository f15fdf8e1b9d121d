"""Makes TensorFlow unimportable in every Python process started with this folder on PYTHONPATH.

Python imports `sitecustomize` at start-up, before any user code: with this folder first on
PYTHONPATH, `import tensorflow` fails exactly as on a machine without TensorFlow
(`ModuleNotFoundError`, and `importlib.util.find_spec` finds nothing), in the process and in every
subprocess it starts with the same environment. The backend tests and the benchmark smoke test use it.
"""

import importlib.abc
import importlib.machinery
import sys

BLOCKED = ("tensorflow", "tensorflow_datasets", "tf_keras", "tensorboard")


class _Unimportable(importlib.abc.Loader):
    def create_module(self, spec):
        raise ModuleNotFoundError(
            f"No module named {spec.name!r} (blocked by the backend tests)", name=spec.name
        )

    def exec_module(self, module):  # pragma: no cover - create_module always raises
        raise ModuleNotFoundError(module.__name__)


class _BlockTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            # A spec without origin: `find_spec` callers (torch._dynamo does this) see nothing installed.
            return importlib.machinery.ModuleSpec(name, _Unimportable())
        return None


def tensorflow_imported():
    """Whether any blocked module made it into this process (it never should)."""
    return any(name.split(".")[0] in BLOCKED for name in sys.modules)


sys.meta_path.insert(0, _BlockTensorFlow())
