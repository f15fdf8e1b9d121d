"""evaluate(): the three conventions against independent NumPy / scikit-image computations."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ctt_keras.metrics import CONVENTIONS, LPIPS, evaluate, markdown_table


@pytest.fixture(scope="module")
def clips():
    """[3, 2, 32, 32, 1] targets in [0, 1] and predictions that over- and undershoot that range."""
    rng = np.random.default_rng(0)
    targets = rng.random((3, 2, 32, 32, 1), dtype=np.float32)
    predictions = (targets + 0.3 * rng.standard_normal(targets.shape)).astype(np.float32)
    return predictions, targets


def _per_frame(fn, predictions, targets):
    """[N, T] values of fn(pred_frame [H, W], target_frame [H, W])."""
    n, t = predictions.shape[:2]
    return np.array(
        [[fn(predictions[i, j, ..., 0], targets[i, j, ..., 0]) for j in range(t)] for i in range(n)]
    )


def test_standard_convention(clips):
    predictions, targets = clips
    result = evaluate(predictions, targets, convention="standard", metrics=("mse", "mae", "psnr", "ssim"))
    err = predictions.astype(np.float64) - targets
    np.testing.assert_allclose(result["curves"]["mse"], (err**2).mean(axis=(2, 3, 4)).mean(0), rtol=1e-5)
    np.testing.assert_allclose(result["curves"]["mae"], np.abs(err).mean(axis=(2, 3, 4)).mean(0), rtol=1e-5)
    psnr = _per_frame(lambda p, t: peak_signal_noise_ratio(t, p, data_range=1.0), predictions, targets)
    np.testing.assert_allclose(result["curves"]["psnr"], psnr.mean(0), atol=1e-4)
    ssim = _per_frame(lambda p, t: structural_similarity(p, t, data_range=1.0), predictions, targets)
    np.testing.assert_allclose(result["curves"]["ssim"], ssim.mean(0), atol=1e-4)
    assert result["means"]["ssim"] == pytest.approx(ssim.mean(), abs=1e-4)
    assert result["num_sequences"] == 3
    assert result["nan_frames"] == {m: 0 for m in ("mse", "mae", "psnr", "ssim")}


def test_nvlabs_convention(clips):
    predictions, targets = clips
    result = evaluate(predictions, targets, convention="nvlabs", batch_size=2)
    clamped = np.clip(predictions, 0, 1)
    err = clamped.astype(np.float64) - targets
    expected_mse = 1e3 * (err**2).mean(axis=(2, 3, 4)).mean(0)
    np.testing.assert_allclose(result["curves"]["mse"], expected_mse, rtol=1e-5)
    ssim = _per_frame(lambda p, t: structural_similarity(p, t, data_range=2.0), clamped, targets)
    np.testing.assert_allclose(result["curves"]["ssim"], ssim.mean(0), atol=1e-4)
    quirk = np.asarray(LPIPS(net="alex", input_range=(-1.0, 1.0))(clamped, targets))
    np.testing.assert_allclose(result["curves"]["lpips"], 1e3 * quirk.mean(0), rtol=1e-5)
    assert result["means"]["lpips"] == pytest.approx(result["curves"]["lpips"].mean())


def test_openstl_convention(clips):
    predictions, targets = clips
    result = evaluate(predictions, targets, convention="openstl", metrics=("mse", "mae", "psnr", "lpips"))
    err = predictions.astype(np.float64) - targets  # not clamped for MSE/MAE
    # OpenSTL's formula: mean over samples and frames of per-pixel errors, summed over pixels.
    assert result["means"]["mse"] == pytest.approx(np.mean(err**2, axis=(0, 1)).sum(), rel=1e-5)
    assert result["means"]["mae"] == pytest.approx(np.mean(np.abs(err), axis=(0, 1)).sum(), rel=1e-5)
    clamped = np.clip(predictions, 0, 1)
    psnr = _per_frame(lambda p, t: peak_signal_noise_ratio(t, p, data_range=1.0), clamped, targets)
    np.testing.assert_allclose(result["curves"]["psnr"], psnr.mean(0), atol=1e-4)
    correct = np.asarray(LPIPS(net="alex")(clamped, targets))
    np.testing.assert_allclose(result["curves"]["lpips"], correct.mean(0), rtol=1e-5)


def test_conventions_really_differ(clips):
    predictions, targets = clips
    means = {c: evaluate(predictions, targets, convention=c, metrics=("ssim",)) for c in CONVENTIONS}
    means = {c: result["means"]["ssim"] for c, result in means.items()}
    assert means["nvlabs"] > means["openstl"] + 1e-3  # data range 2 raises SSIM
    assert means["openstl"] > means["standard"]  # clamping helps


def test_frames_without_time_axis(clips):
    predictions, targets = clips
    result = evaluate(predictions[:, 0], targets[:, 0], metrics=("mse",))
    assert result["curves"]["mse"].shape == (1,)


def test_nan_predictions_are_counted_and_shown(clips):
    predictions, targets = clips
    predictions = predictions.copy()
    predictions[1, 1, 5, 5, 0] = np.nan
    result = evaluate(predictions, targets, convention="nvlabs", metrics=("mse", "ssim"))
    assert np.isfinite(result["curves"]["mse"][0]) and np.isnan(result["curves"]["mse"][1])
    assert np.isnan(result["means"]["ssim"])  # clamping does not hide NaN
    assert result["nan_frames"] == {"mse": 1, "ssim": 1}
    table = markdown_table({"model": result})
    assert "| model | nvlabs | NaN | NaN |" in table and "NaN frames" in table


def test_markdown_table(clips):
    predictions, targets = clips
    results = {c: evaluate(predictions, targets, convention=c, metrics=("mse", "ssim"))
               for c in ("nvlabs", "openstl")}
    table = markdown_table(results).splitlines()
    assert table[0] == "|  | convention | MSE | SSIM |"
    nvlabs = f"{results['nvlabs']['means']['mse']:.4g}"
    assert table[2] == f"| nvlabs | nvlabs (MSE x1e3) | {nvlabs} | {results['nvlabs']['means']['ssim']:.4g} |"
    assert markdown_table(results["nvlabs"]).splitlines()[0] == "|  | convention | MSE x1e3 | SSIM |"


def test_bad_arguments(clips):
    predictions, targets = clips
    with pytest.raises(ValueError, match="convention"):
        evaluate(predictions, targets, convention="paper")
    with pytest.raises(ValueError, match="metrics"):
        evaluate(predictions, targets, metrics=("fid",))
    with pytest.raises(ValueError, match="same shape"):
        evaluate(predictions, targets[:, :1])
    with pytest.raises(ValueError, match="same dtype"):
        evaluate(predictions, targets.astype(np.float64))
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(predictions, targets, batch_size=0)
