"""Tests of csi.resample.intervals, against scipy.stats.bootstrap on the same draws."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.stats import DegenerateDataWarning

from csi.errors import BootstrapError
from csi.resample.intervals import (
    INTERVALS,
    basic_ci,
    bc_ci,
    bca_acceleration,
    bca_ci,
    bias_correction_z0,
    bootstrap_bias,
    bootstrap_pvalue,
    bootstrap_se,
    confidence_interval,
    normal_ci,
    percentile_ci,
    quantiles,
    studentized_ci,
)


def _loo_means(x: np.ndarray) -> np.ndarray:
    """Leave-one-out jackknife of the mean."""
    return (x.sum() - x) / (x.size - 1)


def _scipy_case(method: str, level: float, seed: int, n: int = 40, B: int = 2000):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=n)  # skewed, so BCa's z0 and a are clearly non-zero
    res = stats.bootstrap(
        (x,), np.mean, n_resamples=B, method=method, confidence_level=level, rng=np.random.default_rng(seed + 1)
    )
    return x, res


@pytest.mark.parametrize("level", [0.95, 0.9, 0.99])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method", ["percentile", "basic", "BCa"])
def test_matches_scipy_bootstrap(method, level, seed):
    x, res = _scipy_case(method, level, seed)
    draws, est = res.bootstrap_distribution, x.mean()
    if method == "percentile":
        ci = percentile_ci(draws, est, level)
    elif method == "basic":
        ci = basic_ci(draws, est, level)
    else:
        ci = bca_ci(draws, est, level, jackknife_values=_loo_means(x))
    assert np.ndim(ci.lower) == 0
    np.testing.assert_allclose(ci.lower, res.confidence_interval.low, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ci.upper, res.confidence_interval.high, rtol=0, atol=1e-10)
    np.testing.assert_allclose(bootstrap_se(draws), res.standard_error, rtol=1e-12)


def test_bca_matches_scipy_with_ties():
    # Discrete data: many replicate means equal the estimate exactly (1.0),
    # exercising the tie rule of z0; the jackknife is not degenerate.
    x = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2], dtype=float)
    res = stats.bootstrap((x,), np.mean, n_resamples=999, method="BCa", rng=np.random.default_rng(3))
    draws = res.bootstrap_distribution
    assert (draws == x.mean()).sum() > 50
    ci = bca_ci(draws, x.mean(), 0.95, jackknife_values=_loo_means(x))
    assert np.isfinite([ci.lower, ci.upper]).all()
    np.testing.assert_allclose(
        [ci.lower, ci.upper], [res.confidence_interval.low, res.confidence_interval.high], atol=1e-10
    )
    # the strict rule #{θ* < θ̂}/B would give a different z0 here
    strict = stats.norm.ppf((draws < x.mean()).mean())
    assert abs(bias_correction_z0(draws, x.mean()) - strict) > 0.05


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_bca_degenerate_jackknife_is_nan_like_scipy():
    x = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 5], dtype=float)
    jack = np.array([np.median(np.delete(x, i)) for i in range(x.size)])  # all equal: a = 0/0
    draws = stats.bootstrap(
        (x,), np.median, n_resamples=199, method="percentile", rng=np.random.default_rng(1)
    ).bootstrap_distribution
    with pytest.warns(DegenerateDataWarning):  # scipy agrees: undefined
        stats.bootstrap((x,), np.median, n_resamples=199, rng=np.random.default_rng(1))
    ci = bca_ci(draws, np.median(x), jackknife_values=jack)
    assert np.isnan(ci.lower) and np.isnan(ci.upper)


def test_vectorised_equals_per_column_loop():
    rng = np.random.default_rng(4)
    draws = rng.gamma(2.0, size=(1500, 6)) * np.arange(1, 7)
    est = draws.mean(axis=0) * 0.97
    jack = rng.gamma(2.0, size=(60, 6))
    se_draws = rng.uniform(0.5, 1.5, size=draws.shape)
    kinds = {
        "percentile": {},
        "basic": {},
        "normal": {"bias_corrected": True},
        "bc": {},
        "bca": {"jackknife_values": jack},
        "studentized": {"se_draws": se_draws},
    }
    for kind, opts in kinds.items():
        ci = confidence_interval(kind, draws, est, 0.9, **opts)
        assert ci.lower.shape == (6,)
        for j in range(6):
            col = {k: v[:, j] for k, v in opts.items() if isinstance(v, np.ndarray)}
            col.update({k: v for k, v in opts.items() if not isinstance(v, np.ndarray)})
            one = confidence_interval(kind, draws[:, j], est[j], 0.9, **col)
            assert one.lower.shape == ()
            np.testing.assert_allclose([ci.lower[j], ci.upper[j]], [one.lower, one.upper], rtol=1e-12)
            assert ci.lower[j] < ci.upper[j]


def test_nan_rows_are_excluded_per_column():
    rng = np.random.default_rng(5)
    clean = rng.normal(size=(800, 3))
    est = np.zeros(3)
    jack = rng.normal(size=(30, 3))
    draws = clean.copy()
    draws[[3, 10, 500], 0] = np.nan  # failed in column 0 only
    draws[7, :] = np.nan  # failed everywhere
    for kind, opts in {"percentile": {}, "basic": {}, "normal": {}, "bca": {"jackknife_values": jack}}.items():
        ci = confidence_interval(kind, draws, est, **opts)
        for j in range(3):
            keep = ~np.isnan(draws[:, j])
            ref = confidence_interval(kind, clean[keep, j], est[j], **{k: v[:, j] for k, v in opts.items()})
            np.testing.assert_allclose([ci.lower[j], ci.upper[j]], [ref.lower, ref.upper], rtol=1e-14)
    np.testing.assert_allclose(bootstrap_se(draws)[0], np.std(clean[~np.isnan(draws[:, 0]), 0], ddof=1), rtol=1e-13)
    np.testing.assert_allclose(bootstrap_bias(draws, est)[1], np.nanmean(draws[:, 1]), rtol=1e-13)


def test_all_nan_column_gives_nan():
    draws = np.column_stack([np.arange(10.0), np.full(10, np.nan)])
    ci = percentile_ci(draws, [0, 0])
    assert np.isfinite(ci.lower[0]) and np.isnan(ci.lower[1]) and np.isnan(ci.upper[1])
    assert np.isnan(bootstrap_se(draws)[1]) and np.isnan(bootstrap_bias(draws, [0, 0])[1])
    assert np.isnan(bootstrap_pvalue(draws, [1, 1])[1])


def test_quantiles_match_numpy_linear_and_r_type7():
    rng = np.random.default_rng(6)
    draws = rng.normal(size=(101, 4))
    probs = np.array([0.0, 0.025, 0.1, 0.5, 0.975, 1.0])
    np.testing.assert_allclose(quantiles(draws, probs), np.quantile(draws, probs, axis=0), rtol=1e-15, atol=1e-15)
    # R: quantile(c(1, 2, 4, 8), c(.1, .5, .9), type = 7) -> 1.3, 3.0, 6.8
    np.testing.assert_allclose(quantiles([1.0, 2, 4, 8], [0.1, 0.5, 0.9])[:, 0], [1.3, 3.0, 6.8], rtol=1e-14)
    per_col = np.array([[0.1, 0.2, 0.3, 0.4]])
    got = quantiles(draws, per_col)[0]
    np.testing.assert_allclose(got, [np.quantile(draws[:, j], per_col[0, j]) for j in range(4)], rtol=1e-15)


def test_normal_and_bias_corrected():
    rng = np.random.default_rng(7)
    draws = rng.normal(1.2, 0.5, size=(4000, 2))
    est = np.array([1.0, 1.0])
    se = draws.std(axis=0, ddof=1)
    z = stats.norm.ppf(0.975)
    ci = normal_ci(draws, est)
    np.testing.assert_allclose(ci.lower, est - z * se, rtol=1e-13)
    ci_bc = normal_ci(draws, est, bias_corrected=True)
    centre = 2 * est - draws.mean(axis=0)
    np.testing.assert_allclose(ci_bc.upper, centre + z * se, rtol=1e-13)
    ci_t = normal_ci(draws, est, df=9)
    np.testing.assert_allclose(ci_t.upper, est + stats.t.ppf(0.975, 9) * se, rtol=1e-13)


def test_bc_is_bca_with_zero_acceleration_and_z0_formula():
    rng = np.random.default_rng(8)
    draws = rng.normal(size=(999, 2))
    est = np.array([0.1, -0.2])
    # symmetric jackknife values -> a = 0
    jack = np.array([[-1.0, -2.0], [0.0, 0.0], [1.0, 2.0]])
    np.testing.assert_allclose(bca_acceleration(jack), 0.0, atol=1e-15)
    bc = bc_ci(draws, est)
    bca = bca_ci(draws, est, jackknife_values=jack)
    np.testing.assert_allclose([bc.lower, bc.upper], [bca.lower, bca.upper], rtol=1e-14)
    share = ((draws < est).sum(0) + (draws <= est).sum(0)) / (2 * 999)
    np.testing.assert_allclose(bias_correction_z0(draws, est), stats.norm.ppf(share), rtol=1e-13)


def test_acceleration_formula():
    theta = np.array([1.0, 2.0, 4.0, 8.0, 3.0])
    d = theta.mean() - theta
    expected = (d**3).sum() / (6 * ((d**2).sum()) ** 1.5)
    np.testing.assert_allclose(bca_acceleration(theta), expected, rtol=1e-14)


def test_studentized_formula():
    rng = np.random.default_rng(9)
    draws = rng.normal(2.0, 1.0, size=(2000, 1))
    se_draws = rng.uniform(0.8, 1.2, size=(2000, 1))
    est = np.array([2.0])
    t = (draws[:, 0] - 2.0) / se_draws[:, 0]
    se = draws[:, 0].std(ddof=1)
    ci = studentized_ci(draws, est, 0.95, se_draws=se_draws)
    np.testing.assert_allclose(ci.lower, 2.0 - np.quantile(t, 0.975) * se, rtol=1e-13)
    np.testing.assert_allclose(ci.upper, 2.0 - np.quantile(t, 0.025) * se, rtol=1e-13)
    # zero / NaN inner SEs are failed replicates, not infinite t values
    se_bad = se_draws.copy()
    se_bad[:5] = 0.0
    se_bad[5] = np.nan
    ci_bad = studentized_ci(draws, est, se_draws=se_bad, se=[se])
    t_ok = t[6:]
    np.testing.assert_allclose(ci_bad.lower, 2.0 - np.quantile(t_ok, 0.975) * se, rtol=1e-13)


def test_pvalues():
    draws = np.concatenate([np.full(90, 1.0), np.full(10, -1.0)])[:, None]
    est = np.array([0.8])
    # percentile: 10 of 100 draws <= 0 -> 2 (1 + 10) / 101
    np.testing.assert_allclose(bootstrap_pvalue(draws, est), 22 / 101)
    # basic: c = 2 * 0.8 = 1.6; no draw >= 1.6 -> 2 / 101
    np.testing.assert_allclose(bootstrap_pvalue(draws, est, method="basic"), 2 / 101)
    z = 0.8 / draws.std(ddof=1)
    np.testing.assert_allclose(bootstrap_pvalue(draws, est, method="normal"), 2 * stats.norm.sf(z))
    np.testing.assert_allclose(bootstrap_pvalue(draws, est, method="normal", df=30), 2 * stats.t.sf(z, 30))
    # never above 1, never 0
    centred = np.random.default_rng(0).normal(size=(500, 3))
    p = bootstrap_pvalue(centred, np.zeros(3))
    assert ((p > 0) & (p <= 1)).all()
    assert bootstrap_pvalue(np.ones((50, 1)) * 5, [5.0])[0] > 0


def test_pvalue_consistent_with_percentile_interval():
    rng = np.random.default_rng(10)
    draws = rng.normal(0.15, 0.07, size=(5000, 1))
    p = bootstrap_pvalue(draws, draws.mean(axis=0))[0]
    assert 0.01 < p < 0.1
    # the interval just wider than 1 - p covers 0; the one just narrower does not
    assert percentile_ci(draws, None, 1 - 0.9 * p).lower[0] <= 0
    assert percentile_ci(draws, None, 1 - 1.1 * p).lower[0] > 0


def test_dispatcher_errors():
    draws = np.zeros((10, 1))
    with pytest.raises(BootstrapError) as err:
        confidence_interval("bcaa", draws, [0.0])
    for kind in INTERVALS:
        assert kind in str(err.value)
    with pytest.raises(BootstrapError, match="jackknife_values"):
        confidence_interval("bca", draws, [0.0])
    with pytest.raises(BootstrapError, match="se_draws"):
        confidence_interval("studentized", draws, [0.0])
    with pytest.raises(BootstrapError, match="does not take"):
        confidence_interval("percentile", draws, [0.0], jackknife_values=draws)
    with pytest.raises(BootstrapError, match="level"):
        percentile_ci(draws, [0.0], 95)
    with pytest.raises(BootstrapError, match="estimate"):
        basic_ci(np.zeros((10, 2)), [0.0])
    with pytest.raises(BootstrapError, match="method"):
        bootstrap_pvalue(draws, [0.0], method="exact")
