"""ctt_keras: Convolutional Tensor-Train LSTM for Keras 3.

Importing the package has no TensorFlow-specific side effects: the layers,
models, losses and metrics are written in `keras.ops` and run on every Keras
backend (TensorFlow, JAX, PyTorch). The submodules `metrics`, `zoo`,
`checkpoints`, `devices`, `benchmarks`, `training` and `export` are reachable
as attributes after `import ctt_keras` and are imported on first use; the
TensorFlow-only ones (`training`'s distribution strategies and `export`) say
which backend they need when used under another (see docs/performance.md).
"""

import importlib

__version__ = "0.1.0"

from ctt_keras import layers, losses, models  # noqa: E402, F401
from ctt_keras.layers import ConvLSTMCell, ConvRNN, ConvTTLSTMCell  # noqa: E402, F401
from ctt_keras.losses import L1L2Loss  # noqa: E402, F401
from ctt_keras.models import EarlyActivityRecognizer, VideoPredictor  # noqa: E402, F401

# Imported on first attribute access (PEP 562): `ctt_keras.metrics` works after `import ctt_keras`
# without making every import pay for LPIPS weights, the zoo or TensorFlow-only modules.
_LAZY_SUBMODULES = ("benchmarks", "checkpoints", "devices", "export", "metrics", "pipelines", "training", "zoo")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"ctt_keras.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ctt_keras' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
