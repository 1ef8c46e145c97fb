"""Impute, then bootstrap (``mi_interval="rubin"``): Rubin's rules, the replicates, panels, a coverage check."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import mcar_mar_panel
from scipy import stats

import csi
from csi.errors import CSIError
from csi.resample.mi_boot import calibrated_draws, rubin_interval

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def incomplete(spec, n: int, seed: int, rate: float = 0.15, population: str = "factor") -> pd.DataFrame:
    """Simulated answers with MCAR cells and MAR cells (the last items go missing when the first item is low)."""
    data = csi.simulate(spec, n, seed=seed, population=population).data.copy()
    items = list(spec.item_names)
    rng = np.random.default_rng(seed + 1)
    X = data[items].to_numpy(dtype=float, copy=True)
    X[:, 1:][rng.random((n, len(items) - 1)) < rate / 2] = np.nan
    low = X[:, 0] < np.quantile(X[:, 0], 0.3)
    X[low & (rng.random(n) < 0.5), -3:] = np.nan
    data[items] = X
    return data


@pytest.fixture(scope="module")
def mi_fit():
    spec = csi.load_model("acsi")
    return csi.fit(spec, incomplete(spec, 200, 3), missing="mi", imputations=5, mi_seed=11)


def test_rubin_rules_equal_a_hand_computation():
    rng = np.random.default_rng(0)
    m, B, q = 4, 30, 3
    draws = rng.normal(size=(m, B, q)) * [1.0, 2.0, 0.5] + rng.normal(size=(m, 1, q))
    draws[1, 5, :] = np.nan  # a failed replicate is left out of its imputation's variance
    est = rng.normal(size=(m, q))
    n = 120
    got = rubin_interval(draws, est, 0.9, n_com=n - 1)
    for j in range(q):
        Wk = [np.var(draws[k, ~np.isnan(draws[k, :, j]), j], ddof=1) for k in range(m)]
        Wbar = sum(Wk) / m
        qbar = sum(est[:, j]) / m
        Bv = sum((e - qbar) ** 2 for e in est[:, j]) / (m - 1)
        T = Wbar + (1 + 1 / m) * Bv
        gamma = (1 + 1 / m) * Bv / T
        nu_old = (m - 1) / gamma**2
        nu_com = n - 1
        nu_obs = (nu_com + 1) / (nu_com + 3) * nu_com * (1 - gamma)
        nu = 1 / (1 / nu_old + 1 / nu_obs)
        half = stats.t.ppf(0.95, nu) * np.sqrt(T)
        assert got["estimate"][j] == pytest.approx(qbar, rel=1e-12)
        assert got["se"][j] == pytest.approx(np.sqrt(T), rel=1e-12)
        assert got["df"][j] == pytest.approx(nu, rel=1e-12)
        assert got["ci_lower"][j] == pytest.approx(qbar - half, rel=1e-12)
        assert got["ci_upper"][j] == pytest.approx(qbar + half, rel=1e-12)
        assert got["p_value"][j] == pytest.approx(2 * stats.t.sf(abs(qbar) / np.sqrt(T), nu), rel=1e-10)


def test_calibrated_draws_have_rubins_total_variance():
    rng = np.random.default_rng(1)
    draws = rng.normal(size=(5, 200, 2)) + rng.normal(size=(5, 1, 2))
    est = rng.normal(size=(5, 2))
    r = rubin_interval(draws, est)
    cal = calibrated_draws(draws, r)
    assert cal.shape == (200, 2)
    assert np.std(cal, axis=0, ddof=1) == pytest.approx(r["se"], rel=1e-12)
    assert cal.mean(axis=0) == pytest.approx(r["estimate"], rel=1e-12)


def test_every_replicate_is_a_fresh_fit_of_a_completed_data_set(mi_fit):
    rows = np.random.default_rng(5).integers(0, mi_fit.n, size=(3, mi_fit.n))
    boot = csi.bootstrap(mi_fit, seed=1, indices=rows, mi_interval="rubin", n_jobs=1, progress=False)
    m = len(mi_fit.missing_report.imputed)
    assert boot.ci == "rubin" and boot.n_imputations == m and boot.n_resamples == 3 and len(boot.draws) == 3 * m
    spec = mi_fit.spec
    cols = [f"{p.target} ~ {p.source}" for p in spec.paths]
    for k in (0, m - 1):
        Xk = mi_fit.missing_report.imputed[k]
        for r in range(3):
            # Imputed values are not rounded and may leave the response scale, which paths do not use.
            wide = spec.with_scale(-1e6, 1e6)
            fresh = csi.fit(wide, pd.DataFrame(Xk[rows[r]], columns=spec.item_names))
            want = [fresh.paths.loc[p.target, p.source] for p in spec.paths]
            np.testing.assert_allclose(boot.draws[cols].to_numpy()[k * 3 + r], want, rtol=0, atol=1e-9)


def test_a_quantity_nothing_moves_gets_a_point_interval():
    """T = 0 (a fixed loading, an indirect effect along no path): the interval is the point, not NaN, so the
    summary leaves it out as fixed like every other interval type."""
    draws = np.zeros((3, 10, 2))
    draws[..., 1] = np.random.default_rng(1).normal(size=(3, 10))
    got = rubin_interval(draws, np.array([[0.0, 0.1], [0.0, 0.2], [0.0, 0.3]]), 0.95, n_com=99)
    assert got["se"][0] == 0 and got["ci_lower"][0] == 0 and got["ci_upper"][0] == 0
    assert got["ci_lower"][1] < 0.2 < got["ci_upper"][1]


def test_rubin_bootstrap_does_not_depend_on_chunks_threads_or_scheduler(mi_fit):
    a = csi.bootstrap(mi_fit, 64, seed=3, mi_interval="rubin", n_jobs=1, progress=False)
    b = csi.bootstrap(mi_fit, 64, seed=3, mi_interval="rubin", n_jobs=2, chunk_size=16, progress=False)
    c = csi.bootstrap(mi_fit, 64, seed=3, mi_interval="rubin", scheduler="serial", progress=False)
    for other in (b, c):
        assert np.array_equal(a.draws.to_numpy(), other.draws.to_numpy(), equal_nan=True)
    est = a.estimates
    varies = est["se"] > 1e-12  # fixed quantities (a single item's loading) have no spread
    assert list(est.columns[-1:]) == ["df_rubin"] and varies.sum() > 40
    assert (est["ci_lower"] < est["ci_upper"])[varies].all()
    # The point estimate is Rubin's: the mean of the imputations' estimates.
    assert np.allclose(est["estimate"], a.imputation_estimates.mean(axis=0), rtol=0, atol=1e-12)
    ind = a.indirect_effects  # products per imputation, then Rubin's rules
    assert ind["se"].gt(0).all() and ind["ci_lower"].lt(ind["ci_upper"]).all()
    assert "Intervals    rubin" in a.summary()
    pooled = a.with_ci("percentile").estimates  # other interval types summarise the pooled draws
    assert np.isfinite(pooled["ci_lower"]).all()


def test_failed_resamples_are_counted_once_not_once_per_imputation(mi_fit, monkeypatch):
    """A failed resample blanks its replicate in every imputation; n_failed counts it once, as n_not_converged
    does.  Every fourth replicate is forced not to converge."""
    from csi.errors import ConvergenceWarning
    from csi.resample.mi_boot import ImputedStatistic

    real = ImputedStatistic.evaluate

    def evaluate(self, plan, a, b, out=None):
        stats, conv, extra = real(self, plan, a, b, out)
        return stats, conv & (np.arange(a, b) % 4 != 0), extra

    monkeypatch.setattr(ImputedStatistic, "evaluate", evaluate)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        boot = csi.bootstrap(mi_fit, 12, seed=2, mi_interval="rubin", n_jobs=1, progress=False)
    m = boot.n_imputations
    assert m > 1 and len(boot.draws) == 12 * m
    assert boot.n_not_converged == boot.n_failed == 3
    blank = boot.draws.isna().all(axis=1).to_numpy().reshape(m, 12)
    assert (blank == (np.arange(12) % 4 == 0)).all()  # the same resamples blanked in every imputation
    assert boot.replicate_draws.isna().all(axis=1).sum() == 3


def test_an_explicit_percentile_interval_is_kept_on_a_rubin_bootstrap(mi_fit):
    """ci=None is the fit's default (rubin for a Rubin bootstrap, percentile otherwise); ci='percentile' given
    explicitly summarises the imputations' pooled draws."""
    default = csi.bootstrap(mi_fit, 20, seed=4, n_jobs=1, progress=False)
    explicit = csi.bootstrap(mi_fit, 20, seed=4, ci="percentile", n_jobs=1, progress=False)
    assert default.ci == "rubin" and explicit.ci == "percentile"
    assert np.array_equal(default.draws.to_numpy(), explicit.draws.to_numpy(), equal_nan=True)
    pd.testing.assert_frame_equal(explicit.estimates, default.with_ci("percentile").estimates)
    assert "df_rubin" in default.estimates.columns and "df_rubin" not in explicit.estimates.columns
    D = explicit.draws.to_numpy()
    np.testing.assert_allclose(explicit.estimates["ci_upper"], np.nanquantile(D, 0.975, axis=0), rtol=1e-12)
    spec = csi.load_model("acsi")
    em = csi.fit(spec, incomplete(spec, 150, 4), missing="em")
    assert csi.bootstrap(em, 5, seed=1, n_jobs=1, progress=False).ci == "percentile"


def test_completed_fits_keep_the_imputations_tables_unbuilt(mi_fit):
    """completed_fits swaps the data of every imputation's fit without building its deferred tables (the
    imputations of an mi fit made here get lazy fits of their completed data sets)."""
    import dataclasses

    from csi.resample.mi_boot import completed_fits
    from csi.results.frozen import Deferred, replace

    def unbuilt(fit):
        return {f.name for f in dataclasses.fields(fit) if type(object.__getattribute__(fit, f.name)) is Deferred}

    report = mi_fit.missing_report
    wide = mi_fit.spec.with_scale(-1e6, 1e6)  # imputed values may leave the response scale
    lazy = tuple(csi.fit(wide, pd.DataFrame(Xk, columns=wide.item_names)) for Xk in report.imputed)
    before = [unbuilt(f) for f in lazy]
    assert all({"scores", "cross_loadings", "paths"} <= b for b in before)
    fit = replace(mi_fit, missing_report=dataclasses.replace(report, imputations=lazy))
    out = completed_fits(fit)
    assert [unbuilt(f) for f in out] == before == [unbuilt(f) for f in lazy]
    for f, Xk in zip(out, report.imputed, strict=True):
        assert f.data.X is Xk and f.data.raw is None


def test_bad_mi_interval_requests_are_errors(mi_fit):
    with pytest.raises(CSIError, match="unknown mi_interval 'x'"):
        csi.bootstrap(mi_fit, 5, seed=1, mi_interval="x")
    spec = csi.load_model("acsi")
    em = csi.fit(spec, incomplete(spec, 150, 4), missing="em")
    with pytest.raises(CSIError, match="applies to missing='mi' fits"):
        csi.bootstrap(em, 5, seed=1, mi_interval="rubin")
    with pytest.raises(CSIError, match="ci='rubin' needs"):
        csi.bootstrap(em, 5, seed=1).with_ci("rubin")
    with pytest.raises(CSIError, match="no nested bootstrap"):
        csi.bootstrap(mi_fit, 5, seed=1, mi_interval="rubin", inner_resamples=25)


def test_rubin_intervals_cover_about_95_percent():
    """Small Monte-Carlo sanity check: ACSI composite population (where PLS is consistent), n = 200, MCAR and MAR
    cells as above, m = 5, B = 60.  Over 30 samples x every path and index (450 intervals, correlated within a
    sample) the share of 95 % intervals covering the population value must lie in [0.88, 0.995]; measured 0.933
    (with the within-imputation variance alone 0.913, so the band guards against gross errors in the standard
    error, such as a variance used as a standard deviation, not against the small between-imputation term)."""
    spec = csi.load_model("acsi")
    hits = []
    for s in range(30):
        sim = csi.simulate(spec, 200, seed=100 + s, population="composite")
        data = incomplete(spec, 200, 100 + s, population="composite")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = csi.fit(spec, data, missing="mi", imputations=5, mi_seed=s)
            est = csi.bootstrap(fit, 60, seed=s, mi_interval="rubin", n_jobs=1, progress=False).estimates
        paths = est[est["op"] == "~"].set_index(["lhs", "rhs"])
        for p in spec.paths:
            row = paths.loc[(p.target, p.source)]
            hits.append(row["ci_lower"] <= sim.paths.loc[f"{p.target} ~ {p.source}"] <= row["ci_upper"])
        index = est[est["op"] == "index"].set_index("lhs")
        for c in spec.construct_names:
            if np.isfinite(sim.population_index[c]):
                hits.append(index.loc[c, "ci_lower"] <= sim.population_index[c] <= index.loc[c, "ci_upper"])
    assert 0.88 <= np.mean(hits) <= 0.995


@pytest.fixture(scope="module")
def mi_panel() -> pd.DataFrame:
    """Three companies x two waves of 70 ACSI respondents with MCAR cells and MAR cells."""
    return mcar_mar_panel(70, seed=31, missing_seed=32, mcar=0.05)


PANEL = dict(company="company", wave="wave", missing="mi", n_resamples=30, min_n=30, seed=5, imputations=4)


def test_panel_mi_bootstrap_is_reproducible_whatever_the_workers(mi_panel):
    a = csi.index_panel(mi_panel, "acsi", **PANEL, n_jobs=1, scheduler="serial")
    b = csi.index_panel(mi_panel, "acsi", **PANEL, n_jobs=2, scheduler="processes")
    for name in ("index", "changes", "estimates"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    companies = a.index[a.index["level"] == "company"]
    assert companies["se"].gt(0).all() and companies["ci_lower"].lt(companies["ci_upper"]).all()
    # Changes of unflagged cells get tests (a cell is flagged when any imputation has a negative outer weight).
    assert a.changes["p_value"].notna().sum() >= 6
    # The national fit's paths get Rubin's intervals too.
    national = a.estimates[(a.estimates["level"] == "national") & (a.estimates["op"] == "~")]
    assert len(national) and national["ci_lower"].lt(national["ci_upper"]).all()


def test_panel_mi_cell_equals_a_fresh_fit_and_bootstrap_of_the_cell(mi_panel):
    from csi.index.cells import CellTask, cell_seed, mi_options

    # ci="logit": the company SE is the SD of the Rubin-calibrated replicates (logit_tr would drop runaways).
    res = csi.index_panel(mi_panel, "acsi", **PANEL, ci="logit", n_jobs=1, scheduler="serial")
    spec = csi.load_model("acsi")
    entropy = res.manifest["seed"]
    unit, wave = str(mi_panel["company"].iloc[0]), str(mi_panel["wave"].iloc[0])
    cell = mi_panel[(mi_panel["company"].astype(str) == unit) & (mi_panel["wave"].astype(str) == wave)]
    task = CellTask(level="company", unit=unit, wave=wave, spec=spec, data=cell, weight=None, min_n=30, n_resamples=30,
                    entropy=entropy, method="pls", fit_options={"missing": "mi", "imputations": 4}, ci="percentile",
                    conf_level=0.95)  # fmt: skip
    fit = csi.fit(spec, cell, **mi_options(task))
    boot = csi.bootstrap(fit, 30, seed=cell_seed(entropy, "company", unit, wave), mi_interval="rubin", n_jobs=1,
                         progress=False)  # fmt: skip
    row = res.index[(res.index["level"] == "company") & (res.index["unit"].astype(str) == unit)
                    & (res.index["wave"].astype(str) == wave) & (res.index["construct"] == "SAT")].iloc[0]  # fmt: skip
    assert row["index"] == pytest.approx(csi.compute_index(fit)["SAT"], rel=1e-12)
    assert row["se"] == pytest.approx(boot.rubin["se"][list(boot.draws.columns).index("SAT index SAT")], rel=1e-9)


@pytest.mark.parametrize("ci", ["logit_t", "logit_tr"])
def test_panel_mi_cells_take_rubins_degrees_of_freedom_unstretched(mi_panel, ci):
    """A missing='mi' company's logit-t interval: its Rubin-calibrated replicates as they are (not stretched by
    sqrt(n/(n-1))) and the Barnard-Rubin df of its index, not n - 1 (csi.index.panel._company)."""
    from csi.index.cells import CellTask, cell_seed, mi_options
    from csi.index.logit import logit_interval
    from csi.index.small_sample import replicate_se

    res = csi.index_panel(mi_panel, "acsi", **PANEL, ci=ci, n_jobs=1, scheduler="serial")
    spec = csi.load_model("acsi")
    entropy = res.manifest["seed"]
    checked = 0
    for unit, wave in [(u, w) for u in mi_panel["company"].astype(str).unique()[:2] for w in ("1", "2")]:
        sel = (mi_panel["company"].astype(str) == unit) & (mi_panel["wave"].astype(str) == wave)
        if not sel.any():
            continue
        cell = mi_panel[sel]
        task = CellTask(level="company", unit=unit, wave=wave, spec=spec, data=cell, weight=None, min_n=30,
                        n_resamples=30, entropy=entropy, method="pls", fit_options={"missing": "mi", "imputations": 4},
                        ci=ci, conf_level=0.95)  # fmt: skip
        fit = csi.fit(spec, cell, **mi_options(task))
        boot = csi.bootstrap(fit, 30, seed=cell_seed(entropy, "company", unit, wave), mi_interval="rubin", n_jobs=1,
                             progress=False)  # fmt: skip
        rows = res.index[(res.index["level"] == "company") & (res.index["unit"].astype(str) == unit)
                         & (res.index["wave"].astype(str) == wave)].set_index("construct")  # fmt: skip
        if rows["se"].isna().any():  # a flagged cell
            continue
        cols = [f"{c} index {c}" for c in spec.construct_names]
        pos = [list(boot.draws.columns).index(c) for c in cols]
        draws = boot.replicate_draws[cols].to_numpy()
        nu = boot.rubin["df"][pos]
        if ci == "logit_tr":  # each completed data set's mixed-sign replicates refilled, then Rubin's rules
            from csi.index.small_sample import refill_mixed_signs
            from csi.resample.mi_boot import calibrated_draws, rubin_interval

            refill = np.random.default_rng(cell_seed(entropy, "refill", "company", unit, wave))
            m = boot.n_imputations
            D = boot.draws.to_numpy().reshape(m, 30, -1)[:, :, pos].copy()
            for k in range(m):
                D[k] = refill_mixed_signs(D[k], boot.draws.iloc[30 * k : 30 * (k + 1)], spec, refill)
            rub = rubin_interval(D, boot.imputation_estimates[:, pos], 0.95, n_com=fit.n - 1)
            draws, nu = calibrated_draws(D, rub), rub["df"]
        se = replicate_se(draws, ci == "logit_tr")
        assert (nu < len(cell) - 1).all()  # Barnard-Rubin df are below the complete-data n - 1
        est = rows.loc[list(spec.construct_names), "index"].to_numpy()
        nu = 1 / (1 / nu + 1 / (30 - 1))  # the resampling term of the 30 calibrated replicates (monte_carlo_df)
        lo, hi = logit_interval(est, se, 0.95, stats.t.ppf(0.975, nu))
        np.testing.assert_allclose(rows.loc[list(spec.construct_names), "se"], se, rtol=1e-9)
        np.testing.assert_allclose(rows.loc[list(spec.construct_names), "ci_lower"], lo, rtol=1e-9)
        np.testing.assert_allclose(rows.loc[list(spec.construct_names), "ci_upper"], hi, rtol=1e-9)
        checked += 1
    assert checked >= 2


def test_panel_mi_refuses_pooled_bootstrap(mi_panel):
    data = mi_panel.assign(industry="I1")
    with pytest.raises(CSIError, match="pooled=True cannot be bootstrapped"):
        csi.index_panel(data, "acsi", **PANEL, industry="industry", pooled=True)
