"""What the backend tests compute: the same code runs in the TF-blocked worker and in the test process.

Each function adds named NumPy arrays to a `results` dict; the tests compare the
worker's dict (JAX or PyTorch, TensorFlow unimportable) with the official vectors
and with the dict the test process computes on its own backend.
"""

import json
import pathlib

import keras
import numpy as np

import ctt_keras
from pipelines import moving_mnist_arrays

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTOR_NAMES = ("tiny2", "small_skip", "small_convlstm_sig")


def parity_vectors_dir():
    """The folder of the official-code test vectors, or None when this checkout has none.

    The one place that knows where they are: `tests/data/nvlabs` (kept in the repository), else the
    internal reference folder `../shared/reference/nvlabs` beside the checkout.
    """
    for candidate in (
        REPO_ROOT / "tests" / "data" / "nvlabs",
        REPO_ROOT.parent / "shared" / "reference" / "nvlabs",
    ):
        if all((candidate / f"vectors_{name}.npz").is_file() for name in VECTOR_NAMES):
            return candidate
    return None


def nhwc(a):
    """[..., C, H, W] (PyTorch) -> channels last."""
    return np.moveaxis(a, -3, -1)


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def compiled(fn):
    """`fn` compiled on JAX (op-by-op dispatch from Python is slow there); unchanged on other backends.

    Under `jax.jit` the model's variables are read as constants, which is all a forward pass needs.
    """
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    return fn


def load_vectors(vectors_dir, name):
    data = dict(np.load(pathlib.Path(vectors_dir) / f"vectors_{name}.npz"))
    return data, json.loads(str(data["meta_json"]))["config"]


def training_clip(data):
    """The teacher-forced clip of the vectors: the 19 inputs and the last target frame."""
    return np.concatenate([nhwc(data["input_tf"]), nhwc(data["target_tf"])[:, -1:]], axis=1)


def fit_model(vectors_dir):
    """The tiny official network (weights from the vectors) on 64x64 Moving-MNIST, SGD, with frame metrics."""
    from ctt_keras.checkpoints import from_nvlabs

    model = from_nvlabs(str(vectors_dir / "vectors_tiny2.npz"), frame_shape=(64, 64, 1), context_frames=2)
    model.compile(
        optimizer=keras.optimizers.SGD(0.5),
        metrics=[ctt_keras.metrics.FrameMSE(), ctt_keras.metrics.FramePSNR(), ctt_keras.metrics.FrameSSIM()],
    )
    return model


def fit(results, vectors_dir):
    model = fit_model(vectors_dir)
    results["fit/jit_compile"] = np.bool_(model.jit_compile)
    data = moving_mnist_arrays.MovingMNIST("train", batch_size=2, seed=0, sequence_length=4)
    initial = [to_numpy(v) for v in model.trainable_variables]
    history = model.fit(data, steps_per_epoch=3, epochs=1, shuffle=False, verbose=0)
    for key, values in history.history.items():
        results[f"fit/history/{key}"] = np.asarray(values, np.float64)
    for i, variable in enumerate(model.trainable_variables):
        # The path without the model's name (uniquified per process: video_predictor_3/...).
        results[f"fit/weights/{i:02d}/{variable.path.split('/', 1)[-1]}"] = to_numpy(variable)
    results["fit/weight_change"] = np.float64(
        max(np.abs(to_numpy(v) - w).max() for v, w in zip(model.trainable_variables, initial))
    )
    evaluation = model.evaluate(data[7], verbose=0, return_dict=True)
    for key, value in evaluation.items():
        results[f"fit/evaluate/{key}"] = np.float64(value)


def metric_inputs():
    rng = np.random.default_rng(11)
    a = rng.random((2, 3, 40, 40, 3), dtype=np.float32)
    return a, np.clip(a + rng.normal(0.0, 0.1, a.shape).astype(np.float32), 0.0, 1.0)


def metrics(results):
    a, b = metric_inputs()
    m = ctt_keras.metrics
    functions = {
        "mse": m.mse,
        "mae": m.mae,
        "psnr": m.psnr,
        "ssim": m.ssim,
        "ssim_gaussian": lambda x, y: m.ssim(x, y, window="gaussian"),
        "lpips_alex": m.lpips,
    }
    for name, function in functions.items():
        results[f"metrics/{name}"] = to_numpy(compiled(function)(a, b))


def preset_context():
    return np.stack(list(moving_mnist_arrays.sequences("test", seed=0, num_sequences=2)))[:, :10]


def preset(results):
    model = ctt_keras.zoo.load("mmnist_convttlstm_small")
    results["preset/future"] = to_numpy(model.predict_frames(preset_context(), 10))


def precision(results):
    """One training step of a tiny network under each mixed policy: the loss scaling Keras puts in place."""
    previous = keras.config.dtype_policy().name
    clip = np.random.default_rng(3).random((2, 4, 16, 16, 1), dtype=np.float32)
    try:
        for policy in ("mixed_float16", "mixed_bfloat16"):
            keras.config.set_dtype_policy(policy)
            model = ctt_keras.VideoPredictor(
                (16, 16, 1),
                layers_per_block=(1,),
                hidden_channels=(4,),
                skip_stride=None,
                kernel_size=3,
                rank=2,
                context_frames=2,
            )
            model.compile(optimizer=keras.optimizers.SGD(0.1))
            loss = model.train_on_batch(clip)
            results[f"precision/{policy}/optimizer"] = np.str_(type(model.optimizer).__name__)
            results[f"precision/{policy}/loss"] = np.float64(loss)
            results[f"precision/{policy}/compute_dtype"] = np.str_(model.cells[0].compute_dtype)
            results[f"precision/{policy}/output_dtype"] = np.str_(str(model.predict_on_batch(clip).dtype))
    finally:
        keras.config.set_dtype_policy(previous)
