"""The compiled ML kernel of the CB-SEM bootstrap (:mod:`csi.estimators.cbsem_compiled`) against the NumPy
kernels it replaces in the replicates: the same derivatives to rounding, the same Newton path per replicate,
and structurally zero indirect effects exactly zero."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file
from test_cbsem import PD_MODEL

import csi
from csi.core.moments import resample_moments
from csi.estimators import cbsem_compiled
from csi.estimators.cbsem_kernel import fisher_scoring, implied, ml_discrepancy, observed_hessian
from csi.resample.plans import OrdinaryPlan

# Holzinger & Swineford with a regression: loadings, a path, a free covariance of two exogenous factors.
HS_PATHS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\nspeed ~ visual + textual\n"


def _resamples(fit: csi.FitResult, B: int, seed: int) -> np.ndarray:
    return resample_moments(fit.data.X, OrdinaryPlan(fit.data.X.shape[0], B, seed).counts(0, B), None)[1]


@pytest.fixture(scope="module")
def fits():
    """Political democracy (item residual covariances), HS with paths (latent covariance and regressions),
    ECSI-7 (24 items, a chain of regressions)."""
    pd_data = pd.read_csv(reference_file("political_democracy.csv"), index_col=0)
    hs = pd.read_csv(reference_file("holzinger_swineford_1939.csv"))
    ecsi = csi.load_model("ecsi")
    return {
        "pd": csi.fit(PD_MODEL, pd_data, method="cbsem"),
        "hs": csi.fit(HS_PATHS, hs, method="cbsem"),
        "ecsi": csi.fit(ecsi, csi.simulate(ecsi, 250, seed=3).data, method="cbsem"),
    }


@pytest.mark.parametrize("name", ["pd", "hs", "ecsi"])
def test_derivatives_equal_numpy_kernels(fits, name):
    """Value, gradient, expected and exact Hessian of the compiled evaluation equal
    :func:`csi.estimators.cbsem_kernel.observed_hessian` to rounding (1e-10 relative to the largest entry:
    sums of a few hundred products) at points scattered around the estimates of resamples."""
    fit = fits[name]
    st, theta = fit.cbsem_state.structure, fit.cbsem_state.theta
    S = _resamples(fit, 6, 1)
    points = theta + np.random.default_rng(4).normal(0, 0.03, (6, theta.size))
    F, g, He, Ho = cbsem_compiled.derivatives(points, S, st)
    _, g0, He0, Ho0 = observed_hessian(points, S, st)
    F0 = ml_discrepancy(implied(points, st)[0], S)
    assert np.all(np.isfinite(F0))
    for got, want in ((F, F0), (g, g0), (He, He0), (Ho, Ho0)):
        scale = np.max(np.abs(want), axis=tuple(range(1, want.ndim)), keepdims=True) if want.ndim > 1 else 1.0
        np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=1e-10)
    # The exact Hessian is not the expected one away from a perfect fit (the check would pass vacuously).
    assert np.max(np.abs(Ho0 - He0)) > 1e-3 * np.max(np.abs(He0))


@pytest.mark.parametrize("name", ["pd", "ecsi"])
def test_compiled_loop_follows_numpy_loop(fits, name):
    """The compiled Newton loop takes the NumPy loop's steps: the same iteration count and convergence flag
    for every replicate, estimates equal to 1e-10 (both stop at a step below 1e-9 at the same point, up to
    the rounding of the solves); political democracy's resamples include Heywood cases and Fisher fallbacks."""
    fit = fits[name]
    st, theta = fit.cbsem_state.structure, fit.cbsem_state.theta
    S = _resamples(fit, 40, 2)
    H0 = observed_hessian(theta, fit.moments, st)[3]
    kw = {"tol": 1e-9, "max_iter": 100, "hessian0": H0}
    got = fisher_scoring(theta, S, st, compiled=True, **kw)
    want = fisher_scoring(theta, S, st, compiled=False, **kw)
    assert np.array_equal(got.converged, want.converged) and want.converged.mean() > 0.9
    np.testing.assert_array_equal(got.iterations, want.iterations)
    np.testing.assert_allclose(got.theta, want.theta, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got.F, want.F, rtol=1e-10)
    # Without a start metric both start from the expected Hessian (Fisher scoring).
    got, want = (fisher_scoring(theta, S[:8], st, tol=1e-9, max_iter=100, compiled=c) for c in (True, False))
    np.testing.assert_array_equal(got.iterations, want.iterations)
    np.testing.assert_allclose(got.theta, want.theta, rtol=0, atol=1e-10)


def test_structurally_zero_indirect_effects_are_exact_zeros(fits):
    """An ``ind`` row of a pair joined only by its direct path is 0 in the fit and in every replicate, while the
    other indirect effects equal total minus direct."""
    fit = fits["ecsi"]
    table = fit.estimates.set_index(["lhs", "op", "rhs"])["estimate"]
    spec = fit.spec
    direct = {(p.target, p.source) for p in spec.paths}
    ind = table.xs("ind", level="op")
    only_direct = [k for k in ind.index if k in direct and not _has_longer_path(spec, *k)]
    assert only_direct and all(ind[k] == 0.0 for k in only_direct)
    boot = csi.bootstrap(fit, 8, seed=1, n_jobs=1)
    assert (boot.draws[[f"{t} ind {s}" for t, s in only_direct]].to_numpy() == 0.0).all()
    longer = [k for k in ind.index if _has_longer_path(spec, *k)]
    assert longer
    for t, s in longer:
        np.testing.assert_allclose(ind[(t, s)], table[(t, "total", s)] - table.get((t, "~", s), 0.0), atol=1e-12)
        assert abs(ind[(t, s)]) > 1e-6


def _has_longer_path(spec: csi.ModelSpec, target: str, source: str) -> bool:
    """Whether a path of two or more steps leads from source to target (depth-first over the spec's paths)."""
    succ: dict[str, list[str]] = {}
    for p in spec.paths:
        succ.setdefault(p.source, []).append(p.target)
    stack = [(n, 1) for n in succ.get(source, [])]
    while stack:
        node, steps = stack.pop()
        if node == target and steps >= 2:
            return True
        stack += [(n, steps + 1) for n in succ.get(node, [])]
    return False
