"""missing= in csi.fit, csi.bootstrap and csi.index_panel: equivalences, diagnostics, warnings and errors."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file, satisfaction_spec

import csi
from csi.core.missing import em_moments, pairwise_moments
from csi.core.moments import cov_to_corr
from csi.data.prepare import MISSING_POLICIES
from csi.errors import DataError, EstimationError, MissingDataWarning
from csi.resample.plans import OrdinaryPlan

METHODS = ["error", "listwise", "mean", "pairwise", "em", "mi"]
ITEMS = list(satisfaction_spec().item_names)


@pytest.fixture(scope="module")
def incomplete() -> pd.DataFrame:
    """The reference file with 304 missing cells (tests/reference README section 8)."""
    return pd.read_csv(reference_file("ecsi_satisfaction_missing.csv"), index_col=0)


@pytest.fixture(scope="module")
def complete() -> pd.DataFrame:
    return pd.read_csv(reference_file("ecsi_satisfaction.csv"), index_col=0)


def _quiet_fit(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return csi.fit(*args, **kw)


def test_every_method_is_listed():
    assert list(MISSING_POLICIES) == METHODS


@pytest.mark.parametrize("method", ["pls", "plsc", "sumscore", "pca"])
@pytest.mark.parametrize("missing", METHODS)
def test_complete_data_give_the_complete_fit_exactly(complete, method, missing):
    spec = satisfaction_spec()
    base = _quiet_fit(spec, complete, method=method, missing="error")
    fit = _quiet_fit(spec, complete, method=method, missing=missing)
    for name in ("weights", "loadings", "paths", "item_means", "item_sds", "scores", "construct_correlations"):
        pd.testing.assert_series_equal(getattr(fit, name), getattr(base, name)) if isinstance(
            getattr(fit, name), pd.Series
        ) else pd.testing.assert_frame_equal(getattr(fit, name), getattr(base, name))
    pd.testing.assert_series_equal(csi.compute_index(fit), csi.compute_index(base))
    assert fit.missing_report.n_dropped == 0 and fit.missing_report.n_patterns == 1


def test_em_fit_runs_on_the_em_moments(incomplete):
    spec = satisfaction_spec()
    fit = csi.fit(spec, incomplete, missing="em")
    X = incomplete[ITEMS].to_numpy(dtype=float)
    em = em_moments(X)
    corr, sd = cov_to_corr(em.cov)
    np.testing.assert_allclose(fit.moments, corr, atol=1e-12)
    np.testing.assert_allclose(fit.item_means, em.mean, atol=1e-12)
    np.testing.assert_allclose(fit.item_sds, sd, atol=1e-12)
    assert fit.n == 250 and fit.missing_report.n_used == 250
    # Scores come from the conditional-mean completion: observed answers are used as given.
    filled = fit.missing_report.completed
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(filled[observed], X[observed])
    w = fit.weights.to_numpy() / sd
    expected = (filled - em.mean) @ (spec.block_mask * w[:, None])
    np.testing.assert_allclose(fit.scores.to_numpy(), expected, atol=1e-10)


def test_pairwise_fit_runs_on_the_pairwise_moments(incomplete):
    fit = _quiet_fit(satisfaction_spec(), incomplete, missing="pairwise")
    mean, cov, _ = pairwise_moments(incomplete[ITEMS].to_numpy(dtype=float))
    np.testing.assert_allclose(fit.moments, cov_to_corr(cov)[0], atol=1e-12)
    np.testing.assert_allclose(fit.item_means, mean, atol=1e-12)


def test_em_is_closer_to_the_complete_data_than_listwise(incomplete, complete):
    # The missing cells were deleted from the complete file under MAR (README section 8): listwise deletion
    # keeps 110 of 250 respondents and moves the paths much further than EM.
    spec = satisfaction_spec()
    full = csi.fit(spec, complete).paths.to_numpy()
    em = csi.fit(spec, incomplete, missing="em").paths.to_numpy()
    lw = _quiet_fit(spec, incomplete, missing="listwise").paths.to_numpy()
    assert np.abs(em - full).max() < 0.5 * np.abs(lw - full).max()


def test_mi_pools_by_rubins_rules_and_is_reproducible(incomplete):
    spec = satisfaction_spec()
    fit = csi.fit(spec, incomplete, missing="mi", imputations=4, mi_seed=7)
    again = csi.fit(spec, incomplete, missing="mi", imputations=4, mi_seed=7)
    parts = fit.missing_report.imputations
    assert len(parts) == 4 and fit.missing_report.mi_seed == 7
    np.testing.assert_allclose(fit.paths, sum(p.paths for p in parts) / 4, atol=1e-14)
    pd.testing.assert_frame_equal(fit.paths, again.paths)
    expected = sum(csi.compute_index(p) for p in parts) / 4
    np.testing.assert_allclose(csi.compute_index(fit), expected, atol=1e-12)
    # The imputations differ (their spread is the between-imputation variance) but keep every observed answer.
    assert np.ptp([p.paths.loc["SAT", "VAL"] for p in parts]) > 0
    other = csi.fit(spec, incomplete, missing="mi", imputations=4, mi_seed=8)
    assert not fit.paths.equals(other.paths)


def test_diagnostics_on_the_result_and_in_the_summary(incomplete):
    spec = satisfaction_spec()
    fit = csi.fit(spec, incomplete, missing="em")
    rep = fit.missing_report
    X = incomplete[ITEMS].to_numpy(dtype=float)
    np.testing.assert_allclose(rep.item_missing, np.isnan(X).mean(axis=0))
    sat = [c for c in ITEMS if c.startswith("sat")]
    assert rep.construct_missing["SAT"] == pytest.approx(np.isnan(incomplete[sat].to_numpy(dtype=float)).mean())
    assert rep.n_patterns == len({tuple(r) for r in np.isnan(X)})
    assert rep.n_input == 250 and rep.n_used == 250
    lt = rep.little
    assert lt.df > 0 and lt.chi2 > 0 and 0 <= lt.p_value < 1e-6  # MAR by construction
    text = fit.summary()
    assert "Little MCAR" in text and f"{rep.n_patterns} pattern(s)" in text and "250 of 250 respondents" in text
    assert "Missing" in fit._repr_html_()


def test_listwise_warns_when_it_drops_more_than_five_percent(incomplete):
    with pytest.warns(MissingDataWarning, match=r"left out 140 of 250 respondents \(56.0%\)"):
        fit = csi.fit(satisfaction_spec(), incomplete, missing="listwise")
    assert fit.n == 110 and fit.missing_report.n_dropped == 140
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingDataWarning)
        csi.fit(satisfaction_spec(), incomplete, missing="em")  # keeps everyone: no warning


def test_default_is_em(incomplete):
    fit = csi.fit(satisfaction_spec(), incomplete)
    assert fit.options["missing"] == "em" and fit.n == 250


def test_caller_data_not_modified(incomplete):
    before = copy.deepcopy(incomplete)
    for m in ("pairwise", "em", "mi"):
        _quiet_fit(satisfaction_spec(), incomplete, missing=m, **({"imputations": 2} if m == "mi" else {}))
    pd.testing.assert_frame_equal(incomplete, before)


def test_methods_that_cannot_run_say_why(incomplete):
    spec = satisfaction_spec()
    data = incomplete.copy()
    data["sat1"] = np.nan
    for m in ("em", "pairwise", "mi", "mean"):
        with pytest.raises(DataError, match=rf"'sat1' have no observed values, so missing='{m}' cannot run"):
            csi.fit(spec, data, missing=m)
    split = incomplete.copy()
    split.loc[split.index[:125], "sat1"] = np.nan
    split.loc[split.index[125:], "loy1"] = np.nan
    with pytest.raises(DataError, match=r"'sat1' & 'loy1' \(0\)"):
        csi.fit(spec, split, missing="em")
    with pytest.raises(EstimationError, match="imputations must be an integer >= 2"):
        csi.fit(spec, incomplete, missing="mi", imputations=1)
    with pytest.raises(EstimationError, match="does not support missing='em' on data with missing values"):
        csi.fit(spec, incomplete, method="cbsem")


def test_cbsem_accepts_the_default_on_complete_data(complete):
    fit = _quiet_fit(satisfaction_spec(), complete, method="cbsem")
    assert fit.missing_report.n_used == 250


@pytest.mark.parametrize("missing", ["em", "pairwise"])
def test_bootstrap_reruns_the_method_in_every_replicate(incomplete, missing):
    spec = satisfaction_spec()
    fit = _quiet_fit(spec, incomplete, missing=missing)
    idx = np.random.default_rng(3).integers(0, 250, size=(4, 250))
    boot = csi.bootstrap(fit, indices=idx)
    for b in range(4):
        rows = incomplete.iloc[idx[b]].reset_index(drop=True)
        one = _quiet_fit(spec, rows, missing=missing)
        np.testing.assert_allclose(boot.draws.filter(like=" ~ ").iloc[b], one.estimates.query("op == '~'")["estimate"],
                                   atol=1e-6)  # fmt: skip
        index = boot.draws[[f"{c} index {c}" for c in spec.construct_names]].iloc[b].to_numpy()
        np.testing.assert_allclose(index, csi.compute_index(one).to_numpy(), atol=1e-5)


def test_bootstrap_does_not_depend_on_chunking(incomplete):
    fit = csi.fit(satisfaction_spec(), incomplete, missing="em")
    a = csi.bootstrap(fit, 40, seed=5, chunk_size=32, n_jobs=1)
    b = csi.bootstrap(fit, 40, seed=5, chunk_size=64, n_jobs=2)
    pd.testing.assert_frame_equal(a.draws, b.draws)


def test_an_em_replicate_stopped_at_its_step_cap_counts_as_not_converged(incomplete, monkeypatch):
    """A replicate whose EM stops at REPLICATE_EM_MAX_ITER is not used as converged: dropped and counted by
    default, kept and counted with failed='keep'.  A low cap makes some of the 30 replicates hit it; which ones is
    read off the EM itself."""
    from csi.core.missing import replicate_em_moments
    from csi.core.moments import counts_from_indices
    from csi.errors import ConvergenceWarning
    from csi.estimators import missing as estimators_missing

    fit = _quiet_fit(satisfaction_spec(), incomplete, missing="em")
    idx = np.random.default_rng(3).integers(0, 250, size=(30, 250))
    cap = 21
    monkeypatch.setattr(estimators_missing, "REPLICATE_EM_MAX_ITER", cap)
    em = fit.missing_report.em
    res = replicate_em_moments(fit.data.X, counts_from_indices(idx, 250), fit.data.weights, start=(em.mean, em.cov),
                               tol=estimators_missing.REPLICATE_EM_TOL, max_iter=cap, compiled=True)  # fmt: skip
    capped = ~res.converged
    assert 0 < capped.sum() < len(idx)  # the cap splits the replicates
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        drop = csi.bootstrap(fit, indices=idx, n_jobs=1, progress=False)
    assert drop.n_not_converged == drop.n_failed == capped.sum()
    np.testing.assert_array_equal(drop.draws.isna().all(axis=1).to_numpy(), capped)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        keep = csi.bootstrap(fit, indices=idx, n_jobs=1, progress=False, failed="keep")
    assert keep.n_not_converged == capped.sum() and keep.n_failed == 0
    assert np.isfinite(keep.draws.to_numpy()).all()
    pd.testing.assert_frame_equal(keep.draws[~capped], drop.draws[~capped])


@pytest.fixture(scope="module")
def mi_fit(incomplete):
    return _quiet_fit(satisfaction_spec(), incomplete, missing="mi", imputations=3, mi_seed=1)


def test_bootstrap_of_mi_imputes_in_every_replicate(mi_fit, incomplete, monkeypatch):
    """Bootstrap, then impute (Schomaker & Heumann 2018): replicate r imputes its own rows m times from its own
    stream and averages the m fits.  With that stream set to a known seed, a replicate equals a fresh
    missing='mi' fit of the resampled rows with that seed: paths, loadings and weights (Rubin's point estimate
    of both) to 1e-8 (the imputation EM runs start elsewhere and stop within 1e-10 of the same fixed point)."""
    import csi.estimators.replicates as replicates

    rows = OrdinaryPlan(len(mi_fit.data.X), 2, 5).indices()
    monkeypatch.setattr(replicates, "mi_rng", lambda root, r: np.random.default_rng(np.random.SeedSequence(100 + r)))
    boot = csi.bootstrap(mi_fit, indices=rows, n_jobs=1, mi_interval="boot-mi")
    monkeypatch.undo()
    data = incomplete.loc[mi_fit.data.row_labels]
    for r in range(len(rows)):
        fresh = _quiet_fit(satisfaction_spec(), data.iloc[rows[r]].reset_index(drop=True), missing="mi",
                           imputations=3, mi_seed=100 + r)  # fmt: skip
        est = fresh.estimates[fresh.estimates["op"].isin(["~", "=~", "<~"])]
        labels = [f"{a} {o} {c}" for a, o, c in est[["lhs", "op", "rhs"]].itertuples(index=False)]
        np.testing.assert_allclose(boot.draws.loc[r, labels].to_numpy(float), est["estimate"], rtol=0, atol=1e-8)
    # The original of every statistic is its mean over the fit's imputations (Rubin's point estimate).
    table = boot.estimates.set_index(["lhs", "op", "rhs"])["estimate"]
    imputed = [f.estimates.set_index(["lhs", "op", "rhs"])["estimate"] for f in mi_fit.missing_report.imputations]
    np.testing.assert_allclose(table.loc[imputed[0].index], sum(imputed) / 3, rtol=0, atol=1e-12)


def test_bootstrap_of_mi_reproducible_any_jobs_and_chunks(mi_fit):
    a = csi.bootstrap(mi_fit, 18, seed=5, chunk_size=8, n_jobs=1, mi_interval="boot-mi")
    b = csi.bootstrap(mi_fit, 18, seed=5, chunk_size=64, n_jobs=2, mi_interval="boot-mi")
    assert a.draws.to_numpy().tobytes() == b.draws.to_numpy().tobytes()
    assert a.n_failed == 0 and a.estimates["se"].iloc[:5].gt(0).all()
    c = csi.bootstrap(mi_fit, 2, seed=6, n_jobs=1, mi_interval="boot-mi")
    assert not np.array_equal(a.draws.to_numpy()[:2], c.draws.to_numpy())
    with pytest.raises(EstimationError, match="imputing afresh in every replicate.*percentile"):
        _ = a.with_ci("bca").estimates
    with pytest.raises(EstimationError, match="nested bootstrap"):
        csi.bootstrap(mi_fit, 10, seed=1, ci="studentized", mi_interval="boot-mi")


def test_panel_runs_the_method_in_every_cell_and_the_national_fit():
    spec = csi.load_model("acsi")
    panel = csi.simulate_panel(spec, companies=2, respondents=120, waves=1, seed=4, industries=None, sectors=None)
    data = panel.data.copy()
    rng = np.random.default_rng(5)
    items = list(spec.item_names)
    values = data[items].to_numpy(dtype=float, copy=True)
    values[rng.random(values.shape) < 0.05] = np.nan
    data[items] = values
    res = csi.index_panel(data, spec, company="company", wave="wave", min_n=10, n_resamples=5, seed=1,
                          national_resamples=3)  # fmt: skip
    companies = res.index[(res.index["level"] == "company") & (res.index["construct"] == "SAT")]
    assert (companies["n"] == 120).all()  # em keeps every respondent who answered anything
    assert companies["index"].notna().all() and companies["ci_lower"].notna().all()
    c1 = data[data["company"] == "C001"]
    expected = csi.compute_index(csi.fit(spec, c1, missing="em"), negative="force")
    got = res.index.query("level == 'company' and unit == 'C001'").set_index("construct")["index"]
    np.testing.assert_allclose(got[expected.index], expected, atol=1e-10)
    mi = csi.index_panel(data, spec, company="company", wave="wave", min_n=10, n_resamples=5, missing="mi",
                         imputations=3, seed=1)  # fmt: skip
    assert mi.index.query("level == 'company'")["ci_lower"].notna().all()  # impute, then bootstrap (Rubin)
    with pytest.raises(EstimationError, match="missing='mi' with pooled=True cannot be bootstrapped"):
        csi.index_panel(data.assign(industry="I"), spec, company="company", wave="wave", industry="industry",
                        pooled=True, min_n=10, n_resamples=5, missing="mi")  # fmt: skip


def test_quality_criteria_needing_complete_rows_say_so(incomplete):
    from csi.quality import plspredict

    fit = csi.fit(satisfaction_spec(), incomplete, missing="em")
    with pytest.raises(EstimationError, match="needs complete item rows"):
        plspredict(fit, folds=5, seed=1)


def test_mi_standard_errors_follow_rubins_rules(incomplete):
    fit = csi.fit(satisfaction_spec(), incomplete, missing="mi", imputations=5, mi_seed=2)
    tables = [p.inner_model for p in fit.missing_report.imputations]
    pooled = fit.inner_model
    est = np.stack([t["estimate"] for t in tables])
    within = np.mean([t["std_error"] ** 2 for t in tables], axis=0)
    total = within + (1 + 1 / 5) * est.var(axis=0, ddof=1)
    np.testing.assert_allclose(pooled["estimate"], est.mean(axis=0), atol=1e-14)
    np.testing.assert_allclose(pooled["std_error"], np.sqrt(total), atol=1e-14)
    assert (pooled["std_error"] >= np.sqrt(within) - 1e-15).all()  # imputation uncertainty only adds
    sat = pooled[(pooled["lhs"] == "SAT") & (pooled["rhs"] == "VAL")]
    assert sat["estimate"].iloc[0] == pytest.approx(fit.paths.loc["SAT", "VAL"], abs=1e-12)


@pytest.mark.parametrize("missing", ["em", "pairwise"])
def test_integer_weights_count_like_duplicated_respondents(incomplete, missing):
    spec = satisfaction_spec()
    w = np.random.default_rng(4).integers(1, 4, size=len(incomplete))
    weighted = _quiet_fit(spec, incomplete, missing=missing, weights=w.astype(float))
    duplicated = _quiet_fit(spec, incomplete.loc[incomplete.index.repeat(w)], missing=missing)
    np.testing.assert_allclose(weighted.paths, duplicated.paths, atol=1e-8)
    np.testing.assert_allclose(csi.compute_index(weighted), csi.compute_index(duplicated), atol=1e-6)
    assert weighted.missing_report.weighted and np.isfinite(weighted.missing_report.little.chi2)
