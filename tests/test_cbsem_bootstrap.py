"""CB-SEM bootstrap: a replicate equals a fresh fit on the resampled rows; seeds reproduce for any n_jobs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file
from test_cbsem import PD_MODEL

import csi
from csi.errors import AdmissibilityWarning, EstimationError
from csi.resample.plans import OrdinaryPlan
from csi.results.export import results_json


@pytest.fixture(scope="module")
def pd_fit():
    data = pd.read_csv(reference_file("political_democracy.csv"), index_col=0)
    return csi.fit(PD_MODEL, data, method="cbsem"), data


def test_replicate_equals_fresh_fit(pd_fit):
    """Warm-started Fisher scoring reaches the same ML optimum as a fresh semopy fit polished the same way."""
    fit, data = pd_fit
    boot = csi.bootstrap(fit, 3, seed=7, n_jobs=1)
    rows = OrdinaryPlan(len(data), 3, 7).indices()
    for b in range(3):
        fresh = csi.fit(PD_MODEL, data.iloc[rows[b]].reset_index(drop=True), method="cbsem")
        est = fresh.estimates
        labels = [f"{a} {o} {c}" for a, o, c in est[["lhs", "op", "rhs"]].itertuples(index=False)]
        np.testing.assert_allclose(boot.draws.loc[b, labels].to_numpy(float), est["estimate"], atol=1e-6)


def test_seed_reproducible_any_jobs(pd_fit):
    fit, _ = pd_fit
    with pytest.warns(AdmissibilityWarning):
        a = csi.bootstrap(fit, 70, seed=3, n_jobs=1)
    with pytest.warns(AdmissibilityWarning):
        b = csi.bootstrap(fit, 70, seed=3, n_jobs=2)
    assert a.draws.to_numpy().tobytes() == b.draws.to_numpy().tobytes()
    # Political democracy's dem65 disturbance (0.17, SE 0.21) goes negative in many resamples: those are dropped.
    assert a.n_failed == a.n_inadmissible == b.n_inadmissible > 0 and a.plan["kind"] == "ordinary"
    table = a.estimates.set_index(["lhs", "op", "rhs"])
    assert table.loc[("dem65", "~", "dem60"), "se"] > 0


def test_bootstrap_se_close_to_lavaan(pd_fit):
    """Bootstrap and expected-information SEs agree statistically (B = 128: Monte Carlo error ~6%;
    n = 75 and mild non-normality add more), here within 40% for the loadings and paths (inadmissible
    replicates kept, as lavaan's bootstrap keeps them)."""
    fit, _ = pd_fit
    with pytest.warns(AdmissibilityWarning):
        boot = csi.bootstrap(fit, 128, seed=11, n_jobs=1, failed="keep")
    est = boot.estimates
    t = fit.estimates
    sel = t["op"].isin(["=~", "~"]).to_numpy() & t["free"].to_numpy()
    ratio = est["se"].to_numpy()[: len(t)][sel] / t["std_error"].to_numpy()[sel]
    assert np.all((ratio > 0.6) & (ratio < 1.4)), ratio


def test_rejects_pls_options(pd_fit):
    fit, _ = pd_fit
    with pytest.raises(EstimationError, match="sign_change"):
        csi.bootstrap(fit, 10, seed=1, sign_change="construct")


def test_ecsi7_replicates_equal_fresh_fits():
    """On the 24-item ECSI-7 model (n = 250, simulated) every replicate of the batched Newton kernel, started
    from the full-sample estimates and Hessian, equals a fresh fit of the resampled rows (started from the
    moment start values) to 1e-6: both stop at a step below tol = 1e-9 of the same optimum."""
    spec = csi.load_model("ecsi")
    data = csi.simulate(spec, 250, seed=5).data
    fit = csi.fit(spec, data, method="cbsem")
    rows = OrdinaryPlan(len(data), 6, 21).indices()
    boot = csi.bootstrap(fit, indices=rows, n_jobs=1)
    assert boot.n_failed == 0
    for b in range(len(rows)):
        fresh = csi.fit(spec, data.iloc[rows[b]].reset_index(drop=True), method="cbsem")
        est = fresh.estimates
        labels = [f"{a} {o} {c}" for a, o, c in est[["lhs", "op", "rhs"]].itertuples(index=False)]
        np.testing.assert_allclose(boot.draws.loc[b, labels].to_numpy(float), est["estimate"], atol=1e-6)


def test_replicate_admissibility(pd_fit):
    from csi.estimators.cbsem_bootstrap import admissible
    from csi.estimators.cbsem_kernel import THETA

    fit, _ = pd_fit
    st, theta = fit.cbsem_state.structure, fit.cbsem_state.theta
    var = st.param[(st.matrix == THETA) & (st.row == st.col)][0]
    bad = theta.copy()
    bad[var] = -0.1
    assert admissible(np.stack([theta, bad]), st).tolist() == [True, False]


def test_heywood_replicates_counted_by_the_failure_policy(pd_fit):
    """A replicate is inadmissible exactly when one of its free variances is negative (the political democracy
    model has no free latent covariances, so its latent covariance matrix is positive definite exactly when
    every disturbance variance is positive); ``drop`` turns those rows to NaN and leaves the others as
    ``keep`` has them, ``raise`` stops, and a fresh fit of such a resample is itself flagged inadmissible."""
    fit, data = pd_fit
    with pytest.warns(AdmissibilityWarning, match="inadmissible.*kept"):
        kept = csi.bootstrap(fit, 40, seed=5, n_jobs=1, failed="keep")
    t = fit.estimates
    var = [f"{a} ~~ {a}" for a in t.loc[(t["op"] == "~~") & (t["lhs"] == t["rhs"]) & t["free"], "lhs"]]
    negative = (kept.draws[var] < 0).any(axis=1).to_numpy()
    assert kept.n_inadmissible == negative.sum() > 0 and kept.n_failed == 0
    doc = results_json(fit, kept)["bootstrap"]  # the kept ones are not hidden by n_failed = 0 in results.json
    assert doc["n_failed"] == 0 and doc["n_inadmissible"] == negative.sum() and doc["n_not_converged"] >= 0
    with pytest.warns(AdmissibilityWarning, match="dropped"):
        dropped = csi.bootstrap(fit, 40, seed=5, n_jobs=1)
    assert dropped.n_inadmissible == dropped.n_failed == negative.sum()
    D = dropped.draws.to_numpy()
    assert np.isnan(D[negative]).all()
    assert D[~negative].tobytes() == kept.draws.to_numpy()[~negative].tobytes()
    assert f"inadmissible {negative.sum()}" in dropped.summary()
    with pytest.raises(EstimationError, match="inadmissible"):
        csi.bootstrap(fit, 40, seed=5, n_jobs=1, failed="raise")
    first = int(np.flatnonzero(negative)[0])
    rows = OrdinaryPlan(len(data), 40, 5).indices()[first]
    with pytest.warns(AdmissibilityWarning):
        fresh = csi.fit(PD_MODEL, data.iloc[rows].reset_index(drop=True), method="cbsem")
    assert not fresh.admissible


def test_compiled_objective_equals_numpy_kernels(pd_fit, monkeypatch):
    """The numba objective and gradient equal the NumPy kernels to rounding at points around the estimates,
    give inf where Sigma is not positive definite, and a bootstrap run on either engine gives the same draws
    to 1e-9 (both stop at a step below tol = 1e-9 of the same optimum)."""
    from csi.core.moments import resample_moments
    from csi.estimators import cbsem_compiled
    from csi.estimators.cbsem_kernel import THETA, gradient, implied, ml_discrepancy

    fit, data = pd_fit
    st, theta = fit.cbsem_state.structure, fit.cbsem_state.theta
    S = resample_moments(fit.data.X, OrdinaryPlan(len(data), 8, 4).counts(0, 8), None)[1]
    points = theta + np.random.default_rng(2).normal(0, 0.02, (8, theta.size))
    points[3, st.param[(st.matrix == THETA) & (st.row == st.col)][0]] = -50.0  # Sigma not positive definite
    F, g = cbsem_compiled.value_gradient(points, S, np.linalg.slogdet(S)[1], st, True)
    F0 = ml_discrepancy(implied(points, st)[0], S)
    assert np.isinf(F[3]) and np.isinf(F0[3])
    ok = np.isfinite(F0)
    np.testing.assert_allclose(F[ok], F0[ok], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g[ok], gradient(points, S, st)[ok], rtol=1e-10, atol=1e-12)
    with pytest.warns(AdmissibilityWarning):
        compiled = csi.bootstrap(fit, 12, seed=9, n_jobs=1, failed="keep")
    monkeypatch.setenv("CSI_BOOTSTRAP_ENGINE", "numpy")
    assert not cbsem_compiled.available()
    with pytest.warns(AdmissibilityWarning):
        plain = csi.bootstrap(fit, 12, seed=9, n_jobs=1, failed="keep")
    np.testing.assert_allclose(compiled.draws.to_numpy(), plain.draws.to_numpy(), rtol=0, atol=1e-9)
