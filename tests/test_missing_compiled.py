"""The compiled EM of bootstrap replicates (csi.core.missing_compiled) against the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest

from csi.core import missing_compiled
from csi.core.missing import replicate_em_moments
from csi.core.moments import counts_from_indices


def incomplete(n: int = 150, p: int = 7, seed: int = 0) -> np.ndarray:
    """Correlated normal data with MCAR cells and MAR cells (the last items depend on the first, always seen)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(p, p)) / np.sqrt(p)
    X = rng.normal(size=(n, p)) @ (A + np.eye(p)) + 5.0
    X[:, 1:][rng.random((n, p - 1)) < 0.12] = np.nan
    low = X[:, 0] < np.quantile(X[:, 0], 0.35)
    X[low & (rng.random(n) < 0.6), -2:] = np.nan
    return X


@pytest.mark.parametrize("accelerate", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_em_equals_the_numpy_reference(accelerate, weighted):
    X = incomplete()
    n = X.shape[0]
    rng = np.random.default_rng(1)
    F = counts_from_indices(rng.integers(0, n, size=(12, n)), n)
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    start = (np.nanmean(X, axis=0), np.diag(np.nanvar(X, axis=0)))
    ref = replicate_em_moments(X, F, w, start=start, tol=1e-12, accelerate=accelerate)
    got = replicate_em_moments(X, F, w, start=start, tol=1e-12, accelerate=accelerate, compiled=True)
    assert ref.converged.all() and got.converged.all()
    # Same steps in another summation order: the fixed points agree to rounding (tolerance far below any
    # bootstrap spread; measured differences are about 1e-13).
    np.testing.assert_allclose(got.mean, ref.mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.cov, ref.cov, rtol=0, atol=1e-9)
    assert np.abs(got.iterations - ref.iterations).max() <= 3


def test_compiled_em_marks_the_same_replicates_failed():
    X = incomplete(seed=2)
    n = X.shape[0]
    seen = np.flatnonzero(~np.isnan(X[:, 3]))
    F = np.ones((3, n))
    F[1, seen] = 0.0  # item 3 never observed in replicate 1: no ML estimate
    F[2, seen[1:]] = 0.0
    F[2, seen[0]] = 5.0  # item 3 observed with a single value in replicate 2
    ref = replicate_em_moments(X, F, tol=1e-10)
    got = replicate_em_moments(X, F, tol=1e-10, compiled=True)
    for r in (ref, got):
        assert np.isnan(r.mean[1:]).all() and not r.converged[1:].any() and r.converged[0]
    np.testing.assert_allclose(got.cov[0], ref.cov[0], rtol=0, atol=1e-9)


def test_a_replicate_does_not_depend_on_its_batch():
    X = incomplete(seed=3)
    n = X.shape[0]
    F = counts_from_indices(np.random.default_rng(4).integers(0, n, size=(20, n)), n)
    whole = replicate_em_moments(X, F, tol=1e-8, compiled=True)
    part = replicate_em_moments(X, F[7:11], tol=1e-8, compiled=True)
    assert np.array_equal(whole.mean[7:11], part.mean) and np.array_equal(whole.cov[7:11], part.cov)


def test_the_engine_variable_selects_the_numpy_reference(monkeypatch):
    monkeypatch.setenv(missing_compiled.ENGINE_VARIABLE, "numpy")
    assert not missing_compiled.use_compiled()
    monkeypatch.delenv(missing_compiled.ENGINE_VARIABLE)
    assert missing_compiled.use_compiled()
