"""Modification indices against lavaan 0.6.14 ``modindices(fit, sort. = TRUE)`` (tests/reference/README.md §10).

Model: the political-democracy model of §6a (``PD_MODEL``). Tolerances: mi 1e-4 relative with 1e-6 absolute,
epc and sepc 1e-4 relative with 1e-5 absolute. csi's estimates agree with lavaan's to about 7e-6 (test_cbsem.py),
and a modification index is a function of the residual ``S - Sigma`` at those estimates, so candidates whose mi is
near zero (lavaan's smallest is 0.0004) can only agree to about that absolute size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file
from test_cbsem import PD_MODEL

import csi
from csi.errors import EstimationError


def _key(frame: pd.DataFrame) -> list[str]:
    return [f"{a} =~ {b}" if op == "=~" else " ~~ ".join(sorted((a, b))) for a, op, b in
            zip(frame["lhs"], frame["op"], frame["rhs"], strict=True)]  # fmt: skip


@pytest.fixture(scope="module")
def pd_fit():
    data = pd.read_csv(reference_file("political_democracy.csv"), index_col=0)
    return csi.fit(PD_MODEL, data, method="cbsem")


def test_modification_indices_match_lavaan(pd_fit):
    ours = csi.modification_indices(pd_fit)
    ref = pd.read_csv(reference_file("political_democracy.lavaan.semopy_model_ML.modindices.csv"))
    ours.index, ref.index = _key(ours), _key(ref)
    assert sorted(ours.index) == sorted(ref.index)  # the same 22 cross-loadings and 49 residual covariances
    ours = ours.loc[ref.index]
    np.testing.assert_allclose(ours["mi"], ref["mi"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours["epc"], ref["epc"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours["sepc_lv"], ref["sepc.lv"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours["sepc_all"], ref["sepc.all"], rtol=1e-4, atol=1e-5)


def test_sorted_largest_first_and_unsorted_in_model_order(pd_fit):
    mi = csi.modification_indices(pd_fit)
    assert (np.diff(mi["mi"].to_numpy()) <= 0).all()
    raw = csi.modification_indices(pd_fit, sort=False)
    assert list(raw["op"]) == sorted(raw["op"], key=["=~", "~~"].index)
    assert sorted(_key(raw)) == sorted(_key(mi))


def test_freeing_the_largest_covariance_lowers_chisq_by_about_its_mi(pd_fit):
    # The score test approximates the likelihood-ratio test of freeing the parameter (Sörbom 1989); a
    # cross-loading cannot be tried this way (an item measures one construct in a csi model).
    mi = csi.modification_indices(pd_fit)
    top = mi[mi["op"] == "~~"].iloc[0]
    data = pd.read_csv(reference_file("political_democracy.csv"), index_col=0)
    freed = csi.fit(PD_MODEL + f"{top['lhs']} ~~ {top['rhs']}\n", data, method="cbsem")
    drop = pd_fit.fit_measures["chisq"] - freed.fit_measures["chisq"]
    assert drop == pytest.approx(top["mi"], rel=0.25)


def test_needs_a_cbsem_fit(pd_fit):
    text = "\n".join(line for line in PD_MODEL.splitlines() if "~~" not in line)
    pls = csi.fit(text, pd_fit.data.to_frame())
    with pytest.raises(EstimationError, match="CB-SEM fit"):
        csi.modification_indices(pls)
