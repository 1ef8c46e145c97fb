"""The benchmark scripts still run (``--quick``); they are not timed here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script", ["bench_fit.py", "bench_bootstrap.py", "bench_cbsem_bootstrap.py", "bench_index.py",
                                    "bench_hoc.py"])
def test_benchmark_runs_quick(script: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "seconds" in proc.stdout
    # A table was printed (rows under a ruled header), every row with a positive timing and nothing NaN.
    lines = proc.stdout.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.strip() and set(line.strip()) <= {"-", " "})
    rows = [line for line in lines[rule + 1 :] if line.strip()][:1] + [
        line for line in lines[rule + 2 :] if line.strip() and line[0].isdigit()
    ]
    assert rows, proc.stdout
    for row in (r for r in rows if "skipped" not in r):  # an optional competitor that is not installed
        numbers = [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*\.\d+", row)]
        assert numbers and max(numbers) > 0, row
    assert "nan" not in proc.stdout.lower(), proc.stdout
    if script == "bench_bootstrap.py":
        assert proc.stdout.count("0 failed") >= 2, proc.stdout


def test_estimator_benchmark_runs_quick(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_estimators.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "seconds" in proc.stdout and "SAT index" in proc.stdout
    assert (tmp_path / "summary.csv").exists() and (tmp_path / "summary.png").exists()


def test_coverage_study_of_a_moderate_run_is_near_nominal() -> None:
    """benchmarks/coverage_index.py on 8 small panels: 95% intervals must cover well above 80% (expected about 95%).

    Not a tight check of the rate (that is the script's job, reported in its output); it fails when intervals are
    far too narrow, centred wrongly, or compared with the wrong population value.
    """
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from coverage_index import coverage
    finally:
        sys.path.pop(0)
    cov = coverage(reps=8, companies=4, respondents=100, n_resamples=100, seed=1)
    company = cov[cov["level"] == "company"]
    assert len(company) == 8 * 4 * 6
    assert company["covered"].mean() > 0.8
    assert cov[cov["level"] == "national"]["covered"].mean() > 0.7
