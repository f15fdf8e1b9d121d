"""Predicting from a user's own video: reading it as clips, and naming a recognizer's most probable classes.

What `ctt-predict` / `tools/predict.py` do around `runner.predict_clips`: any of a video file (AVI, MP4,
WebM, ...), a folder of frame images or an `.npy`/`.npz` array becomes clips `[N, T, H, W, C]`.
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
        frames = [np.asarray(Image.open(os.path.join(path, n)).convert(mode)) for n in names]
        shapes = {f.shape for f in frames}
        if len(shapes) != 1:
            raise ValueError(f"--input {path}: frames of different sizes {sorted(shapes)}")
        return np.stack(frames)[None]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--input {path} does not exist")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in ARRAY_SUFFIXES:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as archive:
                key = "data" if "data" in archive.files else None
                if key is None and len(archive.files) == 1:
                    key = archive.files[0]
                if key is None:
                    raise ValueError(f"--input {path}: several arrays {archive.files} and none named 'data'")
                array = archive[key]
        if array.ndim in (3, 4):
            return array[None]
        if array.ndim == 5:
            return array
        raise ValueError(f"--input {path}: array of shape {array.shape}; expected [T, H, W], [T, H, W, C] "
                         "or [N, T, H, W, C]")
    from ctt_keras.pipelines import video

    return video.read_video(path, mode="gray" if channels == 1 else "rgb")[None]


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
