"""Kernels of csi.core.missing against lavaan / R (tests/reference/ README section 8) and closed forms.

Sources and tolerances:

* ``*.lavaan.pairwise_cov_nminus1.csv``: R 4.2.2 ``cov(d, use = "pairwise.complete.obs")``.  The same
  arithmetic up to rounding, so 1e-12.
* ``*.lavaan.h1_ml.{cov,mean}.csv``: lavaan 0.6.14's saturated ML (EM) moments.  lavaan takes plain EM
  steps from the available-case means and variances and stops after the first step that moves no mean or
  covariance entry by 1e-5 or more (28 steps for the satisfaction file, 31 for political democracy).  csi's
  EM with the same start, plain steps and ``tol=1e-5`` takes the same steps and must match to 1e-10 (the
  arithmetic differs only in summation order; observed 4e-14).  Converged (tol 1e-10) csi EM is then the
  true maximum, about 2e-5 from lavaan's stopping point: that test checks 5e-5 / 1e-5 plus the two facts
  that explain the gap (csi's log-likelihood is at least lavaan's; csi's estimate is an EM fixed point).
* Anderson's (1957) closed form for a monotone pattern: exact ML, so EM must reach it to 1e-8.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file

from csi.core.missing import (
    conditional_draws,
    conditional_means,
    em_moments,
    little_mcar,
    monotone_ml,
    pairwise_moments,
    patterns,
    replicate_em_moments,
    replicate_pairwise_moments,
)
from csi.core.moments import moments

FILES = ["ecsi_satisfaction_missing", "political_democracy_missing"]


def _reference(stem: str) -> tuple[np.ndarray, pd.DataFrame, pd.Series, pd.DataFrame]:
    cov = pd.read_csv(reference_file(f"{stem}.lavaan.h1_ml.cov.csv"), index_col=0)
    mean = pd.read_csv(reference_file(f"{stem}.lavaan.h1_ml.mean.csv"), index_col=0)["mean"]
    pair = pd.read_csv(reference_file(f"{stem}.lavaan.pairwise_cov_nminus1.csv"), index_col=0)
    data = pd.read_csv(reference_file(f"{stem}.csv"), index_col=0)
    return data[list(cov.columns)].to_numpy(dtype=float), cov, mean, pair


def _loglik(X: np.ndarray, mu: np.ndarray, S: np.ndarray) -> float:
    """Observed-data normal log-likelihood, summed pattern by pattern (written out independently of EM)."""
    total = 0.0
    for i in range(X.shape[0]):
        o = ~np.isnan(X[i])
        d = X[i, o] - mu[o]
        So = S[np.ix_(o, o)]
        total -= 0.5 * (np.linalg.slogdet(So)[1] + d @ np.linalg.solve(So, d) + o.sum() * np.log(2 * np.pi))
    return total


@pytest.mark.parametrize("stem", FILES)
def test_pairwise_equals_r_cov_pairwise_complete(stem):
    X, _, _, pair = _reference(stem)
    _, cov, n_pair = pairwise_moments(X, ddof=1)
    np.testing.assert_allclose(cov, pair.to_numpy(), rtol=0, atol=1e-12)
    observed = (~np.isnan(X)).astype(int)
    np.testing.assert_array_equal(n_pair, observed.T @ observed)


@pytest.mark.parametrize("stem", FILES)
def test_em_steps_equal_lavaan_saturated_ml(stem):
    X, cov, mean, _ = _reference(stem)
    em = em_moments(X, tol=1e-5, accelerate=False)
    np.testing.assert_allclose(em.cov, cov.to_numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(em.mean, mean.to_numpy(), rtol=0, atol=1e-10)
    assert int(em.iterations) == {"ecsi_satisfaction_missing": 28, "political_democracy_missing": 31}[stem]


@pytest.mark.parametrize("stem", FILES)
def test_converged_em_is_the_maximum_lavaan_stops_short_of(stem):
    X, cov, mean, _ = _reference(stem)
    em = em_moments(X)
    assert em.converged
    np.testing.assert_allclose(em.cov, cov.to_numpy(), rtol=0, atol=5e-5)
    np.testing.assert_allclose(em.mean, mean.to_numpy(), rtol=0, atol=1e-5)
    # The remaining gap is lavaan's: csi's point is at least as likely and is a fixed point of EM.
    assert _loglik(X, em.mean, em.cov) >= _loglik(X, mean.to_numpy(), cov.to_numpy()) - 1e-9
    again = em_moments(X, start=(em.mean, em.cov), max_iter=3)
    np.testing.assert_allclose(again.cov, em.cov, rtol=0, atol=1e-9)


def _monotone(seed: int, n: int = 400) -> np.ndarray:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(5, 5))
    X = rng.normal(size=(n, 5)) @ A + np.arange(5) * 2.0
    X[n // 6 :, 4] = np.nan  # four nested blocks: {0, 1} always, then 2, 3 and 4 observed less and less often
    X[n // 3 :, 3] = np.nan
    X[n // 2 :, 2] = np.nan
    return X


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_em_equals_anderson_closed_form_for_a_monotone_pattern(seed):
    X = _monotone(seed)
    mu, S = monotone_ml(X)
    for accelerate in (True, False):
        em = em_moments(X, tol=1e-13, accelerate=accelerate)
        np.testing.assert_allclose(em.mean, mu, rtol=0, atol=1e-8)
        np.testing.assert_allclose(em.cov, S, rtol=0, atol=1e-8)


def test_monotone_oracle_rejects_other_patterns_and_matches_complete_moments():
    X = _monotone(4)
    X[0, 1] = np.nan
    with pytest.raises(ValueError, match="not monotone"):
        monotone_ml(X)
    Y = np.random.default_rng(0).normal(size=(50, 3))
    mu, S = monotone_ml(Y)
    m, c = moments(Y)
    np.testing.assert_allclose(mu, m, atol=1e-13)
    np.testing.assert_allclose(S, c, atol=1e-13)


def _with_holes(seed: int, n: int = 80, p: int = 4, rate: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Y = rng.normal(size=(n, p)) @ rng.normal(size=(p, p))
    Y[rng.random((n, p)) < rate] = np.nan
    return Y[~np.isnan(Y).all(axis=1)]


def test_weights_count_rows_like_duplicates():
    Y = _with_holes(5)
    w = np.random.default_rng(6).integers(1, 4, size=Y.shape[0])
    dup = np.repeat(Y, w, axis=0)
    a, b = em_moments(Y, w.astype(float), tol=1e-13), em_moments(dup, tol=1e-13)
    np.testing.assert_allclose(a.cov, b.cov, atol=1e-10)
    np.testing.assert_allclose(a.mean, b.mean, atol=1e-10)
    pa, pb = pairwise_moments(Y, w.astype(float)), pairwise_moments(dup)
    np.testing.assert_allclose(pa[1], pb[1], atol=1e-12)
    np.testing.assert_allclose(pa[0], pb[0], atol=1e-12)


def test_replicates_equal_one_fit_per_replicate():
    Y = _with_holes(7)
    F = np.random.default_rng(8).integers(0, 3, size=(6, Y.shape[0])).astype(float)
    full = em_moments(Y)
    batch = replicate_em_moments(Y, F, start=(full.mean, full.cov), tol=1e-12)
    pw = replicate_pairwise_moments(Y, F)
    for b in range(F.shape[0]):
        one = em_moments(Y, F[b], tol=1e-12)
        np.testing.assert_allclose(batch.cov[b], one.cov, atol=1e-9)
        np.testing.assert_allclose(batch.mean[b], one.mean, atol=1e-9)
        np.testing.assert_allclose(pw[1][b], pairwise_moments(Y, F[b])[1], atol=1e-12)


def test_a_replicate_missing_an_item_has_nan_moments():
    Y = _with_holes(9)
    F = np.ones((2, Y.shape[0]))
    F[1, ~np.isnan(Y[:, 0])] = 0.0  # replicate 1 never sees item 0
    res = replicate_em_moments(Y, F)
    assert np.isfinite(res.cov[0]).all() and np.isnan(res.cov[1]).all() and np.isnan(res.mean[1]).all()


def test_complete_data_em_and_pairwise_are_the_moments():
    Y = np.random.default_rng(10).normal(size=(40, 3))
    m, c = moments(Y)
    em = em_moments(Y)
    np.testing.assert_allclose(em.cov, c, atol=1e-12)
    np.testing.assert_allclose(pairwise_moments(Y)[1], c, atol=1e-12)
    assert patterns(Y).observed.shape == (1, 3)


def test_conditional_means_and_draws():
    Y = _with_holes(11, n=200)
    em = em_moments(Y)
    filled = conditional_means(Y, em.mean, em.cov)
    observed = ~np.isnan(Y)
    np.testing.assert_array_equal(filled[observed], Y[observed])
    assert np.isfinite(filled).all()
    # At the EM fixed point the completed data's mean is the EM mean (the M step averages conditional means).
    np.testing.assert_allclose(filled.mean(axis=0), em.mean, atol=1e-8)
    zero = conditional_draws(Y, em.mean, em.cov, np.zeros_like(Y))
    np.testing.assert_allclose(zero, filled, atol=1e-12)
    drawn = conditional_draws(Y, em.mean, em.cov, np.random.default_rng(12).standard_normal(Y.shape))
    np.testing.assert_array_equal(drawn[observed], Y[observed])
    assert not np.allclose(drawn, filled)


def test_little_statistic_matches_its_definition_for_two_patterns():
    rng = np.random.default_rng(13)
    Y = rng.normal(size=(60, 2)) + [1.0, 2.0]
    Y[40:, 1] = np.nan
    mu, S = np.array([1.1, 1.9]), np.array([[1.0, 0.3], [0.3, 1.2]])
    d1 = Y[:40].mean(axis=0) - mu
    d2 = Y[40:, 0].mean() - mu[0]
    expected = 40 * d1 @ np.linalg.solve(S, d1) + 20 * d2**2 / S[0, 0]
    chi2, df = little_mcar(Y, mu, S)
    assert df == 1 and chi2 == pytest.approx(expected, rel=1e-12)


def test_little_test_separates_mcar_from_mar():
    from scipy.stats import chi2 as chi2_dist

    rng = np.random.default_rng(14)
    n = 600
    Y = rng.normal(size=(n, 3)) @ np.array([[1.0, 0.6, 0.5], [0.0, 0.8, 0.3], [0.0, 0.0, 0.7]])
    mcar, mar = Y.copy(), Y.copy()
    mcar[rng.random(n) < 0.3, 2] = np.nan
    mar[Y[:, 0] > 0.3, 2] = np.nan  # missing when the always-observed item is high
    p_mcar = chi2_dist.sf(*little_mcar(mcar, *em_moments(mcar)[:2]))
    p_mar = chi2_dist.sf(*little_mcar(mar, *em_moments(mar)[:2]))
    assert p_mcar > 0.01 and p_mar < 1e-6


def test_a_singular_replicate_fails_alone():
    # Item 2 is answered by four respondents; a replicate that draws one of them only sees a constant item,
    # whose covariance is singular: that replicate must come back NaN and unconverged, the others unharmed.
    rng = np.random.default_rng(15)
    Y = rng.normal(size=(40, 3)) @ np.array([[1.0, 0.5, 0.3], [0.0, 1.0, 0.4], [0.0, 0.0, 1.0]])
    Y[4:, 2] = np.nan
    F = np.ones((3, 40))
    F[1, 1:4] = 0.0  # only row 0 answers item 2 in replicate 1
    res = replicate_em_moments(Y, F, start=em_moments(Y)[:2])
    assert res.converged[[0, 2]].all() and not res.converged[1]
    assert np.isnan(res.cov[1]).all() or not np.isfinite(res.cov[1]).all()
    np.testing.assert_allclose(res.cov[0], em_moments(Y).cov, atol=1e-8)
