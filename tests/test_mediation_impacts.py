"""Indirect effects on the 0-100 impact scale (csi.indirect_impacts) and in the fit and bootstrap summaries."""

from __future__ import annotations

import numpy as np
import pytest

import csi
from csi.demo import demo_data
from csi.errors import EstimationError
from csi.index.impacts import score_sds


@pytest.fixture(scope="module")
def fit():
    return csi.fit("ecsi", demo_data(250, seed=3).data)


@pytest.fixture(scope="module")
def boot(fit):
    return csi.bootstrap(fit, 200, seed=1, n_jobs=1)


def test_indirect_impacts_add_up_with_the_direct_impact_to_the_total_impact(fit) -> None:
    t = csi.indirect_impacts(fit, points=5)
    specific = t[t["kind"] == "specific"].groupby(["from", "to"])["impact"].sum()
    total = t[t["kind"] == "total_indirect"].set_index(["from", "to"])["impact"]
    np.testing.assert_allclose(specific.loc[total.index], total, rtol=0, atol=1e-12)
    # impacts(): points x total effect x sd ratio; the direct part converts with the same ratio.
    imp = csi.impacts(fit, 5).set_index(["driver", "target"])["impact"]
    sds = score_sds(fit)
    for (s, t_), value in total.items():
        direct = 5 * fit.paths.loc[t_, s] * sds[t_] / sds[s]
        assert direct + value == pytest.approx(imp.loc[(s, t_)], abs=1e-12)
    # A chain converts with the SD ratio of its two ends (the middle ones cancel).
    row = t[t["path"] == "QUAL -> VAL -> SAT -> LOY"].iloc[0]
    P = fit.paths
    by_hand = 5 * (P.loc["VAL", "QUAL"] * sds["VAL"] / sds["QUAL"]) * (P.loc["SAT", "VAL"] * sds["SAT"] / sds["VAL"]) \
        * (P.loc["LOY", "SAT"] * sds["LOY"] / sds["SAT"])  # fmt: skip
    assert row["impact"] == pytest.approx(by_hand, rel=1e-12)


def test_bootstrap_indirect_impacts_scale_the_interval_by_the_fit_ratio(fit, boot) -> None:
    t = csi.indirect_impacts(boot, points=1)
    ind = boot.indirect_effects
    sds = score_sds(fit)
    ratio = sds.loc[t["to"]].to_numpy() / sds.loc[t["from"]].to_numpy()
    for col, src in (("impact", "estimate"), ("impact_se", "se"), ("impact_ci_lower", "ci_lower"),
                     ("impact_ci_upper", "ci_upper")):  # fmt: skip
        np.testing.assert_allclose(t[col].to_numpy(), ratio * ind[src].to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(t["p_value"].to_numpy(), ind["p_value"].to_numpy())


def test_indirect_impacts_reject_bad_input(fit) -> None:
    with pytest.raises(EstimationError, match="points must be a finite number"):
        csi.indirect_impacts(fit, points=np.nan)
    with pytest.raises(EstimationError, match="needs a FitResult or a BootstrapResult"):
        csi.indirect_impacts(fit.estimates)


def test_fit_summary_lists_every_chain_and_total(fit) -> None:
    text = fit.summary()
    assert "Indirect effects (products of paths along each chain)" in text
    ind = fit.indirect_effects
    for r in ind.itertuples():
        line = next(x for x in text.splitlines() if x.startswith(r.path + " ") and r.kind in x)
        assert line.split()[-1] == f"{r.estimate:.4f}"
    simple = csi.fit("SAT =~ CUSA1 + CUSA2 + CUSA3\nLOY =~ CUSL1 + CUSL2 + CUSL3\nLOY ~ SAT",
                     demo_data(100, seed=1).data)  # fmt: skip
    assert "Indirect effects" not in simple.summary()


def test_bootstrap_summary_lists_specific_indirect_effects(boot) -> None:
    text = boot.summary()
    assert "Specific indirect effects (each chain)" in text
    ind = boot.indirect_effects
    spec = ind[ind["kind"] == "specific"]
    body = text.split("Specific indirect effects (each chain)")[1]
    for r in spec.itertuples():
        line = next(x for x in body.splitlines() if x.startswith(r.path + " "))
        assert line.split()[len(r.path.split()) : len(r.path.split()) + 2] == [f"{r.estimate:.3f}", f"{r.se:.3f}"]
