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
    assert sorted(got) == sorted(expected), f"{name}: the set of tables/columns changed"
    for key, want in expected.items():
        have = got[key]
        assert have.shape == want.shape, f"{name} {key}: shape {have.shape} != {want.shape}"
        if want.dtype.kind == "f":
            assert have.dtype.kind == "f", f"{name} {key}: dtype {have.dtype} != {want.dtype}"
            assert np.array_equal(np.isnan(have), np.isnan(want)), f"{name} {key}: NaN positions differ"
            ok = ~np.isnan(want)
            err = np.abs(have[ok] - want[ok]) / np.maximum(1.0, np.abs(want[ok]))
            assert err.size == 0 or err.max() <= 1e-12, f"{name} {key}: largest relative difference {err.max():.3g}"
        else:
            assert have.dtype.kind == want.dtype.kind, f"{name} {key}: dtype {have.dtype} != {want.dtype}"
            assert np.array_equal(have, want), f"{name} {key}: values differ"
