"""CB-SEM (method="cbsem") against lavaan 0.6.14, on population-exact data, and its mapping into FitResult.

Reference numbers: lavaan 0.6.14 ``sem()``/``cfa()`` defaults (ML, N-divisor
covariance, marker identification, expected information), files described in
``tests/reference/README.md`` §6.  csi polishes semopy's ML solution by
Fisher scoring to a step below 1e-9, so the remaining differences are lavaan's
own stopping error (its nlminb stops with parameters about 1e-5 from the
optimum; the largest difference found is 4e-5 on the ill-conditioned ECSI
model).  Tolerances: estimates and std.all 1e-4 absolute, standard errors 1e-3
relative (SEs are smooth in the estimates), fit measures 1e-6 relative.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file, satisfaction_spec
from exact_population import exact_data, population, spec

import csi
from csi.errors import EstimationError
from csi.estimators.cbsem_model import semopy_syntax

PD_MODEL = """
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
"""
# README §10: latent scales fixed by the variances, every loading free (lavaan's NA*x).
PD_FIXED = (
    PD_MODEL.replace("=~ x1", "=~ NA*x1").replace("=~ y1", "=~ NA*y1").replace("=~ y5", "=~ NA*y5")
    + "ind60 ~~ 1*ind60\ndem60 ~~ 1*dem60\ndem65 ~~ 1*dem65\n"
)
MEASURES = ["npar", "fmin", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "logl", "aic", "bic"]


def _key(lhs: str, op: str, rhs: str) -> tuple[str, ...]:
    return (op, *sorted((lhs, rhs))) if op == "~~" else (op, lhs, rhs)


def _merged(fit, params: str) -> pd.DataFrame:
    ref = pd.read_csv(reference_file(params))
    ours = fit.estimates
    ours.index = [_key(*r) for r in ours[["lhs", "op", "rhs"]].itertuples(index=False)]
    ref.index = [_key(*r) for r in ref[["lhs", "op", "rhs"]].itertuples(index=False)]
    assert set(ref.index) <= set(ours.index), set(ref.index) - set(ours.index)
    return ref.join(ours[["estimate", "std_error", "std_estimate", "free"]])


CASES = {
    "pd_semopy_model": ("political_democracy.csv", PD_MODEL, "political_democracy.lavaan.semopy_model_ML"),
    # README §6a: the upstream semopy params file was made without y4 ~~ y8.
    "pd_no_y4y8": ("political_democracy.csv", PD_MODEL.replace("y4 ~~ y8\n", ""),
                   "political_democracy.lavaan.no_y4y8_ML"),
    "pd_fixed_values": ("political_democracy.csv", PD_FIXED, "political_democracy.lavaan.fixed_values_ML"),
    "ecsi_sem": ("ecsi_satisfaction.csv", None, "ecsi_satisfaction.lavaan.cbsem_ML"),
    "ecsi_cfa": ("ecsi_satisfaction.csv", "cfa", "ecsi_satisfaction.lavaan.cfa6_ML"),
}  # fmt: skip


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    data_file, model, stem = CASES[request.param]
    data = pd.read_csv(reference_file(data_file), index_col=0)
    if model is None:
        model = satisfaction_spec()
    elif model == "cfa":
        model = dataclasses.replace(satisfaction_spec(), paths=())
    return csi.fit(model, data, method="cbsem"), stem


def test_estimates_match_lavaan(case):
    fit, stem = case
    m = _merged(fit, stem + ".params.csv")
    assert fit.converged
    np.testing.assert_allclose(m["estimate"], m["est"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(m["std_estimate"], m["std.all"], rtol=0, atol=1e-4)


def test_standard_errors_match_lavaan(case):
    fit, stem = case
    m = _merged(fit, stem + ".params.csv")
    free = m["se"] > 0
    assert (free == m["free"]).all()  # the fixed marker loadings are the parameters lavaan gives se 0
    np.testing.assert_allclose(m.loc[free, "std_error"], m.loc[free, "se"], rtol=1e-3)


def test_fit_measures_match_lavaan(case):
    fit, stem = case
    ref = pd.read_csv(reference_file(stem + ".fit.csv")).set_index("measure")["value"]
    ours = fit.fit_measures
    np.testing.assert_allclose(ours[MEASURES].to_numpy(), ref[MEASURES].to_numpy(), rtol=1e-6, atol=1e-12)
    assert ours["unrestricted_logl"] == pytest.approx(ref["unrestricted.logl"], rel=1e-9)
    assert ours["ntotal"] == ref["ntotal"]
    # lavaan's bounds come from uniroot at ~1.2e-4 on the noncentrality (see tests/test_cbsem_rmsea.py).
    for key in ("rmsea.ci.lower", "rmsea.ci.upper"):
        assert ours[key.replace(".", "_")] == pytest.approx(ref[key], rel=1e-6, abs=1e-12), key
    assert 0 <= ours["rmsea_pvalue"] <= 1 and 0 <= ours["rmsea_notclose_pvalue"] <= 1
    assert f"RMSEA 90% CI  [{ours['rmsea_ci_lower']:.4f}, {ours['rmsea_ci_upper']:.4f}]" in fit.summary()


def test_fit_measures_print_as_numbers_not_scientific_notation(case):
    fit, _ = case
    fm = fit.fit_measures
    text = repr(fm)
    assert "e+0" not in text  # e.g. a baseline chi-square of 3229.676 used to print as 3.229676e+03
    assert re.search(rf"\bchisq\s+{fm['chisq']:.3f}\n", text) and re.search(rf"\bdf\s+{int(fm['df'])}\n", text)
    assert fm.dtype == float and (fm * 1).equals(fm)  # still an ordinary float Series for computing
    assert "<table" in fm._repr_html_()


def test_r2_is_one_minus_standardised_residual_variance(case):
    fit, _ = case
    t = fit.estimates
    for c in fit.spec.endogenous:
        resid = t[(t.op == "~~") & (t.lhs == c) & (t.rhs == c)]["std_estimate"].item()
        assert fit.r2[c] == pytest.approx(1 - resid, abs=1e-12)


@pytest.fixture(scope="module")
def exact():
    return exact_data()


def test_population_exact(exact):
    """Data whose covariance (divisor N) is the population Sigma: ML returns the population exactly.

    The fit is saturated in the sense that Sigma(theta_pop) = S, so F = 0 at the
    population parameters; Fisher scoring stops when no step exceeds 1e-9, and
    near F = 0 it converges quadratically, so 1e-7 leaves room for rounding in
    the whitening of the data (about 1e-13) and in the last step.
    """
    Sigma, lam, Phi, B = population()
    fit = csi.fit(spec(), exact, method="cbsem")
    assert fit.converged
    assert fit.fit_measures["chisq"] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(fit.loadings.to_numpy(), lam, atol=1e-7)
    np.testing.assert_allclose(fit.paths.to_numpy(), B, atol=1e-7)
    np.testing.assert_allclose(fit.construct_correlations.to_numpy(), Phi, atol=1e-7)
    t = fit.estimates.set_index(["lhs", "op", "rhs"])
    np.testing.assert_allclose(t.loc[("eta2", "=~", "x22"), "estimate"], 0.7 / 0.5, atol=1e-7)  # marker x21 = 0.5


def test_population_exact_uls(exact):
    """ULS has the same exact minimiser; semopy's SLSQP alone stops at about 1e-4 in the parameters."""
    Sigma, lam, Phi, B = population()
    fit = csi.fit(spec(), exact, method="cbsem", obj="ULS")
    np.testing.assert_allclose(fit.loadings.to_numpy(), lam, atol=2e-3)
    np.testing.assert_allclose(fit.paths.to_numpy(), B, atol=2e-3)


def test_weights_scores_and_index(exact):
    """Block weights are proportional to lambda_h / theta_h (items standardised, uncorrelated residuals);
    scores are the regression method Phi Lambda' Sigma^-1 (y - ybar)."""
    Sigma, lam, Phi, B = population()
    fit = csi.fit(spec(), exact, method="cbsem")
    block = spec().block_index
    for j in range(3):
        u = lam[block == j] / (1 - lam[block == j] ** 2)
        w = fit.weights.to_numpy()[block == j]
        np.testing.assert_allclose(w / w.sum(), u / u.sum(), atol=1e-7)
    # The scores' covariance with the items is Phi Lambda' Sigma^-1 S = Cov(eta, y) when S = Sigma; each
    # factor is in its marker item's metric, so sd(eta_j) is the population loading of the marker.
    X = exact[list(spec().item_names)].to_numpy()
    cov = fit.scores.to_numpy().T @ (X - X.mean(0)) / len(X)
    marker = lam[[0, 3, 6]]
    np.testing.assert_allclose(cov, fit.cross_loadings.to_numpy().T * marker[:, None], atol=1e-7)
    scaled = spec().with_scale(-5, 5)
    idx = csi.compute_index(csi.fit(scaled, exact, method="cbsem"))
    assert idx.between(0, 100).all()


def test_ecsi_index_is_weighted_mean_of_block(satisfaction):
    """With positive block weights the 0-100 index lies between the block's smallest and largest item
    mean on the 0-100 scale, and matches the weighted mean computed by hand."""
    fit = csi.fit(satisfaction_spec(), satisfaction, method="cbsem")
    idx = csi.compute_index(fit)
    assert (fit.weights > 0).all()
    item_0_100 = fit.item_means / 10 * 100
    for c in fit.spec.constructs:
        items = list(c.item_names)
        u = fit.weights[items] / fit.item_sds[items]
        assert idx[c.name] == pytest.approx(float((u * item_0_100[items]).sum() / u.sum()), abs=1e-10)
        assert item_0_100[items].min() < idx[c.name] < item_0_100[items].max()


def test_syntax_and_errors(satisfaction):
    text = semopy_syntax(satisfaction_spec())
    assert text.splitlines()[0] == "f0 =~ x0 + x1 + x2 + x3 + x4"
    with pytest.raises(EstimationError, match="composite"):
        csi.fit(satisfaction_spec("B"), satisfaction, method="cbsem")
    with pytest.raises(EstimationError, match="no option 'scheme'"):
        csi.fit(satisfaction_spec(), satisfaction, method="cbsem", scheme="centroid")
    with pytest.raises(EstimationError, match="unknown obj"):
        csi.fit(satisfaction_spec(), satisfaction, method="cbsem", obj="ML2")
    with pytest.raises(EstimationError, match="cannot use residual covariances"):
        csi.fit(
            "A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A\na1 ~~ b1",
            pd.DataFrame(
                np.random.default_rng(0).standard_normal((50, 6)), columns=["a1", "a2", "a3", "b1", "b2", "b3"]
            ),
        )


def test_pls_outputs_unchanged(satisfaction):
    fit = csi.fit(satisfaction_spec(), satisfaction)
    assert fit.parameter_table is None and fit.fit_measures is None
    assert "std_estimate" not in fit.estimates.columns


def test_summary_shows_lavaan_sections(case):
    fit, _ = case
    text = fit.summary()
    fm = fit.fit_measures
    assert f"{fm['chisq']:.3f} on {fm['df']:.0f} df" in text and "GoF" not in text
    assert "Measurement model (ML)" in text and "OLS" not in text
    if fit.spec.paths:
        path = fit.parameter_table.query("op == '~'").iloc[0]
        assert "Structural model (ML" in text and f"{path['std_error']:.4f}" in text
    assert "<h4>Measurement model (ML)</h4>" in fit._repr_html_()
    # inner_model keeps the standardised paths without OLS inference
    assert list(fit.inner_model.columns) == ["lhs", "rhs", "estimate"]


def test_heywood_case_is_flagged_and_warned():
    """ACSI at n = 100 (simulated, seed 17) gives a negative residual variance on the two-item VAL block."""
    spec = csi.load_model("acsi")
    data = csi.simulate(spec, 100, seed=17).data
    with pytest.warns(csi.AdmissibilityWarning, match=r"negative variance PQ; \|std loading\| > 1 VAL =~ PQ"):
        fit = csi.fit(spec, data, method="cbsem")
    t = fit.parameter_table.set_index(["lhs", "op", "rhs"])
    assert t.loc[("PQ", "~~", "PQ"), "estimate"] < 0 and abs(t.loc[("VAL", "=~", "PQ"), "std_estimate"]) > 1
    assert not fit.admissible and re.search(r"^Admissible +NO$", fit.summary(), flags=re.M)
    clean = csi.fit(spec, csi.simulate(spec, 400, seed=1).data, method="cbsem")
    assert clean.admissible and "Admissible" not in clean.summary()
