"""Results are immutable: editing any table a user gets changes nothing downstream.

Every public pandas table of a fit (PLS and CB-SEM), a bootstrap, an assessment and a panel result is
edited in place (every numeric cell shifted by 99); the result's own tables, the 0-100 index and a later
bootstrap of the fit must be unchanged (compared with the same computations done before the edits, so the
test fails if any edit reaches the result).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import csi
from csi.results.frozen import CopiedTables


def _tables(obj: object) -> dict[str, pd.DataFrame | pd.Series]:
    out = {}
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            value = getattr(obj, name)
        except csi.CSIError:  # a table the result cannot give (e.g. studentized intervals without inner draws)
            continue
        if isinstance(value, pd.DataFrame | pd.Series):
            out[name] = value
    return out


def _vandalise(table: pd.DataFrame | pd.Series) -> None:
    """Shift every numeric cell of ``table`` by 99, in place."""
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    for k, col in enumerate(frame.columns):
        if pd.api.types.is_numeric_dtype(frame[col].dtype) and not pd.api.types.is_bool_dtype(frame[col].dtype):
            if isinstance(table, pd.Series):
                table.iloc[:] = table.to_numpy() + 99
            else:
                table.iloc[:, k] = table.iloc[:, k].to_numpy() + 99


def _snapshot(obj: object) -> dict[str, pd.DataFrame | pd.Series]:
    return {k: v.copy(deep=True) for k, v in _tables(obj).items()}


def _assert_same(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for k in before:
        if isinstance(before[k], pd.Series):
            pd.testing.assert_series_equal(after[k], before[k], obj=k)
        else:
            pd.testing.assert_frame_equal(after[k], before[k], obj=k)


@pytest.fixture(scope="module")
def data(satisfaction: pd.DataFrame) -> pd.DataFrame:
    return satisfaction


@pytest.mark.parametrize("method", ["pls", "cbsem"])
def test_editing_a_fits_tables_changes_nothing(data: pd.DataFrame, method: str) -> None:
    from conftest import satisfaction_spec

    fit = csi.fit(satisfaction_spec(), data, method=method)
    before = _snapshot(fit)
    index_before = csi.compute_index(fit)
    boot_before = csi.bootstrap(fit, 20, seed=3, n_jobs=1).estimates if method == "pls" else None
    got = _tables(fit)
    assert {"estimates", "paths", "loadings", "weights", "scores", "outer_model", "item_means"} <= got.keys()
    for table in got.values():
        _vandalise(table)
    assert not got["paths"].equals(before["paths"])  # the edits did happen, to the caller's copies
    _assert_same(before, _snapshot(fit))
    pd.testing.assert_series_equal(csi.compute_index(fit), index_before)
    if boot_before is not None:
        # The bootstrap takes its original values from the fit, not from anything a caller could edit.
        pd.testing.assert_frame_equal(csi.bootstrap(fit, 20, seed=3, n_jobs=1).estimates, boot_before)
    with pytest.raises(ValueError, match="read-only"):
        fit.moments[0, 0] = 99.0


def test_editing_bootstrap_tables_changes_nothing(data: pd.DataFrame) -> None:
    from conftest import satisfaction_spec

    boot = csi.bootstrap(csi.fit(satisfaction_spec(), data), 50, seed=4)
    before = _snapshot(boot)
    original = boot.original.copy()
    for table in _tables(boot).values():
        _vandalise(table)
    _assert_same(before, _snapshot(boot))
    np.testing.assert_array_equal(boot.original, original)
    with pytest.raises(ValueError, match="read-only"):
        boot.original[0] = 99.0
    # draws handed out do not share memory that the result writes to, and cannot be written through numpy
    with pytest.raises(ValueError, match="read-only"):
        boot.draws.to_numpy()[0, 0] = 99.0
    pd.testing.assert_frame_equal(boot.with_ci("basic").estimates, boot.with_ci("basic").estimates)


def test_editing_assessment_and_panel_tables_changes_nothing(data: pd.DataFrame) -> None:
    from conftest import satisfaction_spec

    assessment = csi.assess(csi.fit(satisfaction_spec(), data))
    sim = csi.simulate_panel("acsi", companies=4, respondents=60, waves=2, seed=2, industries=2, sectors=1)
    panel = csi.index_panel(sim.data, sim.spec, company="company", wave="wave", industry="industry",
                            min_n=30, n_resamples=20, seed=1)  # fmt: skip
    for result in (assessment, panel):
        assert isinstance(result, CopiedTables)
        before = _snapshot(result)
        assert before, f"{type(result).__name__} has no tables"
        for table in _tables(result).values():
            _vandalise(table)
        _assert_same(before, _snapshot(result))
