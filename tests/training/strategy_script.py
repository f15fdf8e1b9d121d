"""Trains a tiny VideoPredictor a few steps under one strategy and saves its losses and weights.

Run as a separate process (logical CPU devices and TF_CONFIG must be set before TensorFlow starts):

    python strategy_script.py single OUT.npz      # default strategy
    python strategy_script.py mirrored OUT.npz    # MirroredStrategy over 2 logical CPUs
    python strategy_script.py worker OUT.npz      # MultiWorkerMirroredStrategy from TF_CONFIG
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

GLOBAL_BATCH = 8
STEPS = 3


def clips():
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.random((GLOBAL_BATCH * STEPS, 4, 8, 8, 1), dtype=np.float32)


def train(strategy_name, cpu_replicas=None):
    import keras
    import numpy as np
    import tensorflow as tf

    from ctt_keras import training

    keras.utils.set_random_seed(0)
    strategy = training.make_strategy(strategy_name, cpu_replicas)
    data = clips()
    dataset = training.distribute_clips(
        strategy, lambda: tf.data.Dataset.from_tensor_slices(data), GLOBAL_BATCH
    )
    with strategy.scope():
        model = training.build_model(
            (8, 8, 1),
            dict(layers_per_block=(1,), hidden_channels=(2,), skip_stride=None, kernel_size=3, rank=2),
            context_frames=2, seed=0,
        )
        training.compile_model(model, learning_rate=1e-2)
    history = model.fit(dataset, epochs=1, steps_per_epoch=STEPS, verbose=0)
    return {
        "loss": np.array(history.history["loss"]),
        "replicas": np.array(strategy.num_replicas_in_sync),
        **{f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())},
    }


def main(mode, out):
    import numpy as np

    if mode == "mirrored":
        from ctt_keras import training

        training.configure_cpu_replicas(2)
        results = {f"single_{k}": v for k, v in train("default").items()}
        results.update({f"mirrored_{k}": v for k, v in train("mirrored", cpu_replicas=2).items()})
    elif mode == "single":
        results = train("default")
    elif mode == "worker":
        results = train("multi_worker")
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    np.savez(out, **results)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
