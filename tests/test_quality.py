"""Quality criteria: hand-computed values on small examples and population values on exact data.

Every expected number below is either computed by hand in the comment beside
it or from the population of :mod:`exact_population` (cSEM
``threecommonfactors``), where PLSc recovers loadings and construct
correlations exactly (tests/test_plsc.py).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import satisfaction_spec
from exact_population import exact_data, population, spec

import csi
from csi.core.quality import srmr as srmr_kernel
from csi.quality import f_squared, fornell_larcker, htmt, reliability, srmr, vif
from csi.spec.model import Construct, Item, ModelSpec, Path

# Small example: A = (a1, a2) with r = 0.6, B = (b1, b2) with r = 0.5, cross correlations below.
SMALL = np.array(
    [
        [1.0, 0.6, 0.3, -0.2],
        [0.6, 1.0, 0.25, 0.35],
        [0.3, 0.25, 1.0, 0.5],
        [-0.2, 0.35, 0.5, 1.0],
    ]
)


def small_fit(mode_b: str = "A", method: str = "pls") -> csi.FitResult:
    s = ModelSpec(
        "small",
        (Construct("A", (Item("a1"), Item("a2"))), Construct("B", (Item("b1"), Item("b2")), mode=mode_b)),
        (Path("A", "B", "+"),),
    )
    return csi.fit(s, exact_data(Sigma=SMALL, columns=["a1", "a2", "b1", "b2"]), method=method)


@pytest.fixture(scope="module")
def exact_plsc() -> csi.FitResult:
    return csi.fit(spec(), exact_data(), method="plsc")


def test_htmt_hand_computed():
    # mean |cross| = (0.3 + 0.2 + 0.25 + 0.35) / 4 = 0.275; monotrait means 0.6 and 0.5.
    H = htmt(small_fit())
    assert H.loc["A", "B"] == pytest.approx(0.275 / np.sqrt(0.6 * 0.5), abs=1e-12)
    assert H.loc["B", "A"] == H.loc["A", "B"]
    assert np.isnan(H.loc["A", "A"])


def test_alpha_hand_computed():
    # Standardised alpha of two items = 2r / (1 + r).
    rel = reliability(small_fit())
    np.testing.assert_allclose(rel["cronbach_alpha"], [1.2 / 1.6, 1.0 / 1.5], atol=1e-12)


def test_rho_c_and_ave_from_loadings():
    fit = small_fit()
    rel = reliability(fit)
    for c in ("A", "B"):
        lam = fit.loadings[list(fit.spec.construct(c).item_names)].to_numpy()
        assert rel.loc[c, "rho_c"] == pytest.approx(lam.sum() ** 2 / (lam.sum() ** 2 + np.sum(1 - lam**2)), abs=1e-12)
        assert rel.loc[c, "ave"] == pytest.approx(np.mean(lam**2), abs=1e-12)


def test_mode_b_vif_and_composite_rho_a():
    # Two Mode B items correlating 0.5: VIF = 1 / (1 - 0.25) = 4/3.
    fit = small_fit(mode_b="B")
    v = vif(fit).set_index(["lhs", "op", "rhs"])["vif"]
    assert v[("B", "<~", "b1")] == pytest.approx(4 / 3, abs=1e-12)
    assert v[("B", "<~", "b2")] == pytest.approx(4 / 3, abs=1e-12)
    assert v[("B", "~", "A")] == pytest.approx(1.0, abs=1e-12)
    rel = reliability(fit)
    assert rel.loc["B", "rho_a"] == 1.0 and np.isnan(rel.loc["B", "rho_c"]) and np.isnan(rel.loc["B", "ave"])


def test_population_reliabilities(exact_plsc):
    rel = reliability(exact_plsc)
    # rho_C with the population loadings: (sum l)² / ((sum l)² + sum(1 - l²)).
    # eta1: 4.41 / (4.41 + 1.53); eta2: 4 / (4 + 1.62); eta3: 5.0625 / (5.0625 + 1.3075).
    np.testing.assert_allclose(rel["rho_c"], [4.41 / 5.94, 4 / 5.62, 5.0625 / 6.37], atol=1e-8)
    np.testing.assert_allclose(rel["ave"], [0.49, 1.38 / 3, (0.64 + 0.5625 + 0.49) / 3], atol=1e-8)
    # Equal loadings (eta1): alpha, rho_A and rho_C coincide (tau-equivalence).
    assert rel.loc["eta1", "cronbach_alpha"] == pytest.approx(4.41 / 5.94, abs=1e-8)
    assert rel.loc["eta1", "rho_a"] == pytest.approx(4.41 / 5.94, abs=1e-8)
    # A PLS fit reports the same rho_A (same weights), computed from its weights.
    pls = reliability(csi.fit(spec(), exact_data()))
    np.testing.assert_allclose(pls["rho_a"], rel["rho_a"], atol=1e-12)


def test_population_fornell_larcker(exact_plsc):
    Sigma, lam, Phi, B = population()
    FL = fornell_larcker(exact_plsc).to_numpy()
    expected = Phi.copy()
    np.fill_diagonal(expected, np.sqrt([0.49, 1.38 / 3, (0.64 + 0.5625 + 0.49) / 3]))
    np.testing.assert_allclose(FL, expected, atol=1e-8)


def test_population_inner_vif_and_f2(exact_plsc):
    v = vif(exact_plsc).set_index(["lhs", "rhs"])["vif"]
    # eta3's predictors correlate 0.6: VIF = 1 / (1 - 0.36).
    assert v[("eta3", "eta1")] == pytest.approx(1 / 0.64, abs=1e-8)
    assert v[("eta3", "eta2")] == pytest.approx(1 / 0.64, abs=1e-8)
    f = f_squared(exact_plsc).set_index(["lhs", "rhs"])["f2"]
    # R²(eta3) = 0.4*0.61 + 0.35*0.59 = 0.4505; without eta2: 0.61²; without eta1: 0.59².
    assert f[("eta3", "eta2")] == pytest.approx((0.4505 - 0.61**2) / (1 - 0.4505), abs=1e-8)
    assert f[("eta3", "eta1")] == pytest.approx((0.4505 - 0.59**2) / (1 - 0.4505), abs=1e-8)
    # Single predictor: f² = R² / (1 - R²) = 0.36 / 0.64.
    assert f[("eta2", "eta1")] == pytest.approx(0.36 / 0.64, abs=1e-8)


def test_srmr_kernel_hand_computed():
    S = np.array([[1.0, 0.5], [0.5, 1.0]])
    Sigma = np.array([[1.0, 0.2], [0.2, 1.0]])
    # Lower triangle with diagonal: residuals 0, 0.3, 0 -> sqrt(0.09 / 3).
    assert srmr_kernel(S, Sigma) == pytest.approx(np.sqrt(0.09 / 3), abs=1e-15)


def test_srmr_zero_for_plsc_on_factor_population(exact_plsc):
    assert srmr(exact_plsc) == pytest.approx(0.0, abs=1e-8)
    assert srmr(csi.fit(spec(), exact_data())) > 0.01  # the composite model does not reproduce a factor Sigma


def test_srmr_zero_for_pls_on_composite_population():
    """Composite population: Sigma_AB = S_AA w_A r w_B' S_BB; Mode B PLS recovers w, so SRMR = 0."""
    S_AA = np.array([[1.0, 0.4], [0.4, 1.0]])
    S_BB = np.array([[1.0, 0.3], [0.3, 1.0]])
    wA, wB = np.array([0.7, 0.5]), np.array([0.2, 0.9])
    wA, wB = wA / np.sqrt(wA @ S_AA @ wA), wB / np.sqrt(wB @ S_BB @ wB)
    Sigma = np.block([[S_AA, np.outer(S_AA @ wA, S_BB @ wB) * 0.5], [np.outer(S_BB @ wB, S_AA @ wA) * 0.5, S_BB]])
    s = ModelSpec(
        "composite",
        (
            Construct("A", (Item("a1"), Item("a2")), mode="B"),
            Construct("B", (Item("b1"), Item("b2")), mode="B"),
        ),
        (Path("A", "B", "+"),),
    )
    fit = csi.fit(s, exact_data(Sigma=Sigma, columns=["a1", "a2", "b1", "b2"]))
    np.testing.assert_allclose(fit.weights.to_numpy(), np.concatenate([wA, wB]), atol=1e-8)
    assert srmr(fit) == pytest.approx(0.0, abs=1e-8)


def test_htmt_satisfaction_against_loop(satisfaction):
    fit = csi.fit(satisfaction_spec(), satisfaction)
    H = htmt(fit)
    R = np.abs(np.corrcoef(satisfaction[list(fit.spec.item_names)].to_numpy().T))
    items = {c.name: [fit.spec.item_names.index(i) for i in c.item_names] for c in fit.spec.constructs}

    def mono(ix):
        return np.mean([R[h, k] for a, h in enumerate(ix) for k in ix[a + 1 :]])

    for j in items:
        for k in items:
            if j != k:
                hetero = np.mean([R[h, g] for h in items[j] for g in items[k]])
                assert H.loc[j, k] == pytest.approx(hetero / np.sqrt(mono(items[j]) * mono(items[k])), abs=1e-12)
    np.testing.assert_allclose(H.to_numpy(), H.to_numpy().T, equal_nan=True)


def test_scaled_false_gives_same_item_criteria(satisfaction):
    a = csi.assess(csi.fit(satisfaction_spec(), satisfaction))
    b = csi.assess(csi.fit(satisfaction_spec(), satisfaction, scaled=False))
    np.testing.assert_allclose(a.htmt.to_numpy(), b.htmt.to_numpy(), equal_nan=True, atol=1e-12)
    np.testing.assert_allclose(a.reliability["cronbach_alpha"], b.reliability["cronbach_alpha"], atol=1e-12)


def test_assess(satisfaction):
    fit = csi.fit(satisfaction_spec(), satisfaction, method="plsc")
    res = csi.assess(fit)
    assert isinstance(res, csi.Assessment) and res.method == "plsc"
    np.testing.assert_allclose(res.reliability["rho_a"], fit.rho_a)
    assert res.fit.set_index("statistic").loc["gof", "value"] == pytest.approx(fit.gof)
    assert len(res.f2) == len(fit.spec.paths) and len(res.vif) == len(fit.spec.paths)
    text = res.summary()
    for title in ("Reliability", "Fornell-Larcker", "HTMT", "VIF", "f²", "srmr"):
        assert title in text
    assert set(res.tables()) == {"reliability", "fornell_larcker", "htmt", "vif", "f2", "fit"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.method = "pls"


def test_plsc_inner_model_carries_no_ols_standard_errors(satisfaction):
    plsc = csi.fit(satisfaction_spec(), satisfaction, method="plsc")
    im = plsc.inner_model
    assert list(im.columns) == ["lhs", "rhs", "estimate"]
    assert "(Intercept)" not in set(im["rhs"])
    assert len(im) == len(plsc.spec.paths)
    for row in im.itertuples():
        assert row.estimate == plsc.paths.loc[row.lhs, row.rhs]
    assert "no analytic standard errors" in plsc.summary() and "std_error" not in plsc.summary()
    # PLS keeps its OLS table (numbers checked against R plspm in test_pls_reference.py).
    pls = csi.fit(satisfaction_spec(), satisfaction).inner_model
    assert list(pls.columns) == ["lhs", "rhs", "estimate", "std_error", "t_value", "p_value"]
    assert "(Intercept)" in set(pls["rhs"])


def test_assess_with_bootstrap_and_predict(satisfaction):
    fit = csi.fit(satisfaction_spec(), satisfaction)
    res = csi.assess(fit, bootstrap=200, predict=True, seed=4, k=5)
    assert res.seed_entropy == 4
    pd.testing.assert_frame_equal(res.htmt_inference, csi.quality.htmt_bootstrap(fit, 200, seed=4).table)
    pd.testing.assert_frame_equal(res.plspredict, csi.quality.plspredict(fit, k=5, seed=4))
    assert set(res.tables()) == {
        "reliability", "fornell_larcker", "htmt", "htmt_inference", "vif", "f2", "fit", "plspredict"
    }  # fmt: skip
    text = res.summary()
    assert "HTMT_inference" in text and "PLSpredict" in text and "q2_predict" in text
    assert "PLSpredict" in res._repr_html_()
    long = res.long()
    assert list(long.columns) == ["criterion", "lhs", "op", "rhs", "value"]
    crit = set(long["criterion"])
    assert {"cronbach_alpha", "htmt", "htmt_ci_upper", "vif", "f2", "srmr", "gof", "q2_predict", "lm_rmse"} <= crit
    row = long[(long["criterion"] == "q2_predict") & (long["rhs"] == "sat1")]
    assert row["value"].item() == res.plspredict.set_index("item").loc["sat1", "q2_predict"]
    # Without the options the optional parts are absent.
    plain = csi.assess(fit)
    assert plain.htmt_inference is None and plain.plspredict is None and plain.seed_entropy is None
    assert "htmt_inference" not in plain.tables() and "PLSpredict" not in plain.summary()
