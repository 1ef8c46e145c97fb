"""Panel index production (csi.index_panel): arithmetic by hand, reproducibility, suppression, changes, errors."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import csi
from csi.errors import DataError, EstimationError
from csi.index.cells import cell_seed
from csi.index.compute import unstandardised_weights
from csi.index.result import COLUMNS
from csi.index.significance import interval_pvalue
from csi.resample.intervals import bootstrap_se, percentile_ci

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::csi.ConvergenceWarning")

B = 60
SEED = 11


@pytest.fixture(scope="module")
def panel() -> csi.SimulatedPanel:
    # C006 has 25 respondents per wave: below min_n=40, so it is suppressed.
    return csi.simulate_panel("acsi", companies=6, respondents=[120, 120, 120, 120, 120, 25], waves=2, seed=4,
                              industries=3, sectors=2)  # fmt: skip


def run(panel: csi.SimulatedPanel, **kw) -> csi.PanelIndexResult:
    opts = dict(company="company", wave="wave", industry="industry", sector="sector", unit_weights=panel.unit_weights,
                min_n=40, n_resamples=B, seed=SEED, national_resamples=30, ci="percentile",
                change_basis="published")  # fmt: skip
    return csi.index_panel(panel.data, "acsi", **{**opts, **kw})


@pytest.fixture(scope="module")
def result(panel: csi.SimulatedPanel) -> csi.PanelIndexResult:
    return run(panel)


def _company_fit(panel, company, wave):
    rows = panel.data[(panel.data["company"] == company) & (panel.data["wave"] == wave)]
    return csi.fit("acsi", rows, missing="listwise")


def test_tables_have_exactly_the_contract_columns(result):
    for name, cols in COLUMNS.items():
        assert tuple(getattr(result, name).columns) == cols, name
    assert set(result.index["level"]) == {"company", "industry", "sector", "national"}
    assert set(result.estimates["level"]) == {"company", "national"}


def test_company_index_is_the_cell_fit_index_with_its_own_bootstrap(panel, result):
    fit = _company_fit(panel, "C002", 2)
    expected = csi.compute_index(fit, negative="force")
    got = result.index.query("level == 'company' and unit == 'C002' and wave == '2'").set_index("construct")
    np.testing.assert_allclose(got.loc[list(expected.index), "index"], expected, rtol=0, atol=1e-12)
    boot = csi.bootstrap(fit, B, seed=cell_seed(SEED, "company", "C002", "2"), n_jobs=1)
    draws = boot.draws[[f"{c} index {c}" for c in expected.index]].to_numpy()
    np.testing.assert_allclose(got.loc[list(expected.index), "se"], bootstrap_se(draws), rtol=0, atol=1e-12)
    lo, hi = percentile_ci(draws, level=0.95)
    np.testing.assert_allclose(got.loc[list(expected.index), "ci_lower"], lo, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.loc[list(expected.index), "ci_upper"], hi, rtol=0, atol=1e-12)
    assert (got["n"] == fit.n).all()


def test_aggregation_arithmetic_by_hand(panel, result):
    """Industry = revenue-weighted mean of its unsuppressed, unflagged companies; sector and nation likewise, per
    replicate too (this panel has one flagged cell, C005 in wave 1)."""
    uw = {(lv, u, str(w)): x for lv, u, w, x in panel.unit_weights.itertuples(index=False)}
    data = panel.data
    sat = result.index[result.index["construct"] == "SAT"].set_index(["level", "unit", "wave"])["index"]
    draws: dict[tuple[str, str, str], np.ndarray] = {}
    for wave in ("1", "2"):
        ind_val, ind_draw = {}, {}
        for ind in sorted(data["industry"].unique()):
            comps = sorted(data.loc[data["industry"] == ind, "company"].unique())
            comps = [c for c in comps if c != "C006"]  # suppressed
            fits = {c: _company_fit(panel, c, int(wave)) for c in comps}
            # flagged cells (negative unstandardised weight, no convergence) stay out under the default policy
            comps = [c for c in comps if fits[c].converged and not (unstandardised_weights(fits[c]) < 0).any()]
            a = np.array([uw[("company", c, wave)] for c in comps])
            a = a / a.sum()
            vals, ds = [], []
            for c in comps:
                fit = fits[c]
                vals.append(csi.compute_index(fit, negative="force")["SAT"])
                boot = csi.bootstrap(fit, B, seed=cell_seed(SEED, "company", c, wave), n_jobs=1)
                ds.append(boot.draws["SAT index SAT"].to_numpy())
            ind_val[ind] = float(a @ np.array(vals))
            ind_draw[ind] = a @ np.array(ds)
            assert sat[("industry", ind, wave)] == pytest.approx(ind_val[ind], abs=1e-10)
        sec_val, sec_draw = {}, {}
        for sec in sorted(data["sector"].unique()):
            inds = sorted(data.loc[data["sector"] == sec, "industry"].unique())
            b = np.array([uw[("industry", i, wave)] for i in inds])
            b = b / b.sum()
            sec_val[sec] = float(b @ np.array([ind_val[i] for i in inds]))
            sec_draw[sec] = b @ np.array([ind_draw[i] for i in inds])
            assert sat[("sector", sec, wave)] == pytest.approx(sec_val[sec], abs=1e-10)
        g = np.array([uw[("sector", s, wave)] for s in sorted(sec_val)])
        g = g / g.sum()
        nat = float(g @ np.array([sec_val[s] for s in sorted(sec_val)]))
        assert sat[("national", "national", wave)] == pytest.approx(nat, abs=1e-10)
        draws[("national", "national", wave)] = g @ np.array([sec_draw[s] for s in sorted(sec_val)])
    row = result.index.query("level == 'national' and wave == '1' and construct == 'SAT'").iloc[0]
    assert row["se"] == pytest.approx(float(bootstrap_se(draws[("national", "national", "1")])), abs=1e-10)
    ch = result.changes.query("level == 'national' and construct == 'SAT'").iloc[0]
    diff = draws[("national", "national", "2")] - draws[("national", "national", "1")]
    lo, hi = percentile_ci(diff, level=0.95)
    assert (ch["ci_lower"], ch["ci_upper"]) == pytest.approx((float(lo), float(hi)), abs=1e-10)
    # p-value: the inversion of the percentile interval of the differences (csi.index.significance)
    assert ch["p_value"] == pytest.approx(float(interval_pvalue("percentile", diff[:, None], [0.0])[0]), abs=1e-12)
    assert ch["significant"] == (lo > 0 or hi < 0) == (ch["p_value"] < 0.05)


def test_units_table_weights_sum_to_one_within_parent(result):
    u = result.units[result.units["status"] == "ok"].dropna(subset=["parent"])
    sums = u.groupby(["level", "parent", "wave"])["weight"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    nat = result.units[result.units["level"] == "national"]
    assert nat["parent"].isna().all() and nat["parent_level"].isna().all()


def test_suppressed_cells_are_reported_not_dropped(result):
    rows = result.index.query("level == 'company' and unit == 'C006'")
    assert len(rows) == 2 * 6  # two waves x six constructs
    assert rows["index"].isna().all() and rows["se"].isna().all() and (rows["n"] == 25).all()
    status = result.units.query("level == 'company' and unit == 'C006'")
    assert (status["status"] == "suppressed").all() and status["weight"].isna().all()
    assert result.manifest["counts"]["suppressed"] == 2
    ch = result.changes.query("level == 'company' and unit == 'C006'")
    assert ch["change"].isna().all() and not ch["significant"].any()
    assert not (result.estimates["unit"] == "C006").any()


def test_change_arithmetic(result):
    idx = result.index.set_index(["level", "unit", "wave", "construct"])["index"]
    for r in result.changes.dropna(subset=["change"]).itertuples():
        expected = idx[(r.level, r.unit, r.wave_to, r.construct)] - idx[(r.level, r.unit, r.wave_from, r.construct)]
        assert r.change == pytest.approx(expected, abs=1e-12)
        assert r.significant == (r.ci_lower > 0 or r.ci_upper < 0) == (r.p_value < 0.05)
        assert r.ci_lower <= r.ci_upper


def test_serial_equals_parallel_and_reruns_are_byte_identical(panel, result, tmp_path):
    result.write(tmp_path / "a")
    run(panel).write(tmp_path / "b")
    run(panel, n_jobs=2).write(tmp_path / "c")
    for name in [*(f"{t}.csv" for t in COLUMNS), "manifest.json"]:
        a = (tmp_path / "a" / name).read_bytes()
        assert a == (tmp_path / "b" / name).read_bytes(), name
        assert a == (tmp_path / "c" / name).read_bytes(), name


def test_cell_results_do_not_depend_on_other_cells(panel, result):
    """A company's numbers depend only on its rows, the seed and its identity: drop another company, same values."""
    data = panel.data[panel.data["company"] != "C003"]
    uw = panel.unit_weights[panel.unit_weights["unit"] != "C003"]
    other = csi.index_panel(data, "acsi", company="company", wave="wave", industry="industry", sector="sector",
                            unit_weights=uw, min_n=40, n_resamples=B, seed=SEED, national_fit=False, ci="percentile")  # fmt: skip
    a = result.index.query("level == 'company' and unit == 'C001'").reset_index(drop=True)
    b = other.index.query("level == 'company' and unit == 'C001'").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_write_and_read_round_trip(result, tmp_path):
    result.write(tmp_path)
    back = csi.read_panel_result(tmp_path)
    for name in COLUMNS:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(result, name), check_exact=True)
    assert back.manifest == result.manifest
    back = csi.read_panel_result(tmp_path, format="csv")  # the CSV copy reads back the same too
    for name in COLUMNS:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(result, name), check_exact=False, rtol=1e-15)


def test_manifest_records_provenance(result, panel):
    m = result.manifest
    assert m["seed"] == SEED and m["model"]["name"] == "ACSI" and len(m["data_hash"]) == 64
    assert m["options"]["n_resamples"] == B and m["counts"]["cells"] == 12
    assert set(m["versions"]) >= {"csi", "numpy", "pandas", "scipy", "python"}
    changed = panel.data.copy()
    changed.loc[0, "SATIS"] = 1 if changed.loc[0, "SATIS"] != 1 else 2
    from csi.index.panel import data_hash

    cols = ["company", "wave", "industry", "sector", *csi.load_model("acsi").item_names]
    assert data_hash(changed, cols) != data_hash(panel.data, cols) == m["data_hash"]


def test_national_estimates_come_from_a_pooled_fit(panel, result):
    rows = panel.data[panel.data["wave"] == 1]
    fit = csi.fit("acsi", rows, missing="listwise")
    est = result.estimates.query("level == 'national' and wave == '1' and op == '~'")
    expected = fit.estimates[fit.estimates["op"] == "~"]["estimate"].to_numpy()
    np.testing.assert_allclose(est["estimate"], expected, atol=1e-12)
    assert (est["ci_lower"] <= est["estimate"]).all() and (est["estimate"] <= est["ci_upper"]).all()
    imp = result.impacts.query("level == 'national' and wave == '1'")
    pd.testing.assert_frame_equal(imp[["driver", "target", "impact", "performance"]].reset_index(drop=True),
                                  csi.impacts(fit))  # fmt: skip
    assert {"cronbach_alpha", "rho_a", "rho_c", "ave", "r2"} == set(result.quality["criterion"])


def test_hierarchy_without_sectors_or_industries(panel):
    uw = panel.unit_weights[panel.unit_weights["level"] != "sector"]
    r = csi.index_panel(panel.data, "acsi", company="company", wave="wave", industry="industry", unit_weights=uw,
                        min_n=40, n_resamples=0, national_fit=False)  # fmt: skip
    assert set(r.index["level"]) == {"company", "industry", "national"}
    assert set(r.units.query("level == 'industry'")["parent_level"]) == {"national"}
    assert r.index["se"].isna().all()
    flat = csi.index_panel(panel.data, "acsi", company="company", wave="wave", min_n=40, n_resamples=0,
                           national_fit=False)  # fmt: skip
    assert set(flat.index["level"]) == {"company", "national"}
    comp = flat.index.query("level == 'company' and wave == '1' and construct == 'SAT'").set_index("unit")["index"]
    ok = flat.units.query("level == 'company' and wave == '1' and status == 'ok'")["unit"]
    assert len(ok) < comp.notna().sum()  # C005 is flagged (negative weight): indexed but left out of the mean
    nat = flat.index.query("level == 'national' and wave == '1' and construct == 'SAT'")["index"].iloc[0]
    assert nat == pytest.approx(comp[ok].mean(), abs=1e-12)  # no unit weights: equal weights
    assert flat.manifest["options"]["unit_weights"] == "equal"


def test_pooled_company_index_uses_pooled_weights_and_company_means(panel):
    r = csi.index_panel(panel.data, "acsi", company="company", wave="wave", industry="industry", sector="sector",
                        unit_weights=panel.unit_weights, min_n=40, n_resamples=30, seed=2, pooled=True,
                        national_fit=False)  # fmt: skip
    rows = panel.data[(panel.data["industry"] == "I01") & (panel.data["wave"] == 1)]
    fit = csi.fit("acsi", rows, missing="listwise")
    u = csi.index.unstandardised_weights(fit)
    own = rows[rows["company"] == "C001"]
    spec = fit.spec
    sat = [i.name for i in spec.construct("SAT").items]
    expected = 100 * (u[sat] @ own[sat].mean() - u[sat].sum() * 1) / (u[sat].sum() * 9)
    got = r.index.query("level == 'company' and unit == 'C001' and wave == '1' and construct == 'SAT'").iloc[0]
    assert got["index"] == pytest.approx(expected, abs=1e-10)
    assert got["ci_lower"] < got["index"] < got["ci_upper"]
    assert set(r.estimates["level"]) == {"industry"}
    par = csi.index_panel(panel.data, "acsi", company="company", wave="wave", industry="industry", sector="sector",
                          unit_weights=panel.unit_weights, min_n=40, n_resamples=30, seed=2, pooled=True,
                          national_fit=False, n_jobs=2)  # fmt: skip
    for name in COLUMNS:
        pd.testing.assert_frame_equal(getattr(par, name), getattr(r, name), check_exact=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(company="firm"), "company column 'firm'"),
        (dict(wave="year"), "wave column 'year'"),
        (dict(industry="SATIS"), "items of model"),
        (dict(min_n=0), "min_n"),
        (dict(ci="studentized"), "interval type"),
        (dict(pooled=True, industry=None, sector=None), "needs the industry column"),
    ],
)
def test_bad_options_name_what_is_wrong(panel, kwargs, match):
    with pytest.raises((DataError, EstimationError), match=match):
        run(panel, **kwargs)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda uw: uw[~((uw["unit"] == "I02") & (uw["wave"] == 2))], "no unit weight for industry 'I02' in wave '2'"),
        (lambda uw: pd.concat([uw, uw.iloc[[3]]]), "company 'C004' in wave '1' more than one weight"),
        (lambda uw: uw.assign(level=uw["level"].replace("sector", "segment")), "unknown level.*'segment'"),
        (lambda uw: uw.assign(weight=uw["weight"].where(uw["unit"] != "C002", -1.0)), "C002.*positive"),
        (lambda uw: uw.drop(columns="wave"), "lacks column.*'wave'"),
    ],
)
def test_unit_weight_errors_name_the_unit(panel, change, match):
    with pytest.raises(DataError, match=match):
        run(panel, unit_weights=change(panel.unit_weights.copy()), n_resamples=0)


def test_company_in_two_industries_is_an_error(panel):
    data = panel.data.copy()
    data.loc[data.index[0], "industry"] = "I03"
    with pytest.raises(DataError, match="company 'C001' belongs to more than one industry in wave '1'"):
        csi.index_panel(data, "acsi", company="company", wave="wave", industry="industry", n_resamples=0)


def test_missing_codes_and_reverse_items_are_honoured():
    """Item metadata flow through csi.data.prepare: 99 = refused is missing (listwise), reverse items recoded."""
    spec = csi.load_model("acsi")
    p = csi.simulate_panel(spec, companies=2, respondents=80, waves=1, seed=9, industries=None, sectors=None)
    data = p.data.copy()
    data.loc[data.index[:5], "SATIS"] = 99
    constructs = tuple(
        replace(c, items=tuple(replace(i, missing_codes=(99,)) if i.name == "SATIS" else i for i in c.items))
        for c in spec.constructs
    )
    coded = replace(spec, constructs=constructs)
    r = csi.index_panel(data, coded, company="company", wave="wave", min_n=10, n_resamples=0, national_fit=False,
                        missing="listwise")  # fmt: skip
    assert r.index.query("unit == 'C001'")["n"].iloc[0] == 75
    with pytest.raises(DataError, match="SATIS"):
        csi.index_panel(data, spec, company="company", wave="wave", min_n=10, n_resamples=0, national_fit=False)


def test_respondent_weights_reach_the_company_index():
    p = csi.simulate_panel("acsi", companies=2, respondents=100, waves=1, seed=5, industries=None, sectors=None,
                           respondent_weights=True)  # fmt: skip
    r = csi.index_panel(p.data, "acsi", company="company", wave="wave", respondent_weight="weight", min_n=10,
                        n_resamples=0, national_fit=False)  # fmt: skip
    rows = p.data[p.data["company"] == "C001"]
    expected = csi.compute_index(csi.fit("acsi", rows, weights="weight"), negative="force")
    unweighted = csi.compute_index(csi.fit("acsi", rows), negative="force")
    got = r.index.query("unit == 'C001'").set_index("construct")["index"]
    np.testing.assert_allclose(got[expected.index], expected, atol=1e-12)
    assert np.abs(got[expected.index] - unweighted).max() > 1e-6


def test_warnings_do_not_leak_but_are_counted(panel):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = run(panel, n_resamples=0, national_fit=False)
    # the panel has a cell with a negative weight: its summary warnings reach the caller, nothing else
    assert caught and all("negative outer weight" in str(w.message) or "flagged" in str(w.message) for w in caught)
    assert isinstance(r.manifest["warnings"], dict)


def test_a_cell_that_cannot_be_fitted_is_reported_failed(panel):
    data = panel.data.copy()
    data.loc[(data["company"] == "C002") & (data["wave"] == 1), "PQ"] = 5  # constant item in one cell only
    r = csi.index_panel(data, "acsi", company="company", wave="wave", industry="industry", min_n=40, n_resamples=0,
                        national_fit=False)  # fmt: skip
    status = r.units.query("level == 'company' and unit == 'C002'").set_index("wave")["status"]
    assert status["1"] == "failed" and status["2"] == "ok"
    assert r.manifest["counts"]["failed"] == 1 and "PQ" in r.manifest["failures"]["C002 / 1"]
    assert r.index.query("level == 'company' and unit == 'C002' and wave == '1'")["index"].isna().all()
    assert r.index.query("level == 'national'")["index"].notna().all()


@pytest.mark.parametrize("missing", ["listwise", "em"])
def test_missing_answers_within_each_cell(panel, missing):
    # One missing answer per company and wave: the national pooled bootstrap must stratify the rows the fit kept
    # (listwise drops that row; em, the default, keeps every respondent).
    data = panel.data.copy()
    first = data.groupby(["company", "wave"]).head(1).index
    data.loc[first, "SATIS"] = np.nan
    res = csi.index_panel(data, "acsi", company="company", wave="wave", industry="industry", sector="sector",
                          unit_weights=panel.unit_weights, min_n=40, n_resamples=20, seed=SEED,
                          national_resamples=10, missing=missing)  # fmt: skip
    national = res.index[res.index["level"] == "national"]
    assert len(national) > 0 and national["index"].notna().all() and national["ci_lower"].notna().all()
    complete = panel.data.groupby(["company", "wave"]).size()
    companies = res.index[(res.index["level"] == "company") & (res.index["construct"] == "SAT")]
    assert len(companies) == len(complete)
    for row in companies[companies["index"].notna()].itertuples():  # suppressed cells are not fitted
        assert row.n == complete[(row.unit, int(row.wave))] - (missing == "listwise"), (row.unit, row.wave)


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(scheme="nonsense"), r"unknown scheme 'nonsense'.*accepted: 'centroid', 'factorial', 'path'"),
        (dict(tol=-1), r"tol must be a positive number, got -1"),
        (dict(max_iterr=5), r"unknown option\(s\) 'max_iterr' for method 'pls'; accepted: .*max_iter"),
        (dict(method="cbsem", scheme="centroid", n_resamples=0), r"method 'cbsem' has no option 'scheme'"),
    ],
)
def test_estimator_options_are_checked_before_any_cell_runs(panel, options, match, monkeypatch) -> None:
    # A bad option used to return normally with every cell failed; now it is one error, before any fit.
    import csi.index.panel as panel_module

    def no_cells(*args, **kwargs):
        raise AssertionError("a cell ran before the options were checked")

    monkeypatch.setattr(panel_module, "_run_tasks", no_cells)
    with pytest.raises(csi.CSIError, match=match):
        run(panel, **options)
