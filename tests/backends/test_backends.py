"""The same numbers on every Keras backend, with TensorFlow unimportable (issue: every Keras backend).

For JAX (always; `jax` is in the `test` extra) and PyTorch (marker `torch_backend`, when torch is
installed), one subprocess per backend runs `backend_worker.py` with `import tensorflow` made to
fail, and saves what it computed. These tests compare that with:
- the official-code vectors: closed-loop rollout and teacher-forced outputs to 1e-5, loss to 1e-5,
  gradients to 1e-4 relative (as the TensorFlow parity tests);
- the test process's own backend (TensorFlow by default): `fit` on `moving_mnist_arrays`
  batches (loss, frame metrics, weights after three SGD steps), the per-frame metrics including
  LPIPS, and the shipped preset `mmnist_convttlstm_small`'s predicted frames, all to 1e-5.
"""

import importlib.util
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.backends import checks

WORKER = pathlib.Path(__file__).with_name("backend_worker.py")
NO_TENSORFLOW = pathlib.Path(__file__).with_name("no_tensorflow")  # its sitecustomize blocks TensorFlow
TIMEOUT_S = 900


def no_tensorflow_env(**variables):
    """The environment of a subprocess that cannot import TensorFlow (and runs this checkout)."""
    path = [str(NO_TENSORFLOW), str(checks.REPO_ROOT)] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p
    ]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path), **variables)


def _backend_param(name, *marks):
    return pytest.param(name, marks=list(marks), id=name)


@pytest.fixture(
    scope="module", params=[_backend_param("jax"), _backend_param("torch", pytest.mark.torch_backend)]
)
def worker(request, tmp_path_factory):
    """The worker's results on one backend (a dict of arrays)."""
    backend = request.param
    if importlib.util.find_spec(backend) is None:
        pytest.skip(
            f"{backend} is not installed (pip install {backend}); the {backend}-backend tests need it"
        )
    out = tmp_path_factory.mktemp(f"backend_{backend}") / "results.npz"
    vectors = checks.parity_vectors_dir()
    env = no_tensorflow_env(KERAS_BACKEND=backend)
    done = subprocess.run(
        [sys.executable, str(WORKER), str(out), str(vectors or "")],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, f"{backend} worker failed:\n{done.stderr[-6000:]}"
    results = dict(np.load(out))
    assert str(results["backend"]) == backend
    return results


@pytest.fixture(scope="module")
def vectors_dir():
    found = checks.parity_vectors_dir()
    if found is None:
        pytest.skip(
            "the official-code vectors (vectors_*.npz) are in neither tests/data/nvlabs nor "
            "../shared/reference/nvlabs"
        )
    return found


@pytest.fixture(scope="module")
def here(vectors_dir):
    """The same checks on this process's backend."""
    results = {}
    checks.fit(results, vectors_dir)
    checks.metrics(results)
    checks.preset(results)
    return results


def test_tensorflow_was_never_imported(worker):
    assert not worker["tensorflow_imported"]


@pytest.mark.parametrize("name", checks.VECTOR_NAMES)
def test_official_outputs(worker, vectors_dir, name):
    data, _ = checks.load_vectors(vectors_dir, name)
    np.testing.assert_allclose(
        worker[f"{name}/output_all"], checks.nhwc(data["output_all"]), atol=1e-5, rtol=0
    )
    np.testing.assert_allclose(worker[f"{name}/output_tf"], checks.nhwc(data["output_tf"]), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", checks.VECTOR_NAMES)
def test_official_loss_and_gradients(worker, vectors_dir, name):
    data, _ = checks.load_vectors(vectors_dir, name)
    np.testing.assert_allclose(float(worker[f"{name}/loss_tf"]), float(data["loss_tf"]), atol=1e-5, rtol=0)
    official = {k[len("grad/") :]: v for k, v in data.items() if k.startswith("grad/")}
    ours = {k[len(f"{name}/grad/") :]: v for k, v in worker.items() if k.startswith(f"{name}/grad/")}
    assert sorted(ours) == sorted(official)
    for key, expected in official.items():
        error = np.abs(ours[key] - expected).max() / np.abs(expected).max()
        assert error < 1e-4, f"{key}: relative gradient error {error:.2e}"


def test_fit_on_array_batches_matches_this_backend(worker, here):
    # JAX compiles the step with XLA by default (its only compiler); the numbers must not move.
    assert bool(worker["fit/jit_compile"]) == (str(worker["backend"]) == "jax")
    keys = sorted(k for k in here if k.startswith("fit/") and k != "fit/jit_compile")
    assert sorted(k for k in worker if k.startswith("fit/") and k != "fit/jit_compile") == keys
    assert {"fit/history/loss", "fit/history/frame_mse", "fit/evaluate/frame_ssim"} <= set(keys)
    assert here["fit/weight_change"] > 1e-3  # the three SGD steps did change the weights
    for key in keys:
        tolerance = 1e-4 if key.endswith("psnr") else 1e-5  # PSNR is in dB: ~10 log10 of the MSE
        np.testing.assert_allclose(worker[key], here[key], atol=tolerance, rtol=0, err_msg=key)


def test_frame_metrics_match_this_backend(worker, here):
    for key in ("mse", "mae", "psnr", "ssim", "ssim_gaussian", "lpips_alex"):
        tolerance = 1e-4 if key == "psnr" else 1e-5
        np.testing.assert_allclose(
            worker[f"metrics/{key}"], here[f"metrics/{key}"], atol=tolerance, rtol=0, err_msg=key
        )
    assert worker["metrics/lpips_alex"].shape == (2, 3)


def test_preset_predicts_the_same_frames(worker, here):
    assert here["preset/future"].shape == (2, 10, 64, 64, 1)
    assert here["preset/future"].std() > 0.01  # a real prediction, not a constant
    np.testing.assert_allclose(worker["preset/future"], here["preset/future"], atol=1e-5, rtol=0)


def test_mixed_precision_policies_and_loss_scaling(worker):
    # mixed_float16 trains through Keras's LossScaleOptimizer on every backend; bfloat16 needs no scaling.
    assert str(worker["precision/mixed_float16/optimizer"]) == "LossScaleOptimizer"
    assert str(worker["precision/mixed_bfloat16/optimizer"]) == "SGD"
    for policy, compute in (("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")):
        assert str(worker[f"precision/{policy}/compute_dtype"]) == compute
        assert str(worker[f"precision/{policy}/output_dtype"]) == "float32"
        assert np.isfinite(worker[f"precision/{policy}/loss"]) and worker[f"precision/{policy}/loss"] > 0


def test_tensorflow_only_parts_say_what_they_need(worker):
    assert "needs TensorFlow" in str(worker["errors/tf_data"])
    assert "moving_mnist_arrays" in str(worker["errors/tf_data"])
    assert str(worker["errors/export"]).startswith(
        "ImportError: ctt_keras.export (SavedModel, ONNX and LiteRT export) needs TensorFlow"
    )
    assert "needs the tensorflow Keras backend" in str(worker["errors/strategy"])
    assert f"active backend is '{worker['backend']}'" in str(worker["errors/strategy"])


def test_the_comparison_process_runs_another_backend(worker):
    # The cross-backend comparisons mean something only if this process is not on the worker's backend.
    assert keras.backend.backend() != str(worker["backend"])
