"""Side-by-side evaluation of trained networks and trivial baselines on the same clips.

A video predictor is only useful if it beats what needs no training: predicting
black frames (the Moving-MNIST background) and repeating the last context frame.
`compare` evaluates networks and such baselines on one set of clips with one
metric convention, `comparison_table` renders a Markdown table with a row per
predictor and horizon, and `plot_validation_curves` draws the validation loss of
several training runs against the number of training clips they had seen.
"""

import csv
import json
import os

import numpy as np

from ctt_keras.training import images


def black_frames(context, future_frames):
    """Baseline: every future frame is black (zeros), `[N, future_frames, H, W, C]`."""
    context = np.asarray(context, dtype=np.float32)
    return np.zeros((context.shape[0], future_frames) + context.shape[2:], dtype=np.float32)


def copy_last_frame(context, future_frames):
    """Baseline: every future frame repeats the last context frame."""
    context = np.asarray(context, dtype=np.float32)
    return np.repeat(context[:, -1:], future_frames, axis=1)


BASELINES = {"black frames": black_frames, "copy last frame": copy_last_frame}


def compare(predictors, clips, context_frames, horizons, convention="standard", metrics=None, batch_size=16,
            jit_compile=False):
    """Evaluates networks and baselines on the same clips and horizons.

    Args:
        predictors: `{name: predictor}`; a predictor is a `VideoPredictor` (its
            closed-loop rollout is evaluated) or a function
            `(context [N, Tc, H, W, C], future_frames) -> [N, future_frames, H, W, C]`
            such as the entries of `BASELINES`.
        clips: `[N, T, H, W, C]` float clips in [0, 1] with
            `T >= context_frames + max(horizons)`.
        context_frames: Frames read before predicting.
        horizons: Future lengths, e.g. `(10, 30)`; each is evaluated on the first
            frames of one rollout of the longest.
        convention: `ctt_keras.metrics` convention name.
        metrics: Metric names (default: all).
        batch_size: Clips per batch.
        jit_compile: Compile network rollouts with XLA.

    Returns:
        `(results, predictions)`: `results[name]["{c}->{f}"]` is a
        `ctt_keras.metrics.evaluate` result; `predictions[name]` the longest
        rollout `[N, max(horizons), ...]`.
    """
    from ctt_keras import metrics as metrics_lib
    from ctt_keras.metrics import evaluation
    from ctt_keras.training import runner

    clips = np.asarray(clips, dtype=np.float32)
    horizons = sorted({int(h) for h in horizons})
    if not horizons or horizons[0] < 1:
        raise ValueError(f"horizons must be positive ints, got {horizons!r}.")
    if clips.ndim != 5 or clips.shape[1] < context_frames + horizons[-1]:
        raise ValueError(
            f"clips must be [N, T, H, W, C] with T >= context_frames + max(horizons) = "
            f"{context_frames + horizons[-1]}, got shape {clips.shape}."
        )
    if not predictors:
        raise ValueError("predictors is empty: give at least one network or baseline.")
    metrics = tuple(metrics or evaluation.METRIC_NAMES)
    context = clips[:, :context_frames]
    truth = clips[:, context_frames : context_frames + horizons[-1]]
    results, predictions = {}, {}
    for name, predictor in predictors.items():
        if callable(predictor) and not hasattr(predictor, "predict_frames"):
            prediction = np.asarray(predictor(context, horizons[-1]), dtype=np.float32)
            if prediction.shape != truth.shape:
                raise ValueError(f"baseline {name!r} returned shape {prediction.shape}, expected {truth.shape}.")
        else:
            _, _, prediction = runner.predict_clips(
                predictor, clips[:, : context_frames + horizons[-1]], context_frames, horizons[-1],
                batch_size=batch_size, jit_compile=jit_compile,
            )
        predictions[name] = prediction
        results[name] = _evaluate_prefixes(prediction, truth, context_frames, horizons, convention, metrics,
                                           batch_size)
    return results, predictions


def _evaluate_prefixes(prediction, truth, context_frames, horizons, convention, metrics, batch_size):
    """Each horizon's result from one evaluation of the longest.

    The rollout is causal, so a shorter horizon's predictions are the first frames
    of the longest; per-frame curves (means over sequences) are then the curve's
    first points. When the longest has NaN frames, shorter horizons are evaluated
    on their own so that their NaN counts are exact.
    """
    from ctt_keras import metrics as metrics_lib

    longest = metrics_lib.evaluate(prediction, truth, convention=convention, metrics=metrics, batch_size=batch_size)
    out = {}
    for h in horizons:
        if h == horizons[-1]:
            result = longest
        elif any(longest["nan_frames"].values()):
            result = metrics_lib.evaluate(prediction[:, :h], truth[:, :h], convention=convention, metrics=metrics,
                                          batch_size=batch_size)
        else:
            curves = {m: np.asarray(c)[:h] for m, c in longest["curves"].items()}
            result = dict(longest, curves=curves, means={m: float(c.mean()) for m, c in curves.items()},
                          nan_frames={m: 0 for m in curves})
        out[f"{context_frames}->{h}"] = result
    return out


_COLUMNS = (("mse", "MSE x1e3", 1e3, 2), ("mae", "MAE x1e3", 1e3, 2), ("psnr", "PSNR", 1.0, 2),
            ("ssim", "SSIM", 1.0, 4), ("lpips", "LPIPS x1e3", 1e3, 1))


def _mean(result, metric):
    """The table value of a metric in the per-pixel scale (undoing a convention's own x1e3 scaling)."""
    from ctt_keras.metrics.evaluation import CONVENTIONS

    value = result["means"].get(metric)
    if value is None:
        return None
    return float(value) / CONVENTIONS[result["convention"]].scale.get(metric, 1.0)


def comparison_table(results, parameters=None):
    """Markdown table: a row per predictor and horizon; MSE/MAE/LPIPS printed x1e3.

    Args:
        results: The first output of `compare`.
        parameters: Optional `{name: parameter count}` shown in a column.
    """
    metrics = []
    for by_horizon in results.values():
        for result in by_horizon.values():
            metrics = [c for c in _COLUMNS if c[0] in result["means"]]
            break
        break
    header = "| predictor | parameters | horizon | " + " | ".join(c[1] for c in metrics) + " |"
    lines = [header, "|" + "---|" * (3 + len(metrics))]
    for name, by_horizon in results.items():
        count = (parameters or {}).get(name)
        for horizon, result in by_horizon.items():
            cells = []
            for metric, _, scale, digits in metrics:
                value = _mean(result, metric)
                cells.append("-" if value is None or not np.isfinite(value) else f"{value * scale:.{digits}f}")
            lines.append(
                f"| {name} | {'-' if count is None else f'{count:,}'} | {horizon} | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines)


def results_json(results, parameters=None, extra=None):
    """`compare` results as plain JSON data: per predictor and horizon, the means and curves."""
    from ctt_keras.training import runner

    data = {name: runner.results_to_json(by_horizon) for name, by_horizon in results.items()}
    return {"results": data, "parameters": parameters or {}, **(extra or {})}


def write_comparison(out_dir, results, parameters=None, extra=None):
    """Writes `comparison.json`, `comparison.md` and one `curves_<c>-<f>.png` per horizon; returns the table."""
    os.makedirs(out_dir, exist_ok=True)
    table = comparison_table(results, parameters)
    with open(os.path.join(out_dir, "comparison.json"), "w") as f:
        json.dump(results_json(results, parameters, extra), f, indent=1, sort_keys=True)
    with open(os.path.join(out_dir, "comparison.md"), "w") as f:
        f.write(table + "\n")
    horizons = list(next(iter(results.values())))
    for horizon in horizons:
        curves = {}
        for name, by_horizon in results.items():
            for metric, values in by_horizon[horizon]["curves"].items():
                curves.setdefault(metric, {})[name] = values
        convention = next(iter(results.values()))[horizon]["convention"]
        images.plot_curves(
            os.path.join(out_dir, f"curves_{horizon.replace('->', '-')}.png"), curves,
            title=f"per-frame metrics, {horizon}, {convention} convention",
        )
    return table


def read_evaluation(path, num_sequences, context_frames, horizons, convention):
    """The results of an earlier evaluation (a `metrics.json` of `ctt-train`/`ctt-evaluate`) for a table.

    Refuses (ValueError naming what differs) an evaluation of another number of
    clips, convention or horizon set, so that every row of a table is measured on
    the same clips the same way.
    """
    with open(path) as f:
        data = json.load(f)
    results = data.get("results")
    if not isinstance(results, dict):
        raise ValueError(f"{path} holds no evaluation results (no 'results' entry).")
    if data.get("num_sequences") != num_sequences:
        raise ValueError(f"{path} evaluated {data.get('num_sequences')} clips, this comparison {num_sequences}.")
    out = {}
    for h in horizons:
        label = f"{context_frames}->{h}"
        if label not in results:
            raise ValueError(f"{path} has no {label} results (has {sorted(results)}).")
        result = dict(results[label])
        if result.get("convention") != convention:
            raise ValueError(f"{path} used the {result.get('convention')!r} convention, this comparison "
                             f"{convention!r}.")
        result["curves"] = {m: np.asarray(v, dtype=np.float64) for m, v in result["curves"].items()}
        out[label] = result
    return out


def read_history(path, clips_per_epoch, column="val_loss"):
    """`(training clips seen, value)` per epoch from a run's `history.csv` (Keras CSVLogger)."""
    clips, values = [], []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and column not in rows[0]:
        raise ValueError(f"{path} has no column {column!r} (columns: {sorted(rows[0])}).")
    for row in rows:
        clips.append((int(row["epoch"]) + 1) * clips_per_epoch)
        values.append(float(row[column]))
    return np.asarray(clips), np.asarray(values)


def plot_validation_curves(path, histories, title="validation loss", width=640, height=360):
    """PNG of several runs' validation loss against training clips, in one panel.

    Args:
        path: Output PNG path.
        histories: `{label: (clips, values)}`, e.g. from `read_history`.
        title: Text at the top.
    """
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = 70, 30, width - 20, height - 40
    xs = np.concatenate([np.asarray(c, dtype=np.float64) for c, _ in histories.values()])
    ys = np.concatenate([np.asarray(v, dtype=np.float64) for _, v in histories.values()])
    ys = ys[np.isfinite(ys)]
    x_low, x_high = 0.0, float(xs.max()) if xs.size else 1.0
    y_low, y_high = (float(ys.min()), float(ys.max())) if ys.size else (0.0, 1.0)
    if y_high - y_low < 1e-12:
        y_low, y_high = y_low - 0.5, y_high + 0.5
    draw.text((left, 8), title, fill="black")
    draw.rectangle([left, top, right, bottom], outline="black")
    draw.text((4, top), f"{y_high:.4g}", fill="black")
    draw.text((4, bottom - 10), f"{y_low:.4g}", fill="black")
    draw.text((left, bottom + 4), "0", fill="black")
    draw.text((right - 60, bottom + 4), f"{int(x_high):,}", fill="black")
    draw.text(((left + right) // 2 - 40, bottom + 20), "training clips", fill="black")
    for i, (label, (clips, values)) in enumerate(histories.items()):
        colour = images._COLOURS[i % len(images._COLOURS)]
        points = [
            (left + (right - left) * (x - x_low) / max(x_high - x_low, 1e-12),
             bottom - (bottom - top) * (y - y_low) / (y_high - y_low))
            for x, y in zip(np.asarray(clips, dtype=np.float64), np.asarray(values, dtype=np.float64))
            if np.isfinite(y)
        ]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        draw.text((right - 220, top + 6 + 14 * i), label, fill=colour)
    image.save(path, format="PNG")
