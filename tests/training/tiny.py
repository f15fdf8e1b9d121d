"""A tiny model and data shared by the training tests (8x8 frames, one cell)."""

import numpy as np

from ctt_keras import training

ARCHITECTURE = dict(layers_per_block=(1,), hidden_channels=(2,), skip_stride=None, kernel_size=3, rank=2)


def model(context_frames=2, seed=0, learning_rate=1e-2):
    m = training.build_model((8, 8, 1), ARCHITECTURE, context_frames=context_frames, seed=seed)
    return training.compile_model(m, learning_rate=learning_rate)


def clips(count=16, frames=4, seed=0):
    return np.random.default_rng(seed).random((count, frames, 8, 8, 1), dtype=np.float32)


def weights(m):
    return [np.asarray(w) for w in m.get_weights()]
