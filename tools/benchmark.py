"""Speed and memory of the paper's networks on this machine (issue: core performance targets).

Prints a Markdown table and one JSON line. Every group of measurements runs in
its own subprocess (fresh dtype policy, honest peak memory), and inside a group
the variants being compared run interleaved, rep by rep, so that a noisy shared
machine affects them alike; figures are medians after warm-up.

Groups:
  train     training step (forward + L1+L2 loss + backward + Adam) of both cells on
            20-frame clips (19 recurrent steps), interleaved with a large 5x5 conv2d
            forward+backward that measures the achievable peak in the same process
  rollout   10 -> 30 closed-loop rollout at batch 1, both cells
  memory    peak resident memory of a training step (one cell per process), with and without
            `remat=True` (activations recomputed per recurrent step in the backward pass)

Usage:
  python tools/benchmark.py                  # 64x64 and 128x128, float32 and mixed_bfloat16, XLA off
  python tools/benchmark.py --xla            # also XLA on (very slow on CPU; bounded by --xla-timeout)
  python tools/benchmark.py --quick          # fewer reps, 64x64 only
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CELLS = ("convttlstm", "convlstm")


def _peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _import_model():
    try:
        import ctt_keras  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from ctt_keras.models import VideoPredictor

    return VideoPredictor


def _median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2])


def _conv_peak_fn(dtype):
    """A large 5x5 conv2d forward+backward; returns (callable, flops per call)."""
    import tensorflow as tf

    batch, size, cin, cout = 8, 64, 64, 128
    x = tf.cast(tf.random.normal((batch, size, size, cin)), dtype)
    w = tf.Variable(tf.cast(tf.random.normal((5, 5, cin, cout)) * 0.05, dtype))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.conv2d(x, w, 1, "SAME")
            loss = tf.reduce_sum(tf.cast(y, "float32") ** 2)
        gx, gw = tape.gradient(loss, [x, w])
        return tf.reduce_sum(tf.cast(gx, "float32")) + tf.reduce_sum(tf.cast(gw, "float32"))

    macs = batch * size * size * cin * cout * 25
    return step, 3 * 2 * macs


def _worker(spec):
    import numpy as np
    import keras

    VideoPredictor = _import_model()
    policy = spec["policy"]
    keras.config.set_dtype_policy(policy)
    size = spec["size"]
    rng = np.random.default_rng(0)
    result = dict(spec)
    result["rss_after_import_gb"] = _peak_rss_gb()

    if spec["group"] == "memory":
        model = VideoPredictor((size, size, 1), cell=spec["cell"], remat=spec.get("remat", False))
        model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=spec["jit"])
        clip = rng.random((spec["batch"], 20, size, size, 1), dtype=np.float32)
        times = []
        for _ in range(2):
            start = time.perf_counter()
            model.train_on_batch(clip)
            times.append(time.perf_counter() - start)
        result.update(step_s=times[-1], peak_rss_gb=_peak_rss_gb())
        return result

    if spec["group"] == "patch":
        return _patch_worker(spec, VideoPredictor, rng, result)

    models = {}
    for cell in spec["cells"]:
        model = VideoPredictor((size, size, 1), cell=cell)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=spec["jit"])
        models[cell] = model
    variants = {}
    if spec["group"] == "train":
        clip = rng.random((spec["batch"], 20, size, size, 1), dtype=np.float32)
        for cell, model in models.items():
            flops = 3 * 2 * model.multiply_accumulates_per_step() * 19 * spec["batch"]
            variants[cell] = (lambda m=model: m.train_on_batch(clip), flops)
        compute = keras.config.dtype_policy().compute_dtype
        peak_fn, peak_flops = _conv_peak_fn(compute)
        variants["conv_peak"] = (lambda: float(peak_fn()), peak_flops)
    else:  # rollout
        import tensorflow as tf

        context = rng.random((1, 10, size, size, 1), dtype=np.float32)
        for cell, model in models.items():
            fn = tf.function(lambda x, m=model: m.predict_frames(x, 30), jit_compile=spec["jit"])
            flops = 2 * model.multiply_accumulates_per_step() * 39
            variants[cell] = (lambda f=fn: f(context).numpy(), flops)

    timings = {name: [] for name in variants}
    deadline = time.perf_counter() + spec.get("timeout_s", 1e9)
    for rep in range(spec["warmup"] + spec["reps"]):
        for name, (fn, _) in variants.items():
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            if rep >= spec["warmup"]:
                timings[name].append(elapsed)
        if time.perf_counter() > deadline and rep >= spec["warmup"]:
            break
    for name, (_, flops) in variants.items():
        median = _median(timings[name])
        result[name] = {"median_s": median, "reps": len(timings[name]), "gflops": flops / median / 1e9}
    result["peak_rss_gb"] = _peak_rss_gb()
    return result


def _patch_worker(spec, VideoPredictor, rng, result):
    """Training clips per second of one architecture at each patch size (both cells), interleaved reps."""
    import keras

    size, batch = spec["size"], spec["batch"]
    arch = spec["arch"]
    import numpy as np

    clip = rng.random((batch, 20, size, size, 1), dtype=np.float32)
    variants = {}
    for cell in spec["cells"]:
        for patch in spec["patch_sizes"]:
            model = VideoPredictor((size, size, 1), cell=cell, patch_size=patch, **arch)
            model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=spec["jit"])
            variants[f"{cell}_p{patch}"] = (lambda m=model: m.train_on_batch(clip), model.count_params())
    timings = {name: [] for name in variants}
    for rep in range(spec["warmup"] + spec["reps"]):
        for name, (fn, _) in variants.items():
            start = time.perf_counter()
            fn()
            if rep >= spec["warmup"]:
                timings[name].append(time.perf_counter() - start)
    for name, (_, params) in variants.items():
        median = _median(timings[name])
        result[name] = {"median_s": median, "reps": len(timings[name]), "clips_per_s": batch / median,
                        "params": params}
    return result


def _run_worker(spec, timeout):
    command = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(spec, error=f"timed out after {timeout} s")
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return dict(spec, error=(done.stderr or done.stdout)[-800:])


def _fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def _table(results):
    lines = [
        "| group | size | policy | XLA | variant | median s | GFLOP/s | % of conv peak | reps |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.get("error"):
            lines.append(f"| {r['group']} | {r['size']} | {r['policy']} | {r['jit']} | (all) | {r['error'][:60]} | | | |")
            continue
        if r["group"] == "patch":
            for name, v in r.items():
                if isinstance(v, dict) and "clips_per_s" in v:
                    lines.append(
                        f"| patch b{r['batch']} | {r['size']} | {r['policy']} | {r['jit']} | {name} "
                        f"({v['params']:,} params) | {_fmt(v['median_s'])} | {_fmt(v['clips_per_s'])} clips/s | "
                        f"| {v['reps']} |"
                    )
            continue
        if r["group"] == "memory":
            lines.append(
                f"| memory | {r['size']} | {r['policy']} | {r['jit']} | {r['cell']} b{r['batch']}"
                f"{' remat' if r.get('remat') else ''} | "
                f"{_fmt(r['step_s'])} | peak RSS {_fmt(r['peak_rss_gb'])} GB | | 2 |"
            )
            continue
        peak = r.get("conv_peak", {}).get("gflops")
        for name in list(CELLS) + ["conv_peak"]:
            if name not in r:
                continue
            v = r[name]
            share = f"{100 * v['gflops'] / peak:.0f} %" if peak and name != "conv_peak" else ""
            lines.append(
                f"| {r['group']} | {r['size']} | {r['policy']} | {r['jit']} | {name} | {_fmt(v['median_s'])} | "
                f"{_fmt(v['gflops'], 1)} | {share} | {v['reps']} |"
            )
    return "\n".join(lines)


def _summary(results):
    """The issue's target ratios, from the measured figures."""
    out = {}
    by_key = {(r["group"], r["size"], r["policy"], r["jit"]): r for r in results if not r.get("error")}
    for size in (64, 128):
        f32 = by_key.get(("train", size, "float32", False))
        bf16 = by_key.get(("train", size, "mixed_bfloat16", False))
        if f32:
            tt, lstm, peak = f32["convttlstm"], f32["convlstm"], f32["conv_peak"]
            out[f"train{size}_f32_tt_share_of_peak"] = tt["gflops"] / peak["gflops"]
            out[f"train{size}_f32_lstm_share_of_peak"] = lstm["gflops"] / peak["gflops"]
            out[f"train{size}_f32_tt_over_lstm_time"] = tt["median_s"] / lstm["median_s"]
        if f32 and bf16:
            for cell in CELLS:
                out[f"train{size}_{cell}_bf16_speedup"] = f32[cell]["median_s"] / bf16[cell]["median_s"]
        xla = by_key.get(("train", size, "float32", True))
        if f32 and xla:
            for cell in CELLS:
                out[f"train{size}_{cell}_xla_slowdown"] = xla[cell]["median_s"] / f32[cell]["median_s"]
    for r in results:
        if r["group"] == "patch" and not r.get("error"):
            for cell in CELLS:
                base = r.get(f"{cell}_p1")
                for name, v in r.items():
                    if base and isinstance(v, dict) and name.startswith(cell + "_p") and name != f"{cell}_p1":
                        out[f"patch{r['size']}_{r['policy']}_{name}_speedup_over_p1"] = (
                            v["clips_per_s"] / base["clips_per_s"])
    for r in results:
        if r["group"] == "memory" and not r.get("error"):
            remat = "_remat" if r.get("remat") else ""
            out[f"memory{r['size']}_{r['cell']}_{r['policy']}_b{r['batch']}{remat}_peak_rss_gb"] = r["peak_rss_gb"]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="64x64 only, 3 reps")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--sizes", default="64,128", help="frame sizes for the training step")
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    parser.add_argument("--xla", action="store_true", help="also measure XLA on (slow on CPU)")
    parser.add_argument("--xla-timeout", type=int, default=1200, help="seconds per XLA group")
    parser.add_argument("--json-out", help="also write the JSON line to this file")
    parser.add_argument("--patch-sizes", default="1,4",
                        help="patch sizes compared for training clips/s at 64x64 ('none': skip)")
    parser.add_argument("--patch-batch", type=int, default=8, help="batch of the patch-size comparison")
    parser.add_argument("--patch-arch", default="1,1,1,1:64,64,64,64:none",
                        help="layers per block : hidden channels : skip stride, of the patch-size comparison")
    parser.add_argument("--only-patch", action="store_true", help="run the patch-size comparison alone")
    args = parser.parse_args(argv)

    if args.worker:
        print("RESULT " + json.dumps(_worker(json.loads(args.worker))), flush=True)
        return 0

    sizes = [64] if args.quick else [int(s) for s in args.sizes.split(",")]
    reps = 3 if args.quick else args.reps
    policies = args.policies.split(",")
    plan = []
    for size in sizes:
        for policy in policies:
            r = reps if size == 64 else max(2, reps // 2)
            plan.append(dict(group="train", size=size, policy=policy, jit=False, cells=list(CELLS),
                             batch=args.batch, warmup=1, reps=r))
        if args.xla:
            plan.append(dict(group="train", size=size, policy="float32", jit=True, cells=list(CELLS),
                             batch=args.batch, warmup=1, reps=1, timeout_s=args.xla_timeout))
    for policy in policies:
        plan.append(dict(group="rollout", size=sizes[0], policy=policy, jit=False, cells=list(CELLS), batch=1,
                         warmup=1, reps=reps))
    for size in sizes:
        for cell in CELLS:
            plan.append(dict(group="memory", size=size, policy="float32", jit=False, cell=cell, batch=args.batch))
    # The largest size (KTH's 128x128 by default): Conv-TT-LSTM in every policy, with and without remat.
    for policy in policies:
        for remat in (False, True):
            if policy == "float32" and not remat:
                continue  # measured above
            plan.append(dict(group="memory", size=sizes[-1], policy=policy, jit=False, cell="convttlstm",
                             batch=args.batch, remat=remat))

    if args.only_patch:
        plan = []
    if args.patch_sizes != "none":
        layers, hidden, skip = args.patch_arch.split(":")
        arch = dict(layers_per_block=[int(n) for n in layers.split(",")],
                    hidden_channels=[int(c) for c in hidden.split(",")],
                    skip_stride=None if skip == "none" else int(skip))
        for policy in policies:
            plan.append(dict(group="patch", size=64, policy=policy, jit=False, cells=list(CELLS),
                             batch=args.patch_batch, warmup=1, reps=reps, arch=arch,
                             patch_sizes=[int(p) for p in args.patch_sizes.split(",")]))

    results = []
    for spec in plan:
        label = f"{spec['group']} {spec['size']}px {spec['policy']} xla={spec['jit']} {spec.get('cell', '')}"
        print(f"running {label} ...", file=sys.stderr, flush=True)
        timeout = spec.get("timeout_s", 3000) + 600
        results.append(_run_worker(spec, timeout))
    print(_table(results))
    record = {"benchmark": "ctt_keras.core", "results": results, "summary": _summary(results),
              "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()}}
    line = json.dumps(record)
    print(line)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
