"""RMSEA interval and close-fit tests against lavaan 0.6.14 (tests/reference/*.fit.csv, README §6 and §8-10).

The formula is checked on lavaan's own chi-square, df and N (every fit file, including the two-group
Holzinger-Swineford fits and the FIML fit, so it is tested apart from csi's estimates); tests/test_cbsem.py
checks csi's CB-SEM fits report the interval. Tolerance 1e-6 relative: lavaan finds the noncentrality bounds with R's
``uniroot`` at its default tolerance (about 1.2e-4 on lambda), which moves the bounds by up to ~2e-7 relative;
csi solves to 1e-12. The point RMSEA and the p-values involve no root finding and agree to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, reference_file

from csi.estimators.rmsea import rmsea_measures

PAIRS = [
    ("rmsea", "rmsea", 1e-9),
    ("rmsea_ci_lower", "rmsea.ci.lower", 1e-6),
    ("rmsea_ci_upper", "rmsea.ci.upper", 1e-6),
    ("rmsea_pvalue", "rmsea.pvalue", 1e-9),
    ("rmsea_notclose_pvalue", "rmsea.notclose.pvalue", 1e-9),
]
FILES = sorted(p.name for p in REFERENCE.glob("*.lavaan.*.fit.csv"))


def test_every_fit_file_is_covered():
    assert len(FILES) >= 9


@pytest.mark.parametrize("name", FILES)
def test_formula_matches_lavaan(name):
    ref = pd.read_csv(reference_file(name)).set_index("measure")["value"]
    groups = 2 if "school" in name else 1  # the Holzinger-Swineford fits are two-group (school) models
    ours = rmsea_measures(ref["chisq"], ref["df"], ref["ntotal"], groups=groups)
    checked = 0
    for key, lavaan_key, rtol in PAIRS:
        if lavaan_key in ref:
            assert ours[key] == pytest.approx(ref[lavaan_key], rel=rtol, abs=1e-12), key
            checked += 1
    assert checked >= 3


def test_interval_contains_the_point_and_shrinks_with_n():
    wide = rmsea_measures(120.0, 50, 200)
    # (T - df) / (N df) fixed at ten times N: T' - df = 10 (T - df), so T' = 10 * 120 - 9 * 50.
    narrow = rmsea_measures(10 * 120.0 - 9 * 50, 50, 2000)
    assert wide["rmsea_ci_lower"] < wide["rmsea"] < wide["rmsea_ci_upper"]
    assert narrow["rmsea"] == pytest.approx(wide["rmsea"], rel=1e-12)
    assert narrow["rmsea_ci_upper"] - narrow["rmsea_ci_lower"] < wide["rmsea_ci_upper"] - wide["rmsea_ci_lower"]


def test_no_degrees_of_freedom_gives_nan():
    assert all(np.isnan(v) for v in rmsea_measures(0.0, 0, 100).values())
