"""Throughput of the data pipelines: Moving-MNIST generation, video decoding, KTH and SSv2 clipping.

Usage:
    TF_CPP_MIN_LOG_LEVEL=2 python tools/benchmark_pipelines.py [--quick]

Everything runs on synthetic data written to a temporary folder (KTH-like 160x120 gray AVIs, SSv2-like
240x427 VP9 WebMs), so nothing is downloaded. Prints a table and one JSON line (prefix `JSON `).
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import tensorflow as tf  # noqa: E402

from ctt_keras.pipelines import kth, mnist_digits, moving_mnist, ssv2, video  # noqa: E402


def _rate(count, seconds):
    return count / seconds if seconds > 0 else float("inf")


def _consume(dataset, count):
    iterator = iter(dataset)
    next(iterator)  # exclude start-up (tracing, first shuffle fill) from the timing
    start = time.perf_counter()
    for _ in range(count):
        next(iterator)
    return _rate(count, time.perf_counter() - start)


def _bench_moving_mnist(n):
    rows = {}
    rows["moving_mnist tf.data load('train') [seq/s]"] = _consume(moving_mnist.load("train", seed=0), n)
    digits = mnist_digits.load_digits("train")
    start = time.perf_counter()
    moving_mnist.generate(digits, n, np.random.default_rng(0))
    rows["moving_mnist numpy generate() [seq/s]"] = _rate(n, time.perf_counter() - start)
    try:
        import tensorflow_datasets as tfds

        mov = tfds.video.moving_sequence.image_as_moving_sequence
        images = tf.constant(digits[:1000, :, :, None])

        def tfds_pair(i):
            a = mov(images[i % 1000], output_size=(64, 64), sequence_length=20)
            b = mov(images[(i * 7 + 3) % 1000], output_size=(64, 64), sequence_length=20)
            return tf.cast(tf.maximum(a.image_sequence, b.image_sequence), tf.float32) / 255.0

        ds = tf.data.Dataset.range(10 ** 9).map(tfds_pair, num_parallel_calls=tf.data.AUTOTUNE)
        rows["reference: tfds moving_sequence, 2 digits [seq/s]"] = _consume(ds.prefetch(8), n)
    except (ImportError, AttributeError) as e:  # older/newer TFDS without the helper
        print(f"(tfds moving_sequence not measured: {e})")
    return rows


def _write_avi(path, frames, fourcc="XVID"):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25, (160, 120), False)
    for frame in frames:
        writer.write(frame)
    writer.release()


def _kth_like_frames(count, seed):
    # A textured background with a moving bright block: compressible like real footage, not constant.
    rng = np.random.default_rng(seed)
    background = (rng.integers(60, 120, (120, 160))).astype(np.uint8)
    frames = []
    for t in range(count):
        frame = background.copy()
        x = (5 * t) % 130
        frame[40:90, x:x + 30] = 220
        frames.append(frame)
    return frames


def _write_webm(path, count, seed, size=(240, 427)):
    import av

    rng = np.random.default_rng(seed)
    background = rng.integers(0, 255, size + (3,), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libvpx-vp9", rate=12)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for t in range(count):
            frame = np.roll(background, 3 * t, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _decode_rate(path, mode, backend, repeats):
    start = time.perf_counter()
    frames = 0
    for _ in range(repeats):
        frames += len(video.read_video(path, mode=mode, backend=backend))
    return _rate(frames, time.perf_counter() - start)


def _imageio_rate(path, repeats):
    import imageio.v3 as iio

    start = time.perf_counter()
    frames = 0
    for _ in range(repeats):
        frames += len(iio.imread(path, plugin="pyav"))
    return _rate(frames, time.perf_counter() - start)


def _bench_decoding(tmp, repeats):
    rows = {}
    avi = tmp / "kth_like.avi"
    _write_avi(avi, _kth_like_frames(400, 0))
    for backend in video.BACKENDS:
        rows[f"decode KTH-like AVI (XVID 160x120 gray), {backend} [frames/s]"] = _decode_rate(
            avi, "gray", backend, repeats)
    webm = tmp / "ssv2_like.webm"
    _write_webm(webm, 48, 0)
    for backend in video.BACKENDS:
        rows[f"decode SSv2-like WebM (VP9 427x240 rgb), {backend} [frames/s]"] = _decode_rate(
            webm, "rgb", backend, repeats)
    try:
        rows["decode KTH-like AVI, imageio (pyav plugin) [frames/s]"] = _imageio_rate(avi, repeats)
    except ImportError as e:
        print(f"(imageio not measured: {e})")
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        print("(imageio-ffmpeg is not installed here: not measured)")
    return rows


def _bench_kth(tmp, clips_to_read):
    rows = {}
    manual = tmp / "kth_manual"
    manual.mkdir()
    lines = []
    for person in (1, 2, 17):
        for action in ("walking", "boxing"):
            name = f"person{person:02d}_{action}_d1"
            _write_avi(manual / f"{name}_uncomp.avi", _kth_like_frames(400, person))
            lines.append(f"{name}\t\tframes\t1-100, 101-200, 201-300, 301-400\r\n")
    (manual / "00sequences.txt").write_text("".join(lines))
    start = time.perf_counter()
    kth.builder(tmp / "kth_tfds", manual_dir=manual)
    rows["KTH prepare: decode + write shards [frames/s]"] = _rate(6 * 400, time.perf_counter() - start)
    for future in (10, 40):
        train = kth.load(tmp / "kth_tfds", "train", context_frames=10, future_frames=future, seed=0)
        rows[f"KTH load train 10->{future} @128, stride 1, shuffled [clips/s]"] = _consume(
            train, clips_to_read)
    test = kth.load(tmp / "kth_tfds", "test", context_frames=10, future_frames=10).repeat()
    rows["KTH load test 10->10 @128, no overlap [clips/s]"] = _consume(test, clips_to_read)
    return rows


def _bench_ssv2(tmp, clips_to_read):
    rows = {}
    manual = tmp / "ssv2_manual"
    (manual / "20bn-something-something-v2").mkdir(parents=True)
    labels = {"Holding something": "16", "Picking something up": "47"}
    (manual / ssv2.LABELS_FILE).write_text(json.dumps(labels))
    entries = {"train": [], "validation": []}
    for i in range(8):
        split = "train" if i < 6 else "validation"
        template = "Holding [something]" if i % 2 else "Picking [something] up"
        entries[split].append({"id": str(i), "template": template})
        _write_webm(manual / "20bn-something-something-v2" / f"{i}.webm", 48, i)
    for split, items in entries.items():
        (manual / ssv2.SPLIT_FILES[split]).write_text(json.dumps(items))
    config = ssv2.make_config([16, 47])
    start = time.perf_counter()
    ssv2.builder(tmp / "ssv2_tfds", config=config, manual_dir=manual)
    rows["SSv2 prepare: decode + resize 64x64 + JPEG [frames/s]"] = _rate(8 * 48, time.perf_counter() - start)
    train = ssv2.load(tmp / "ssv2_tfds", "train", config=config, seed=0).repeat()
    rows["SSv2 load train 25% (10) + 10 @64 [clips/s]"] = _consume(train, clips_to_read)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for a smoke run)")
    args = parser.parse_args(argv)
    n = 300 if args.quick else 3000
    rows = {}
    rows.update(_bench_moving_mnist(n))
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tmp = pathlib.Path(folder)
        rows.update(_bench_decoding(tmp, 1 if args.quick else 5))
        rows.update(_bench_kth(tmp, 50 if args.quick else 500))
        rows.update(_bench_ssv2(tmp, 50 if args.quick else 300))
    width = max(len(k) for k in rows)
    print(f"\n{'measurement'.ljust(width)}  {'rate':>10}")
    for key, value in rows.items():
        print(f"{key.ljust(width)}  {value:10.0f}")
    info = {"cpus": os.cpu_count(), "tensorflow": tf.__version__, "quick": args.quick}
    print("JSON " + json.dumps({"benchmark": "pipelines", **info,
                                "results": {k: round(v, 1) for k, v in rows.items()}}))
    return rows


if __name__ == "__main__":
    main()
