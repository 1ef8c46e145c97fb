"""Tests of csi.core.moments: the one-GEMM replicate moments equal direct moments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csi.core.moments import counts_from_indices, cov_to_corr, moments, resample_moments


def _survey(n: int = 250, p: int = 27, seed: int = 0) -> np.ndarray:
    """0-10 scale items with a common factor (like the ECSI data)."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    return np.clip(np.round(7 + 1.5 * f + rng.normal(size=(n, p))), 0, 10)


def test_moments_population_divisor():
    X = _survey(50, 4)
    mean, cov = moments(X)
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(cov, np.cov(X, rowvar=False, bias=True), rtol=1e-12)


def test_moments_weighted_matches_numpy_aweights():
    X = _survey(60, 5)
    w = np.random.default_rng(1).uniform(0.2, 3.0, size=60)
    mean, cov = moments(X, w)
    np.testing.assert_allclose(mean, np.average(X, axis=0, weights=w), rtol=1e-14)
    # divisor sum(w): numpy's aweights with bias=True
    np.testing.assert_allclose(cov, np.cov(X, rowvar=False, aweights=w, bias=True), rtol=1e-12)


def test_moments_integer_weights_equal_row_repetition():
    X = _survey(30, 3)
    w = np.random.default_rng(2).integers(0, 4, size=30)
    w[0] = 1
    mean, cov = moments(X, w)
    m2, c2 = moments(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(mean, m2, rtol=1e-13)
    np.testing.assert_allclose(cov, c2, rtol=1e-12, atol=1e-13)


def test_moments_batched_leading_axes():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 3, 40, 5))
    w = rng.uniform(0.5, 2, size=(2, 3, 40))
    mean, cov = moments(X, w)
    assert mean.shape == (2, 3, 5) and cov.shape == (2, 3, 5, 5)
    for i in range(2):
        for j in range(3):
            m1, c1 = moments(X[i, j], w[i, j])
            np.testing.assert_allclose(mean[i, j], m1, rtol=1e-13)
            np.testing.assert_allclose(cov[i, j], c1, rtol=1e-12, atol=1e-14)


def test_counts_from_indices():
    idx = np.array([[0, 0, 2, 3], [1, 1, 1, 1], [3, 2, 1, 0]])
    F = counts_from_indices(idx, 5)
    assert F.dtype == np.float64
    np.testing.assert_array_equal(F, [[2, 0, 1, 1, 0], [0, 4, 0, 0, 0], [1, 1, 1, 1, 0]])


def test_counts_from_indices_random_rowsums():
    rng = np.random.default_rng(4)
    idx = rng.integers(0, 250, size=(300, 250))
    F = counts_from_indices(idx, 250)
    np.testing.assert_array_equal(F.sum(axis=1), 250)
    for b in (0, 17, 299):
        np.testing.assert_array_equal(F[b], np.bincount(idx[b], minlength=250))


@pytest.mark.parametrize("weighted", [False, True])
def test_resample_moments_equal_direct_moments(weighted):
    X = _survey()
    n = X.shape[0]
    rng = np.random.default_rng(5)
    w = rng.uniform(0.3, 2.5, size=n) if weighted else None
    idx = rng.integers(0, n, size=(200, n))
    means, covs = resample_moments(X, counts_from_indices(idx, n), w)
    assert means.shape == (200, 27) and covs.shape == (200, 27, 27)
    for b in range(200):
        m, c = moments(X[idx[b]], None if w is None else w[idx[b]])
        np.testing.assert_allclose(means[b], m, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(covs[b], c, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(covs, np.swapaxes(covs, 1, 2))


def test_resample_moments_large_offset_is_stable():
    # Centring on the full-sample mean first: a 1e6 offset must not cost digits.
    X = _survey(100, 4) + 1e6
    idx = np.random.default_rng(6).integers(0, 100, size=(20, 100))
    _, covs = resample_moments(X, counts_from_indices(idx, 100))
    for b in range(20):
        np.testing.assert_allclose(covs[b], moments(X[idx[b]])[1], rtol=1e-9, atol=1e-9)


def test_resample_moments_fractional_counts_and_jackknife():
    X = _survey(40, 3)
    # Leave-one-out frequencies (the jackknife) go through the same path.
    F = np.ones((40, 40)) - np.eye(40)
    means, covs = resample_moments(X, F)
    for i in (0, 13, 39):
        m, c = moments(np.delete(X, i, axis=0))
        np.testing.assert_allclose(means[i], m, rtol=1e-13)
        np.testing.assert_allclose(covs[i], c, rtol=1e-12, atol=1e-13)
    # Fractional counts = weights.
    v = np.random.default_rng(7).dirichlet(np.ones(40), size=3)
    means, covs = resample_moments(X, v)
    for b in range(3):
        m, c = moments(X, v[b])
        np.testing.assert_allclose(means[b], m, rtol=1e-12)
        np.testing.assert_allclose(covs[b], c, rtol=1e-11, atol=1e-13)


def test_resample_moments_chunking_is_invisible():
    X = _survey(80, 6)
    F = counts_from_indices(np.random.default_rng(8).integers(0, 80, size=(100, 80)), 80)
    m_all, c_all = resample_moments(X, F)
    m_a, c_a = resample_moments(X, F[:37])
    m_b, c_b = resample_moments(X, F[37:])
    np.testing.assert_allclose(np.concatenate([c_a, c_b]), c_all, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(np.concatenate([m_a, m_b]), m_all, rtol=1e-15)


def test_resample_moments_zero_total_gives_nan():
    X = _survey(10, 2)
    means, covs = resample_moments(X, np.zeros((1, 10)))
    assert np.isnan(means).all() and np.isnan(covs).all()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 30),
    p=st.integers(1, 6),
    B=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_resample_moments_property(n, p, B, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=5, scale=2, size=(n, p))
    idx = rng.integers(0, n, size=(B, n))
    means, covs = resample_moments(X, counts_from_indices(idx, n))
    for b in range(B):
        m, c = moments(X[idx[b]])
        np.testing.assert_allclose(means[b], m, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(covs[b], c, rtol=1e-10, atol=1e-12)


def test_cov_to_corr_batched():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(3, 50, 4))
    _, covs = moments(X)
    corr, sd = cov_to_corr(covs)
    for b in range(3):
        np.testing.assert_allclose(corr[b], np.corrcoef(X[b], rowvar=False), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(sd[b], X[b].std(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(np.diagonal(corr, axis1=1, axis2=2), 1.0)


def test_cov_to_corr_constant_item_is_nan_not_inf():
    X = np.column_stack([np.arange(10.0), np.full(10, 3.0), np.arange(10.0) ** 2])
    with np.errstate(all="raise"):  # no silent division warnings
        corr, sd = cov_to_corr(moments(X)[1])
    assert sd[1] == 0
    assert np.isnan(corr[1]).all() and np.isnan(corr[:, 1]).all()
    assert corr[0, 0] == 1 and np.isfinite(corr[0, 2])
