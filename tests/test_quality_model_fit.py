"""d_ULS, d_G and the estimated-model fit (csi.quality.model_fit), against their definitions computed by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import csi
from csi.core.quality import d_g, d_uls, structural_implied
from csi.demo import demo_data
from csi.quality import model_fit
from csi.quality._common import correlation_and_weights
from csi.quality.model_fit import implied


@pytest.fixture(scope="module", params=["pls", "plsc"])
def fit(request):
    return csi.fit("ecsi", demo_data(250, seed=4).data, method=request.param)


def test_distances_equal_their_definitions(fit):
    S, _ = correlation_and_weights(fit)
    for model in ("saturated", "estimated"):
        Sigma = implied(fit, model)
        by_hand_uls = 0.5 * sum((S[i, j] - Sigma[i, j]) ** 2 for i in range(len(S)) for j in range(len(S)))
        phi = np.linalg.eigvals(np.linalg.inv(S) @ Sigma).real
        by_hand_g = 0.5 * np.sum(np.log(phi) ** 2)
        table = model_fit(fit)
        assert table.loc["d_uls", model] == pytest.approx(by_hand_uls, rel=1e-12)
        assert table.loc["d_g", model] == pytest.approx(by_hand_g, rel=1e-9)
        off = S - Sigma
        assert table.loc["srmr", model] == pytest.approx(np.sqrt(np.mean(off[np.tril_indices(len(S))] ** 2)), rel=1e-12)


def test_distances_vanish_on_the_model_itself():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(6, 6))
    S = A @ A.T + 6 * np.eye(6)
    d = np.sqrt(np.diag(S))
    S = S / np.outer(d, d)
    assert d_uls(S, S) == 0 and d_g(S, S) == pytest.approx(0, abs=1e-24)
    assert d_g(np.stack([S, S]), np.stack([S, S])).shape == (2,)


def test_estimated_model_fits_worse_than_saturated_and_keeps_unit_diagonal(fit):
    table = model_fit(fit)
    assert (table["estimated"] >= table["saturated"] - 1e-12).all()
    names = list(fit.spec.construct_names)
    pos = {n: i for i, n in enumerate(names)}
    Phi = structural_implied(fit.construct_correlations.to_numpy(), fit.paths.loc[names, names].to_numpy(),
                             fit.spec.adjacency, np.arange(len(names)))  # fmt: skip
    np.testing.assert_allclose(np.diag(Phi), 1.0, atol=1e-12)
    exo = [pos[c] for c in fit.spec.exogenous]
    np.testing.assert_array_equal(Phi[np.ix_(exo, exo)], fit.construct_correlations.to_numpy()[np.ix_(exo, exo)])


def test_saturated_structure_implies_the_estimated_correlations():
    # A -> B, A -> C, B -> C is saturated: OLS paths reproduce every construct correlation.
    ecsi = csi.load_model("ecsi")
    blocks = {c.name: " + ".join(i.name for i in c.items) for c in ecsi.constructs}
    text = (f"IMAG =~ {blocks['IMAG']}\nQUAL =~ {blocks['QUAL']}\nSAT =~ {blocks['SAT']}\n"
            "QUAL ~ IMAG\nSAT ~ IMAG + QUAL\n")  # fmt: skip
    fit = csi.fit(text, demo_data(300, seed=2).data)
    table = model_fit(fit)
    np.testing.assert_allclose(table["estimated"], table["saturated"], rtol=1e-10, atol=1e-14)


def test_assess_reports_both_models(fit):
    stats = csi.assess(fit).fit.set_index("statistic")["value"]
    table = model_fit(fit)
    assert stats["d_uls"] == table.loc["d_uls", "saturated"] and stats["d_g_estimated"] == table.loc["d_g", "estimated"]
    assert isinstance(table, pd.DataFrame) and list(table.columns) == ["saturated", "estimated"]


def test_f2_reestimation_form_equals_manual_refits():
    data = demo_data(250, seed=6).data
    fit = csi.fit("ecsi", data)
    fixed = csi.quality.f_squared(fit)
    re = csi.quality.f_squared(fit, form="reestimated")
    assert list(zip(fixed["lhs"], fixed["rhs"], strict=True)) == list(zip(re["lhs"], re["rhs"], strict=True))
    spec = fit.spec
    # SAT ~ VAL: drop the path and refit by hand.
    reduced = dataclasses.replace(spec, paths=tuple(p for p in spec.paths if (p.target, p.source) != ("SAT", "VAL")))
    r2_excl = csi.fit(reduced, data).r2["SAT"]
    row = re[(re["lhs"] == "SAT") & (re["rhs"] == "VAL")]["f2"].item()
    assert row == pytest.approx((fit.r2["SAT"] - r2_excl) / (1 - fit.r2["SAT"]), rel=1e-12)
    # COMP ~ SAT is COMP's only predictor, and COMP predicts LOY: COMP stays, R²_excl = 0.
    comp = re[(re["lhs"] == "COMP") & (re["rhs"] == "SAT")]["f2"].item()
    assert comp == pytest.approx(fit.r2["COMP"] / (1 - fit.r2["COMP"]), rel=1e-12)
    # Weights move when the model is re-estimated, so the two forms differ somewhere but agree roughly.
    assert not np.allclose(fixed["f2"], re["f2"], rtol=1e-9) and np.allclose(fixed["f2"], re["f2"], atol=0.01)
    with pytest.raises(csi.CSIError, match="f² form"):
        csi.quality.f_squared(fit, form="refit")


def test_information_criteria_by_hand_and_model_comparison():
    data = demo_data(300, seed=8).data
    fit = csi.fit("ecsi", data)
    ic = csi.quality.information_criteria(fit).set_index("construct")
    n = 300
    sat = ic.loc["SAT"]
    k = len(fit.spec.predecessors("SAT"))
    sse = (n - 1) * (1 - fit.r2["SAT"])
    assert sat["k"] == k == 4
    assert sat["aic"] == pytest.approx(n * np.log(sse / n) + 2 * (k + 1), rel=1e-12)
    assert sat["bic"] == pytest.approx(n * np.log(sse / n) + (k + 1) * np.log(n), rel=1e-12)
    assert sat["aicc"] == pytest.approx(n * np.log(sse / n) + n * (n + k) / (n - k - 2), rel=1e-12)
    assert sat["hq"] == pytest.approx(n * np.log(sse / n) + 2 * (k + 1) * np.log(np.log(n)), rel=1e-12)
    assert list(ic.index) == list(fit.spec.endogenous)
