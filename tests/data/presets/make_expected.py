"""Writes <preset>_expected.npz: the first 3 predicted frames of the first 2 generated test clips (seed 0).

Run from the repository root after changing a trained preset's weights: python tests/data/presets/make_expected.py
"""
import itertools, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
from ctt_keras import zoo
from ctt_keras.pipelines import moving_mnist_arrays
clips = np.stack(list(itertools.islice(moving_mnist_arrays.sequences("test", sequence_length=20, seed=0), 2)))
for name in ("mmnist_convttlstm_small", "mmnist_convlstm_small"):
    model = zoo.load(name)
    pred = np.asarray(model.predict_frames(clips[:, :10], 3))
    np.savez_compressed(f"tests/data/presets/{name}_expected.npz", frames=pred.astype(np.float32),
                        context_sum=np.float64(clips[:, :10].sum()))
    print(name, pred.shape)
