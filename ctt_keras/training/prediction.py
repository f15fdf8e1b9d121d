"""Predicting from a user's own video: reading it as clips, and naming a recognizer's most probable classes.

What `ctt-predict` / `tools/predict.py` do: any of a video file (AVI, MP4, WebM, ...), a folder of frame
images or an `.npy`/`.npz` array becomes clips `[N, T, H, W, C]`; the horizon is checked against a limit and
the memory its outputs need; the rollout runs one frame at a time, with progress.
"""

import os

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
ARRAY_SUFFIXES = (".npy", ".npz")


def read_clips(path, channels):
    """Clips `[N, T, H, W, C]` (uint8 or float, as stored) from a video, a frame folder or an array file.

    Args:
        path: A video file, a folder of frame images (sorted by name), or an `.npy`/`.npz` array
            `[T, H, W]`, `[T, H, W, C]` (one clip) or `[N, T, H, W, C]` (an `.npz` holds one array or one
            named `data`).
        channels: 1 reads images and videos as gray, 3 as RGB.

    Raises:
        FileNotFoundError, ValueError: naming `path` and what is wrong with it.
    """
    if os.path.isdir(path):
        from PIL import Image

        names = sorted(n for n in os.listdir(path) if n.lower().endswith(IMAGE_SUFFIXES))
        if not names:
            raise ValueError(f"--input {path}: folder holds no frame images ({', '.join(IMAGE_SUFFIXES)})")
        mode = "L" if channels == 1 else "RGB"
        frames = []
        for name in names:
            try:
                with Image.open(os.path.join(path, name)) as image:
                    frames.append(np.asarray(image.convert(mode)))
            except (OSError, ValueError) as error:  # PIL's UnidentifiedImageError is an OSError
                raise ValueError(f"--input {path}: {name} is not a readable image ({error})") from None
        shapes = {f.shape for f in frames}
        if len(shapes) != 1:
            raise ValueError(f"--input {path}: frames of different sizes {sorted(shapes)}")
        return np.stack(frames)[None]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--input {path} does not exist")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in ARRAY_SUFFIXES:
        try:
            array = _read_array(path, suffix)
        except (OSError, ValueError, EOFError) as error:  # truncated, corrupt, pickled objects
            raise ValueError(f"--input {path}: not a readable {suffix} array ({error})") from None
        if array.ndim in (3, 4):
            return array[None]
        if array.ndim == 5:
            return array
        raise ValueError(f"--input {path}: array of shape {array.shape}; expected [T, H, W], [T, H, W, C] "
                         "or [N, T, H, W, C]")
    from ctt_keras.pipelines import video

    return video.read_video(path, mode="gray" if channels == 1 else "rgb")[None]


def _read_array(path, suffix):
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    with np.load(path, allow_pickle=False) as archive:
        key = "data" if "data" in archive.files else None
        if key is None and len(archive.files) == 1:
            key = archive.files[0]
        if key is None:
            raise ValueError(f"several arrays {archive.files} and none named 'data'")
        return archive[key]


def top_classes(model, context, names=None, top=5):
    """Each clip's `top` most probable classes from a recognizer's observed frames.

    Args:
        model: An `EarlyActivityRecognizer`.
        context: Observed frames `[N, T, H, W, C]` in [0, 1].
        names: Optional dict label -> class name.
        top: Classes per clip.

    Returns:
        A list (one per clip) of `{"label", "name", "probability"}` dicts, most probable first.
    """
    names = names or {}
    logits = np.asarray(model.recognize(context)["logits"], dtype=np.float64)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    results = []
    for row in probabilities:
        best = np.argsort(-row)[:top]
        results.append([{"label": int(k), "name": names.get(int(k)), "probability": float(row[k])}
                        for k in best])
    return results


# The longest rollout `ctt-predict --future` runs (the paper predicts up to 40 frames).
MAX_FUTURE_FRAMES = 1000


def output_bytes(num_clips, context_frames, future_frames, frame_shape, gif_samples=4, gif_scale=2):
    """About the memory `ctt-predict` needs for its outputs: the predicted frames and the GIF's images."""
    height, width, channels = (int(v) for v in frame_shape)
    predictions = num_clips * future_frames * height * width * channels * 4  # float32
    rows, columns = min(gif_samples, num_clips) * (height + 2), 2 * width + 2
    gif = (context_frames + future_frames) * rows * columns * 3 * (1 + gif_scale**2)
    return 2 * predictions + gif  # the batches and their concatenation


def available_memory():
    """Bytes of physical memory available now (None when the system does not say)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_horizon(num_clips, context_frames, future_frames, frame_shape, flag="--future"):
    """Refuses a rollout longer than `MAX_FUTURE_FRAMES` or whose outputs would not fit in memory.

    Raises:
        ValueError: naming `flag`, the limit or the estimate and the memory available.
    """
    if future_frames > MAX_FUTURE_FRAMES:
        raise ValueError(f"{flag} {future_frames} is more than {MAX_FUTURE_FRAMES} frames; predict in pieces "
                         "(each piece's last frames as the next context)")
    needed = output_bytes(num_clips, context_frames, future_frames, frame_shape)
    available = available_memory()
    if available is not None and needed > available // 2:
        raise ValueError(f"{flag} {future_frames} for {num_clips} clip(s) of {tuple(frame_shape)} frames "
                         f"needs about {needed / 2**30:.2f} GiB for the predictions and the GIF; "
                         f"{available / 2**30:.2f} GiB is available. Predict fewer frames or fewer clips")


def predict_in_steps(model, context, future_frames, batch_size=16, progress=False):
    """Closed-loop predictions of `future_frames` frames after `context`, one frame at a time.

    The same numbers as `model.predict_frames(context, future_frames)` (the same steps in the same order),
    but the network is traced for one step, not unrolled over the whole horizon: long rollouts start at
    once and show their progress frame by frame.

    Args:
        model: A `VideoPredictor` (or any network of `ctt_keras.models` with `rollout` and `step`).
        context: Frames `[N, T, H, W, C]` in [0, 1].
        future_frames: Frames to predict.
        batch_size: Clips predicted together.
        progress: Show a `keras.utils.Progbar` of the frames predicted (clips x frames).

    Returns:
        float32 predictions `[N, future_frames, H, W, C]` (unclamped).
    """
    import tensorflow as tf

    from ctt_keras.training import progress as progress_lib

    context = np.asarray(context, dtype=np.float32)
    read = tf.function(lambda c: model.rollout(c, c.shape[1], c.shape[1], training=False, return_states=True),
                       reduce_retracing=True)
    step = tf.function(lambda x, states: model.step(x, states, training=False), reduce_retracing=True)
    bar = progress_lib.progbar(len(context) * future_frames, "frames") if progress else None
    predictions = []
    for start in range(0, len(context), batch_size):
        outputs, states = read(tf.constant(context[start:start + batch_size]))
        frame = outputs[:, -1]
        frames = []
        while True:
            frames.append(np.asarray(frame))
            if bar is not None:
                bar.update(start * future_frames + len(frames) * len(frame))
            if len(frames) == future_frames:
                break
            frame, states = step(frame, states)
        predictions.append(np.stack(frames, axis=1))
    return np.concatenate(predictions)
