"""Smoke run of tools/benchmark_pipelines.py (slow: it writes and decodes synthetic videos)."""

import importlib.util
import json
import pathlib

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "benchmark_pipelines.py"


@pytest.mark.slow
def test_quick_benchmark_prints_table_and_json(capsys):
    spec = importlib.util.spec_from_file_location("benchmark_pipelines", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rows = tool.main(["--quick"])
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if x.startswith("JSON ")][-1]
    results = json.loads(line[5:])["results"]
    assert set(results) == set(rows) and len(rows) >= 12
    assert all(v > 0 for v in results.values())
