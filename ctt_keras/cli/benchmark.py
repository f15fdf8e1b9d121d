"""`ctt-benchmark` / `python tools/benchmark.py`: speed and memory of the paper's networks on a Keras backend.

Prints a Markdown table and one JSON line (`--json-out` also writes it to a file). Every group of
measurements runs in its own process on the chosen backend; inside a group the variants run
interleaved, and each training group also times a large 5x5 convolution forward+backward on the same
device, so that the share of the achievable peak is visible. docs/performance.md holds the figures.

Plans:
  (default)   the CPU plan: paper network at 64x64 (Moving-MNIST) and 128x128 (KTH), batch 2, float32 and
              mixed_bfloat16, rollout, memory with and without remat, the patch-size comparison
  --gpu       one ~5-minute accelerator run: batch 16 and 32, float32 and mixed precision, XLA on (and
              off once), peak device memory, 10 -> 30 rollout at batch 1, most important first
  --smoke     every group on a tiny network (seconds on a CPU)

Examples:
  python tools/benchmark.py                                   # TensorFlow, the CPU plan
  python tools/benchmark.py --backend jax --smoke             # no TensorFlow needed
  python tools/benchmark.py --backend jax --gpu --json-out gpu.json
  KERAS_BACKEND=jax ctt-benchmark --backend jax --gpu         # installed command, machine without TensorFlow
"""

import argparse
import json
import os
import sys

from ctt_keras import benchmarks
from ctt_keras.devices import BACKENDS


def _ints(text, flag):
    try:
        return [int(v) for v in text.split(",") if v]
    except ValueError:
        raise SystemExit(f"{flag} must be comma-separated integers, got {text!r}") from None


def _patch_arch(text):
    try:
        layers, hidden, skip = text.split(":")
        return {
            "layers_per_block": _ints(layers, "--patch-arch"),
            "hidden_channels": _ints(hidden, "--patch-arch"),
            "skip_stride": None if skip == "none" else int(skip),
        }
    except ValueError:
        raise SystemExit(
            f"--patch-arch must be LAYERS:CHANNELS:SKIP (e.g. 1,1,1,1:64,64,64,64:none), got {text!r}"
        )


def build_parser(prog=None):
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=os.environ.get("KERAS_BACKEND", "tensorflow"),
        help="Keras backend of the measurements (default: $KERAS_BACKEND, else tensorflow)",
    )
    plan = parser.add_mutually_exclusive_group()
    plan.add_argument("--gpu", action="store_true", help="the ~5-minute accelerator plan")
    plan.add_argument(
        "--smoke", action="store_true", help="every group on a tiny network (a check, not figures)"
    )
    parser.add_argument(
        "--mixed",
        default="mixed_bfloat16",
        choices=("mixed_bfloat16", "mixed_float16"),
        help="the mixed-precision policy of --gpu (mixed_float16 adds loss scaling)",
    )
    parser.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="stop starting new groups after this many seconds (default: none; 290 with --gpu)",
    )
    parser.add_argument("--quick", action="store_true", help="CPU plan: 64x64 only, 3 reps")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=2, help="CPU plan: training batch")
    parser.add_argument("--sizes", default="64,128", help="CPU plan: frame sizes for the training step")
    parser.add_argument("--policies", default="float32,mixed_bfloat16", help="CPU plan: dtype policies")
    parser.add_argument(
        "--xla", action="store_true", help="CPU plan: also XLA on (slow on CPU for TensorFlow)"
    )
    parser.add_argument("--xla-timeout", type=int, default=1200, help="seconds per XLA group")
    parser.add_argument("--json-out", help="also write the JSON line to this file")
    parser.add_argument(
        "--patch-sizes",
        default="1,4",
        help="patch sizes compared for training clips/s at 64x64 ('none': skip)",
    )
    parser.add_argument("--patch-batch", type=int, default=8, help="batch of the patch-size comparison")
    parser.add_argument(
        "--patch-arch",
        default="1,1,1,1:64,64,64,64:none",
        help="layers per block : hidden channels : skip stride, of the patch-size comparison",
    )
    parser.add_argument("--only-patch", action="store_true", help="run the patch-size comparison alone")
    return parser


def make_plan(args):
    """The list of specs the flags ask for."""
    if args.smoke:
        return benchmarks.smoke_plan(args.backend)
    if args.gpu:
        return benchmarks.gpu_plan(args.backend, mixed=args.mixed, reps=args.reps)
    patch_sizes = [] if args.patch_sizes == "none" else _ints(args.patch_sizes, "--patch-sizes")
    return benchmarks.cpu_plan(
        backend=args.backend,
        sizes=[64] if args.quick else _ints(args.sizes, "--sizes"),
        policies=[p for p in args.policies.split(",") if p],
        batch=args.batch,
        reps=3 if args.quick else args.reps,
        xla=args.xla,
        xla_timeout=args.xla_timeout,
        patch_sizes=patch_sizes,
        patch_batch=args.patch_batch,
        patch_arch=_patch_arch(args.patch_arch),
        only_patch=args.only_patch,
    )


def main(argv=None, prog=None):
    args = build_parser(prog).parse_args(argv)
    budget = args.budget_s if args.budget_s is not None else (290.0 if args.gpu else None)
    results = benchmarks.run_plan(make_plan(args), budget_s=budget)
    print(benchmarks.table(results))
    plan_name = "smoke" if args.smoke else "gpu" if args.gpu else "cpu"
    record = {
        "benchmark": "ctt_keras.core",
        "backend": args.backend,
        "plan": plan_name,
        "results": results,
        "summary": benchmarks.summary(results),
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()},
    }
    line = json.dumps(record)
    print(line)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(line + "\n")
    return 1 if all(r.get("error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
