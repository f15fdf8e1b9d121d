"""One group of measurements, run inside a fresh process on the backend named by KERAS_BACKEND.

A spec (a JSON-ready dict, see `ctt_keras.benchmarks.plans`) names the group:

- `train`: training steps (`train_on_batch`: forward, L1+L2 loss, backward, Adam) of each cell on
  `frames`-frame clips, interleaved rep by rep with a large 5x5 conv forward+backward (the conv peak);
- `rollout`: the 10 -> 30 closed-loop rollout (`predict_on_batch` of a 40-frame clip) of each cell;
- `memory`: the peak memory of two training steps of one cell (optionally with `remat`);
- `patch`: training clips/s of one architecture at several `patch_size`s.

Within a group the variants run interleaved, so that a noisy machine affects them alike; figures are
medians after warm-up.
"""

import time

import numpy as np

PAPER_ARCHITECTURE = {
    "layers_per_block": [3, 3, 3, 3],
    "hidden_channels": [32, 48, 48, 32],
    "skip_stride": 2,
    "kernel_size": 5,
    "order": 3,
    "steps": 3,
    "rank": 8,
}


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2])


def _model(spec, cell, **overrides):
    import keras

    from ctt_keras.models import VideoPredictor

    arch = dict(PAPER_ARCHITECTURE, **spec.get("arch", {}))
    arch.update(overrides)
    channels = spec.get("channels", 1)
    # `frames`-frame training clips need context_frames < frames (Keras may trace the inference call too).
    context = spec.get("context_frames", 10)
    model = VideoPredictor((spec["size"], spec["size"], channels), cell=cell, context_frames=context, **arch)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=spec["jit"])
    return model


def _clip(spec, batch, frames, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((batch, frames, spec["size"], spec["size"], spec.get("channels", 1)), dtype=np.float32)


def _interleaved(variants, warmup, reps, timeout_s=None):
    """Runs each `variants[name][0]()` `warmup + reps` times, round-robin; returns `{name: [seconds]}`."""
    timings = {name: [] for name in variants}
    deadline = time.perf_counter() + (timeout_s if timeout_s else float("inf"))
    for rep in range(warmup + reps):
        for name, (fn, _) in variants.items():
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            if rep >= warmup:
                timings[name].append(elapsed)
        if rep >= warmup and time.perf_counter() > deadline:
            break
    return timings


def run_spec(spec):
    """Runs one spec in this process and returns it with its measurements added."""
    import keras

    from ctt_keras.benchmarks import device

    keras.config.set_dtype_policy(spec["policy"])
    result = dict(spec, device=device.describe())
    device.reset_peak_memory()
    group = spec["group"]
    if group == "memory":
        model = _model(spec, spec["cell"], remat=spec.get("remat", False))
        clip = _clip(spec, spec["batch"], spec.get("frames", 20))
        times = []
        for _ in range(2):
            start = time.perf_counter()
            model.train_on_batch(clip)
            times.append(time.perf_counter() - start)
        result["step_s"] = times[-1]
    elif group == "patch":
        result.update(_patch(spec))
    elif group in ("train", "rollout"):
        result.update(_train_or_rollout(spec, device))
    else:
        raise ValueError(f"unknown benchmark group {group!r}")
    result["peak_memory_gb"], result["memory_kind"] = device.peak_memory_gb()
    return result


def _train_or_rollout(spec, device):
    import keras

    variants = {}
    first_call = {}
    for cell in spec["cells"]:
        model = _model(spec, cell)
        if spec["group"] == "train":
            batch, frames = spec["batch"], spec.get("frames", 20)
            clip = _clip(spec, batch, frames)
            flops = 3 * 2 * model.multiply_accumulates_per_step() * (frames - 1) * batch
            fn = lambda m=model, c=clip: m.train_on_batch(c)
        else:
            batch, frames = (
                1,
                model.context_frames + 30,
            )  # 10 context frames, 30 predicted (39 recurrent steps)
            clip = _clip(spec, batch, frames)
            flops = 2 * model.multiply_accumulates_per_step() * (frames - 1) * batch
            fn = lambda m=model, c=clip: m.predict_on_batch(c)
        start = time.perf_counter()
        fn()  # the first call traces and compiles: reported apart from the timed reps
        first_call[cell] = time.perf_counter() - start
        variants[cell] = (fn, flops)
    if spec["group"] == "train" and spec.get("conv_peak", True) is not False:
        shape = spec.get("conv_peak") if isinstance(spec.get("conv_peak"), dict) else {}
        compute = keras.config.dtype_policy().compute_dtype
        step, flops = device.conv_peak_step(compute, jit_compile=spec["jit"], **shape)
        start = time.perf_counter()
        step()
        first_call["conv_peak"] = time.perf_counter() - start
        variants["conv_peak"] = (step, flops)
    timings = _interleaved(variants, max(0, spec["warmup"] - 1), spec["reps"], spec.get("timeout_s"))
    out = {}
    for name, (_, flops) in variants.items():
        seconds = median(timings[name])
        entry = {
            "median_s": seconds,
            "reps": len(timings[name]),
            "gflops": flops / seconds / 1e9,
            "first_call_s": first_call[name],
        }
        if name != "conv_peak":
            entry["clips_per_s"] = (spec["batch"] if spec["group"] == "train" else 1) / seconds
        out[name] = entry
    return out


def _patch(spec):
    """Training clips per second of one architecture at each patch size (both cells), interleaved reps."""
    batch = spec["batch"]
    clip = _clip(spec, batch, spec.get("frames", 20))
    variants = {}
    for cell in spec["cells"]:
        for patch in spec["patch_sizes"]:
            model = _model(spec, cell, patch_size=patch)
            variants[f"{cell}_p{patch}"] = ((lambda m=model: m.train_on_batch(clip)), model.count_params())
    timings = _interleaved(variants, spec["warmup"], spec["reps"])
    out = {}
    for name, (_, params) in variants.items():
        seconds = median(timings[name])
        out[name] = {
            "median_s": seconds,
            "reps": len(timings[name]),
            "clips_per_s": batch / seconds,
            "params": params,
        }
    return out
