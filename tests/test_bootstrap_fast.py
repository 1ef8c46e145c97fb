"""The compiled per-replicate kernel (csi.core.fused) against the NumPy reference kernels, exact moment
sums, PLSc bootstraps against single PLSc fits, and the nested bootstrap behind studentized intervals
against a hand-rolled one."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import csi
from csi.core import fused
from csi.core.moments import cov_to_corr, moment_basis, moment_sums, resample_moments
from csi.errors import EstimationError
from csi.resample.intervals import studentized_ci
from csi.resample.plans import OrdinaryPlan
from csi.resample.run import inner_rng, single_threaded_blas
from csi.resample.statistics import (
    StatisticLayout,
    fused_model,
    fused_statistics_of,
    gather_columns,
    replicate_statistics,
)

pytestmark = pytest.mark.skipif(not fused.available(), reason="numba is not installed")


@pytest.fixture(scope="module")
def demo():
    spec = csi.load_model("ecsi")
    data = csi.simulate(spec, 150, seed=21).data
    return spec, data


def _mode_b(spec: csi.ModelSpec, name: str) -> csi.ModelSpec:
    cons = tuple(dataclasses.replace(c, mode="B") if c.name == name else c for c in spec.constructs)
    return dataclasses.replace(spec, constructs=cons)


OPTIONS = [
    dict(),
    dict(scheme="centroid", scaled=False),
    dict(scheme="factorial", stop="plspm", sign_rule="majority", tol=1e-6),
]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("sign_change", ["none", "individual", "construct"])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_kernel_equals_numpy_kernels(demo, options, sign_change, weighted):
    """Same replicates through both paths agree to 1e-12 (rounding only), convergence flags identical."""
    spec, data = demo
    weights = np.linspace(0.5, 2.0, len(data)) if weighted else None
    fit = csi.fit(spec, data, weights=weights, **options)
    layout = StatisticLayout.of(fit)
    F = OrdinaryPlan(len(data), 150, 4).counts()
    means, covs = resample_moments(fit.data.X, F, fit.data.weights)
    expected, conv_expected = replicate_statistics(fit, means, covs, layout, sign_change)
    basis = moment_basis(fit.data.X, fit.data.weights)
    assert basis.exact is not weighted
    got, conv = fused_statistics_of(fit, moment_sums(basis, F), basis, layout, sign_change)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * max(1.0, np.abs(expected).max()))
    assert np.array_equal(conv, conv_expected)


def test_compiled_kernel_mode_b(demo):
    spec, data = demo
    fit = csi.fit(_mode_b(spec, "IMAG"), data)
    layout = StatisticLayout.of(fit)
    F = OrdinaryPlan(len(data), 60, 5).counts()
    expected, _ = replicate_statistics(fit, *resample_moments(fit.data.X, F), layout)
    basis = moment_basis(fit.data.X)
    got, _ = fused_statistics_of(fit, moment_sums(basis, F), basis, layout)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def test_exact_moment_sums_give_the_moments(demo):
    """Integer items: float32 sums are exact, and the covariances equal the two-pass ones to rounding."""
    _, data = demo
    X = data.to_numpy(dtype=float)
    basis = moment_basis(X)
    assert basis.exact and basis.R.dtype == np.float32
    F = OrdinaryPlan(len(X), 10, 1).counts()
    G = moment_sums(basis, F)
    np.testing.assert_array_equal(G, F @ basis.R.astype(np.float64))  # exact: any summation order
    means, covs = resample_moments(X, F)
    s, a = G[:, :1], G[:, 1 : 1 + X.shape[1]]
    np.testing.assert_allclose(a / s, means, rtol=1e-14)
    assert not moment_basis(X + 0.5).exact and not moment_basis(X, np.ones(len(X))).exact
    assert moment_basis(X * 1000).R.dtype == np.float64  # sums past 2**24: exact in float64
    assert np.all(np.isfinite(cov_to_corr(covs)[0]))


def test_float32_sums_and_column_pick_give_identical_statistics(demo):
    """The kernel reads exact float32 sums as they are and picks the labelled columns itself: the same
    numbers, bit for bit, as float64 sums and picking columns from the full output row afterwards."""
    spec, data = demo
    fit = csi.fit(spec, data)
    layout = StatisticLayout.of(fit)
    basis = moment_basis(fit.data.X)
    F = OrdinaryPlan(len(data), 100, 3).counts(dtype=np.float32)
    G32 = moment_sums(basis, F, float64=False)
    assert G32.dtype == np.float32
    got, conv = fused_statistics_of(fit, G32, basis, layout)
    mdl = fused_model(fit, layout)
    full, conv_full, _, _ = fused.fused_statistics(moment_sums(basis, F), basis.exact, basis.origin, mdl)
    take, minus = gather_columns(fit, layout)
    expected = full[:, take]
    expected[:, minus >= 0] -= full[:, minus[minus >= 0]]
    assert np.array_equal(got, expected)
    assert np.array_equal(conv, conv_full)


def test_import_csi_leaves_heavy_modules_unloaded():
    """numba (loaded when a bootstrap first runs its compiled kernel) and scipy.stats (loaded by the few
    functions that need a distribution) are not imported by ``import csi``: they cost ~100 MiB."""
    code = "import sys, csi; print(sorted(m for m in ('numba', 'scipy.stats', 'matplotlib') if m in sys.modules))"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"


def test_single_threaded_blas_is_shared_and_restored():
    """BLAS runs one thread inside the context; overlapping contexts (bootstraps in several threads) keep
    the limit until the last one closes, which restores the setting from before."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads() -> list[int]:
        return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]

    before = blas_threads()
    first, second = single_threaded_blas(), single_threaded_blas()
    first.__enter__()
    second.__enter__()
    assert all(t == 1 for t in blas_threads())
    first.__exit__(None, None, None)
    assert all(t == 1 for t in blas_threads())
    second.__exit__(None, None, None)
    assert blas_threads() == before


def test_engine_switch_gives_the_same_bootstrap(demo, monkeypatch):
    spec, data = demo
    fit = csi.fit(spec, data)
    fast = csi.bootstrap(fit, 70, seed=9).draws.to_numpy()
    monkeypatch.setenv("CSI_BOOTSTRAP_ENGINE", "numpy")
    ref = csi.bootstrap(fit, 70, seed=9).draws.to_numpy()
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-11)


def test_plsc_bootstrap_equals_loop_of_single_plsc_fits(demo):
    spec, data = demo
    fit = csi.fit(spec, data, method="plsc")
    result = csi.bootstrap(fit, 30, seed=3)
    idx = OrdinaryPlan(len(data), 30, 3).indices()
    assert result.n_failed == 0
    for r in (0, 11, 29):
        single = csi.fit(spec, data.iloc[idx[r]].reset_index(drop=True), method="plsc")
        expected = pd.concat([single.estimates["estimate"], csi.compute_index(single)], ignore_index=True)
        np.testing.assert_allclose(result.draws.iloc[r].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)
    # PLSc corrects the loadings: the replicates differ from PLS ones on the same resamples.
    pls = csi.bootstrap(csi.fit(spec, data), 30, seed=3)
    assert not np.allclose(result.draws.filter(like="=~").to_numpy(), pls.draws.filter(like="=~").to_numpy())


def test_studentized_nested_bootstrap_matches_hand_rolled(demo):
    """SE**_r = sd (ddof 1) of M single fits on rows re-drawn from replicate r's rows with inner_rng(seed, r)."""
    spec, data = demo
    small = data.iloc[:80].reset_index(drop=True)
    fit = csi.fit(spec, small)
    B, M = 6, 25
    result = csi.bootstrap(fit, B, seed=13, ci="studentized", inner_resamples=M)
    plan = OrdinaryPlan(len(small), B, 13)
    idx = plan.indices()
    se = np.empty((B, result.draws.shape[1]))
    for r in range(B):
        pick = inner_rng(np.random.SeedSequence(13), r).integers(0, len(small), size=(M, len(small)))
        rows = idx[r][pick]
        reps = []
        for k in range(M):
            single = csi.fit(spec, small.iloc[rows[k]].reset_index(drop=True))
            with warnings.catch_warnings():  # negative weights in tiny resamples: indices computed anyway
                warnings.simplefilter("ignore", UserWarning)
                index = csi.compute_index(single, negative="force")
            reps.append(pd.concat([single.estimates["estimate"], index]))
        se[r] = np.std(np.asarray(reps, dtype=float), axis=0, ddof=1)
    np.testing.assert_allclose(result.se_draws.to_numpy(), se, rtol=0, atol=1e-9)
    lo, hi = studentized_ci(result.draws.to_numpy(), result.original, 0.95, se_draws=se)
    np.testing.assert_allclose(result.estimates["ci_lower"], lo, atol=1e-9)
    np.testing.assert_allclose(result.estimates["ci_upper"], hi, atol=1e-9)


def test_studentized_is_identical_whatever_chunks_and_workers(demo):
    spec, data = demo
    fit = csi.fit(spec, data)
    a = csi.bootstrap(fit, 20, seed=5, inner_resamples=25, chunk_size=20, n_jobs=1)
    b = csi.bootstrap(fit, 20, seed=5, inner_resamples=25, chunk_size=3, n_jobs=2)
    assert a.se_draws.to_numpy().tobytes() == b.se_draws.to_numpy().tobytes()
    paths = a.with_ci("studentized").estimates.query("op == '~'")
    assert paths["ci_lower"].notna().all() and (paths["ci_lower"] < paths["ci_upper"]).all()


def test_studentized_without_inner_bootstrap_is_a_clear_error(demo):
    spec, data = demo
    boot = csi.bootstrap(csi.fit(spec, data), 20, seed=1)
    with pytest.raises(EstimationError, match="inner_resamples"):
        _ = boot.with_ci("studentized").estimates
    with pytest.raises(EstimationError, match="inner_resamples must be"):
        csi.bootstrap(csi.fit(spec, data), 20, seed=1, inner_resamples=1)
