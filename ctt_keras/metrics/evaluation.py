"""Whole-test-set evaluation under a named convention: the paper's code, OpenSTL's, or the standard one."""

import dataclasses
import math

import numpy as np
from keras import ops

from ctt_keras.metrics.frame_metrics import mae, mse, psnr
from ctt_keras.metrics.lpips import lpips
from ctt_keras.metrics.ssim import ssim

METRIC_NAMES = ("mse", "mae", "psnr", "ssim", "lpips")


@dataclasses.dataclass(frozen=True)
class Convention:
    """How each metric is computed and scaled under one evaluation convention.

    Attributes:
        name: the convention's name.
        clamp: metrics computed on predictions clamped to [0, 1].
        pixel_reduction: `"mean"` or `"sum"` over a frame's pixels for MSE and MAE.
        psnr_data_range: `data_range` of PSNR.
        ssim_data_range: `data_range` of SSIM.
        ssim_window: SSIM window, `"uniform"` or `"gaussian"`.
        lpips_input_range: the range LPIPS is told the (clamped) [0, 1] frames are in.
        scale: factor applied to each metric's values (tables print MSE x1e3, ...).
        description: one line for tables and logs.
    """

    name: str
    clamp: tuple
    pixel_reduction: str
    psnr_data_range: float
    ssim_data_range: float
    ssim_window: str
    lpips_input_range: tuple
    scale: dict
    description: str


CONVENTIONS = {
    "standard": Convention(
        name="standard",
        clamp=(),
        pixel_reduction="mean",
        psnr_data_range=1.0,
        ssim_data_range=1.0,
        ssim_window="uniform",
        lpips_input_range=(0.0, 1.0),
        scale={},
        description="per-pixel means, data range 1, LPIPS on correctly scaled inputs, no clamping",
    ),
    "nvlabs": Convention(
        name="nvlabs",
        clamp=METRIC_NAMES,
        pixel_reduction="mean",
        psnr_data_range=1.0,
        ssim_data_range=2.0,
        ssim_window="uniform",
        lpips_input_range=(-1.0, 1.0),
        scale={"mse": 1e3, "lpips": 1e3},
        description="paper's code: predictions clamped to [0, 1], SSIM data range 2, LPIPS fed [0, 1] "
        "as if [-1, 1], MSE and LPIPS x1e3",
    ),
    "openstl": Convention(
        name="openstl",
        clamp=("psnr", "ssim", "lpips"),
        pixel_reduction="sum",
        psnr_data_range=1.0,
        ssim_data_range=1.0,
        ssim_window="uniform",
        lpips_input_range=(0.0, 1.0),
        scale={},
        description="OpenSTL: MSE/MAE summed over a frame's pixels (before clamping), PSNR/SSIM/LPIPS on "
        "predictions clamped to [0, 1]",
    ),
}


def _frame_values(name, pred, target, convention, lpips_net):
    if name in convention.clamp:
        pred = ops.clip(pred, 0.0, 1.0)
    if name == "mse":
        values = mse(pred, target, reduction=convention.pixel_reduction)
    elif name == "mae":
        values = mae(pred, target, reduction=convention.pixel_reduction)
    elif name == "psnr":
        values = psnr(pred, target, data_range=convention.psnr_data_range)
    elif name == "ssim":
        values = ssim(pred, target, data_range=convention.ssim_data_range, window=convention.ssim_window)
    else:
        values = lpips(pred, target, net=lpips_net, input_range=convention.lpips_input_range)
    return np.asarray(ops.convert_to_numpy(values), dtype=np.float64) * convention.scale.get(name, 1.0)


def evaluate(
    predictions, targets, convention="standard", metrics=METRIC_NAMES, lpips_net="alex", batch_size=32
):
    """Per-frame metric curves of a set of predicted sequences, under a named convention.

    Every metric is computed per sample and per future frame, averaged over the
    samples for each frame index (a curve), and the curve is averaged into the
    table value, as in the paper's code. Frames must be in [0, 1].

    Conventions (`CONVENTIONS`; `docs/metrics.md` explains why they differ):
    - `"standard"`: per-pixel means, PSNR/SSIM data range 1, LPIPS on correctly
      scaled inputs, predictions not clamped.
    - `"nvlabs"`: the official Conv-TT-LSTM code: predictions clamped to [0, 1],
      SSIM data range 2, LPIPS fed [0, 1] as if [-1, 1], MSE and LPIPS x1e3.
    - `"openstl"`: MSE/MAE as per-frame sums over the pixels; PSNR/SSIM/LPIPS on
      predictions clamped to [0, 1].

    NaN predictions are not dropped: they give NaN values for their frames, hence
    NaN curve points and means, and are counted in `"nan_frames"`.

    Args:
        predictions: `[N, T, H, W, C]` predicted frames (or `[N, H, W, C]`, read as `T = 1`).
        targets: ground truth, same shape and dtype.
        convention: `"standard"`, `"nvlabs"` or `"openstl"`.
        metrics: names among `"mse", "mae", "psnr", "ssim", "lpips"`.
        lpips_net: LPIPS backbone, `"alex"` or `"squeeze"`.
        batch_size: sequences per computation step.

    Returns:
        dict with `"convention"` (name), `"description"`, `"num_sequences"`,
        `"curves"` (metric -> float64 array `[T]`), `"means"` (metric -> float)
        and `"nan_frames"` (metric -> number of NaN per-frame values).

    Example:
    ```python
    import numpy as np
    from ctt_keras.metrics import evaluate, markdown_table
    rng = np.random.default_rng(0)
    targets = rng.random((8, 10, 64, 64, 1), dtype="float32")
    predictions = np.clip(targets + 0.05 * rng.standard_normal(targets.shape), 0, 1).astype("float32")
    result = evaluate(predictions, targets, convention="nvlabs")
    print(markdown_table({"noisy copy": result}))
    ```
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"`convention` must be one of {tuple(CONVENTIONS)}; got {convention!r}")
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown or not metrics:
        raise ValueError(f"`metrics` must be a non-empty subset of {METRIC_NAMES}; got {metrics!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer; got {batch_size!r}")
    predictions = np.asarray(predictions)
    targets = np.asarray(targets)
    if predictions.shape != targets.shape:
        raise ValueError(
            "`predictions` and `targets` must have the same shape; "
            f"got {predictions.shape} and {targets.shape}"
        )
    if predictions.dtype != targets.dtype:
        raise ValueError(
            "`predictions` and `targets` must have the same dtype; "
            f"got {predictions.dtype} and {targets.dtype}"
        )
    if predictions.ndim == 4:
        predictions, targets = predictions[:, None], targets[:, None]
    if predictions.ndim != 5 or predictions.shape[0] == 0:
        raise ValueError(f"`predictions` must be [N, T, H, W, C] with N > 0; got shape {predictions.shape}")
    conv = CONVENTIONS[convention]
    chunks = {name: [] for name in metrics}
    for start in range(0, predictions.shape[0], batch_size):
        pred = predictions[start:start + batch_size]
        target = targets[start:start + batch_size]
        for name in metrics:
            chunks[name].append(_frame_values(name, pred, target, conv, lpips_net))
    per_frame = {name: np.concatenate(values, axis=0) for name, values in chunks.items()}
    curves = {name: values.mean(axis=0) for name, values in per_frame.items()}
    return {
        "convention": conv.name,
        "description": conv.description,
        "num_sequences": int(predictions.shape[0]),
        "curves": curves,
        "means": {name: float(curve.mean()) for name, curve in curves.items()},
        "nan_frames": {name: int(np.isnan(values).sum()) for name, values in per_frame.items()},
    }


_HEADERS = {"mse": "MSE", "mae": "MAE", "psnr": "PSNR", "ssim": "SSIM", "lpips": "LPIPS"}


def _format(value):
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


def markdown_table(results):
    """Renders evaluation results as a Markdown table, one row per result.

    Args:
        results: an `evaluate` result, or a dict row label -> result (e.g. one per
            model or per convention).

    Returns:
        the table as a string: a row per result with its convention and the means
        (scaled as the convention says), and a note of any NaN frames.

    Example:
    ```python
    print(markdown_table({"ours (nvlabs)": result_a, "ours (openstl)": result_b}))
    ```
    """
    if isinstance(results, dict) and "means" in results:
        results = {"": results}
    if not results:
        raise ValueError("`results` is empty; expected an evaluate() result or a dict of them")
    names = []
    for result in results.values():
        names += [m for m in result["means"] if m not in names]
    # A scale shared by every row goes into the column header, otherwise next to the row's convention.
    shared = {}
    for name in names:
        scales = {CONVENTIONS[r["convention"]].scale.get(name, 1.0) for r in results.values()}
        shared[name] = scales.pop() if len(scales) == 1 else None
    header = ["", "convention"] + [
        _HEADERS[n] + (f" x{_exponent(shared[n])}" if shared[n] not in (None, 1.0) else "") for n in names
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    notes = []
    for label, result in results.items():
        scale = CONVENTIONS[result["convention"]].scale
        own = [f"{_HEADERS[n]} x{_exponent(scale[n])}" for n in names if n in scale and shared[n] is None]
        cells = [str(label), result["convention"] + (f" ({', '.join(own)})" if own else "")]
        cells += [_format(result["means"][n]) if n in result["means"] else "" for n in names]
        lines.append("| " + " | ".join(cells) + " |")
        bad = {n: c for n, c in result.get("nan_frames", {}).items() if c}
        if bad:
            counts = ", ".join(f"{n} {c}" for n, c in bad.items())
            row = label or result["convention"]
            notes.append(f"{row}: NaN frames (of {result['num_sequences']} sequences): {counts}")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def _exponent(scale):
    return f"1e{round(math.log10(scale))}"
