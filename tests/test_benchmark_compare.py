"""benchmarks/compare_commits.py times a base commit and this checkout side by side (``--quick``, not timed here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_compare_commits_prints_a_ratio_per_case() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compare_commits.py"), "--base", "HEAD", "--quick", "--rounds", "1",
         "--cases", "fit,bootstrap"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.split()[:1] in (["fit"], ["bootstrap"])]
    assert [r[0] for r in rows] == ["fit", "bootstrap"]
    for r in rows:
        old, new, ratio = (float(v) for v in r[-3:])
        assert old > 0 and new > 0 and abs(ratio - new / old) < 0.01
    worktrees = subprocess.run(["git", "worktree", "list"], capture_output=True, text=True, cwd=ROOT).stdout
    assert not re.search(r"/base\s", worktrees), "the temporary worktree of the base commit was left behind"
