"""The bootstrap of higher-order fits through the resampling driver: a loop of single fits, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hoc_population import spec, survey

import csi
from csi.resample.plans import OrdinaryPlan
from csi.spec.parameters import parameter_label

APPROACHES = ["repeated", "two-stage-embedded", "two-stage-disjoint"]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return survey(150, seed=11)


def _single_fit_values(fit: csi.FitResult) -> dict[str, float]:
    """Every statistic of a fit by its label, as a plain (unbatched) fit reports it."""
    out = {parameter_label(r.lhs, r.op, r.rhs): r.estimate for r in fit.estimates.itertuples()}
    out |= {parameter_label(c, "index", c): v for c, v in csi.compute_index(fit, negative="force").items()}
    s1 = getattr(fit, "stage1", None)
    if s1 is not None:  # the components' first-order rows come from the first stage
        for c in fit.hoc_spec.components_of("QUAL"):
            for item in s1.spec.construct(c).item_names:
                out[parameter_label(c, "=~", item)] = s1.loadings[item]
                out[parameter_label(c, "<~", item)] = s1.weights[item]
            out[parameter_label(c, "index", c)] = csi.compute_index(s1, negative="force")[c]
    return out


@pytest.mark.parametrize("approach", APPROACHES)
def test_replicates_equal_a_loop_of_single_fits(data: pd.DataFrame, approach: str) -> None:
    """Each replicate re-runs the whole approach: it equals csi.fit on the resampled rows (two ways of computing
    the same fits from the same moments, so to rounding)."""
    fit = csi.fit(spec(), data, hoc=approach)
    boot = csi.bootstrap(fit, 6, seed=3)
    plan = OrdinaryPlan(len(data), 6, 3)
    for r in range(6):
        rows = plan.indices(r, r + 1)[0]
        single = _single_fit_values(csi.fit(spec(), data.iloc[rows].reset_index(drop=True), hoc=approach))
        row = boot.draws.iloc[r]
        assert set(row.index) == set(single)
        expected = np.array([single[k] for k in row.index])
        np.testing.assert_allclose(row.to_numpy(), expected, rtol=0, atol=1e-10)


def test_two_stage_replicates_with_missing_values_equal_single_em_fits() -> None:
    """With missing cells the second stage's EM is re-run on each replicate's own score columns.  A single fit
    runs EM from scratch to its own tolerance, the replicate warm-started to 1e-8
    (csi.estimators.missing.REPLICATE_EM_TOL), so they agree to about that tolerance, not to rounding."""
    data = survey(150, seed=12, missing=0.05)
    fit = csi.fit(spec(), data, hoc="two-stage-disjoint")
    boot = csi.bootstrap(fit, 3, seed=4)
    plan = OrdinaryPlan(fit.first_order_data.X.shape[0], 3, 4)
    for r in range(3):
        rows = plan.indices(r, r + 1)[0]
        single = _single_fit_values(
            csi.fit(spec(), data.loc[fit.scores.index[rows]].reset_index(drop=True), hoc="two-stage-disjoint")
        )
        row = boot.draws.iloc[r]
        np.testing.assert_allclose(row.to_numpy(), [single[k] for k in row.index], rtol=0, atol=1e-5)


@pytest.mark.parametrize("approach", APPROACHES)
@pytest.mark.parametrize(("scaled", "missing"), [(False, 0.0), (True, 0.05), (False, 0.05)])
def test_the_identity_resample_reproduces_the_fit(approach: str, scaled: bool, missing: float) -> None:
    """The replicate whose rows are the data themselves is the fit (EM replicates stop at 1e-8, hence 1e-9)."""
    fit = csi.fit(spec(), survey(120, seed=15, missing=missing), hoc=approach, scaled=scaled)
    n = fit.data.X.shape[0]
    boot = csi.bootstrap(fit, indices=np.tile(np.arange(n), (2, 1)))
    np.testing.assert_allclose(boot.draws.to_numpy()[0], boot.layout.original, rtol=0, atol=1e-9)


def test_gaps_in_the_components_only() -> None:
    """Missing cells only among the components' items: stage 2 then has complete columns (no EM of its own),
    but each replicate's score columns still come from its own EM-completed items, as in a single fit."""
    data = survey(150, seed=14)
    loc = [c for c in data.columns if c[0] in "psd"]
    data[loc] = data[loc].mask(np.random.default_rng(2).random((len(data), len(loc))) < 0.06)
    fit = csi.fit(spec(), data, hoc="two-stage-embedded")
    assert fit.missing_report.raw is None and fit.stage1.missing_report.raw is not None
    boot = csi.bootstrap(fit, 2, seed=5)
    plan = OrdinaryPlan(len(data), 2, 5)
    for r in range(2):
        rows = plan.indices(r, r + 1)[0]
        single = _single_fit_values(csi.fit(spec(), data.iloc[rows].reset_index(drop=True), hoc="two-stage-embedded"))
        row = boot.draws.iloc[r]
        np.testing.assert_allclose(row.to_numpy(), [single[k] for k in row.index], rtol=0, atol=1e-5)


@pytest.mark.parametrize("approach", APPROACHES)
def test_byte_identical_for_workers_and_chunks(data: pd.DataFrame, approach: str) -> None:
    fit = csi.fit(spec(), data, hoc=approach)
    ref = csi.bootstrap(fit, 100, seed=9, n_jobs=1).draws.to_numpy()
    for n_jobs, chunk in ((2, None), (2, 7), (1, 64), (2, 100)):
        other = csi.bootstrap(fit, 100, seed=9, n_jobs=n_jobs, chunk_size=chunk).draws.to_numpy()
        assert np.array_equal(ref, other, equal_nan=True), (n_jobs, chunk)
    assert np.isfinite(ref).all()


def test_missing_values_byte_identical_and_intervals() -> None:
    data = survey(150, seed=13, missing=0.04)
    fit = csi.fit(spec(), data, hoc="two-stage-embedded")
    a = csi.bootstrap(fit, 70, seed=2, n_jobs=1)
    b = csi.bootstrap(fit, 70, seed=2, n_jobs=2, chunk_size=9)
    assert np.array_equal(a.draws.to_numpy(), b.draws.to_numpy(), equal_nan=True)
    est = a.with_ci("bca").estimates  # BCa runs the statistic over the jackknife plan
    est = est[est["se"] > 0]  # structural zeros (an indirect effect along no path) have no interval
    assert len(est) > 40 and np.isfinite(est[["ci_lower", "ci_upper"]].to_numpy()).all()
    labels = set(a.draws.columns)
    assert {"QUAL =~ PROD", "PROD =~ p1", "PROD index PROD", "QUAL index QUAL", "SAT ~ QUAL"} <= labels


def test_unavailable_options(data: pd.DataFrame) -> None:
    fit = csi.fit(spec(), data, hoc="two-stage-disjoint")
    with pytest.raises(csi.EstimationError, match="sign_change='construct' is not available for higher-order"):
        csi.bootstrap(fit, 10, seed=1, sign_change="construct")
    with pytest.raises(csi.EstimationError, match="studentized intervals .* not available for higher-order"):
        csi.bootstrap(fit, 10, seed=1, ci="studentized")
    flipped = csi.bootstrap(fit, 20, seed=1, sign_change="individual").draws
    plain = csi.bootstrap(fit, 20, seed=1).draws
    assert np.array_equal(np.abs(flipped.to_numpy()), np.abs(plain.to_numpy()))


def test_stacked_conditional_means_equal_one_at_a_time() -> None:
    from csi.core.missing import conditional_means, em_moments
    from csi.estimators.hoc_replicates import _conditional_means

    X = survey(80, seed=16, missing=0.1).to_numpy(copy=True)
    X[0] = np.nan  # a row with no answer: the means
    rng = np.random.default_rng(1)
    em = em_moments(X[1:])
    means = em.mean + 0.1 * rng.standard_normal((3, X.shape[1]))
    covs = np.stack([em.cov * (1 + 0.1 * k) for k in range(3)])
    got = _conditional_means(X, means, covs)
    for b in range(3):
        np.testing.assert_allclose(got[b], conditional_means(X, means[b], covs[b]), rtol=0, atol=1e-12)
