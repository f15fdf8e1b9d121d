"""Runs a benchmark plan: each spec in a fresh process on its backend, within an optional time budget."""

import json
import os
import pathlib
import subprocess
import sys
import time

# The folder that holds the `ctt_keras` package: put first on the workers' path, so that they run this code.
_PACKAGE_PARENT = str(pathlib.Path(__file__).resolve().parents[2])


def run_spec_in_subprocess(spec, timeout_s):
    """Runs `spec` in a new process with `KERAS_BACKEND=spec["backend"]`; returns its result or an error."""
    env = dict(os.environ, KERAS_BACKEND=spec.get("backend", "tensorflow"), TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(
        [_PACKAGE_PARENT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    command = [sys.executable, "-m", "ctt_keras.benchmarks._worker", json.dumps(spec)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return dict(spec, error=f"timed out after {timeout_s:.0f} s")
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    return dict(spec, error=" ".join((done.stderr or done.stdout).split())[-800:])


def run_plan(plan, budget_s=None, spec_timeout_s=3600, log=sys.stderr, on_result=None):
    """Runs every spec of `plan` in order and returns the results.

    Args:
        plan: A list of specs (`ctt_keras.benchmarks.plans`).
        budget_s: Total seconds for the whole plan: a spec starts only while time is left, and gets at
            most what is left; the specs not started are reported as skipped.
        spec_timeout_s: The most one spec may take (its `timeout_s`, the timed part's bound, is added).
        log: Where progress lines go.
        on_result: Optional callable given each result as it arrives (to print or save partial runs).
    """
    deadline = None if budget_s is None else time.monotonic() + budget_s
    results = []
    for spec in plan:
        timeout = spec_timeout_s + spec.get("timeout_s", 0)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left < 20:
                results.append(dict(spec, error="skipped: the time budget was spent"))
                continue
            timeout = min(timeout, left)
        label = (
            f"{spec['group']} {spec.get('backend')} {spec['size']}px b{spec.get('batch')} {spec['policy']} "
            f"xla={spec['jit']} {spec.get('cell', '')}"
        )
        print(f"running {label} ...", file=log, flush=True)
        start = time.monotonic()
        result = run_spec_in_subprocess(spec, timeout)
        result["wall_s"] = time.monotonic() - start
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
