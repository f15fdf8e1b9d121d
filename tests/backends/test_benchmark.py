"""tools/benchmark.py: the --smoke plan on JAX where TensorFlow cannot be imported; the report."""

import json
import subprocess
import sys

import pytest

from ctt_keras import benchmarks
from tests.backends.checks import REPO_ROOT
from tests.backends.test_backends import no_tensorflow_env

TOOL = REPO_ROOT / "tools" / "benchmark.py"


def test_smoke_benchmark_runs_on_jax_without_tensorflow(tmp_path):
    pytest.importorskip("jax")
    out = tmp_path / "bench.json"
    env = no_tensorflow_env()
    env.pop("KERAS_BACKEND", None)  # the tool sets it from --backend
    done = subprocess.run(
        [sys.executable, str(TOOL), "--backend", "jax", "--smoke", "--json-out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    record = json.loads(lines[-1])
    assert json.loads(out.read_text()) == record
    assert lines[0].startswith("| group | backend | size | batch |")
    results = record["results"]
    assert [r["group"] for r in results] == ["train", "rollout", "memory", "patch"]
    for r in results:
        assert "error" not in r, r.get("error")
        assert r["device"]["backend"] == "jax" and r["device"]["tensorflow_imported"] is False
        assert r["jit"] is True  # XLA is JAX's compiler, on by default
    train = results[0]
    for name in ("convttlstm", "convlstm", "conv_peak"):
        assert train[name]["median_s"] > 0 and train[name]["gflops"] > 0
    assert train["convttlstm"]["clips_per_s"] == pytest.approx(2 / train["convttlstm"]["median_s"])
    assert results[1]["convttlstm"]["median_s"] > 0 and results[2]["peak_memory_gb"] > 0
    assert {"convttlstm_p1", "convttlstm_p2"} <= set(results[3])
    summary = record["summary"]
    assert summary["train16_b2_float32_xla_tt_share_of_peak"] == pytest.approx(
        train["convttlstm"]["gflops"] / train["conv_peak"]["gflops"]
    )


def _train(policy, jit, tt_s, lstm_s, peak_gflops=100.0):
    return {
        "group": "train",
        "backend": "jax",
        "size": 64,
        "batch": 16,
        "policy": policy,
        "jit": jit,
        "peak_memory_gb": 1.5,
        "memory_kind": "device",
        "convttlstm": {"median_s": tt_s, "gflops": 60.0 / tt_s, "clips_per_s": 16 / tt_s, "reps": 3},
        "convlstm": {"median_s": lstm_s, "gflops": 90.0 / lstm_s, "clips_per_s": 16 / lstm_s, "reps": 3},
        "conv_peak": {"median_s": 0.01, "gflops": peak_gflops, "reps": 3},
    }


def test_summary_ratios_and_table():
    results = [
        _train("float32", True, 2.0, 2.5),
        _train("mixed_bfloat16", True, 1.0, 1.25, 200.0),
        _train("mixed_bfloat16", False, 4.0, 5.0, 200.0),
        {
            "group": "train",
            "backend": "jax",
            "size": 128,
            "batch": 16,
            "policy": "float32",
            "jit": True,
            "error": "timed out after 60 s",
        },
    ]
    summary = benchmarks.summary(results)
    assert summary["train64_b16_mixed_bfloat16_xla_tt_share_of_peak"] == pytest.approx(
        0.3
    )  # 60 GFLOP/s of 200
    assert summary["train64_b16_float32_xla_tt_over_lstm_time"] == pytest.approx(0.8)
    assert summary["train64_b16_mixed_bfloat16_xla_convttlstm_speedup_over_float32"] == pytest.approx(2.0)
    assert summary["train64_b16_mixed_bfloat16_xla_convttlstm_xla_speedup"] == pytest.approx(4.0)
    assert summary["train64_b16_float32_xla_tt_clips_per_s"] == pytest.approx(8.0)
    table = benchmarks.table(results)
    assert "| 30 % |" in table and "timed out after 60 s" in table
    assert len(table.splitlines()) == 2 + 3 * 3 + 1


def test_gpu_plan_fits_its_budget_and_covers_the_issue():
    plan = benchmarks.gpu_plan("jax")
    train = [s for s in plan if s["group"] == "train"]
    assert {(s["size"], s["batch"], s["policy"]) for s in train} >= {
        (64, 16, "float32"),
        (64, 16, "mixed_bfloat16"),
        (64, 32, "mixed_bfloat16"),
        (128, 16, "mixed_bfloat16"),
        (128, 32, "mixed_bfloat16"),
    }
    assert {s["jit"] for s in train} == {True, False}
    assert any(s["group"] == "rollout" and s["batch"] == 1 for s in plan)
    assert plan[0]["group"] == "train" and plan[0]["policy"] == "mixed_bfloat16"  # the headline first
    assert all(s.get("conv_peak") for s in train)
    assert all(not s["jit"] for s in benchmarks.gpu_plan("torch"))  # no XLA on PyTorch


def test_command_line_plans():
    from ctt_keras.cli import benchmark as cli

    def plan(*argv):
        return cli.make_plan(cli.build_parser().parse_args(["--backend", "tensorflow", *argv]))

    default = plan()
    groups = [s["group"] for s in default]
    # Today's CPU plan: train per size and policy, rollout per policy, memory per size and cell plus the
    # 128x128 Conv-TT-LSTM policy/remat variants, then the patch-size comparison per policy.
    assert groups == ["train"] * 4 + ["rollout"] * 2 + ["memory"] * 7 + ["patch"] * 2
    assert {(s["size"], s["policy"]) for s in default if s["group"] == "train"} == {
        (64, "float32"), (64, "mixed_bfloat16"), (128, "float32"), (128, "mixed_bfloat16")}
    assert all(not s["jit"] and s["backend"] == "tensorflow" for s in default)
    assert default[-1]["patch_sizes"] == [1, 4] and default[-1]["arch"]["hidden_channels"] == [64] * 4
    assert [s["group"] for s in plan("--only-patch")] == ["patch", "patch"]
    assert "patch" not in {s["group"] for s in plan("--patch-sizes", "none")}
    assert {s["size"] for s in plan("--quick")} == {64}
    xla = [s for s in plan("--xla") if s["jit"]]
    assert len(xla) == 2 and all(s["group"] == "train" and s["timeout_s"] == 1200 for s in xla)
    assert all(s["jit"] for s in cli.make_plan(cli.build_parser().parse_args(["--backend", "jax"])))
    with pytest.raises(SystemExit, match="--sizes must be comma-separated integers"):
        plan("--sizes", "64,big")
