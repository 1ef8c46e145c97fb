"""Before/after comparison of the missing-data paths: every table of ``tests/golden/make_golden_missing.py``'s runs.

Same storage and tolerances as :mod:`tests.test_golden` (floats within 1e-12 relative to ``max(1, |x|)``, NaN
in the same places, everything else exact), for fits and bootstraps on data with missing answers: EM and
pairwise moments in the fit, EM and pairwise re-run inside every bootstrap replicate, the BCa jackknife through
the same moments, multiple imputation and a small panel under the default ``em``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))
import make_golden  # noqa: E402
import make_golden_missing  # noqa: E402

NAMES = [name for name, _ in make_golden_missing.runs()]


def test_every_run_has_a_golden_file_and_no_file_is_orphaned() -> None:
    files = {p.stem for p in make_golden_missing.OUT.glob("*.npz")}
    assert files == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_golden_missing(name: str) -> None:
    with np.load(make_golden_missing.OUT / f"{name}.npz") as stored:
        expected = {k: stored[k] for k in stored.files}
    got = make_golden_missing.compute(name)
    make_golden.assert_tables_match(name, got, expected, 1e-12)
