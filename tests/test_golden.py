"""Before/after comparison: every table of a fixed set of runs equals the stored golden files.

The runs and the storage are defined in ``tests/golden/make_golden.py``; the files were written at a
commit whose numbers the full suite and the reference parity tests had checked.  A refactor must leave
every number as it was: integers, booleans and strings byte for byte, floats within 1e-12 relative to
``max(1, |x|)`` (the last bits of a float can move when an expression is regrouped; nothing larger may),
NaN in the same places.  CB-SEM runs are compared within 1e-9: semopy's SLSQP start takes a path that
depends on the BLAS thread count, and the Fisher scoring that polishes it stops at a step below the fit's
``tol=1e-9``, so the same commit reproduces a CB-SEM estimate only to about that (2e-12 was seen between
one and several BLAS threads).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))
import make_golden  # noqa: E402

NAMES = [name for name, _ in make_golden.runs()]


def test_every_run_has_a_golden_file_and_no_file_is_orphaned() -> None:
    files = {p.stem for p in GOLDEN.glob("*.npz")}
    assert files == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_golden(name: str) -> None:
    with np.load(GOLDEN / f"{name}.npz") as stored:
        expected = {k: stored[k] for k in stored.files}
    got = make_golden.compute(name)
    tol = 1e-9 if "cbsem" in name or name == "bench_resample" else 1e-12
    make_golden.assert_tables_match(name, got, expected, tol)
