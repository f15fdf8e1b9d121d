"""ctt_keras.checkpoints."""

from ctt_keras.checkpoints.torch_reader import read_torch_checkpoint  # noqa: F401
