"""Impacts, IPMA and respondent weights in the index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import csi
from csi.errors import EstimationError
from csi.index import scale_bounds, score_sds, unstandardised_weights


@pytest.fixture(scope="module")
def acsi_fit() -> csi.FitResult:
    spec = csi.load_model("acsi")
    return csi.fit(spec, csi.simulate(spec, 600, seed=21).data)


def scores_0_100(fit: csi.FitResult, data: pd.DataFrame) -> pd.DataFrame:
    """0-100 respondent scores by the definition: Fornell formula applied to each respondent's items."""
    spec = fit.spec
    lo, hi = scale_bounds(spec)
    u = unstandardised_weights(fit).to_numpy()
    X = data[list(spec.item_names)].to_numpy(dtype=float)
    M = spec.block_mask
    return pd.DataFrame(100 * ((X - lo) * u) @ M / ((hi - lo) * u @ M), columns=list(spec.construct_names))


def test_score_sds_are_the_sds_of_the_0_100_scores(acsi_fit):
    s = scores_0_100(acsi_fit, acsi_fit.data.to_frame())
    np.testing.assert_allclose(score_sds(acsi_fit), s.std(ddof=0), rtol=1e-12)
    np.testing.assert_allclose(s.mean(), csi.compute_index(acsi_fit), rtol=1e-12)


def test_impact_of_a_single_predecessor_is_the_ols_slope_of_0_100_scores(acsi_fit):
    """COMPL has one predecessor (SAT), so its total effect is a simple regression: 5 x slope in index points."""
    s = scores_0_100(acsi_fit, acsi_fit.data.to_frame())
    slope = np.cov(s["COMPL"], s["SAT"], ddof=0)[0, 1] / s["SAT"].var(ddof=0)
    imp = csi.impacts(acsi_fit)
    row = imp[(imp["driver"] == "SAT") & (imp["target"] == "COMPL")].iloc[0]
    assert row["impact"] == pytest.approx(5 * slope, rel=1e-10)
    assert row["performance"] == pytest.approx(csi.compute_index(acsi_fit)["SAT"], rel=1e-12)
    imp10 = csi.impacts(acsi_fit, points=10)
    np.testing.assert_allclose(imp10["impact"], 2 * imp["impact"], rtol=1e-14)


def test_impacts_cover_every_total_effect(acsi_fit):
    imp = csi.impacts(acsi_fit)
    eff = acsi_fit.effects
    assert list(zip(imp["driver"], imp["target"])) == list(zip(eff["from"], eff["to"]))
    assert list(imp.columns) == ["driver", "target", "impact", "performance"]
    sat = imp[imp["target"] == "SAT"]
    assert set(sat["driver"]) == {"EXP", "QUAL", "VAL"} and (sat["impact"] > 0).all()


def test_ipma_table(acsi_fit):
    t = csi.ipma(acsi_fit)  # target defaults to the model's SAT
    cons = t[t["kind"] == "construct"]
    assert list(cons["name"]) == list(cons.sort_values("importance", ascending=False)["name"])
    imp = csi.impacts(acsi_fit, points=1.0).query("target == 'SAT'").set_index("driver")
    np.testing.assert_allclose(cons.set_index("name")["importance"], imp.loc[cons["name"], "impact"], rtol=1e-14)
    items = t[t["kind"] == "item"]
    # Item importances of a block add up to the construct's (weights normalised in the 0-100 metric).
    sums = items.groupby("construct")["importance"].sum()
    np.testing.assert_allclose(sums[cons["name"]], cons["importance"], rtol=1e-12)
    data = acsi_fit.data.to_frame()
    np.testing.assert_allclose(items.set_index("name").loc["PQ", "performance"],
                               100 * (data["PQ"].mean() - 1) / 9, rtol=1e-12)  # fmt: skip
    with pytest.raises(EstimationError, match="exogenous"):
        csi.ipma(acsi_fit, target="EXP")
    with pytest.raises(EstimationError, match="unknown target"):
        csi.ipma(acsi_fit, target="NOPE")


def test_weighted_fit_equals_fit_of_replicated_rows():
    """Integer respondent weights are frequency weights: the fit equals the fit of the rows repeated (to 1e-10)."""
    spec = csi.load_model("acsi")
    data = csi.simulate(spec, 150, seed=8).data
    w = np.random.default_rng(1).integers(1, 4, len(data))
    weighted = csi.fit(spec, data.assign(w=w), weights="w")
    repeated = csi.fit(spec, data.loc[data.index.repeat(w)].reset_index(drop=True))
    for name in ("weights", "loadings", "item_means", "item_sds"):
        np.testing.assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=0, atol=1e-10)
    np.testing.assert_allclose(weighted.paths, repeated.paths, rtol=0, atol=1e-10)
    np.testing.assert_allclose(csi.compute_index(weighted), csi.compute_index(repeated), rtol=0, atol=1e-10)
    np.testing.assert_allclose(csi.impacts(weighted)["impact"], csi.impacts(repeated)["impact"], rtol=0, atol=1e-10)


def test_index_uses_weighted_item_means():
    spec = csi.load_model("acsi")
    data = csi.simulate(spec, 200, seed=3).data
    w = np.where(data["SATIS"] >= 8, 3.0, 1.0)  # weights tied to the answers: the weighted index must move
    fit = csi.fit(spec, data, weights=w)
    np.testing.assert_allclose(fit.item_means, np.average(data[list(spec.item_names)], axis=0, weights=w), rtol=1e-12)
    u = unstandardised_weights(fit)
    sat = ["SATIS", "CONFIRM", "IDEAL"]
    hand = 100 * (u[sat] @ np.average(data[sat], axis=0, weights=w) - 1) / 9
    assert csi.compute_index(fit)["SAT"] == pytest.approx(hand, abs=1e-10)
    assert csi.compute_index(fit)["SAT"] > csi.compute_index(csi.fit(spec, data))["SAT"] + 0.5
