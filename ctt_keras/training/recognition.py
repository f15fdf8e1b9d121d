"""Evaluating an `EarlyActivityRecognizer`: accuracy from the observed frames, and its imagined frames.

Top-1 / top-5 accuracy, accuracy per class and per activity group (the paper's
Table 1 columns for Something-Something V2), and the per-frame error of the
frames the network imagines before classifying. Streams over batches, so a
whole validation split never needs to fit in memory.
"""

import json

import numpy as np

from ctt_keras.metrics import frame_metrics
from ctt_keras.metrics.ssim import ssim
from ctt_keras.training import progress as progress_lib


def evaluate_recognition(model, batches, context_frames, future_frames=None, class_names=None,
                         class_groups=None, jit_compile=False, keep_samples=4, progress=False):
    """Accuracy and imagined-frame error of a recognizer over `(clips, labels)` batches.

    Args:
        model: An `EarlyActivityRecognizer`.
        batches: Iterable of `(clips, labels)`: clips `[B, T, H, W, C]` in [0, 1] with
            `T >= context_frames`, labels `[B]` ints. Only the first `context_frames`
            frames are given to the model; the next `future_frames` (when the clip has
            them) are the truth for the imagined frames.
        context_frames: Frames observed.
        future_frames: Frames imagined before classifying (default: the model's).
        class_names: Optional name per label (e.g. SSv2 templates).
        class_groups: Optional group per label (e.g. the paper's 10 activities);
            labels with group None are left out of the group table.
        jit_compile: Compile the rollout with XLA.
        keep_samples: Samples kept for a GIF (from the first batch).
        progress: Show a `keras.utils.Progbar` (clips evaluated).

    Returns:
        `(result, (context, truth, prediction))`: `result` is a JSON-ready dict with
        `num_sequences`, `top1_accuracy`, `top5_accuracy`, `mean_class_accuracy`,
        `per_class` (list), `per_group` (dict), `frames` (per-frame and mean MSE and
        SSIM of the imagined frames, predictions clamped to [0, 1]); the arrays are
        the kept samples.
    """
    import tensorflow as tf

    future_frames = int(future_frames or model.future_frames)
    num_classes = model.num_classes
    for name, values in (("class_names", class_names), ("class_groups", class_groups)):
        if values is not None and len(values) != num_classes:
            raise ValueError(f"{name} has {len(values)} entries but the model has {num_classes} classes.")
    recognize = tf.function(lambda c: model.recognize(c, future_frames), jit_compile=jit_compile,
                            reduce_retracing=True)
    k = min(5, num_classes)
    counts = np.zeros(num_classes, np.int64)
    correct = np.zeros(num_classes, np.int64)
    top_k_hits = 0
    frame_sums = {"mse": np.zeros(future_frames), "ssim": np.zeros(future_frames)}
    frame_counts = np.zeros(future_frames, np.int64)
    kept = None
    bar = progress_lib.progbar() if progress else None
    for clips, labels in batches:
        clips = np.asarray(clips, dtype=np.float32)
        labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if clips.ndim != 5 or clips.shape[1] < context_frames or len(clips) != len(labels):
            raise ValueError(
                f"batches must be (clips [B, T, H, W, C] with T >= context_frames={context_frames}, labels [B]); "
                f"got clips {clips.shape} and labels {labels.shape}."
            )
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(f"labels must be in 0..{num_classes - 1}, got values {labels.min()}..{labels.max()}.")
        out = recognize(tf.constant(clips[:, :context_frames]))
        logits = np.asarray(out["logits"])
        prediction = np.clip(np.asarray(out["frames"]), 0.0, 1.0)
        top = np.argsort(-logits, axis=1)[:, :k]
        np.add.at(counts, labels, 1)
        np.add.at(correct, labels, (top[:, 0] == labels).astype(np.int64))
        top_k_hits += int(np.sum(np.any(top == labels[:, None], axis=1)))
        truth = clips[:, context_frames : context_frames + future_frames]
        known = truth.shape[1]
        if known:
            frame_sums["mse"][:known] += np.asarray(frame_metrics.mse(prediction[:, :known], truth)).sum(axis=0)
            frame_sums["ssim"][:known] += np.asarray(ssim(prediction[:, :known], truth)).sum(axis=0)
            frame_counts[:known] += len(clips)
        if bar is not None:
            bar.add(len(clips))
        if kept is None:
            n = min(keep_samples, len(clips))
            kept = (clips[:n, :context_frames], truth[:n], prediction[:n])
    total = int(counts.sum())
    if not total:
        raise ValueError("no clip to evaluate: the dataset is empty.")
    if bar is not None:
        progress_lib.finish(bar, total)
    seen = counts > 0
    per_class = [
        {
            "label": label,
            "name": class_names[label] if class_names is not None else None,
            "group": class_groups[label] if class_groups is not None else None,
            "count": int(counts[label]),
            "accuracy": float(correct[label] / counts[label]) if counts[label] else None,
        }
        for label in range(num_classes)
    ]
    per_group = {}
    if class_groups is not None:
        for group in dict.fromkeys(g for g in class_groups if g is not None):
            members = [label for label in range(num_classes) if class_groups[label] == group]
            n = int(counts[members].sum())
            per_group[group] = {"count": n, "accuracy": float(correct[members].sum() / n) if n else None}
    frames = {"future_frames": future_frames}
    if frame_counts.any():
        curves = {name: (sums[frame_counts > 0] / frame_counts[frame_counts > 0]) for name, sums in frame_sums.items()}
        frames.update(
            mse_x1e3=float(np.mean(curves["mse"]) * 1e3), ssim=float(np.mean(curves["ssim"])),
            mse_x1e3_per_frame=(curves["mse"] * 1e3).tolist(), ssim_per_frame=curves["ssim"].tolist(),
        )
    result = {
        "num_sequences": total,
        "context_frames": int(context_frames),
        "top1_accuracy": float(correct.sum() / total),
        "top5_accuracy" if k == 5 else f"top{k}_accuracy": float(top_k_hits / total),
        "mean_class_accuracy": float(np.mean(correct[seen] / counts[seen])),
        "classes_seen": int(seen.sum()),
        "per_class": per_class,
        "per_group": per_group,
        "frames": frames,
    }
    return result, kept


def recognition_table(result):
    """A Markdown summary of an `evaluate_recognition` result (overall, then per group if any)."""
    top_k = next(key for key in result if key.startswith("top") and key != "top1_accuracy")
    lines = [
        f"| sequences | top-1 | {top_k.split('_')[0].replace('top', 'top-')} | mean class accuracy | "
        "imagined frames MSE x1e3 | SSIM |",
        "|---|---|---|---|---|---|",
        f"| {result['num_sequences']} | {100 * result['top1_accuracy']:.2f} % | {100 * result[top_k]:.2f} % | "
        f"{100 * result['mean_class_accuracy']:.2f} % | {_maybe(result['frames'].get('mse_x1e3'), '.2f')} | "
        f"{_maybe(result['frames'].get('ssim'), '.4f')} |",
    ]
    if result["per_group"]:
        lines += ["", "| activity | sequences | top-1 |", "|---|---|---|"]
        for group, entry in result["per_group"].items():
            accuracy = "-" if entry["accuracy"] is None else f"{100 * entry['accuracy']:.2f} %"
            lines.append(f"| {group} | {entry['count']} | {accuracy} |")
    return "\n".join(lines)


def write_recognition(result, json_path=None, markdown_path=None, extra=None):
    """Writes a recognition result as JSON and a Markdown table; returns the table."""
    table = recognition_table(result)
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"results": result, **(extra or {})}, f, indent=2, sort_keys=True)
    if markdown_path:
        with open(markdown_path, "w") as f:
            f.write(table + "\n")
    return table


def _maybe(value, spec):
    return "-" if value is None else format(value, spec)
