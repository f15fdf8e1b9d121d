"""Runs ctt_keras on one Keras backend with TensorFlow made unimportable, and saves what it computed.

Usage (the tests in this folder start it; KERAS_BACKEND chooses the backend):

    PYTHONPATH=tests/backends/no_tensorflow:. KERAS_BACKEND=jax \
        python tests/backends/backend_worker.py OUT.npz [VECTORS_DIR]

`tests/backends/no_tensorflow/sitecustomize.py` has made `import tensorflow` fail
exactly as on a machine without TensorFlow before this script starts (it refuses to
run otherwise), so everything below proves to run without it. It writes every result to
`OUT.npz`; the tests compare those numbers with the official vectors and with the
parent process's own backend. Nothing is asserted here: a failure is an exception
(exit status 1 with the traceback on stderr).
"""

import pathlib
import sys

try:
    import sitecustomize  # tests/backends/no_tensorflow: TensorFlow made unimportable at start-up
except ImportError:
    sitecustomize = None
if not hasattr(sitecustomize, "tensorflow_imported"):
    raise SystemExit("start this worker with tests/backends/no_tensorflow first on PYTHONPATH")

import keras  # noqa: E402
import numpy as np  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

import ctt_keras  # noqa: E402
from tests.backends import checks  # noqa: E402
from tests.backends.checks import nhwc, to_numpy  # noqa: E402


def loss_and_gradients(model, clip):
    """Teacher-forced predictions, the L1+L2 loss and its gradients (one array per trainable variable)."""
    loss_fn = ctt_keras.L1L2Loss()
    target = clip[:, 1:]
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        def loss_of(values):
            predictions, _ = model.stateless_call(values, non_trainable, clip, training=True)
            return loss_fn(target, predictions), predictions

        # Not jitted: on CPU, XLA takes 2-4x longer to compile this 19-step backward pass than JAX takes
        # to run it op by op.
        (loss, predictions), grads = jax.value_and_grad(loss_of, has_aux=True)(trainable)
        return to_numpy(predictions), float(loss), [to_numpy(g) for g in grads]
    if backend == "torch":
        for v in model.trainable_variables:
            v.value.grad = None
        predictions = model(clip, training=True)
        loss = loss_fn(target, predictions)
        loss.backward()
        return (
            to_numpy(predictions),
            float(to_numpy(loss)),
            [to_numpy(v.value.grad) for v in model.trainable_variables],
        )
    raise ValueError(f"this worker checks the JAX and PyTorch backends, not {backend!r}")


def parity(results, vectors_dir):
    """The official vectors: closed-loop rollout, teacher-forced outputs, loss and gradients."""
    from ctt_keras.checkpoints import from_nvlabs, nvlabs_state_dict

    for name in checks.VECTOR_NAMES:
        data, config = checks.load_vectors(vectors_dir, name)
        model = from_nvlabs(
            data,
            frame_shape=(config["H"], config["W"], config["input_channels"]),
            output_sigmoid=config["output_sigmoid"],
        )
        results[f"{name}/output_all"] = to_numpy(
            model.predict_frames(nhwc(data["input"]), 10, return_all_steps=True)
        )
        predictions, loss, grads = loss_and_gradients(model, checks.training_clip(data))
        results[f"{name}/output_tf"] = predictions
        results[f"{name}/loss_tf"] = np.float64(loss)
        official_layout = nvlabs_state_dict(
            model, {v.path: g for v, g in zip(model.trainable_variables, grads)}
        )
        for key, value in official_layout.items():
            results[f"{name}/grad/{key}"] = value


def tensorflow_only_errors(results):
    import pipelines

    calls = {
        "tf_data": lambda: pipelines.moving_mnist.load("test", num_sequences=2),
        "export": lambda: __import__("ctt_keras.export"),
        "strategy": lambda: ctt_keras.training.make_strategy("mirrored"),
    }
    for name, call in calls.items():
        try:
            call()
        except (ImportError, RuntimeError) as error:
            results[f"errors/{name}"] = np.str_(f"{type(error).__name__}: {error}")
        else:
            results[f"errors/{name}"] = np.str_("no error")


def main(argv):
    out = pathlib.Path(argv[1])
    vectors_dir = pathlib.Path(argv[2]) if len(argv) > 2 and argv[2] else None
    results = {"backend": np.str_(keras.backend.backend())}
    if vectors_dir is not None:
        parity(results, vectors_dir)
        checks.fit(results, vectors_dir)
    checks.metrics(results)
    checks.preset(results)
    checks.precision(results)
    tensorflow_only_errors(results)
    results["tensorflow_imported"] = np.bool_(sitecustomize.tensorflow_imported())
    np.savez(out, **results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
