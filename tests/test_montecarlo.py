"""The Monte-Carlo study engine: resampling kernels, reproducibility, failure recording, metrics."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import csi
from csi.bench import montecarlo
from csi.bench.montecarlo import headline, run_study, summarise
from csi.bench.resample import bootstrap_paths_index, cbsem_replicates, percentile_interval, statistics
from csi.core.moments import moments
from csi.errors import AdmissibilityWarning, CSIError, EstimationError
from csi.estimators import ESTIMATORS, Estimator
from csi.resample.plans import OrdinaryPlan

SMALL = dict(models=("ecsi",), populations=("composite",), ns=(60,), reps=2, bootstrap=16)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return csi.simulate(csi.load_model("ecsi"), 150, seed=4).data


def test_pls_kernel_reproduces_csi_bootstrap(sample) -> None:
    fit = csi.fit("ecsi", sample)
    paths, index = bootstrap_paths_index(fit, 40, seed=9)
    boot = csi.bootstrap(fit, 40, seed=9, progress=False, n_jobs=1)
    labels = [f"{p.target} ~ {p.source}" for p in fit.spec.paths]
    np.testing.assert_allclose(paths, boot.draws[labels].to_numpy(), rtol=0, atol=1e-10)
    ilabels = [f"{c} index {c}" for c in fit.spec.construct_names]
    np.testing.assert_allclose(index, boot.draws[ilabels].to_numpy(), rtol=0, atol=1e-8)


@pytest.mark.parametrize("method", ["pls", "plsc", "sumscore", "pca", "cbsem"])
def test_kernel_at_full_sample_moments_equals_the_fit(sample, method: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = csi.fit("ecsi", sample, method=method)
    mean, cov = moments(fit.data.X, fit.data.weights)
    paths, index = statistics(fit, mean[None], cov[None])
    expected = [fit.paths.loc[p.target, p.source] for p in fit.spec.paths]
    np.testing.assert_allclose(paths[0], expected, atol=1e-10)
    np.testing.assert_allclose(index[0], csi.compute_index(fit, negative="force").to_numpy(), atol=1e-8)


def test_kernel_rejects_other_methods(sample) -> None:
    fit = csi.fit("ecsi", sample)
    mean, cov = moments(fit.data.X, fit.data.weights)
    import dataclasses

    from csi.estimators import CBSEM

    # A fit without its estimator is rebuilt from its method name: unknown names are rejected.
    with pytest.raises(EstimationError, match="unknown method 'gsca'"):
        statistics(dataclasses.replace(fit, method="gsca", estimator=None), mean[None], cov[None])
    # The CB-SEM kernel needs the CB-SEM state of a CB-SEM fit.
    with pytest.raises(EstimationError, match="needs a method='cbsem' fit"):
        statistics(dataclasses.replace(fit, method="cbsem", estimator=CBSEM()), mean[None], cov[None])


@pytest.fixture(scope="module")
def acsi_cbsem() -> csi.FitResult:
    spec = csi.load_model("acsi")
    sim = csi.simulate(spec, 120, seed=8, population="factor", loadings=montecarlo.design_loadings(spec))
    return csi.fit(spec, sim.data, method="cbsem")


def test_cbsem_kernel_replicates_are_csi_bootstraps(acsi_cbsem) -> None:
    """Same seed: the kernel's ML replicates are csi.bootstrap's with failed="keep" (every table row and index;
    the study keeps inadmissible replicates, as it keeps inadmissible fits, and flags neither), under the
    default failed="drop" those of the inadmissible replicates only, and each replicate's standardised paths
    are those of a fresh CB-SEM fit (semopy + polish) to the resampled rows."""
    fit = acsi_cbsem
    B, seed = 70, 21  # two 64-blocks, the second partial
    paths, index = bootstrap_paths_index(fit, B, seed)
    with pytest.warns(AdmissibilityWarning):
        boot = csi.bootstrap(fit, B, seed=seed, n_jobs=1, progress=False, failed="keep")
    names = fit.spec.construct_names
    np.testing.assert_array_equal(index, boot.draws[[f"{c} index {c}" for c in names]].to_numpy())
    with pytest.warns(AdmissibilityWarning):
        dropped = csi.bootstrap(fit, B, seed=seed, n_jobs=1, progress=False)
    gone = np.isnan(dropped.draws.to_numpy()).all(axis=1)
    assert gone.sum() == dropped.n_inadmissible > 0
    np.testing.assert_array_equal(dropped.draws.to_numpy()[~gone], boot.draws.to_numpy()[~gone])
    plan = OrdinaryPlan(fit.n, B, seed)
    means, covs = moments_of(fit, plan.counts())
    res = cbsem_replicates(fit, covs)
    est, _ = fit.cbsem_state.layout.values(res.theta, fit.cbsem_state.structure)
    table = fit.parameter_table
    labels = [f"{a} {o} {b}" for a, o, b in table[["lhs", "op", "rhs"]].itertuples(index=False)]
    np.testing.assert_allclose(est, boot.draws[labels].to_numpy(), rtol=0, atol=1e-12)
    rows = plan.indices()
    for b in (0, 1):
        fresh = csi.fit(fit.spec, fit.data.to_frame().iloc[rows[b]].reset_index(drop=True), method="cbsem")
        expected = [fresh.paths.loc[p.target, p.source] for p in fit.spec.paths]
        # Both solve the same ML problem to a step < 1e-9; 1e-6 allows for the conditioning of the optimum.
        np.testing.assert_allclose(paths[b], expected, rtol=0, atol=1e-6)


def moments_of(fit: csi.FitResult, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from csi.core.moments import resample_moments

    return resample_moments(fit.data.X, counts, fit.data.weights)


def test_heywood_cases_are_inadmissible(acsi_cbsem) -> None:
    import dataclasses

    fit = acsi_cbsem
    assert montecarlo.cbsem_heywood(fit) == [] and montecarlo._status(fit) == ("ok", "")
    t = fit.parameter_table.copy()
    t.loc[(t["lhs"] == "CONFIRM") & (t["op"] == "~~"), "estimate"] = -0.1
    t.loc[(t["lhs"] == "SAT") & (t["rhs"] == "IDEAL") & (t["op"] == "=~"), "std_estimate"] = 1.02
    R = fit.construct_correlations.copy()
    R.loc["SAT", "QUAL"] = R.loc["QUAL", "SAT"] = 1.5
    bad = dataclasses.replace(fit, parameter_table=t, construct_correlations=R)
    status, message = montecarlo._status(bad)
    assert status == "inadmissible"
    assert message == (
        "Heywood case: negative variance CONFIRM; |std loading| > 1 SAT =~ IDEAL; "
        "latent correlation matrix not positive definite"
    )
    assert montecarlo._status(dataclasses.replace(fit, converged=False))[0] == "not_converged"


def test_percentile_interval_ignores_nan() -> None:
    draws = np.array([[1.0, np.nan], [2.0, np.nan], [3.0, np.nan], [np.nan, np.nan], [4.0, np.nan]])
    lo, hi = percentile_interval(draws, 0.5)
    assert lo[0] == pytest.approx(1.75) and hi[0] == pytest.approx(3.25)
    assert np.isnan(lo[1]) and np.isnan(hi[1])


def _stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["seconds", "boot_seconds"]).reset_index(drop=True)


def test_reproducible_for_any_worker_count_and_subset() -> None:
    methods = ("pls", "sumscore")
    a = run_study(methods=methods, n_jobs=1, **SMALL)
    b = run_study(methods=methods, n_jobs=2, **SMALL)
    pd.testing.assert_frame_equal(_stable(a), _stable(b))
    # Replications are keyed by content: a sub-study reproduces the same rows.
    c = run_study(methods=("sumscore",), **{**SMALL, "reps": 1})
    sub = a[(a["method"] == "sumscore") & (a["rep"] == 0)]
    pd.testing.assert_frame_equal(_stable(c), _stable(sub))
    assert set(a["status"]) == {"ok"} and a["ci_lower"].notna().all()
    assert (a["ci_lower"] <= a["ci_upper"]).all()
    # Both methods saw the same sample: sum-score index equals the classical equal-weight index of it.
    assert a.attrs["methods"] == list(methods) and a.attrs["skipped_methods"] == []


def test_true_values_come_from_the_population() -> None:
    raw = run_study(methods=("pls",), **{**SMALL, "reps": 1, "bootstrap": 0})
    spec = csi.load_model("ecsi")
    sim = csi.simulate(spec, 10, seed=0, population="composite", loadings=montecarlo.design_loadings(spec))
    paths = raw[raw["kind"] == "path"].set_index("parameter")["true"]
    pd.testing.assert_series_equal(paths, sim.paths, check_names=False)
    index = raw[raw["kind"] == "index"].set_index("parameter")["true"]
    np.testing.assert_allclose(index.to_numpy(), sim.population_index.to_numpy())
    assert raw["ci_lower"].isna().all()


@dataclass(frozen=True)
class _Failing(Estimator):
    """Stands in for an estimator that raises on every sample."""

    scaled: bool = True

    def fit(self, spec, data, *, weights=None):
        raise EstimationError("model not identified (test double)")


def test_unavailable_methods_are_skipped_with_a_warning(monkeypatch) -> None:
    monkeypatch.delitem(ESTIMATORS, "cbsem", raising=False)
    with pytest.warns(UserWarning, match="cbsem not available"):
        raw = run_study(methods=("pls", "cbsem"), **{**SMALL, "reps": 1, "bootstrap": 0})
    assert set(raw["method"]) == {"pls"} and raw.attrs["skipped_methods"] == ["cbsem"]
    with pytest.raises(CSIError, match="unknown method.*'plz'"):
        run_study(methods=("plz",), **SMALL)


def test_failed_fits_are_recorded_not_dropped(monkeypatch) -> None:
    # Once an estimator is registered under a study name it joins the study; its failures stay visible.
    monkeypatch.setitem(ESTIMATORS, "cbsem", _Failing)
    raw = run_study(methods=("sumscore", "cbsem"), **{**SMALL, "reps": 1})
    failed = raw[raw["method"] == "cbsem"]
    assert len(failed) == len(raw[raw["method"] == "sumscore"])
    assert set(failed["status"]) == {"error"} and failed["estimate"].isna().all()
    assert failed["message"].str.contains("not identified").all()
    s = summarise(raw)
    row = s[(s["method"] == "cbsem")].iloc[0]
    assert row["ok_rate"] == 0 and row["n_est"] == 0 and np.isnan(row["bias"])


def test_invalid_options() -> None:
    with pytest.raises(CSIError, match="unknown population"):
        run_study(populations=("mixed",), **{k: v for k, v in SMALL.items() if k != "populations"})
    with pytest.raises(CSIError, match="reps must be a positive integer"):
        run_study(**{**SMALL, "reps": 0})
    with pytest.raises(CSIError, match="sample sizes must be integers >= 10"):
        run_study(**{**SMALL, "ns": (5,)})


def test_summarise_metrics_by_hand() -> None:
    rows = []
    est = [0.4, 0.6, 0.7, np.nan]
    lo = [0.3, 0.55, 0.45, np.nan]
    hi = [0.6, 0.65, 0.9, np.nan]
    for r, (e, a, b) in enumerate(zip(est, lo, hi)):
        status = "ok" if r < 2 else ("inadmissible" if r == 2 else "error")
        rows.append(("m", "composite", 100, r, "x", status, "", 0.01 * (r + 1), np.nan, "path", "Y ~ X", 0.5, e, a, b))
    s = summarise(pd.DataFrame(rows, columns=montecarlo.COLUMNS)).iloc[0]
    err = np.array([-0.1, 0.1, 0.2])
    assert s["reps"] == 4 and s["n_est"] == 3 and s["ok_rate"] == 0.5
    assert s["bias"] == pytest.approx(err.mean())
    assert s["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)))
    assert s["emp_sd"] == pytest.approx(np.std([0.4, 0.6, 0.7], ddof=1))
    assert s["mcse_bias"] == pytest.approx(s["emp_sd"] / np.sqrt(3))
    assert s["rel_bias"] == pytest.approx(err.mean() / 0.5)
    assert s["n_ci"] == 3 and s["coverage"] == pytest.approx(2 / 3)  # 0.55-0.65 misses 0.5
    assert s["mcse_coverage"] == pytest.approx(np.sqrt(2 / 3 * 1 / 3 / 3))
    assert s["ci_width"] == pytest.approx(np.mean([0.3, 0.1, 0.45]))
    assert s["median_seconds"] == pytest.approx(0.025)


def test_headline_condenses_the_sat_equation() -> None:
    raw = run_study(methods=("pls", "sumscore"), **{**SMALL, "reps": 2})
    s = summarise(raw)
    h = headline(s, n=60)
    assert list(h["method"]) == ["pls", "sumscore"]
    sat = s[(s["method"] == "pls") & (s["kind"] == "path") & s["parameter"].str.startswith("SAT ~ ")]
    assert len(sat) == 4
    assert h.loc[0, "path_rmse"] == pytest.approx(sat["rmse"].mean())
    assert h.loc[0, "path_abs_bias"] == pytest.approx(sat["bias"].abs().mean())
    idx = s[(s["method"] == "pls") & (s["parameter"] == "SAT index")].iloc[0]
    assert h.loc[0, "index_rmse"] == pytest.approx(idx["rmse"])


CBSEM_SMALL = dict(models=("acsi",), populations=("common_factor",), ns=(100,), reps=2, bootstrap=20)


def test_cbsem_in_the_study_has_intervals_equal_to_direct_computation() -> None:
    """cbsem rows carry percentile intervals; replication 0's equal csi.bootstrap's (index) and those of
    fresh CB-SEM fits to the same resamples (standardised paths); serial == 2 workers."""
    a = run_study(methods=("cbsem",), n_jobs=1, **CBSEM_SMALL)
    b = run_study(methods=("cbsem",), n_jobs=2, **CBSEM_SMALL)
    pd.testing.assert_frame_equal(_stable(a), _stable(b))
    assert set(a["status"]) == {"ok"}
    ok = a["ci_lower"].notna() & (a["ci_lower"] <= a["estimate"]) & (a["estimate"] <= a["ci_upper"])
    assert ok.all()
    spec = csi.load_model("acsi")
    data_seed, boot_seed = montecarlo.replication_seed(20240601, "acsi", "common_factor", 100, 0).spawn(2)
    sim = csi.simulate(spec, 100, seed=data_seed, population="factor", loadings=montecarlo.design_loadings(spec))
    fit = csi.fit(spec, sim.data, method="cbsem")
    rep = a[a["rep"] == 0].set_index("parameter")
    labels = list(spec.path_labels())
    np.testing.assert_allclose(rep.loc[labels, "estimate"], [fit.paths.loc[p.target, p.source] for p in spec.paths])
    # The study keeps inadmissible replicates (it flags fits, not replicates): compare with failed="keep".
    boot = csi.bootstrap(fit, 20, seed=boot_seed, n_jobs=1, progress=False, failed="keep")
    constructs = [c for c in spec.construct_names if f"{c} index" in rep.index]
    lo, hi = percentile_interval(boot.draws[[f"{c} index {c}" for c in constructs]].to_numpy())
    np.testing.assert_array_equal(rep.loc[[f"{c} index" for c in constructs], "ci_lower"], lo)
    np.testing.assert_array_equal(rep.loc[[f"{c} index" for c in constructs], "ci_upper"], hi)
    rows = OrdinaryPlan(100, 20, boot_seed).indices()
    draws = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in rows:
            fresh = csi.fit(spec, sim.data.iloc[r].reset_index(drop=True), method="cbsem")
            draws.append([fresh.paths.loc[p.target, p.source] for p in spec.paths])
    lo, hi = percentile_interval(np.array(draws))
    np.testing.assert_allclose(rep.loc[labels, "ci_lower"], lo, rtol=0, atol=1e-6)
    np.testing.assert_allclose(rep.loc[labels, "ci_upper"], hi, rtol=0, atol=1e-6)
