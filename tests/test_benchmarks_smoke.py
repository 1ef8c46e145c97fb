"""The benchmark scripts still run (``--quick``); they are not timed here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script", ["bench_fit.py", "bench_bootstrap.py", "bench_cbsem_bootstrap.py"])
def test_benchmark_runs_quick(script: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "seconds" in proc.stdout


def test_estimator_benchmark_runs_quick(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_estimators.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "seconds" in proc.stdout and "SAT index" in proc.stdout
    assert (tmp_path / "summary.csv").exists() and (tmp_path / "summary.png").exists()
