"""Questionnaire scoring (methodology §6.1) on hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csi.classical import item_scores
from csi.errors import DataError
from csi.spec.model import Construct, Item, ModelSpec

DF = pd.DataFrame({"a": [5, 4, 4, 3, np.nan], "b": [1, 2, 3, 4, 5]})


def test_item_scores_hand_worked():
    res = item_scores(DF, ["a", "b"], (1, 5))
    a, b = res.table.loc["a"], res.table.loc["b"]
    assert (a["n"], a["mean"], a["top_box"], a["top2_box"], a["score_0_100"]) == (4, 4.0, 0.25, 0.75, 75.0)
    assert (b["n"], b["mean"], b["top_box"], b["top2_box"], b["score_0_100"]) == (5, 3.0, 0.2, 0.4, 50.0)
    assert res.overall == pytest.approx(62.5)


def test_overall_uses_item_weights_normalised():
    res = item_scores(DF, ["a", "b"], (1, 5), item_weights={"a": 3, "b": 1})
    assert res.overall == pytest.approx(0.75 * 75 + 0.25 * 50)
    assert res.item_weights.to_dict() == {"a": 0.75, "b": 0.25}


def test_respondent_weights():
    res = item_scores(DF, ["b"], (1, 5), weights=[1, 1, 1, 1, 4])
    assert res.table.loc["b", "mean"] == pytest.approx((1 + 2 + 3 + 4 + 20) / 8)
    assert res.table.loc["b", "top_box"] == pytest.approx(0.5)


def test_scales_from_a_model_spec():
    spec = ModelSpec("t", (Construct("Q", (Item("a", 1, 5), Item("b", 0, 10))),))
    res = item_scores(DF, spec)
    assert res.table.loc["b", "score_0_100"] == pytest.approx(30.0)
    assert res.table.loc["b", "top2_box"] == 0.0


def test_scoring_errors_name_the_column_and_row():
    with pytest.raises(DataError, match=r"column 'b' holds 5 at row 4, outside the scale \[1, 4\]"):
        item_scores(DF, ["b"], (1, 4))
    with pytest.raises(DataError, match="unknown for 'a'"):
        item_scores(DF, ["a"])
    with pytest.raises(DataError, match=r"'c' is not in the data"):
        item_scores(DF, ["c"], (1, 5))
    with pytest.raises(DataError, match="1 item_weights for 2 items"):
        item_scores(DF, ["a", "b"], (1, 5), item_weights=[1])
    with pytest.raises(DataError, match="has no answers"):
        item_scores(pd.DataFrame({"a": [np.nan, np.nan]}), ["a"], (1, 5))


def test_scoring_does_not_modify_data():
    before = DF.copy()
    item_scores(DF, ["a", "b"], (1, 5))
    pd.testing.assert_frame_equal(DF, before)
