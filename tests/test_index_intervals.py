"""Panel interval types chosen by the coverage study: the logit interval and BCa carried up the hierarchy."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

import csi
from csi.errors import CSIError
from csi.index.bca import acceleration, bca_interval, bca_pvalue, combine, difference, influence_moments
from csi.index.logit import logit_interval
from csi.index.panel import DEFAULT_INTERVAL, PANEL_INTERVALS
from csi.resample.intervals import bc_ci, bca_acceleration

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::csi.ConvergenceWarning")

B = 60


@pytest.fixture(scope="module")
def panel() -> csi.SimulatedPanel:
    return csi.simulate_panel("acsi", companies=4, respondents=120, waves=2, seed=8, industries=2, sectors=None)


def run(panel: csi.SimulatedPanel, **kw) -> csi.PanelIndexResult:
    return csi.index_panel(panel.data, "acsi", company="company", wave="wave", industry="industry",
                           unit_weights=panel.unit_weights, min_n=1, n_resamples=B, seed=3, national_fit=False,
                           **kw)  # fmt: skip


def test_logit_interval_is_symmetric_on_the_log_odds_scale_and_stays_in_0_100():
    est = np.array([50.0, 80.0, 97.0, 3.0])
    se = np.array([2.0, 2.0, 2.0, 2.0])
    lo, hi = logit_interval(est, se, 0.95)
    assert np.all((0 < lo) & (lo < est) & (est < hi) & (hi < 100))
    np.testing.assert_allclose(logit(est / 100) - logit(lo / 100), logit(hi / 100) - logit(est / 100), rtol=1e-12)
    # At 50 the log-odds map is nearly linear: the normal interval, to first order.
    assert (lo[0], hi[0]) == pytest.approx((50 - 1.96 * 2, 50 + 1.96 * 2), abs=0.01)
    # Near the top it reaches further down than up (the side where high-index samples miss).
    assert est[1] - lo[1] > hi[1] - est[1]
    assert est[3] - lo[3] < hi[3] - est[3]


def test_logit_interval_falls_back_to_normal_outside_the_scale():
    lo, hi = logit_interval(np.array([-1.0, 100.0]), np.array([1.0, 1.0]), 0.95)
    np.testing.assert_allclose(lo, [-1 - 1.959964, 100 - 1.959964], atol=1e-6)
    np.testing.assert_allclose(hi, [-1 + 1.959964, 100 + 1.959964], atol=1e-6)


def test_default_panel_interval_is_logit_of_the_bootstrap_se_and_changes_use_the_normal_rule(panel):
    assert DEFAULT_INTERVAL == "logit_tr" and set(PANEL_INTERVALS) >= {"logit", "logit_t", "percentile", "bca"}
    res = run(panel, ci="logit")
    assert res.manifest["options"]["ci"] == "logit"
    ix = res.index.dropna(subset=["index"])
    lo, hi = logit_interval(ix["index"].to_numpy(), ix["se"].to_numpy(), 0.95)
    np.testing.assert_allclose(ix["ci_lower"], lo, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ix["ci_upper"], hi, rtol=0, atol=1e-10)
    normal = run(panel, ci="normal")
    np.testing.assert_allclose(res.index["se"], normal.index["se"], equal_nan=True)  # same draws
    cols = ["change", "ci_lower", "ci_upper", "p_value"]
    np.testing.assert_allclose(res.changes[cols].to_numpy(float), normal.changes[cols].to_numpy(float), equal_nan=True)
    # estimates of the fits keep percentile intervals (logit is for 0-100 indices only)
    perc = run(panel, ci="percentile")
    np.testing.assert_allclose(res.estimates["ci_lower"], perc.estimates["ci_lower"], equal_nan=True)


def test_influence_acceleration_matches_the_jackknife_acceleration():
    """The fixed-weights influence values give the BCa ``a`` of the full jackknife (which re-estimates weights)."""
    p = csi.simulate_panel("acsi", companies=1, respondents=150, waves=1, seed=5, industries=None, sectors=None,
                           company_sd=0.0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = csi.fit("acsi", p.data)
    boot = csi.bootstrap(fit, 20, seed=1, n_jobs=1, progress=False)
    cols = [boot.layout.labels.index(f"{c} index {c}") for c in fit.spec.construct_names]
    a_jack = bca_acceleration(boot.jackknife_values[:, cols])
    a_infl = acceleration(influence_moments(fit), len(cols))
    assert np.all(np.abs(a_jack) > 0.005)  # a real skew to compare, not two zeros
    np.testing.assert_allclose(a_infl, a_jack, atol=0.004)  # ~15 % of |a|: weight re-estimation in the jackknife


def test_combined_moments_equal_the_several_sample_formula():
    rng = np.random.default_rng(0)
    L1, L2 = rng.gamma(2.0, size=(50, 2)) - 2.0, rng.gamma(3.0, size=(80, 2)) - 3.0
    m1 = np.vstack([(L1**2).sum(0) / 50**2, (L1**3).sum(0) / 50**3])
    m2 = np.vstack([(L2**2).sum(0) / 80**2, (L2**3).sum(0) / 80**3])
    s = (0.3, 0.7)
    # Davison & Hinkley (1997) eq. 5.25 for k samples, with influence values of the parent s_k * l_kj
    num = sum(sk**3 * (L**3).sum(0) / n**3 for sk, L, n in ((s[0], L1, 50), (s[1], L2, 80)))
    den = sum(sk**2 * (L**2).sum(0) / n**2 for sk, L, n in ((s[0], L1, 50), (s[1], L2, 80))) ** 1.5
    np.testing.assert_allclose(acceleration(combine([(s[0], m1), (s[1], m2)]), 2), num / (6 * den), rtol=1e-12)
    # a difference of independent waves: the earlier wave's influence values enter with a minus sign
    num_d = (L2**3).sum(0) / 80**3 - (L1**3).sum(0) / 50**3
    den_d = ((L2**2).sum(0) / 80**2 + (L1**2).sum(0) / 50**2) ** 1.5
    np.testing.assert_allclose(acceleration(difference(m1, m2), 2), num_d / (6 * den_d), rtol=1e-12)


def test_bca_with_zero_acceleration_is_the_bc_interval():
    rng = np.random.default_rng(1)
    D = rng.gamma(4.0, size=(999, 3))
    est = np.array([3.5, 4.0, 4.5])
    lo, hi = bca_interval(D, est, None, 0.9)
    ref = bc_ci(D, est, 0.9)
    np.testing.assert_allclose(lo, ref.lower, rtol=1e-12)
    np.testing.assert_allclose(hi, ref.upper, rtol=1e-12)


def test_bca_pvalue_inverts_the_bca_interval():
    """At level 1 - p the BCa interval's nearer limit is the null (to the draws' quantile resolution)."""
    rng = np.random.default_rng(2)
    D = rng.normal(2.2, 1.0, size=(20_000, 3)) + rng.gamma(2.0, 0.3, size=(20_000, 3))
    est = np.array([2.7, 2.8, 2.9])
    mom = np.vstack([np.full(3, 1.0), np.array([0.0, 0.05, -0.05])])
    p = bca_pvalue(D, est, mom)
    assert np.all((p > 0.001) & (p < 0.2))
    for j in range(3):
        lo, _ = bca_interval(D[:, [j]], est[[j]], mom[:, [j]], level=1 - p[j])
        assert lo[0] == pytest.approx(0.0, abs=0.02)


def test_bca_panel_change_is_significant_exactly_when_its_interval_excludes_zero(panel):
    res = run(panel, ci="bca")
    ch = res.changes.dropna(subset=["ci_lower"])
    assert ((ch["ci_lower"] > 0) | (ch["ci_upper"] < 0)).eq(ch["significant"]).all()
    ix = res.index.dropna(subset=["index"])
    assert ((ix["ci_lower"] <= ix["index"]) & (ix["index"] <= ix["ci_upper"])).all()


def test_simulate_panel_null_and_known_shift():
    null = csi.simulate_panel("acsi", companies=4, respondents=30, waves=2, seed=1, wave_sd=0.0, weight_drift=0.0)
    pop = null.population.pivot_table(index=["level", "unit", "construct"], columns="wave", values="index")
    np.testing.assert_allclose(pop[1], pop[2], rtol=0, atol=1e-10)  # the null holds at every level
    up = csi.simulate_panel("acsi", companies=4, respondents=30, waves=2, seed=1, wave_sd=0.0, weight_drift=0.0,
                            wave_shift=0.2)  # fmt: skip
    p2 = up.population.pivot_table(index=["level", "unit", "construct"], columns="wave", values="index")
    sat = p2.xs("SAT", level="construct")
    assert (sat[2] - sat[1] > 1.0).all()  # a known rise everywhere
    np.testing.assert_allclose(p2[1], pop[1], rtol=0, atol=1e-10)  # wave 1 untouched
    # the default draws are unchanged by the new options
    a = csi.simulate_panel("acsi", companies=4, respondents=20, waves=2, seed=9)
    b = csi.simulate_panel("acsi", companies=4, respondents=20, waves=2, seed=9, wave_shift=0.0, weight_drift=0.05)
    assert a.data.equals(b.data) and a.population.equals(b.population) and a.unit_weights.equals(b.unit_weights)


@pytest.mark.parametrize("kw, match", [(dict(wave_sd=-1.0), "wave_sd"), (dict(weight_drift=float("nan")),
                                       "weight_drift"), (dict(wave_shift="up"), "wave_shift")])  # fmt: skip
def test_simulate_panel_rejects_bad_shift_options(kw, match):
    with pytest.raises(CSIError, match=match):
        csi.simulate_panel("acsi", companies=2, respondents=20, waves=2, seed=1, **kw)


def test_matched_changes_equal_the_changes_of_the_panel_without_the_unmatched_company():
    """C005 is flagged in wave 1 only (negative weight) and C006 suppressed: a like-for-like aggregate change is the
    change of the same panel with C005 removed (cell seeds depend on the cell alone, so its other cells are equal)."""
    p = csi.simulate_panel("acsi", companies=6, respondents=[120, 120, 120, 120, 120, 25], waves=2, seed=4,
                           industries=3, sectors=2)  # fmt: skip
    opts = dict(company="company", wave="wave", industry="industry", sector="sector", min_n=40, n_resamples=B,
                seed=11, national_fit=False, ci="percentile")  # fmt: skip
    full = csi.index_panel(p.data, "acsi", unit_weights=p.unit_weights, **opts)
    assert full.manifest["options"]["change_basis"] == "matched"
    st = full.units.set_index(["level", "unit", "wave"])["status"]
    assert st[("company", "C005", "1")] != "ok" and st[("company", "C005", "2")] == "ok"
    keep = p.data["company"] != "C005"
    without = csi.index_panel(p.data[keep], "acsi", unit_weights=p.unit_weights[p.unit_weights["unit"] != "C005"],
                              change_basis="published", **opts)  # fmt: skip
    cols = ["change", "ci_lower", "ci_upper", "p_value"]
    a = full.changes[full.changes["unit"] != "C005"].reset_index(drop=True)
    b = without.changes.reset_index(drop=True)
    np.testing.assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=0, atol=1e-10, equal_nan=True)
    # the published basis differs exactly where the company sets differ (C005's national share changes wave 2)
    pub = csi.index_panel(p.data, "acsi", unit_weights=p.unit_weights, change_basis="published", **opts)
    nat = (pub.changes["level"] == "national") & (pub.changes["construct"] == "SAT")
    assert not np.isclose(pub.changes.loc[nat, "change"].iloc[0], full.changes.loc[nat, "change"].iloc[0])
    # published levels are the same under either basis
    pd.testing.assert_frame_equal(pub.index, full.index)
    with pytest.raises(CSIError, match="change_basis"):
        csi.index_panel(p.data, "acsi", unit_weights=p.unit_weights, change_basis="like", **opts)
