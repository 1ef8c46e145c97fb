"""Fuzzy comprehensive evaluation (methodology §6.2) on hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csi.classical import FuzzyDegeneracyWarning, fuzzy_evaluate, fuzzy_evaluate_levels, membership_matrix
from csi.errors import DataError

A = [0.5, 0.3, 0.2]
R = np.array([[0.2, 0.5, 0.2, 0.1, 0.0], [0.1, 0.3, 0.4, 0.2, 0.0], [0.3, 0.3, 0.2, 0.1, 0.1]])
SCORES = np.array([100, 80, 60, 40, 20])


def test_membership_matrix_default_grades():
    df = pd.DataFrame({"quality": [5, 4, 4, 3], "price": [1, 2, 2, np.nan]})
    got = membership_matrix(df)
    assert list(got.columns) == ["very satisfied", "satisfied", "neutral", "dissatisfied", "very dissatisfied"]
    np.testing.assert_allclose(got.loc["quality"], [0.25, 0.5, 0.25, 0, 0])
    np.testing.assert_allclose(got.loc["price"], [0, 0, 0, 2 / 3, 1 / 3])


def test_membership_matrix_bins_best_first():
    df = pd.DataFrame({"f": [10, 8, 7, 1, 0]})
    got = membership_matrix(df, [0, 2, 4, 6, 8, 10])
    assert list(got.columns) == ["(8, 10]", "(6, 8]", "(4, 6]", "(2, 4]", "[0, 2]"]
    np.testing.assert_allclose(got.loc["f"], [0.2, 0.4, 0, 0, 0.4])


def test_membership_matrix_category_mapping_and_weights():
    df = pd.DataFrame({"f": [1, 2, 3, 4], "w": [1, 1, 1, 3]})
    got = membership_matrix(df, {"good": [3, 4], "bad": [1, 2]}, weights="w")
    assert list(got.index) == ["f"]
    np.testing.assert_allclose(got.loc["f"], [4 / 6, 2 / 6])


def test_membership_errors_name_factor_and_row():
    with pytest.raises(
        DataError, match=r"factor 'f' has rating 6 at row 1, which is in no grade; accepted: very satisfied"
    ):
        membership_matrix(pd.DataFrame({"f": [5, 6]}))
    with pytest.raises(DataError, match="mapped to grades 'a' and 'b'"):
        membership_matrix(pd.DataFrame({"f": [1]}), {"a": [1], "b": [1, 2]})
    with pytest.raises(DataError, match="strictly increasing bin edges"):
        membership_matrix(pd.DataFrame({"f": [1]}), [3, 1])


@pytest.mark.parametrize(
    "operator, raw",
    [
        ("weighted_average", [0.19, 0.40, 0.26, 0.13, 0.02]),
        ("max_min", [0.2, 0.5, 0.3, 0.2, 0.1]),
        ("product_max", [0.1, 0.25, 0.12, 0.06, 0.02]),
        ("bounded_sum", [0.5, 1.0, 0.7, 0.4, 0.1]),
    ],
)
def test_operators_hand_worked(operator, raw):
    res = fuzzy_evaluate(A, R, operator)
    raw = np.array(raw)
    np.testing.assert_allclose(res.b_raw, raw, atol=1e-12)
    np.testing.assert_allclose(res.b, raw / raw.sum(), atol=1e-12)
    assert res.score == pytest.approx(raw @ SCORES / raw.sum())
    assert res.grade == "1"  # the second column of an unlabelled R
    assert not res.degenerate


def test_weighted_average_score_and_labels():
    Rf = pd.DataFrame(R, index=["q", "s", "p"], columns=["VS", "S", "N", "D", "VD"])
    res = fuzzy_evaluate(pd.Series({"p": 0.2, "q": 0.5, "s": 0.3}), Rf)  # aligned by label
    assert res.score == pytest.approx(72.2)
    assert res.grade == "S"


def test_max_min_degeneracy_warning():
    with pytest.warns(FuzzyDegeneracyWarning, match="max a_i = 0.5"):
        res = fuzzy_evaluate([0.5, 0.5], [[0.5, 0.5], [1.0, 0.0]], "max_min", grade_scores=(100, 0))
    assert res.degenerate and res.score == pytest.approx(50.0)


def test_weights_are_validated_never_renormalised():
    with pytest.raises(DataError, match="weights A sum to 1.1, not 1; fuzzy weights are not renormalised"):
        fuzzy_evaluate([0.5, 0.3, 0.3], R)
    with pytest.raises(DataError, match="finite and >= 0"):
        fuzzy_evaluate([1.2, -0.2, 0.0], R)
    with pytest.raises(DataError, match="one weight per factor"):
        fuzzy_evaluate([1.0], R)
    bad = R.copy()
    bad[1, 0] = 0.3
    with pytest.raises(DataError, match="row 1 of R sums to 1.2"):
        fuzzy_evaluate(A, bad)
    with pytest.raises(DataError, match="unknown fuzzy operator 'min'; accepted: 'weighted_average', 'max_min'"):
        fuzzy_evaluate(A, R, "min")
    with pytest.raises(DataError, match="2 grade_scores for 5 grades"):
        fuzzy_evaluate(A, R, grade_scores=(1, 2))


def test_multi_level_hand_worked():
    cols = ["good", "bad"]
    groups = {
        "product": ([0.6, 0.4], pd.DataFrame([[0.5, 0.5], [0.0, 1.0]], columns=cols)),  # b = (.3, .7)
        "service": ([0.5, 0.5], pd.DataFrame([[1.0, 0.0], [0.2, 0.8]], columns=cols)),  # b = (.6, .4)
    }
    res = fuzzy_evaluate_levels(groups, [0.5, 0.5], grade_scores=(100, 0))
    np.testing.assert_allclose(res.R.loc["product"], [0.3, 0.7])
    np.testing.assert_allclose(res.top.b, [0.45, 0.55])
    assert res.top.score == pytest.approx(45.0)
    assert res.top.grade == "bad" and res.groups["service"].grade == "good"
