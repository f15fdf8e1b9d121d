"""The benchmark plans: lists of specs, one process each, in the order they run.

- `cpu_plan`: the project's CPU measurements (docs/performance.md): the paper's network at 64x64
  (Moving-MNIST) and 128x128 (KTH), batch 2, float32 and mixed_bfloat16, optional XLA, rollout,
  memory with and without remat, and the patch-size comparison.
- `gpu_plan`: one ~5-minute run on one accelerator, most important first (a run cut short keeps
  what finished): training clips/s at batch 16 and 32, float32 and mixed precision, XLA on and off,
  peak device memory, 10 -> 30 rollout latency at batch 1, each beside the same device's conv peak.
- `smoke_plan`: every group on a tiny network, in seconds on a CPU (tests, and a check of a new machine).
"""

CELLS = ("convttlstm", "convlstm")
# What the conv peak convolves on an accelerator: 2 TFLOP per forward+backward, long enough to time.
GPU_CONV_PEAK = {"batch": 32, "size": 128, "in_channels": 128, "out_channels": 128}
TINY_ARCHITECTURE = {
    "layers_per_block": [1],
    "hidden_channels": [4],
    "skip_stride": None,
    "kernel_size": 3,
    "rank": 2,
}


def default_jit(backend):
    """XLA on for JAX (its only compiler), off elsewhere (on CPU it slows TensorFlow's recurrent loop)."""
    return backend == "jax"


def cpu_plan(
    backend="tensorflow",
    sizes=(64, 128),
    policies=("float32", "mixed_bfloat16"),
    batch=2,
    reps=5,
    xla=False,
    xla_timeout=1200,
    patch_sizes=(1, 4),
    patch_batch=8,
    patch_arch=None,
    only_patch=False,
):
    """The CPU plan of docs/performance.md (the defaults of `tools/benchmark.py`)."""
    jit = default_jit(backend)
    plan = []
    if not only_patch:
        for size in sizes:
            for policy in policies:
                plan.append(
                    dict(
                        group="train",
                        backend=backend,
                        size=size,
                        policy=policy,
                        jit=jit,
                        cells=list(CELLS),
                        batch=batch,
                        warmup=1,
                        reps=reps if size == sizes[0] else max(2, reps // 2),
                    )
                )
            if xla and not jit:
                plan.append(
                    dict(
                        group="train",
                        backend=backend,
                        size=size,
                        policy="float32",
                        jit=True,
                        cells=list(CELLS),
                        batch=batch,
                        warmup=1,
                        reps=1,
                        timeout_s=xla_timeout,
                    )
                )
        for policy in policies:
            plan.append(
                dict(
                    group="rollout",
                    backend=backend,
                    size=sizes[0],
                    policy=policy,
                    jit=jit,
                    cells=list(CELLS),
                    batch=1,
                    warmup=1,
                    reps=reps,
                )
            )
        for size in sizes:
            for cell in CELLS:
                plan.append(
                    dict(
                        group="memory",
                        backend=backend,
                        size=size,
                        policy="float32",
                        jit=jit,
                        cell=cell,
                        batch=batch,
                    )
                )
        # The largest size (KTH's 128x128 by default): Conv-TT-LSTM in every policy, with and without remat.
        for policy in policies:
            for remat in (False, True):
                if policy == "float32" and not remat:
                    continue  # measured above
                plan.append(
                    dict(
                        group="memory",
                        backend=backend,
                        size=sizes[-1],
                        policy=policy,
                        jit=jit,
                        cell="convttlstm",
                        batch=batch,
                        remat=remat,
                    )
                )
    if patch_sizes:
        for policy in policies:
            plan.append(
                dict(
                    group="patch",
                    backend=backend,
                    size=64,
                    policy=policy,
                    jit=jit,
                    cells=list(CELLS),
                    batch=patch_batch,
                    warmup=1,
                    reps=reps,
                    arch=patch_arch or {},
                    patch_sizes=list(patch_sizes),
                )
            )
    return plan


def gpu_plan(backend="jax", mixed="mixed_bfloat16", reps=5):
    """One accelerator run of about 5 minutes, most important measurement first.

    Every `train` spec measures both cells and the conv peak in one process (one
    compilation each); XLA is on except in the one spec that measures it off (on
    PyTorch, "XLA on" would be `torch.compile`, so its plan keeps it off).
    """
    jit = backend != "torch"

    def train(size, batch, policy, jit_compile=jit, reps=reps):
        return dict(
            group="train",
            backend=backend,
            size=size,
            policy=policy,
            jit=jit_compile,
            cells=list(CELLS),
            batch=batch,
            warmup=2,
            reps=reps,
            conv_peak=GPU_CONV_PEAK,
            timeout_s=60,
        )

    plan = [
        train(64, 16, mixed),
        train(64, 16, "float32"),
        train(128, 16, mixed),
        dict(
            group="rollout",
            backend=backend,
            size=64,
            policy=mixed,
            jit=jit,
            cells=list(CELLS),
            batch=1,
            warmup=2,
            reps=reps,
            timeout_s=60,
        ),
        train(64, 32, mixed),
        train(128, 32, mixed),
        train(64, 32, "float32"),
        train(128, 16, "float32"),
        dict(
            group="rollout",
            backend=backend,
            size=64,
            policy="float32",
            jit=jit,
            cells=list(CELLS),
            batch=1,
            warmup=2,
            reps=reps,
            timeout_s=60,
        ),
    ]
    if jit:
        plan.append(train(64, 16, mixed, jit_compile=False, reps=2))
    return plan


def smoke_plan(backend="jax", size=16, patch_sizes=(1, 2)):
    """Every group on a tiny network: seconds on a CPU."""
    jit = default_jit(backend)
    tiny_peak = {"batch": 1, "size": 8, "in_channels": 4, "out_channels": 4}
    common = dict(backend=backend, size=size, jit=jit, arch=TINY_ARCHITECTURE)
    short = dict(frames=6, context_frames=3)  # training clips shorter than the paper's 20 frames
    return [
        dict(
            group="train",
            policy="float32",
            cells=list(CELLS),
            batch=2,
            warmup=1,
            reps=1,
            conv_peak=tiny_peak,
            **short,
            **common,
        ),
        dict(group="rollout", policy="float32", cells=["convttlstm"], batch=1, warmup=1, reps=1, **common),
        dict(group="memory", policy="float32", cell="convttlstm", batch=2, **short, **common),
        dict(
            group="patch",
            policy="float32",
            cells=["convttlstm"],
            batch=2,
            warmup=1,
            reps=1,
            patch_sizes=list(patch_sizes),
            **short,
            **common,
        ),
    ]
