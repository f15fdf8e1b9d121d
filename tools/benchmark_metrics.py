"""Throughput of the per-frame metrics (frames/s) on this machine: eager and tf.function, one table.

Usage:
    TF_CPP_MIN_LOG_LEVEL=2 python tools/benchmark_metrics.py [--frames 256] [--size 64] [--channels 1]

Prints a Markdown table and one JSON line (`{"benchmark": "metrics", ...}`). Each variant is warmed up
once, then timed over `--repeats` calls; the median call time is reported.
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ctt_keras import metrics  # noqa: E402

TARGETS = {"lpips_alex": 200.0, "ssim_uniform": 2000.0}  # frames/s asked for by the metrics issue


def _variants():
    return {
        "mse": lambda a, b: metrics.mse(a, b),
        "psnr": lambda a, b: metrics.psnr(a, b),
        "ssim_uniform": lambda a, b: metrics.ssim(a, b, window="uniform"),
        "ssim_gaussian": lambda a, b: metrics.ssim(a, b, window="gaussian"),
        "lpips_alex": lambda a, b: metrics.lpips(a, b, net="alex"),
        "lpips_squeeze": lambda a, b: metrics.lpips(a, b, net="squeeze"),
    }


def _time(fn, a, b, repeats):
    np.asarray(fn(a, b))  # warm-up (tracing, weight loading)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.asarray(fn(a, b))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=256, help="frames per call")
    parser.add_argument("--size", type=int, default=64, help="frame height and width")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    shape = (args.frames, args.size, args.size, args.channels)
    a = tf.constant(rng.random(shape, dtype=np.float32))
    b = tf.constant(np.clip(a.numpy() + 0.1 * rng.standard_normal(shape), 0, 1).astype(np.float32))
    rows = []
    for name, fn in _variants().items():
        for mode, wrapped in (("eager", fn), ("tf.function", tf.function(fn, autograph=False))):
            seconds = _time(wrapped, a, b, args.repeats)
            rows.append({"metric": name, "mode": mode, "ms_per_call": 1e3 * seconds,
                         "frames_per_s": args.frames / seconds})
    frame = f"{args.size}x{args.size}x{args.channels}"
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible"
    header = f"{args.frames} frames of {frame} per call, median of {args.repeats}"
    print(f"{header}; {machine}, TF {tf.__version__}")
    print()
    print("| metric | mode | ms / call | frames / s | target |")
    print("|---|---|---|---|---|")
    for row in rows:
        target = TARGETS.get(row["metric"])
        status = ""
        if target is not None:
            status = f">= {target:g} " + ("ok" if row["frames_per_s"] >= target else "MISSED")
        timing = f"{row['ms_per_call']:.1f} | {row['frames_per_s']:.0f}"
        print(f"| {row['metric']} | {row['mode']} | {timing} | {status} |")
    summary = {"benchmark": "metrics", "frames": args.frames, "size": args.size, "channels": args.channels,
               "tf": tf.__version__, "cpus": os.cpu_count(),
               "results": {f"{r['metric']}/{r['mode']}": round(r["frames_per_s"], 1) for r in rows}}
    print()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
