"""Fixed values, free markers and equality labels in the model text (lavaan's premultipliers) and their CB-SEM fits.

The lavaan parity of a variance-scaled model (``NA*x`` markers, ``f ~~ 1*f``)
is in ``tests/test_cbsem.py`` (case ``pd_fixed_values``, reference README §10).
Here the constraints are checked by consistency: fixing a parameter at its free
estimate leaves the optimum where it was and adds one degree of freedom; a
shared label makes two estimates equal and costs one degree of freedom and a
chi-square no smaller than the free model's.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file
from test_cbsem import PD_MODEL

import csi
from csi.errors import EstimationError, ModelSyntaxError, SpecError
from csi.estimators.cbsem_model import semopy_syntax
from csi.spec import Modifier, parse_lavaan, render_lavaan, to_toml

PD = PD_MODEL  # the political-democracy model of reference README §6a


@pytest.fixture(scope="module")
def pd_data():
    return pd.read_csv(reference_file("political_democracy.csv"), index_col=0)


@pytest.fixture(scope="module")
def free_fit(pd_data):
    return csi.fit(PD, pd_data, method="cbsem")


def _est(fit, lhs, op, rhs):
    t = fit.estimates
    return t[(t.lhs == lhs) & (t.op == op) & (t.rhs == rhs)].iloc[0]


def test_parse_and_round_trip():
    spec = parse_lavaan(
        "F =~ NA*a1 + lab*a2 + a3\nG =~ 2.5*b1 + lab*b2\nG ~ 0*F\nF ~~ 1*F\na1 ~~ -0.25*b1\n"
    )
    mods = {m.key: m for m in spec.modifiers}
    assert mods[("=~", "F", "a1")].is_free_marker
    assert mods[("=~", "F", "a2")].label == "lab" and mods[("=~", "G", "b2")].label == "lab"
    assert mods[("=~", "G", "b1")].fixed == 2.5
    assert mods[("~", "G", "F")].fixed == 0.0
    assert mods[("~~", "F", "F")].fixed == 1.0
    assert mods[("~~", "a1", "b1")].fixed == -0.25
    text = render_lavaan(spec)
    assert "F =~ NA*a1 + lab*a2 + a3" in text and "G ~ 0*F" in text and "a1 ~~ -0.25*b1" in text
    assert parse_lavaan(text) == spec
    # The modifiers written in another order give the same spec.
    assert parse_lavaan("F =~ NA*a1 + lab*a2 + a3\nF ~~ 1*F\nG =~ 2.5*b1 + lab*b2\na1 ~~ -0.25*b1\nG ~ 0*F") == spec


def test_modifier_validation():
    spec = parse_lavaan("F =~ a1 + a2\nG =~ b1 + b2\nG ~ F")
    bad = [
        (Modifier("F", "=~", "b1", 1.0), "not an item of construct 'F'"),
        (Modifier("F", "~", "G", 0.0), "no path G -> F"),
        (Modifier("a1", "~~", "b1", 0.0), "no covariance"),
        (Modifier("G", "~", "F"), "NA .* loadings"),
    ]
    for mod, message in bad:
        with pytest.raises(SpecError, match=message):
            dataclasses.replace(spec, modifiers=(mod,))
    with pytest.raises(SpecError, match="not both"):
        Modifier("G", "~", "F", 0.0, "x")
    with pytest.raises(SpecError, match="finite"):
        Modifier("G", "~", "F", float("nan"))
    with pytest.raises(SpecError, match="two modifiers"):
        dataclasses.replace(spec, modifiers=(Modifier("G", "~", "F", 0.0), Modifier("G", "~", "F", label="b")))
    with pytest.raises(ModelSyntaxError, match="unsupported modifier"):
        parse_lavaan('F =~ a1 + "x y"*a2')


def test_marker_rules_follow_lavaan():
    # First loading fixed at 1 unless fixed or freed; all free -> fresh labels so semopy fixes none.
    text = semopy_syntax(parse_lavaan("F =~ a1 + a2\nG =~ NA*b1 + b2\nH =~ c1 + 0.5*c2"))
    lines = text.splitlines()
    assert lines[0] == "f0 =~ x0 + x1"  # semopy fixes the first loading itself
    assert lines[1].startswith("f1 =~ _free") and "1.0*" not in lines[1]
    assert lines[2] == "f2 =~ 1.0*x4 + 0.5*x5"
    with pytest.raises(EstimationError, match="marker"):
        semopy_syntax(parse_lavaan("F =~ a*a1 + a2\nG =~ b1 + a*b2"))


def test_fixing_a_parameter_at_its_estimate_keeps_the_optimum(pd_data, free_fit):
    value = float(_est(free_fit, "dem65", "~", "ind60")["estimate"])
    fixed = csi.fit(PD.replace("dem65 ~ ind60", f"dem65 ~ {value!r}*ind60"), pd_data, method="cbsem")
    row = _est(fixed, "dem65", "~", "ind60")
    assert not row["free"] and row["estimate"] == value and np.isnan(row["std_error"])
    f0, f1 = free_fit.fit_measures, fixed.fit_measures
    assert f1["df"] == f0["df"] + 1 and f1["npar"] == f0["npar"] - 1
    # The free optimum satisfies the constraint, so it stays optimal: chi-square to the optimiser's accuracy.
    assert f1["chisq"] == pytest.approx(f0["chisq"], rel=1e-9)
    np.testing.assert_allclose(fixed.estimates["estimate"], free_fit.estimates["estimate"], atol=1e-6)


def test_zero_path_and_fixed_variance(pd_data, free_fit):
    fit = csi.fit(PD.replace("dem65 ~ ind60", "dem65 ~ 0*ind60") + "y1 ~~ 2*y1\n", pd_data, method="cbsem")
    assert _est(fit, "dem65", "~", "ind60")["estimate"] == 0.0
    row = _est(fit, "y1", "~~", "y1")
    assert row["estimate"] == 2.0 and not row["free"]
    assert fit.fit_measures["df"] == free_fit.fit_measures["df"] + 2
    assert fit.fit_measures["chisq"] > free_fit.fit_measures["chisq"]


def test_shared_label_is_an_equality_constraint(pd_data, free_fit):
    text = PD.replace("y1 + y2", "y1 + a*y2").replace("y5 + y6", "y5 + a*y6")
    fit = csi.fit(text, pd_data, method="cbsem")
    assert fit.converged
    a, b = _est(fit, "dem60", "=~", "y2"), _est(fit, "dem65", "=~", "y6")
    assert a["estimate"] == b["estimate"] and a["std_error"] == b["std_error"] and a["free"]
    assert fit.fit_measures["df"] == free_fit.fit_measures["df"] + 1
    assert fit.fit_measures["chisq"] >= free_fit.fit_measures["chisq"] - 1e-9
    # The common value lies between the two free estimates (a compromise, not one of them).
    lo, hi = sorted((_est(free_fit, "dem60", "=~", "y2")["estimate"], _est(free_fit, "dem65", "=~", "y6")["estimate"]))
    assert lo < a["estimate"] < hi


def test_other_methods_and_toml_refuse_modifiers(pd_data):
    spec = parse_lavaan(PD.split("y1 ~~")[0].replace("dem65 ~ ind60", "dem65 ~ 0*ind60"))
    for method in ("pls", "plsc", "sumscore", "pca"):
        with pytest.raises(EstimationError, match="fixed values or labels"):
            csi.fit(spec, pd_data, method=method)
    with pytest.raises(SpecError, match="TOML"):
        to_toml(spec)


def test_bootstrap_of_a_variance_scaled_model_equals_fresh_fits(pd_data):
    """The batched kernel handles fixed values and free markers: a replicate equals a fresh fit to 1e-6."""
    from csi.resample.plans import OrdinaryPlan

    text = (
        PD.replace("=~ x1", "=~ NA*x1").replace("=~ y1", "=~ NA*y1").replace("=~ y5", "=~ NA*y5")
        + "ind60 ~~ 1*ind60\ndem60 ~~ 1*dem60\ndem65 ~~ 1*dem65\n"
    )
    fit = csi.fit(text, pd_data, method="cbsem")
    rows = OrdinaryPlan(len(pd_data), 2, 3).indices()
    boot = csi.bootstrap(fit, indices=rows, n_jobs=1)
    for b in range(2):
        fresh = csi.fit(text, pd_data.iloc[rows[b]].reset_index(drop=True), method="cbsem").estimates
        labels = [f"{a} {o} {c}" for a, o, c in fresh[["lhs", "op", "rhs"]].itertuples(index=False)]
        np.testing.assert_allclose(boot.draws.loc[b, labels].to_numpy(float), fresh["estimate"], atol=1e-6)
