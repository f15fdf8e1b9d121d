"""ctt_keras: Convolutional Tensor-Train LSTM for Keras 3.

Importing the package has no TensorFlow-specific side effects: the layers and
models are written in `keras.ops` and run on any Keras backend. TensorFlow-only
pieces (training helpers, export) live in their own modules and are imported
explicitly.
"""

__version__ = "0.1.0"

from ctt_keras import layers, losses, models  # noqa: E402
from ctt_keras.layers import ConvLSTMCell, ConvRNN, ConvTTLSTMCell  # noqa: E402
from ctt_keras.losses import L1L2Loss  # noqa: E402
from ctt_keras.models import EarlyActivityRecognizer, VideoPredictor  # noqa: E402
