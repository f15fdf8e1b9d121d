"""Side-by-side evaluation of networks and baselines (ctt_keras.training.comparison)."""

import json
import os

import numpy as np
import pytest

from ctt_keras.models import VideoPredictor
from ctt_keras.training import comparison


def _clips(n=3, t=7, side=32, seed=0):
    return np.random.default_rng(seed).random((n, t, side, side, 1), dtype=np.float32)


def test_baselines_are_what_they_say():
    context = _clips(2, 4)
    black = comparison.black_frames(context, 3)
    assert black.shape == (2, 3, 32, 32, 1) and not black.any()
    copy = comparison.copy_last_frame(context, 3)
    for t in range(3):
        np.testing.assert_array_equal(copy[:, t], context[:, -1])


def test_compare_gives_baseline_metrics_in_closed_form():
    clips = _clips(4, 7)
    results, predictions = comparison.compare(
        {"black": comparison.black_frames, "copy": comparison.copy_last_frame}, clips, 4, (1, 3),
        convention="standard", metrics=("mse", "mae"),
    )
    truth = clips[:, 4:7]
    # Black frames: MSE is the mean square of the truth, MAE its mean.
    np.testing.assert_allclose(results["black"]["4->3"]["means"]["mse"], np.mean(truth**2), rtol=1e-5)
    np.testing.assert_allclose(results["black"]["4->3"]["means"]["mae"], np.mean(truth), rtol=1e-5)
    np.testing.assert_allclose(results["black"]["4->1"]["means"]["mse"], np.mean(truth[:, :1] ** 2), rtol=1e-5)
    last = clips[:, 3:4]
    np.testing.assert_allclose(results["copy"]["4->3"]["means"]["mse"], np.mean((truth - last) ** 2), rtol=1e-5)
    assert predictions["copy"].shape == truth.shape


def test_compare_evaluates_a_network_on_its_closed_loop_rollout():
    model = VideoPredictor((32, 32, 1), layers_per_block=(1,), hidden_channels=(4,), skip_stride=None,
                           kernel_size=3, rank=2, context_frames=4, patch_size=2)
    clips = _clips(2, 7)
    results, predictions = comparison.compare({"net": model}, clips, 4, (3,), metrics=("mse",))
    expected = np.asarray(model.predict_frames(clips[:, :4], 3))
    np.testing.assert_allclose(predictions["net"], expected, atol=1e-6)
    np.testing.assert_allclose(
        results["net"]["4->3"]["means"]["mse"], np.mean((expected - clips[:, 4:]) ** 2), rtol=1e-4
    )


def test_comparison_table_prints_per_pixel_values_scaled_once():
    clips = _clips(2, 6)
    for convention in ("standard", "nvlabs"):
        results, _ = comparison.compare({"black": comparison.black_frames}, clips, 4, (2,),
                                        convention=convention, metrics=("mse",))
        table = comparison.comparison_table(results, {"black": 0})
        mse = np.mean(np.clip(clips[:, 4:], 0, 1) ** 2) * 1e3
        assert f"| black | 0 | 4->2 | {mse:.2f} |" in table


def test_compare_refuses_short_clips_and_bad_baselines():
    with pytest.raises(ValueError, match=r"T >= context_frames \+ max\(horizons\) = 9"):
        comparison.compare({"black": comparison.black_frames}, _clips(1, 6), 4, (5,))
    with pytest.raises(ValueError, match="baseline 'bad' returned shape"):
        comparison.compare({"bad": lambda c, f: c}, _clips(1, 8), 4, (2,), metrics=("mse",))


def test_history_and_validation_plot(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("epoch,loss,val_loss\n0,0.5,0.4\n1,0.3,0.25\n2,0.2,0.2\n")
    clips, values = comparison.read_history(str(history), 2000)
    np.testing.assert_array_equal(clips, [2000, 4000, 6000])
    np.testing.assert_allclose(values, [0.4, 0.25, 0.2])
    path = tmp_path / "val.png"
    comparison.plot_validation_curves(str(path), {"a": (clips, values), "b": (clips, values * 1.1)})
    from PIL import Image

    assert Image.open(path).size == (640, 360)
    with pytest.raises(ValueError, match="no column 'val_mse'"):
        comparison.read_history(str(history), 10, column="val_mse")


def test_write_comparison_files(tmp_path):
    clips = _clips(2, 6)
    results, _ = comparison.compare({"black": comparison.black_frames}, clips, 4, (1, 2), metrics=("mse", "ssim"))
    table = comparison.write_comparison(str(tmp_path), results, {"black": 0}, {"split": "x"})
    assert "4->2" in table
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert data["split"] == "x" and set(data["results"]["black"]) == {"4->1", "4->2"}
    assert os.path.isfile(tmp_path / "curves_4-1.png") and os.path.isfile(tmp_path / "curves_4-2.png")


def test_shorter_horizons_equal_their_own_evaluation_also_with_nan_frames():
    from ctt_keras import metrics as metrics_lib

    clips = _clips(3, 8)

    def late_nan(context, future):
        out = comparison.copy_last_frame(context, future) * 0.5
        out[0, -1, 0, 0, 0] = np.nan
        return out

    results, predictions = comparison.compare({"nan": late_nan, "copy": comparison.copy_last_frame}, clips, 4,
                                              (2, 4), metrics=("mse", "ssim"))
    for name in ("nan", "copy"):
        own = metrics_lib.evaluate(predictions[name][:, :2], clips[:, 4:6], convention="standard",
                                   metrics=("mse", "ssim"))
        for metric in ("mse", "ssim"):
            np.testing.assert_allclose(results[name]["4->2"]["curves"][metric], own["curves"][metric], rtol=1e-6)
        assert results[name]["4->2"]["nan_frames"] == own["nan_frames"]
    assert results["nan"]["4->4"]["nan_frames"]["mse"] == 1 and np.isnan(results["nan"]["4->4"]["means"]["mse"])
    assert np.isfinite(results["nan"]["4->2"]["means"]["mse"])
