"""Specific indirect effects (csi.core.effects, FitResult.indirect_effects, BootstrapResult.indirect_effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import csi
from csi.core.effects import chain_products, chains
from csi.demo import demo_data
from csi.errors import EstimationError
from csi.resample.intervals import bootstrap_se, percentile_ci


@pytest.fixture(scope="module")
def ecsi():
    data = demo_data(250, seed=3).data
    return csi.fit("ecsi", data), data


def test_chains_of_a_small_graph():
    # A -> B -> C, A -> C, C -> D: chains of two or more paths only.
    D = np.zeros((4, 4))
    for s, t in [(0, 1), (1, 2), (0, 2), (2, 3)]:
        D[t, s] = 1
    assert chains(D) == [(0, 1, 2), (0, 2, 3), (0, 1, 2, 3), (1, 2, 3)]  # by source, target, length
    B = np.zeros((4, 4))
    B[1, 0], B[2, 1], B[2, 0], B[3, 2] = 0.5, 0.4, 0.3, 0.2
    np.testing.assert_allclose(chain_products(B, chains(D)), [0.2, 0.06, 0.04, 0.08], rtol=1e-15)


@pytest.mark.parametrize("method", ["pls", "plsc", "sumscore"])
def test_specific_effects_sum_to_the_total_indirect_effect(ecsi, method):
    fit = csi.fit("ecsi", ecsi[1], method=method)
    t = fit.indirect_effects
    spec = t[t["kind"] == "specific"].groupby(["from", "to"])["estimate"].sum()
    total = t[t["kind"] == "total_indirect"].set_index(["from", "to"])["estimate"]
    effects = fit.effects.set_index(["from", "to"])["indirect"]
    np.testing.assert_allclose(spec.loc[total.index], total, rtol=0, atol=1e-12)
    np.testing.assert_allclose(total, effects.loc[total.index], rtol=0, atol=1e-12)
    assert set(effects[effects.abs() > 0].index) == set(total.index)  # every pair with an indirect route is listed
    chain = t[t["path"] == "QUAL -> VAL -> SAT -> LOY"]["estimate"].item()
    P = fit.paths
    assert chain == pytest.approx(P.loc["VAL", "QUAL"] * P.loc["SAT", "VAL"] * P.loc["LOY", "SAT"], abs=1e-15)


def test_bootstrap_of_indirect_effects_equals_a_loop_of_single_fits(ecsi):
    fit, data = ecsi
    rng = np.random.default_rng(5)
    rows = rng.integers(0, len(data), size=(25, len(data)))
    boot = csi.bootstrap(fit, indices=rows, progress=False)
    table = boot.indirect_effects
    loop = np.stack([csi.fit("ecsi", data.iloc[r].reset_index(drop=True)).indirect_effects["estimate"].to_numpy()
                     for r in rows])  # fmt: skip
    np.testing.assert_allclose(table["se"], bootstrap_se(loop), rtol=1e-9, atol=1e-12)
    lower, upper = percentile_ci(loop, level=0.95)
    np.testing.assert_allclose(table["ci_lower"], lower, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table["ci_upper"], upper, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table["estimate"], fit.indirect_effects["estimate"], rtol=0, atol=1e-15)


def test_other_interval_types_and_studentized_refused(ecsi):
    fit, _ = ecsi
    boot = csi.bootstrap(fit, 200, seed=2, progress=False)
    bca = boot.with_ci("bca").indirect_effects
    pct = boot.indirect_effects
    assert (bca["ci_lower"] != pct["ci_lower"]).any() and np.isfinite(bca[["ci_lower", "ci_upper"]]).all().all()
    with pytest.raises(EstimationError, match="studentized"):
        boot.with_ci("studentized").indirect_effects  # noqa: B018


def test_a_model_without_indirect_routes_has_an_empty_table():
    data = demo_data(200, seed=1).data
    ecsi = csi.load_model("ecsi")
    blocks = {c.name: " + ".join(i.name for i in c.items) for c in ecsi.constructs}
    spec = csi.load_model(f"QUAL =~ {blocks['QUAL']}\nSAT =~ {blocks['SAT']}\nSAT ~ QUAL")
    fit = csi.fit(spec, data)
    assert isinstance(fit.indirect_effects, pd.DataFrame) and fit.indirect_effects.empty
