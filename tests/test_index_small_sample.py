"""The small-sample interval option ``logit_t`` (csi.index.small_sample): stretched replicates, t quantiles with
Welch-Satterthwaite degrees of freedom, at every level and for changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import csi
from csi.index.logit import logit_interval
from csi.index.small_sample import (
    CENTRAL,
    FENCE,
    cell_df,
    monte_carlo_df,
    parent_df,
    refill_mixed_signs,
    replicate_se,
    rubin_index_draws,
    satterthwaite,
    stretch,
    t_change,
    t_quantile,
)
from csi.resample.intervals import bootstrap_se

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::csi.ConvergenceWarning")

B = 80


def test_stretch_scales_the_variance_by_n_over_n_minus_1_and_keeps_the_mean():
    rng = np.random.default_rng(1)
    D = rng.normal(70, 2, size=(50, 3))
    D[4, 1] = np.nan
    before = D.copy()
    out = stretch(D, 20)
    np.testing.assert_array_equal(D, before)  # the input is not modified
    assert np.isnan(out[4, 1]) and np.isfinite(out).sum() == np.isfinite(D).sum()
    np.testing.assert_allclose(np.nanmean(out, axis=0), np.nanmean(D, axis=0), rtol=1e-13)
    np.testing.assert_allclose(bootstrap_se(out) ** 2, bootstrap_se(D) ** 2 * 20 / 19, rtol=1e-12)
    np.testing.assert_array_equal(stretch(D, 1), D)  # nothing to correct with one respondent


def test_satterthwaite_by_hand():
    v = [np.array([4.0, 1.0]), np.array([1.0, 1.0]), np.array([2.0, 0.0])]
    nu = [np.array([9.0, 9.0]), np.array([19.0, 19.0]), np.array([4.0, 4.0])]
    s = [0.5, 0.3, 0.2]
    got = satterthwaite(list(zip(s, v, nu)))
    for j in range(2):
        terms = [s[c] ** 2 * v[c][j] for c in range(3)]
        assert got[j] == pytest.approx(sum(terms) ** 2 / sum(t**2 / nu[c][j] for c, t in enumerate(terms)), rel=1e-12)
    # k equal, equally weighted parts pool their degrees of freedom; one part keeps its own
    assert satterthwaite([(0.25, np.array([3.0]), np.array([149.0]))] * 4)[0] == pytest.approx(4 * 149)
    assert satterthwaite([(1.0, np.array([3.0]), np.array([49.0]))])[0] == pytest.approx(49)
    assert np.isinf(satterthwaite([(1.0, np.array([0.0]), np.array([9.0]))])[0])
    assert parent_df([(1.0, None, np.array([9.0]))]) is None
    assert t_quantile(None, 0.95, 2) == pytest.approx([stats.norm.ppf(0.975)] * 2)
    assert t_quantile(np.array([10.0]), 0.9, 1)[0] == pytest.approx(stats.t.ppf(0.95, 10))
    np.testing.assert_array_equal(cell_df(150, 2), [149.0, 149.0])


def test_monte_carlo_df_adds_the_resampling_to_the_sampling_error_of_the_se():
    D = np.random.default_rng(2).normal(size=(200, 3))
    D[:50, 2] = np.nan  # 150 finite replicates in the last column
    got = monte_carlo_df(np.array([149.0, np.inf, 99.0]), D)
    np.testing.assert_allclose(got, [1 / (1 / 149 + 1 / 199), 199.0, 1 / (1 / 99 + 1 / 149)], rtol=1e-12)
    np.testing.assert_allclose(monte_carlo_df(None, D[:, :2]), [199.0, 199.0], rtol=1e-12)
    one = np.full((5, 1), np.nan)
    one[0, 0] = 1.0
    assert monte_carlo_df(np.array([9.0]), one)[0] == 0.0  # one replicate: no SE, no degrees of freedom
    # a t quantile with those degrees of freedom: wider than n - 1 alone, the more so the fewer replicates
    few, many = (t_quantile(monte_carlo_df(np.array([149.0]), np.zeros((b, 1))), 0.95, 1)[0] for b in (100, 2000))
    assert t_quantile(np.array([149.0]), 0.95, 1)[0] < many < few


def test_t_change_interval_and_p_value_are_one_rule():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1.5, size=(200, 4)), rng.normal(0, 1.0, size=(200, 4))
    est_from, est_to = np.zeros(4), np.array([0.5, 3.0, -4.0, 6.0])
    df_from, df_to = np.full(4, 30.0), np.full(4, 60.0)
    d, lo, hi, p, sig = t_change(est_from, est_to, a, b, df_from, df_to, 0.95)
    nu = satterthwaite([(1.0, bootstrap_se(a) ** 2, df_from), (1.0, bootstrap_se(b) ** 2, df_to)])
    nu = 1 / (1 / nu + 1 / (200 - 1))  # the SE is the SD of 200 replicate differences
    se = bootstrap_se(b - a)
    np.testing.assert_allclose(lo, d - stats.t.ppf(0.975, nu) * se, rtol=1e-10)
    np.testing.assert_allclose(hi, d + stats.t.ppf(0.975, nu) * se, rtol=1e-10)
    np.testing.assert_allclose(p, 2 * stats.t.sf(np.abs(d) / se, nu), rtol=1e-8)
    assert list(sig) == list(p < 0.05) and sig.any() and not sig.all()
    nan = t_change(est_from, est_to, None, b, df_from, df_to)
    assert np.isnan(nan[1]).all() and not nan[4].any()


@pytest.fixture(scope="module")
def runs() -> tuple[csi.PanelIndexResult, csi.PanelIndexResult]:
    p = csi.simulate_panel("acsi", companies=5, respondents=[60, 80, 100, 120, 200], waves=2, seed=11,
                           industries=None, sectors=None)  # fmt: skip
    kw = dict(company="company", wave="wave", unit_weights=p.unit_weights, min_n=1, n_resamples=B, seed=5,
              national_fit=False)  # fmt: skip
    return (csi.index_panel(p.data, "acsi", ci="logit", **kw), csi.index_panel(p.data, "acsi", ci="logit_t", **kw))


def test_company_cells_get_the_inflated_se_and_t_quantiles_with_n_minus_1(runs):
    plain, small = runs
    assert small.manifest["options"]["ci"] == "logit_t" and "Welch-Satterthwaite" in small.manifest["options"][
        "change_test"]
    a = plain.index[plain.index["level"] == "company"].reset_index(drop=True)
    b = small.index[small.index["level"] == "company"].reset_index(drop=True)
    np.testing.assert_allclose(b["index"], a["index"], rtol=0, atol=0)
    n = b["n"].to_numpy(dtype=float)
    np.testing.assert_allclose(b["se"], a["se"] * np.sqrt(n / (n - 1)), rtol=1e-10)
    nu = 1 / (1 / (n - 1) + 1 / (B - 1))  # n - 1 of the sample, B - 1 of the resampling (monte_carlo_df)
    lo, hi = logit_interval(b["index"].to_numpy(), b["se"].to_numpy(), 0.95, stats.t.ppf(0.975, nu))
    np.testing.assert_allclose(b["ci_lower"], lo, rtol=1e-10)
    np.testing.assert_allclose(b["ci_upper"], hi, rtol=1e-10)


def test_the_national_interval_uses_satterthwaite_df_of_its_companies(runs):
    _, small = runs
    ix, units = small.index, small.units
    for wave in ("1", "2"):
        comp = ix[(ix["level"] == "company") & (ix["wave"] == wave)].merge(
            units[(units["level"] == "company") & (units["wave"] == wave)][["unit", "weight"]], on="unit")
        comp = comp[comp["weight"].notna()]  # flagged cells are left out of the aggregate
        for construct, g in comp.groupby("construct"):
            terms = g["weight"].to_numpy() ** 2 * g["se"].to_numpy() ** 2
            nu = terms.sum() ** 2 / np.sum(terms**2 / (g["n"].to_numpy(dtype=float) - 1))
            nu = 1 / (1 / nu + 1 / (B - 1))  # the national SE is the SD of its own B replicates
            nat = ix[(ix["level"] == "national") & (ix["wave"] == wave) & (ix["construct"] == construct)].iloc[0]
            # the national SE is the SD of the aggregated stretched replicates: sum of the companies' variances
            # up to the sample covariances of independent replicates
            assert nat["se"] ** 2 == pytest.approx(terms.sum(), rel=0.35)
            lo, hi = logit_interval(np.array([nat["index"]]), np.array([nat["se"]]), 0.95,
                                    np.array([stats.t.ppf(0.975, nu)]))  # fmt: skip
            assert (nat["ci_lower"], nat["ci_upper"]) == pytest.approx((lo[0], hi[0]), rel=1e-10)


def test_every_interval_and_change_widens_and_changes_keep_one_rule(runs):
    plain, small = runs
    keys = ["level", "unit", "wave", "construct"]
    m = plain.index.merge(small.index, on=keys, suffixes=("", "_t")).dropna(subset=["ci_lower"])
    assert len(m) == len(plain.index.dropna(subset=["ci_lower"])) > 0
    assert ((m["ci_lower_t"] < m["ci_lower"]) & (m["ci_upper_t"] > m["ci_upper"])).all()
    c = plain.changes.merge(small.changes, on=["level", "unit", "construct"], suffixes=("", "_t"))
    c = c.dropna(subset=["ci_lower"])
    assert len(c) > 0 and c["ci_lower_t"].notna().all()
    assert ((c["ci_upper_t"] - c["ci_lower_t"]) > (c["ci_upper"] - c["ci_lower"])).all()
    assert (c["p_value_t"] >= c["p_value"]).all()
    assert (c["significant_t"] == (c["p_value_t"] < 0.05)).all()
    np.testing.assert_allclose(c["change_t"], c["change"], rtol=0, atol=0)


def test_cli_index_accepts_logit_t(tmp_path):
    from csi.cli import main

    p = csi.simulate_panel("acsi", companies=3, respondents=60, waves=2, seed=2, industries=None, sectors=None)
    p.data.to_csv(tmp_path / "panel.csv", index=False)
    out = tmp_path / "res"
    rc = main(["index", "--data", str(tmp_path / "panel.csv"), "--model", "acsi", "--company", "company", "--wave",
               "wave", "--ci", "logit_t", "--bootstrap", "30", "--min-n", "10", "--out", str(out), "--seed", "1"])  # fmt: skip
    assert rc == 0
    assert set(pd.read_csv(out / "index.csv")["level"]) == {"company", "national"}


def test_robust_replicate_se_is_the_sd_without_runaway_replicates():
    rng = np.random.default_rng(7)
    D = rng.normal(75, 1.5, size=(4000, 3))
    D[::7, 2] = np.nan  # failed replicates are left out, as by the SD
    before = D.copy()
    got = replicate_se(D, robust=True)
    np.testing.assert_array_equal(D, before)
    # nothing is beyond 6 robust SDs of normal replicates, so the robust SE is the SD to the bit
    np.testing.assert_array_equal(got, bootstrap_se(D))
    # 3 % of replicates running off (a block whose outer weights took mixed signs) inflate the SD 20-fold
    wild = D.copy()
    wild[:120, 0] = 75 + rng.choice([-1, 1], 120) * rng.uniform(50, 2000, 120)
    assert bootstrap_se(wild)[0] > 20 * got[0]
    x = wild[:, 0]
    lo, mid, hi = np.quantile(x, (*CENTRAL, 0.5))[[0, 2, 1]]
    kept = x[np.abs(x - mid) <= FENCE * (hi - lo) / 2]
    assert kept.size == 4000 - 120
    assert replicate_se(wild, robust=True)[0] == pytest.approx(np.std(kept, ddof=1), rel=1e-12)
    few = np.full((5, 2), np.nan)
    few[0, 0] = 1.0
    few[:, 1] = [1.0, 2.0, 3.0, 4.0, 5.0]
    out = replicate_se(few, robust=True)
    assert np.isnan(out[0]) and out[1] == bootstrap_se(few)[1]


def test_robust_df_and_change_use_the_robust_scale():
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1.5, size=(300, 2)), rng.normal(0, 1.0, size=(300, 2))
    a[:9, 0] = 900.0  # runaway replicates in one wave
    nu = parent_df([(0.5, a, np.full(2, 99.0)), (0.5, b, np.full(2, 49.0))], robust=True)
    want = satterthwaite([(0.5, replicate_se(a, True) ** 2, np.full(2, 99.0)),
                          (0.5, replicate_se(b, True) ** 2, np.full(2, 49.0))])  # fmt: skip
    np.testing.assert_allclose(nu, want, rtol=1e-12)
    d, lo, hi, p, sig = t_change(np.zeros(2), np.array([0.3, 4.0]), a, b, np.full(2, 99.0), np.full(2, 49.0),
                                 0.95, robust=True)  # fmt: skip
    se = replicate_se(b - a, True)
    nu = satterthwaite([(1.0, replicate_se(a, True) ** 2, np.full(2, 99.0)),
                        (1.0, replicate_se(b, True) ** 2, np.full(2, 49.0))])  # fmt: skip
    nu = 1 / (1 / nu + 1 / (300 - 1))  # B counts the finite replicates, runaways too (monte_carlo_df)
    np.testing.assert_allclose(hi - lo, 2 * stats.t.ppf(0.975, nu) * se, rtol=1e-10)
    assert se[0] < 3 and list(sig) == list(p < 0.05)
    # without the robust scale the runaway replicates swamp the first change's SE
    assert replicate_se(b - a)[0] > 30


def test_logit_tr_intervals_follow_the_robust_se_with_the_same_t_quantiles(runs):
    plain, small = runs
    p = csi.simulate_panel("acsi", companies=5, respondents=[60, 80, 100, 120, 200], waves=2, seed=11,
                           industries=None, sectors=None)  # fmt: skip
    kw = dict(company="company", wave="wave", unit_weights=p.unit_weights, min_n=1, n_resamples=B, seed=5,
              national_fit=False)  # fmt: skip
    rob = csi.index_panel(p.data, "acsi", ci="logit_tr", **kw)
    assert rob.manifest["options"]["ci"] == "logit_tr" and "6 robust SDs" in rob.manifest["options"]["change_test"]
    keys = ["level", "unit", "wave", "construct"]
    m = small.index.merge(rob.index, on=keys, suffixes=("", "_r")).dropna(subset=["se"])
    np.testing.assert_allclose(m["index_r"], m["index"], rtol=0, atol=0)
    # the SEs are the SDs where no replicate had mixed-sign weights or ran off (most of them, to the bit), and far
    # smaller where LOY's 60-respondent cell has such replicates
    ratio = (m["se_r"] / m["se"]).to_numpy()
    loy = (m["construct"] == "LOY").to_numpy()
    assert np.mean(ratio[~loy] == 1) > 0.8 and ratio[loy].min() < 0.6
    comp = m[m["level"] == "company"]
    n = comp["n"].to_numpy(dtype=float)
    nu = 1 / (1 / (n - 1) + 1 / (B - 1))
    lo, hi = logit_interval(comp["index"].to_numpy(), comp["se_r"].to_numpy(), 0.95, stats.t.ppf(0.975, nu))
    np.testing.assert_allclose(comp["ci_lower_r"], lo, rtol=1e-10)
    np.testing.assert_allclose(comp["ci_upper_r"], hi, rtol=1e-10)
    c = rob.changes.dropna(subset=["ci_lower"])
    assert len(c) > 0 and (c["significant"] == (c["p_value"] < 0.05)).all()


def test_replicates_with_mixed_sign_weights_do_not_count_for_their_block():
    spec = csi.load_model("acsi")
    names = list(spec.construct_names)
    B = 6
    cols = {f"{c.name} <~ {i}": np.full(B, 0.4) for c in spec.constructs for i in c.item_names}
    frame = pd.DataFrame(cols)
    frame.loc[1, "LOY <~ HIGHPTOL"] = -0.2  # mixed signs in LOY
    for i in spec.construct("SAT").item_names:
        frame.loc[2, f"SAT <~ {i}"] = -0.4  # the whole block flipped: the index is unchanged, so it counts
    frame.loc[3, "SAT <~ IDEAL"] = 0.0  # a zero weight is not of one sign with the others
    frame.loc[4, "COMPL <~ COMP"] = -1.0  # a single-item block cannot have mixed signs
    frame.loc[5, "VAL <~ PQ"] = np.nan  # a failed replicate stays as the bootstrap left it
    index = np.arange(B * len(names), dtype=float).reshape(B, len(names))
    before = index.copy()
    out = refill_mixed_signs(index, frame, spec, np.random.default_rng(1))
    np.testing.assert_array_equal(index, before)
    replaced = {(b, names[j]) for b, j in zip(*np.nonzero(out != index))}
    assert replaced == {(1, "LOY"), (3, "SAT")}
    # ... each by one of its block's counting replicates, drawn from the generator it was given
    for b, name in replaced:
        j = names.index(name)
        assert out[b, j] in np.delete(index[:, j], b)
    again = refill_mixed_signs(index, frame, spec, np.random.default_rng(1))
    np.testing.assert_array_equal(out, again)
    # blocks without weight columns (another estimator's draws) are left as they are
    np.testing.assert_array_equal(
        refill_mixed_signs(index, frame.drop(columns=["LOY <~ REPUR"]), spec, np.random.default_rng(1))[1], index[1]
    )
    # a block none of whose replicates counts stays NaN: there is nothing to draw from
    frame.loc[:, "LOY <~ HIGHPTOL"] = -0.2
    assert np.isnan(refill_mixed_signs(index, frame, spec, np.random.default_rng(1))[:, names.index("LOY")]).all()


def test_under_mi_a_runaway_replicate_is_refilled_in_its_own_imputation_before_rubins_rules():
    """One completed data set's replicate with mixed-sign LOY weights runs off: refilled in that data set before
    Rubin's rules, the calibrated SE and the degrees of freedom are what the clean replicates give; refilled after
    the calibration (the averaged replicates), the runaway would stay in Rubin's within variance."""
    from csi.resample.mi_boot import calibrated_draws, rubin_interval

    spec = csi.load_model("acsi")
    names = list(spec.construct_names)
    cols = [f"{c} index {c}" for c in names]
    m, B = 3, 60
    rng = np.random.default_rng(8)
    weights = {f"{c.name} <~ {i}": np.full(m * B, 0.4) for c in spec.constructs for i in c.item_names}
    index = 70 + rng.normal(0, 1.5, size=(m * B, len(names))) + np.repeat(rng.normal(0, 0.5, m), B)[:, None]
    frame = pd.DataFrame({**weights, **dict(zip(cols, index.T))})
    estimates = frame.groupby(np.repeat(np.arange(m), B)).mean().to_numpy()  # stand-ins for the Q̂_k
    loy = names.index("LOY")
    pos = [frame.columns.get_loc(c) for c in cols]
    clean = frame.to_numpy().reshape(m, B, -1)[:, :, pos]
    clean_se = rubin_interval(clean, estimates[:, pos], n_com=199)["se"]
    frame.loc[1 * B + 7, "LOY <~ HIGHPTOL"] = -0.3  # imputation 1, replicate 7: mixed signs ...
    frame.loc[1 * B + 7, "LOY index LOY"] = 900.0  # ... and its index runs off
    got, df = rubin_index_draws(frame, estimates, cols, spec, np.random.default_rng(1), n_com=199)
    assert got.shape == (B, len(names)) and df.shape == (len(names),)
    se = bootstrap_se(got)
    np.testing.assert_allclose(se[loy], clean_se[loy], rtol=0.1)  # the clean SE, up to the refilled draw
    others = [j for j in range(len(names)) if j != loy]
    np.testing.assert_allclose(se[others], clean_se[others], rtol=1e-9)  # other blocks untouched
    clean_df = rubin_interval(clean, estimates[:, pos], n_com=199)["df"]
    np.testing.assert_allclose(df[loy], clean_df[loy], rtol=0.05)  # and the clean degrees of freedom
    # refilling the averaged (calibrated) replicates instead leaves the runaway in Rubin's variances: the
    # calibration factor and the degrees of freedom are both off
    D = frame.to_numpy().reshape(m, B, -1)[:, :, pos]
    raw = rubin_interval(D, estimates[:, pos], n_com=199)
    late = refill_mixed_signs(calibrated_draws(D, raw), frame.iloc[B : 2 * B], spec, np.random.default_rng(1))
    assert abs(bootstrap_se(late)[loy] / clean_se[loy] - 1) > 0.1 and raw["df"][loy] > 5 * clean_df[loy]


def test_aggregates_keep_every_replicate_however_many_companies(monkeypatch):
    """The rule must not thin out aggregates: a replicate left out as NaN in any company would take the
    national replicate with it (about 5 % of LOY replicates per company: with 80 companies hardly any national
    LOY replicate would be left).  Refilled, every national replicate of every construct is there."""
    import csi.index.panel as panel_module

    seen = []

    def recording(*args, **kwargs):
        out = panel_module_aggregate(*args, **kwargs)
        seen.append(out)
        return out

    panel_module_aggregate = panel_module.aggregate
    monkeypatch.setattr(panel_module, "aggregate", recording)
    spec = csi.load_model("acsi")
    panel = csi.simulate_panel(spec, companies=80, respondents=150, waves=1, seed=11, industries=None, sectors=None)
    res = csi.index_panel(panel.data, spec, company="company", wave="wave", n_resamples=60, seed=3, ci="logit_tr",
                          national_fit=False, scheduler="serial")  # fmt: skip
    national = [u for out in seen for (level, _, _), u in out.items() if level == "national" and u.draws is not None]
    assert national and all(np.isfinite(u.draws).all() for u in national)
    # (with the replicates left out as NaN instead of refilled, national replicates are lost: this fails)
    companies = res.index[(res.index["level"] == "company") & (res.index["construct"] == "LOY")]
    assert len(companies) == 80 and res.index[res.index["level"] == "national"]["se"].gt(0).all()
