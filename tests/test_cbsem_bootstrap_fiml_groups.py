"""Bootstrap of FIML and multiple-group CB-SEM fits: each replicate is a refit of the resampled rows.

A replicate of ``csi.bootstrap`` (warm-started Newton/BFGS on the resample's patterns or group moments) is
compared with a fresh ``csi.fit`` of the same rows (started from moment start values).  Both stop at a step
below tol = 1e-9 of the same optimum; with Newton-type convergence the estimates are then within about 1e-9
of it, so 1e-6 absolute leaves three orders of magnitude for the conditioning of the Hessian.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file
from test_cbsem import PD_MODEL
from test_cbsem_groups import HS

import csi
from csi.errors import EstimationError
from csi.estimators.cbsem_groups_bootstrap import group_labels
from csi.resample.plans import OrdinaryPlan, StratifiedPlan
from csi.spec.model import Construct, Item, ModelSpec
from csi.spec.model import Path as SPath

SCALAR = ("loadings", "intercepts")


def _labels(est: pd.DataFrame, group: bool = False) -> list[str]:
    cols = ["group", "lhs", "op", "rhs"] if group else ["lhs", "op", "rhs"]
    return [(f"{r[0]}: " if group else "") + " ".join(map(str, r[-3:])) for r in est[cols].itertuples(index=False)]


@pytest.fixture(scope="module")
def small_missing(satisfaction):
    """Two factors of three 0-10 items from the satisfaction data, 8 % of cells missing completely at random."""
    items = {"EXPE": ["expe1", "expe2", "expe3"], "SAT": ["sat1", "sat2", "sat3"]}
    spec = ModelSpec(
        "two factors", tuple(Construct(c, tuple(Item(i, 0, 10) for i in its)) for c, its in items.items()),
        (SPath("EXPE", "SAT", "+"),),
    )  # fmt: skip
    data = satisfaction[items["EXPE"] + items["SAT"]].copy()
    holes = np.random.default_rng(3).random(data.shape) < 0.08
    return spec, data.mask(holes)


def test_fiml_replicates_equal_fresh_fiml_fits():
    data = pd.read_csv(reference_file("political_democracy_missing.csv"), index_col=0)
    fit = csi.fit(PD_MODEL, data, method="cbsem", missing="fiml")
    rows = OrdinaryPlan(len(data), 3, 7).indices()
    with pytest.warns(csi.errors.AdmissibilityWarning):  # dem65's disturbance again (see test_cbsem_bootstrap)
        boot = csi.bootstrap(fit, indices=rows, n_jobs=1, failed="keep")
    assert boot.n_not_converged == 0 and (boot.estimates["op"] == "~1").sum() == 14  # 11 intercepts, 3 means
    flagged = 0
    for b in range(len(rows)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", csi.errors.AdmissibilityWarning)
            fresh = csi.fit(PD_MODEL, data.iloc[rows[b]].reset_index(drop=True), method="cbsem", missing="fiml")
        est = fresh.estimates
        np.testing.assert_allclose(boot.draws.loc[b, _labels(est)].to_numpy(float), est["estimate"], atol=1e-6)
        flagged += not fresh.admissible
    assert boot.n_inadmissible == flagged > 0  # the bootstrap judges a replicate as a single fit is judged


def test_fiml_bootstrap_reproducible_any_jobs_with_index(small_missing):
    """Two blocks of replicates on one or two worker processes give the same bytes; the 0-100 index of every
    replicate lies on its scale and the draws centre on the fit's own index."""
    spec, data = small_missing
    fit = csi.fit(spec, data, method="cbsem", missing="fiml")
    a = csi.bootstrap(fit, 66, seed=8, n_jobs=1)
    b = csi.bootstrap(fit, 66, seed=8, n_jobs=2)
    assert a.draws.to_numpy().tobytes() == b.draws.to_numpy().tobytes()
    assert a.n_failed == 0
    index = a.estimates[a.estimates["op"] == "index"].set_index("lhs")
    draws = a.draws[[f"{c} index {c}" for c in index.index]].to_numpy()
    assert np.all((draws > 0) & (draws < 100))
    assert np.all(np.abs(index["mean"] - index["estimate"]) < 3 * index["se"])
    one = csi.fit(spec, data.iloc[OrdinaryPlan(len(data), 1, 8).indices()[0]].reset_index(drop=True),
                  method="cbsem", missing="fiml")  # fmt: skip
    np.testing.assert_allclose(a.draws.loc[0, _labels(one.estimates)].to_numpy(float), one.estimates["estimate"],
                               atol=1e-6)  # fmt: skip


@pytest.fixture(scope="module")
def hs_scalar():
    hs = pd.read_csv(reference_file("holzinger_swineford_1939.csv"))
    return csi.fit(HS, hs, method="cbsem", group="school", group_equal=SCALAR), hs


def test_group_replicates_equal_fresh_group_fits(hs_scalar):
    """Rows are drawn within each school; a fresh fit of the same rows (reordered so the schools come in the
    fit's order: lavaan's group 1 carries the fixed latent means) gives the same estimates in every group."""
    fit, hs = hs_scalar
    rows = StratifiedPlan(group_labels(fit), 2, 2).indices()
    boot = csi.bootstrap(fit, indices=rows, n_jobs=1)
    assert boot.n_failed == 0 and list(boot.estimates.columns[:4]) == ["group", "lhs", "op", "rhs"]
    order = {g: k for k, g in enumerate(fit.groups)}
    for b in range(len(rows)):
        d = hs.iloc[rows[b]].reset_index(drop=True)
        assert d["school"].value_counts().to_dict() == hs["school"].value_counts().to_dict()
        d = d.iloc[np.argsort(d["school"].map(order).to_numpy(), kind="stable")]
        fresh = csi.fit(HS, d, method="cbsem", group="school", group_equal=SCALAR)
        est = fresh.estimates
        np.testing.assert_allclose(boot.draws.loc[b, _labels(est, True)].to_numpy(float), est["estimate"],
                                   atol=1e-6)  # fmt: skip


def test_group_bootstrap_reproducible_any_jobs_and_keeps_equalities(hs_scalar):
    fit, _ = hs_scalar
    with pytest.warns(csi.errors.AdmissibilityWarning):
        a = csi.bootstrap(fit, 66, seed=5, n_jobs=1)
    with pytest.warns(csi.errors.AdmissibilityWarning):
        b = csi.bootstrap(fit, 66, seed=5, n_jobs=2)
    assert a.draws.to_numpy().tobytes() == b.draws.to_numpy().tobytes()
    assert a.plan["kind"] == "stratified" and a.plan["strata"] == {g: int(k) for g, k in fit.n.items()}
    # Loadings and item intercepts are constrained equal across schools, so every replicate has them equal too
    # (the latent means are not: group 1's are fixed at 0, the others free).
    first, second = fit.groups
    for op in ("=~", "~1"):
        cols = [c for c in a.draws.columns if f" {op} " in f"{c} " and c.startswith(f"{first}: ")
                and (op == "=~" or c.startswith(f"{first}: x"))]  # fmt: skip
        np.testing.assert_array_equal(a.draws[cols].to_numpy(),
                                      a.draws[[c.replace(f"{first}: ", f"{second}: ", 1) for c in cols]].to_numpy())
    assert "Pasteur: visual =~ x2" in a.summary()
    assert a.with_ci("bca").estimates["ci_lower"].notna().sum() > 0


def test_group_bootstrap_rejects_strata_and_pls_options(hs_scalar):
    fit, hs = hs_scalar
    with pytest.raises(EstimationError, match="within its groups"):
        csi.bootstrap(fit, 10, seed=1, strata=hs["school"].to_numpy())
    with pytest.raises(EstimationError, match="sign_change"):
        csi.bootstrap(fit, 10, seed=1, sign_change="individual")
