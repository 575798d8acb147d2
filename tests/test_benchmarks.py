"""The benchmarks still run: a tiny smoke run of each, asserting that they work, never a time."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run(script, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINBAR_")}
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_overhead_benchmark_runs_every_case_for_trainbar_and_tqdm():
    result = run("overhead.py", "--quick")
    assert result.returncode == 0, result.stderr
    for heading in ("for x in bar(range(N)) [log file]", "bar.update(1) per item [pseudo-terminal]",
                    "update(1) + a metric every step", "output volume", "import time"):  # fmt: skip
        assert heading in result.stdout
    table_rows = [line.split() for line in result.stdout.splitlines() if line.startswith("  trainbar ")]
    assert len(table_rows) >= 6 and all(float(row[1]) >= 0 for row in table_rows[:6])


def test_profile_shows_both_strategies():
    result = run("profile_hot_path.py", "--quick")
    assert result.returncode == 0, result.stderr
    assert "before: per-item generator" in result.stdout and "after: islice chunks chained in C" in result.stdout
    assert "pure-Python counter (before)" in result.stdout
    built = importlib.util.find_spec("trainbar.core._speedups") is not None
    assert ("compiled counter (after)" in result.stdout) == built


def test_watchdog_benchmark_prints_each_cost():
    result = run("watchdog.py", "--quick")
    assert result.returncode == 0, result.stderr
    for heading in ("ns per item on the timed path", "per watchdog check with 10 open bar(s)", "ms per stall report"):
        assert heading in result.stdout


def test_store_gather_benchmark_reads_every_simulated_rank():
    pytest.importorskip("torch.distributed")
    result = run("store_gather.py", "--quick")
    assert result.returncode == 0, result.stderr
    assert "64 ranks, one TCPStore" in result.stdout and "multi_get of 64 keys" in result.stdout
    assert "the line it produced: 64 ranks; " in result.stdout


def test_runtime_costs_benchmark_compares_open_close_and_write():
    result = run("runtime_costs.py", "--quick")
    assert result.returncode == 0, result.stderr
    for heading in ("with 1 other bar(s) live", "with 20 other bar(s) live"):
        assert heading in result.stdout
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith(("open", "close", "write"))]
    assert len(rows) == 6 and all(float(row[1]) > 0 for row in rows)


def test_patched_tqdm_benchmark_prints_both_ratios():
    pytest.importorskip("tqdm")
    result = run("patched_tqdm.py", "--quick")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith(("bar.update", "for x"))]
    assert len(rows) == 4 and all(row[-1].endswith("x") and float(row[-1][:-1]) > 0 for row in rows)
