"""Multiple-group CB-SEM and measurement invariance against lavaan 0.6.14 (tests/reference/README.md §9).

Holzinger & Swineford (1939), three-factor CFA by school: configural, metric
(``group.equal = "loadings"``) and scalar (``+ "intercepts"``) fits and
``lavTestLRT`` of the three.  csi stops at a step below 1e-9, lavaan about 1e-5
from the optimum: estimates and std.all 1e-4 absolute, expected-information
standard errors 1e-3 relative, likelihood-based fit measures 1e-5 relative;
SRMR is compared to 1e-4 relative (it differs from lavaan by ~3e-6 relative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file

import csi
from csi.errors import DataError, EstimationError

HS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"
LEVELS = {"configural": (), "metric": ("loadings",), "scalar": ("loadings", "intercepts")}
MEASURES = ["npar", "fmin", "chisq", "df", "pvalue", "cfi", "tli", "logl", "unrestricted.logl", "aic", "bic", "rmsea",
            "rmsea.ci.upper", "rmsea.pvalue", "baseline.chisq", "baseline.df", "ntotal"]  # fmt: skip


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(reference_file("holzinger_swineford_1939.csv"))


@pytest.fixture(scope="module")
def inv(hs):
    return csi.invariance(HS, hs, group="school", levels=list(LEVELS))


@pytest.mark.parametrize("level", list(LEVELS))
def test_estimates_and_standard_errors_match_lavaan(inv, level):
    fit = inv.fits[level]
    assert fit.converged and fit.groups == ("Pasteur", "Grant-White") and fit.group_equal == LEVELS[level]
    ref = pd.read_csv(reference_file(f"holzinger_swineford_1939.lavaan.school_{level}.params.csv"),
                      keep_default_na=False, na_values=["NA"])  # fmt: skip
    ours = fit.estimates.assign(gi=fit.estimates["group"].map({g: i + 1 for i, g in enumerate(fit.groups)}))
    m = ref.merge(ours, left_on=["group", "lhs", "op", "rhs"], right_on=["gi", "lhs", "op", "rhs"], how="left")
    assert len(m) == len(ref) and m["estimate"].notna().all()
    np.testing.assert_allclose(m["estimate"], m["est"], atol=1e-4)
    np.testing.assert_allclose(m["std_estimate"], m["std.all"], atol=1e-4)
    free = m["se"] > 0
    assert (free == m["free"]).all()
    np.testing.assert_allclose(m.loc[free, "std_error"], m.loc[free, "se"], rtol=1e-3)
    # Equality constraints hold exactly.
    if level != "configural":
        t = fit.estimates[(fit.estimates["op"] == "=~")].pivot(index=["lhs", "rhs"], columns="group", values="estimate")
        assert (t.iloc[:, 0] == t.iloc[:, 1]).all()


@pytest.mark.parametrize("level", list(LEVELS))
def test_fit_measures_match_lavaan(inv, level):
    ref = pd.read_csv(reference_file(f"holzinger_swineford_1939.lavaan.school_{level}.fit.csv"))
    ref = ref.set_index("measure")["value"]
    ours = inv.fits[level].fit_measures
    for key in MEASURES:
        assert ours[key.replace(".", "_")] == pytest.approx(ref[key], rel=1e-5, abs=1e-12), key
    assert ours["srmr"] == pytest.approx(ref["srmr"], rel=1e-4)


def test_chi_square_difference_tests_match_lavaan_lrt(inv):
    ref = pd.read_csv(reference_file("holzinger_swineford_1939.lavaan.school_invariance_LRT.csv"), index_col=0)
    t = inv.table
    np.testing.assert_allclose(t["chisq"], ref["Chisq"], rtol=1e-5)
    np.testing.assert_allclose(t["df"], ref["Df"])
    np.testing.assert_allclose(t["chisq_diff"].iloc[1:], ref["Chisq diff"].iloc[1:], rtol=1e-5)
    np.testing.assert_allclose(t["p_value"].iloc[1:], ref["Pr(>Chisq)"].iloc[1:], rtol=1e-4)
    np.testing.assert_allclose(t["rmsea_diff"].iloc[1:], ref["RMSEA"].iloc[1:], rtol=1e-5)
    np.testing.assert_allclose(t["cfi_diff"].iloc[1:], np.diff(t["cfi"]), rtol=1e-12)
    assert "scalar" in inv.summary()


def test_strict_and_means(hs):
    """Strict adds the 9 residual variances (9 df); equal latent means on top of scalar fix the 3 free means."""
    strict = csi.fit(HS, hs, method="cbsem", group="school", group_equal=["loadings", "intercepts", "residuals"])
    scalar = csi.fit(HS, hs, method="cbsem", group="school", group_equal=["loadings", "intercepts"])
    means = csi.fit(HS, hs, method="cbsem", group="school", group_equal=["loadings", "intercepts", "means"])
    assert strict.fit_measures["df"] == scalar.fit_measures["df"] + 9
    assert means.fit_measures["df"] == scalar.fit_measures["df"] + 3
    assert strict.fit_measures["chisq"] >= scalar.fit_measures["chisq"] - 1e-9
    t = strict.estimates
    res = t[(t["op"] == "~~") & (t["lhs"] == t["rhs"]) & t["lhs"].str.startswith("x")]
    piv = res.pivot(index="lhs", columns="group", values="estimate")
    assert (piv.iloc[:, 0] == piv.iloc[:, 1]).all()
    lm = means.estimates[(means.estimates["op"] == "~1") & ~means.estimates["lhs"].str.startswith("x")]
    assert (lm["estimate"] == 0).all() and not lm["free"].any()
    assert "Group Grant-White" in strict.summary()


def test_group_errors(hs):
    with pytest.raises(EstimationError, match="unknown group_equal"):
        csi.fit(HS, hs, method="cbsem", group="school", group_equal=["slopes"])
    with pytest.raises(DataError, match="not in the data"):
        csi.fit(HS, hs, method="cbsem", group="district")
    with pytest.raises(DataError, match="1 level"):
        csi.fit(HS, hs.assign(one="a"), method="cbsem", group="one")
    with pytest.raises(EstimationError, match="give group="):
        csi.fit(HS, hs, method="cbsem", group_equal=["loadings"])
    with pytest.raises(EstimationError, match="unknown invariance"):
        csi.invariance(HS, hs, group="school", levels=["partial"])


def test_a_label_is_one_parameter_in_every_group(hs):
    """lavaan applies a label to all groups: labelling one loading equals it across schools (one df)."""
    free = csi.fit(HS, hs, method="cbsem", group="school")
    lab = csi.fit(HS.replace("x1 + x2", "x1 + a*x2"), hs, method="cbsem", group="school")
    assert lab.fit_measures["df"] == free.fit_measures["df"] + 1
    t = lab.estimates[(lab.estimates["op"] == "=~") & (lab.estimates["rhs"] == "x2")]
    assert t["estimate"].nunique() == 1
