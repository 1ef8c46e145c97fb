"""One significance rule: the change's flag, p-value and interval agree for every interval type, seed and B.

The p-value is the inversion of the interval (the smallest alpha whose interval excludes 0), so it is checked
against the definition: the interval at level 1 - p(1 + eps) excludes 0 and at 1 - p(1 - eps) contains it.
"""

from __future__ import annotations

import numpy as np
import pytest

from csi.index.change import change
from csi.index.significance import KINDS, interval_pvalue, significance
from csi.resample.intervals import confidence_interval


def _excludes(kind, D, est, level):
    lo, hi = (np.asarray(x).reshape(-1) for x in confidence_interval(kind, D, est, level))
    return (lo > 0) | (hi < 0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("B", [19, 50, 199, 1000])
def test_flag_pvalue_and_interval_agree_over_seeds(kind, B):
    disagreements = 0
    for seed in range(40):
        rng = np.random.default_rng([seed, B])
        J = 6
        # Effects from clearly null to clearly significant, so the boundary p ~ alpha is crossed often.
        shift = rng.normal(0, 1.0, J) * rng.uniform(0, 3, J)
        from_ = rng.normal(70, 1, (B, J))
        to = rng.normal(70 + shift, 1, (B, J))
        est_from, est_to = from_.mean(0) + rng.normal(0, 0.05, J), to.mean(0) + rng.normal(0, 0.05, J)
        for level in (0.9, 0.95, 0.99):
            d, lo, hi, p, sig = change(est_from, est_to, from_, to, kind, level)
            assert np.array_equal(sig, (lo > 0) | (hi < 0))
            assert np.array_equal(sig, p < 1 - level)
            raw = interval_pvalue(kind, to - from_, d)
            disagreements += int(np.count_nonzero(np.abs(raw - p) > 0))
            assert np.allclose(raw, p, rtol=0, atol=1e-12)  # any nudge is rounding only
    assert disagreements <= 2


@pytest.mark.parametrize("kind", ["percentile", "basic", "bc", "normal"])
def test_pvalue_is_the_smallest_level_that_excludes_zero(kind):
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(200):
        D = rng.normal(rng.normal(0, 0.3), 0.2, (int(rng.integers(20, 400)), 1))
        est = np.array([D.mean() + rng.normal(0, 0.02)])
        p = float(interval_pvalue(kind, D, est)[0])
        if not 1e-4 < p < 0.9:
            continue
        checked += 1
        assert _excludes(kind, D, est, 1 - p * (1 + 1e-6))[0]
        assert not _excludes(kind, D, est, 1 - p * (1 - 1e-6))[0]
    assert checked > 50


def test_ties_and_one_sided_replicates():
    D = np.zeros((30, 1))
    lo, hi, p, sig = significance("percentile", D, np.zeros(1), 0.95)
    assert not sig[0] and p[0] == 1.0
    D = np.abs(np.random.default_rng(1).normal(size=(30, 1))) + 0.1
    lo, hi, p, sig = significance("percentile", D, D.mean(0), 0.95)
    assert sig[0] and p[0] == 0.0
    D[:, 0] = np.nan
    lo, hi, p, sig = significance("percentile", D, np.ones(1), 0.95)
    assert np.isnan(p[0]) and not sig[0]


def test_issue_case_add_one_rule_no_longer_contradicts_the_flag():
    # 5 of 199 differences at or below 0: the percentile interval excludes 0 but the add-one counting rule
    # gives p = 2 * 6 / 200 = 0.06; the inversion gives p < 0.05.
    D = np.concatenate([-np.linspace(0.1, 0.5, 4), [0.0], np.linspace(0.1, 5, 194)])[:, None]
    d, lo, hi, p, sig = change(np.zeros(1), np.array([2.0]), np.zeros_like(D), D, "percentile", 0.95)
    assert lo[0] > 0 and sig[0] and p[0] < 0.05
