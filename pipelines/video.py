"""Decoding video files to uint8 frame arrays (OpenCV or PyAV), with clear errors for bad files.

Backends (measured in `docs/pipelines.md`): OpenCV (`opencv-python-headless`) is the default for AVI
(KTH); PyAV (`av`) is used where OpenCV's FFmpeg build is missing a codec. Both are optional dependencies
(`pip install "ctt-keras[video]"`) imported only when a video is decoded.
"""

import pathlib

import numpy as np

BACKENDS = ("opencv", "pyav")
MODES = ("gray", "rgb")


class VideoDecodeError(ValueError):
    """A video file could not be decoded completely (unreadable, corrupt, empty or truncated)."""


def read_video(path, mode="gray", backend="opencv"):
    """Decodes every frame of a video file.

    A file that cannot be opened, decodes to no frame, or decodes to fewer frames than its container
    declares (a truncated file) raises `VideoDecodeError` naming the file.

    Args:
        path: path of the video file (AVI, WebM, MP4, ...).
        mode: `"gray"` (one channel, ITU-R BT.601 luma) or `"rgb"` (three channels).
        backend: `"opencv"` or `"pyav"`.

    Returns:
        A `np.uint8` array `[N, H, W, 1]` (gray) or `[N, H, W, 3]` (rgb).

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: for an unknown `mode` or `backend`.
        VideoDecodeError: if the file is unreadable, empty or truncated.

    Example:
    ```python
    frames = read_video("person01_walking_d1_uncomp.avi")  # (N, 120, 160, 1) uint8
    ```
    """
    path = pathlib.Path(path)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {path}")
    frames, declared = (_read_opencv if backend == "opencv" else _read_pyav)(path, mode)
    if not frames:
        raise VideoDecodeError(f"{path}: no frame could be decoded (corrupt or not a video)")
    if declared and len(frames) < declared:
        raise VideoDecodeError(f"{path}: truncated, decoded {len(frames)} of the {declared} frames "
                               f"its container declares")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise VideoDecodeError(f"{path}: frames of different sizes {sorted(shapes)}")
    return np.stack(frames)


def probe_video(path, needed_frames):
    """Checks cheaply that a video can be opened and that frame `needed_frames - 1` decodes.

    Only the container header and the frames needed to reach the last wanted frame (from the nearest key
    frame) are decoded, so a junk file or one cut before `needed_frames` is caught without a full decode.
    Damage between key frames can still surface later in `read_video`.

    Args:
        path: path of the video file.
        needed_frames: number of frames the caller will use from the start of the video.

    Returns:
        The number of frames the container declares (0 if it does not say).

    Raises:
        FileNotFoundError: if `path` does not exist.
        VideoDecodeError: if the file cannot be opened, declares fewer frames than needed, or the last
            needed frame does not decode.

    Example:
    ```python
    probe_video("person01_walking_d1_uncomp.avi", 555)
    ```
    """
    import cv2

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {path}")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoDecodeError(f"{path}: OpenCV cannot open this file (corrupt or unknown codec)")
        declared = max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
        if declared and declared < needed_frames:
            raise VideoDecodeError(f"{path}: truncated, {needed_frames} frames needed, the container "
                                   f"declares {declared}")
        capture.set(cv2.CAP_PROP_POS_FRAMES, needed_frames - 1)
        ok, _ = capture.read()
        if not ok:
            raise VideoDecodeError(f"{path}: frame {needed_frames} (of {needed_frames} needed) does not "
                                   f"decode (truncated or corrupt)")
    finally:
        capture.release()
    return declared


def _read_opencv(path, mode):
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoDecodeError(f"{path}: OpenCV cannot open this file (corrupt or unknown codec)")
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        conversion = cv2.COLOR_BGR2GRAY if mode == "gray" else cv2.COLOR_BGR2RGB
        frames = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            converted = cv2.cvtColor(frame, conversion)
            frames.append(converted[..., None] if mode == "gray" else converted)
    finally:
        capture.release()
    return frames, max(declared, 0)


def _read_pyav(path, mode):
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoDecodeError(f"{path}: no video stream")
            stream = container.streams.video[0]
            declared = stream.frames or 0
            fmt = "gray" if mode == "gray" else "rgb24"
            frames = []
            for frame in container.decode(stream):
                array = frame.to_ndarray(format=fmt)
                frames.append(array[..., None] if mode == "gray" else array)
    except av.error.FFmpegError as e:
        raise VideoDecodeError(f"{path}: PyAV cannot decode this file: {e}") from e
    return frames, declared
