"""Pictures of predictions and metric curves: strips, animated GIFs and line plots (NumPy + Pillow)."""

import io

import numpy as np

_SEPARATOR = 2  # pixels of white between panels


def _to_uint8(frames):
    frames = np.nan_to_num(np.asarray(frames, dtype=np.float32), nan=0.0)
    return (np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _rgb(frames):
    frames = _to_uint8(frames)
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    return frames


def comparison_strip(context, truth, prediction, separator=_SEPARATOR):
    """One image per sample: rows of context | truth | prediction frames.

    Args:
        context: `[B, Tc, H, W, C]` frames in [0, 1] (C = 1 or 3).
        truth: `[B, Tf, H, W, C]` true future frames, or None when unknown.
        prediction: `[B, Tf, H, W, C]` predicted frames.

    Returns:
        uint8 `[B, rows * (H + sep), max(Tc, Tf) * (W + sep), 3]`: row 1 the context,
        row 2 the truth (if given), last row the prediction.
    """
    rows = [context] + ([truth] if truth is not None else []) + [prediction]
    rows = [_rgb(r) for r in rows]
    batch, _, height, width, _ = rows[0].shape
    columns = max(r.shape[1] for r in rows)
    out = np.full(
        (batch, len(rows) * (height + separator), columns * (width + separator), 3), 255, dtype=np.uint8
    )
    for i, row in enumerate(rows):
        for t in range(row.shape[1]):
            y, x = i * (height + separator), t * (width + separator)
            out[:, y : y + height, x : x + width] = row[:, t]
    return out


def side_by_side_frames(context, truth, prediction, separator=_SEPARATOR):
    """Frames of an animation for one sample: panels truth-or-context | prediction, over time.

    During the context both panels show the context; afterwards the left panel
    shows the truth (or the last context frame when the truth is unknown) and the
    right one the prediction.

    Args:
        context: `[Tc, H, W, C]`; truth: `[Tf, H, W, C]` or None; prediction: `[Tf, H, W, C]`.

    Returns:
        uint8 `[Tc + Tf, H, 2 * W + sep, 3]`.
    """
    context, prediction = _rgb(context), _rgb(prediction)
    truth = _rgb(truth) if truth is not None else np.repeat(context[-1:], prediction.shape[0], axis=0)
    left = np.concatenate([context, truth], axis=0)
    right = np.concatenate([context, prediction], axis=0)
    gap = np.full(left.shape[:2] + (separator, 3), 255, dtype=np.uint8)
    return np.concatenate([left, gap, right], axis=2)


def gif_bytes(frames, duration_ms=200, scale=1):
    """Encodes frames `[T, H, W, 3]` (uint8) as an animated GIF that loops; returns bytes."""
    from PIL import Image

    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        frames = _rgb(frames)
    images = [Image.fromarray(f) for f in frames]
    if scale != 1:
        images = [im.resize((im.width * scale, im.height * scale), Image.NEAREST) for im in images]
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0
    )
    return buffer.getvalue()


def write_gif(path, frames, duration_ms=200, scale=1):
    """Writes `frames` `[T, H, W, 3]` as a looping animated GIF at `path`."""
    with open(path, "wb") as f:
        f.write(gif_bytes(frames, duration_ms=duration_ms, scale=scale))


def prediction_gif_frames(context, truth, prediction, max_samples=4):
    """Stacks `side_by_side_frames` of up to `max_samples` samples vertically: `[T, rows, cols, 3]`."""
    samples = []
    for i in range(min(max_samples, len(context))):
        frames = side_by_side_frames(context[i], None if truth is None else truth[i], prediction[i])
        samples.append(frames)
        samples.append(np.full(frames.shape[:1] + (_SEPARATOR,) + frames.shape[2:], 255, dtype=np.uint8))
    return np.concatenate(samples[:-1], axis=1)


# Ten distinct colours (matplotlib's "tab10"), so that up to ten curves in one plot never share one.
_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
            (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def plot_curves(path, curves, title="", width=360, height=240):
    """Writes a PNG of per-frame metric curves: one small panel per metric, with axis ranges.

    Args:
        path: Output PNG path.
        curves: `{metric: {label: values}}`, e.g. `{"ssim": {"10->10": [...]}}`.
        title: Text at the top.
    """
    from PIL import Image, ImageDraw

    names = list(curves)
    panels = []
    for name in names:
        panel = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(panel)
        left, top, right, bottom = 50, 20, width - 10, height - 30
        series = {label: np.asarray(v, dtype=np.float64) for label, v in curves[name].items()}
        finite = np.concatenate([v[np.isfinite(v)] for v in series.values()] + [np.zeros(0)])
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if high - low < 1e-12:
            low, high = low - 0.5, high + 0.5
        longest = max(len(v) for v in series.values())
        draw.rectangle([left, top, right, bottom], outline="black")
        draw.text((left, 4), name, fill="black")
        draw.text((4, top), f"{high:.4g}", fill="black")
        draw.text((4, bottom - 10), f"{low:.4g}", fill="black")
        draw.text((left, bottom + 4), "1", fill="black")
        draw.text((right - 20, bottom + 4), str(longest), fill="black")
        draw.text(((left + right) // 2 - 30, bottom + 14), "future frame", fill="black")
        for i, (label, values) in enumerate(series.items()):
            colour = _COLOURS[i % len(_COLOURS)]
            points = [
                (
                    left + (right - left) * (t / max(longest - 1, 1)),
                    bottom - (bottom - top) * ((v - low) / (high - low)),
                )
                for t, v in enumerate(values)
                if np.isfinite(v)
            ]
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
            for x, y in points:
                draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
            draw.text((right - 90, top + 4 + 12 * i), label, fill=colour)
        panels.append(panel)
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    canvas = Image.new("RGB", (columns * width, rows * height + 20), "white")
    ImageDraw.Draw(canvas).text((8, 4), title, fill="black")
    for i, panel in enumerate(panels):
        canvas.paste(panel, ((i % columns) * width, 20 + (i // columns) * height))
    canvas.save(path, format="PNG")


def to_unit_float(frames):
    """uint8 0..255 or float 0..1 frames as float32 in [0, 1] (raises for NaN, inf, floats outside [0, 1])."""
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        return frames.astype(np.float32) / 255.0
    if not np.issubdtype(frames.dtype, np.floating):
        raise ValueError(f"frames must be uint8 (0..255) or float (0..1), got dtype {frames.dtype}")
    bad = int(np.size(frames) - np.count_nonzero(np.isfinite(frames)))
    if bad:
        raise ValueError(f"frames hold {bad} NaN or infinite values (of {np.size(frames)}, shape "
                         f"{frames.shape})")
    low, high = float(np.min(frames)), float(np.max(frames))
    if low < 0.0 or high > 1.0:
        raise ValueError(f"float frames must be in [0, 1], got values in [{low:.4g}, {high:.4g}]")
    return frames.astype(np.float32)


def fit_frames(frames, frame_shape):
    """Converts frames `[T, H, W, C]` to a model's `frame_shape` `(h, w, c)`; returns `(frames, notes)`.

    Colour is converted (RGB -> gray with ITU-R BT.601 luma, gray -> RGB by
    repetition) and the size changed with antialiased bilinear resizing; `notes`
    lists every conversion made, for the user to see.
    """
    import tensorflow as tf

    frames = to_unit_float(frames)
    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"frames must be [T, H, W] or [T, H, W, C] with C in (1, 3, 4), got shape {frames.shape}"
        )
    height, width, channels = frame_shape
    notes = []
    if frames.shape[-1] == 4:
        frames = frames[..., :3]
        notes.append("dropped the alpha channel")
    if frames.shape[-1] == 3 and channels == 1:
        frames = frames @ np.array([[0.299], [0.587], [0.114]], dtype=np.float32)
        notes.append("converted RGB to gray (BT.601 luma)")
    elif frames.shape[-1] == 1 and channels == 3:
        frames = np.repeat(frames, 3, axis=-1)
        notes.append("converted gray to RGB")
    elif frames.shape[-1] != channels:
        raise ValueError(f"cannot convert {frames.shape[-1]}-channel frames to {channels} channels")
    if frames.shape[1:3] != (height, width):
        notes.append(
            f"resized {frames.shape[1]}x{frames.shape[2]} -> {height}x{width} (bilinear, antialiased)"
        )
        frames = tf.image.resize(frames, (height, width), method="bilinear", antialias=True).numpy()
        frames = np.clip(frames, 0.0, 1.0)
    return frames.astype(np.float32), notes
