"""SERVQUAL / SERVPERF (methodology §6.4) on hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csi.classical import SERVQUAL_DIMENSIONS, servqual
from csi.errors import DataError

DIMS = {"a": (1, 2), "b": (3,)}
DF = pd.DataFrame(
    {
        "P1": [5, 7], "P2": [4, 6], "P3": [3, 2],
        "E1": [6, 7], "E2": [6, 5], "E3": [3, 5],
        "wa": [60, 20], "wb": [40, 80],
    }
)  # fmt: skip


def test_gaps_dimensions_and_totals_hand_worked():
    res = servqual(DF, dimensions=DIMS, points={"a": "wa", "b": "wb"})
    np.testing.assert_array_equal(res.item_scores.to_numpy(), [[-1, -2, 0], [0, 1, -3]])
    np.testing.assert_allclose(res.dimension_scores.to_numpy(), [[-1.5, 0.0], [0.5, -3.0]])
    np.testing.assert_allclose(res.unweighted, [-0.75, -1.25])
    np.testing.assert_allclose(res.weighted, [0.6 * -1.5 + 0.4 * 0.0, 0.2 * 0.5 + 0.8 * -3.0])
    assert res.total == pytest.approx(-1.0)
    np.testing.assert_allclose(res.summary.loc["a"], [5.5, 6.0, -0.5])


def test_servperf_uses_perceptions_only():
    res = servqual(DF, expectation=None, dimensions=DIMS, method="servperf")
    np.testing.assert_allclose(res.dimension_scores.to_numpy(), [[4.5, 3.0], [6.5, 2.0]])
    assert res.weighted is None and np.isnan(res.summary.loc["a", "expectation"])


def test_constant_points_and_column_lists():
    res = servqual(DF, ["P1", "P2", "P3"], ["E1", "E2", "E3"], dimensions=DIMS, points={"a": 50, "b": 50})
    np.testing.assert_allclose(res.weighted, res.unweighted)


def test_reverse_items_recoded_before_the_gap():
    res = servqual(DF, dimensions=DIMS, reverse=[3])
    # item 3 recoded 8 - x: P (5, 6), E (5, 3) -> gaps (0, 3)
    np.testing.assert_array_equal(res.item_scores[3].to_numpy(), [0, 3])


def test_default_22_items_in_five_dimensions():
    n = 4
    data = {f"P{k}": np.full(n, 5.0) for k in range(1, 23)} | {f"E{k}": np.full(n, 5.0 + k % 2) for k in range(1, 23)}
    res = servqual(pd.DataFrame(data))
    assert list(res.dimension_scores.columns) == list(SERVQUAL_DIMENSIONS)
    # odd items have gap -1: tangibles 1-4 -> -0.5; reliability 5-9 -> -3/5; empathy 18-22 -> -2/5
    np.testing.assert_allclose(res.dimension_scores.iloc[0], [-0.5, -0.6, -0.5, -0.5, -0.4])


def test_missing_answers():
    df = DF.astype(float)
    df.loc[1, "P2"] = np.nan
    with pytest.raises(DataError, match="column 'P2' has a missing answer at row 1"):
        servqual(df, dimensions=DIMS)
    res = servqual(df, dimensions=DIMS, missing="available")
    assert res.dimension_scores.loc[1, "a"] == 0.0


def test_servqual_errors():
    with pytest.raises(DataError, match=r"the points of row 0 are \[60.0, 30.0\] \(sum 90\)"):
        servqual(DF.assign(wb=[30, 80]), dimensions=DIMS, points={"a": "wa", "b": "wb"})
    with pytest.raises(DataError, match=r"missing \['b'\]"):
        servqual(DF, dimensions=DIMS, points={"a": 100})
    with pytest.raises(DataError, match=r"column 'E1' holds 9 at row 0, outside the scale \[1, 7\]"):
        servqual(DF.assign(E1=[9, 7]), dimensions=DIMS)
    with pytest.raises(DataError, match="item 2 is in dimensions 'a' and 'b'"):
        servqual(DF, dimensions={"a": (1, 2), "b": (2, 3)})
    with pytest.raises(DataError, match="'P4' is not in the data"):
        servqual(DF, dimensions={"a": (1, 4)})
    with pytest.raises(DataError, match="unknown method 'gap'"):
        servqual(DF, dimensions=DIMS, method="gap")
