"""The benchmark's Markdown table and the target ratios of its JSON summary."""

from ctt_keras.benchmarks.plans import CELLS


def _fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def _xla(result):
    if not result["jit"]:
        return "off"
    return "torch.compile" if result.get("backend") == "torch" else "on"


def table(results):
    """One Markdown row per measured variant."""
    lines = [
        "| group | backend | size | batch | policy | XLA | variant | median s | clips/s | GFLOP/s "
        "| % of conv peak | peak memory GB | reps |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        head = (
            f"| {r['group']} | {r.get('backend', 'tensorflow')} | {r['size']} | {r.get('batch', '-')} | "
            f"{r['policy']} | {_xla(r)} |"
        )
        if r.get("error"):
            lines.append(f"{head} (all) | {r['error'][:70]} | | | | | |")
            continue
        memory = f"{_fmt(r.get('peak_memory_gb'))} ({r.get('memory_kind', '')})"
        if r["group"] == "memory":
            label = f"{r['cell']}{' remat' if r.get('remat') else ''}"
            lines.append(
                f"{head} {label} | {_fmt(r['step_s'])} | {_fmt(r['batch'] / r['step_s'])} | | | "
                f"{memory} | 2 |"
            )
            continue
        if r["group"] == "patch":
            for name, v in r.items():
                if isinstance(v, dict) and "params" in v:
                    lines.append(
                        f"{head} {name} ({v['params']:,} params) | {_fmt(v['median_s'])} | "
                        f"{_fmt(v['clips_per_s'])} | | | {memory} | {v['reps']} |"
                    )
            continue
        peak = r.get("conv_peak", {}).get("gflops")
        for name in list(CELLS) + ["conv_peak"]:
            if name not in r:
                continue
            v = r[name]
            share = f"{100 * v['gflops'] / peak:.0f} %" if peak and name != "conv_peak" else ""
            lines.append(
                f"{head} {name} | {_fmt(v['median_s'], 4)} | {_fmt(v.get('clips_per_s'), 1)} | "
                f"{_fmt(v['gflops'], 1)} | {share} | {memory if name != 'conv_peak' else ''} | "
                f"{v['reps']} |"
            )
    return "\n".join(lines)


def summary(results):
    """The issue's target ratios from the measured figures (keys name size, batch, policy and XLA)."""
    out = {}
    ok = [r for r in results if not r.get("error")]
    by_key = {(r["group"], r["size"], r.get("batch"), r["policy"], r["jit"]): r for r in ok}
    for (group, size, batch, policy, jit), r in by_key.items():
        if group != "train" or not all(cell in r for cell in CELLS):
            continue
        tag = f"train{size}_b{batch}_{policy}_{'xla' if jit else 'noxla'}"
        tt, lstm = r["convttlstm"], r["convlstm"]
        out[f"{tag}_tt_over_lstm_time"] = tt["median_s"] / lstm["median_s"]
        out[f"{tag}_tt_clips_per_s"] = tt["clips_per_s"]
        if "conv_peak" in r:
            out[f"{tag}_tt_share_of_peak"] = tt["gflops"] / r["conv_peak"]["gflops"]
            out[f"{tag}_lstm_share_of_peak"] = lstm["gflops"] / r["conv_peak"]["gflops"]
        f32 = by_key.get((group, size, batch, "float32", jit))
        if policy != "float32" and f32:
            for cell in CELLS:
                out[f"{tag}_{cell}_speedup_over_float32"] = f32[cell]["median_s"] / r[cell]["median_s"]
        other = by_key.get((group, size, batch, policy, not jit))
        if jit and other:
            for cell in CELLS:
                out[f"{tag}_{cell}_xla_speedup"] = other[cell]["median_s"] / r[cell]["median_s"]
    for r in ok:
        if r["group"] == "patch":
            for cell in CELLS:
                base = r.get(f"{cell}_p1")
                for name, v in r.items():
                    if base and isinstance(v, dict) and name.startswith(cell + "_p") and name != f"{cell}_p1":
                        out[f"patch{r['size']}_{r['policy']}_{name}_speedup_over_p1"] = (
                            v["clips_per_s"] / base["clips_per_s"]
                        )
        elif r["group"] == "memory":
            remat = "_remat" if r.get("remat") else ""
            out[f"memory{r['size']}_{r['cell']}_{r['policy']}_b{r['batch']}{remat}_peak_gb"] = r[
                "peak_memory_gb"
            ]
        elif r["group"] == "rollout":
            for cell in CELLS:
                if cell in r:
                    out[f"rollout{r['size']}_{r['policy']}_{cell}_latency_s"] = r[cell]["median_s"]
    return out
