"""Tests of csi.data.prepare_items: every bad-input path gives a clear DataError."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from csi import Construct, DataError, Item, ModelSpec, Path
from csi.data import MISSING_POLICIES, min_rows, prepare_items


@pytest.fixture
def spec() -> ModelSpec:
    return ModelSpec(
        "t",
        constructs=(
            Construct("A", (Item("a1", 1, 10), Item("a2", 1, 10, reverse=True, missing_codes=(98, 99)))),
            Construct("B", (Item("b1", 1, 10), Item("b2", 1, 10))),
            Construct("C", (Item("c1", 0, 1, type="binary"), Item("c2"))),
        ),
        paths=(Path("A", "B", "+"), Path("B", "C", "-")),
        target="B",
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a1": [1, 2, 3, 4, 5, 6],
            "a2": [10, 99, 8, 7, 6, 5],
            "b1": [2, 3, 4, 5, 6, 8],
            "b2": [3, 4, 5, 6, 9, 10],
            "c1": [0, 1, 0, 1, 0, 0],
            "c2": [0.1, -0.5, 2.0, 1.5, 0.3, 0.0],
            "extra": list("abcdef"),
            "w": [1.0, 2.0, 1.0, 0.5, 1.0, 1.5],
        },
        index=[f"r{i}" for i in range(6)],
    )


def test_listwise_reverse_and_missing_codes(spec, frame):
    p = prepare_items(spec, frame, missing="listwise")
    assert p.item_names == spec.item_names
    assert p.X.dtype == np.float64 and p.X.shape == (5, 6)
    assert list(p.row_labels) == ["r0", "r2", "r3", "r4", "r5"]
    assert p.n_input == 6 and p.n_dropped == 1 and p.n_used == 5
    assert p.n_missing == (0, 1, 0, 0, 0, 0)
    assert p.missing == "listwise" and p.weights is None
    # reverse item: 1 + 10 - x
    np.testing.assert_array_equal(p.X[:, 1], [1, 3, 4, 5, 6])
    np.testing.assert_array_equal(p.X[:, 0], [1, 3, 4, 5, 6])
    assert not p.X.flags.writeable


def test_mean_imputation_uses_recoded_item_mean(spec, frame):
    p = prepare_items(spec, frame, missing="mean")
    assert p.n_dropped == 0
    observed = 11 - np.array([10, 8, 7, 6, 5])
    assert p.X[1, 1] == pytest.approx(observed.mean())


def test_weighted_mean_imputation(spec, frame):
    p = prepare_items(spec, frame, missing="mean", weights="w")
    w = np.array([1.0, 1.0, 0.5, 1.0, 1.5])
    observed = 11 - np.array([10, 8, 7, 6, 5])
    assert p.X[1, 1] == pytest.approx(w @ observed / w.sum())


def test_error_policy_names_column_count_and_row(spec, frame):
    with pytest.raises(DataError) as exc:
        prepare_items(spec, frame)
    msg = str(exc.value)
    assert "'a2'" in msg and "1 missing" in msg and "'r1'" in msg
    for policy in MISSING_POLICIES:
        assert repr(policy) in msg


def test_nan_counts_as_missing(spec, frame):
    df = frame.assign(b1=[2.0, np.nan, np.nan, 5, 6, 8], a2=[10, 9, 8, 7, 6, 5])
    with pytest.raises(DataError, match=r"'b1': 2 missing, first at row 'r1'"):
        prepare_items(spec, df)


def test_unknown_policy(spec, frame):
    with pytest.raises(DataError, match="unknown missing-data policy 'bogus'.*'listwise'"):
        prepare_items(spec, frame, missing="bogus")


def test_caller_frame_not_modified(spec, frame):
    before = copy.deepcopy(frame)
    prepare_items(spec, frame, missing="mean", weights="w")
    prepare_items(spec, frame, missing="listwise")
    pd.testing.assert_frame_equal(frame, before)
    assert frame.dtypes.equals(before.dtypes)


def test_mapping_accepted_array_rejected(spec, frame):
    p = prepare_items(spec, frame.to_dict(orient="list"), missing="listwise")
    assert p.n_used == 5
    with pytest.raises(DataError, match="pandas DataFrame.*ndarray.*pd.DataFrame\\(array, columns"):
        prepare_items(spec, frame.to_numpy())
    with pytest.raises(DataError, match="got str"):
        prepare_items(spec, "survey.csv")


def test_missing_columns_listed_with_closest_names(spec, frame):
    df = frame.rename(columns={"a1": "A1", "b2": "b_2"}).drop(columns="c2")
    with pytest.raises(DataError) as exc:
        prepare_items(spec, df)
    msg = str(exc.value)
    assert "3 item column(s)" in msg
    assert "'a1' (closest: 'A1'" in msg and "'b2' (closest: 'b_2'" in msg and "'c2'" in msg


def test_duplicate_column(spec, frame):
    df = pd.concat([frame, frame[["b1"]]], axis=1)
    with pytest.raises(DataError, match="more than one column named 'b1'"):
        prepare_items(spec, df, missing="listwise")


def test_numeric_strings_not_converted(spec, frame):
    df = frame.assign(b1=frame["b1"].astype(str))
    with pytest.raises(DataError) as exc:
        prepare_items(spec, df, missing="listwise")
    msg = str(exc.value)
    assert "'b1'" in msg and "'2'" in msg and "'r0'" in msg and "not converted" in msg


def test_object_column_with_one_bad_value(spec, frame):
    df = frame.assign(b2=pd.Series([3, 4, 5, "n/a", 9, 10], index=frame.index, dtype=object))
    with pytest.raises(DataError, match=r"'b2' holds 'n/a'.*row 'r3'"):
        prepare_items(spec, df, missing="listwise")


def test_object_column_of_numbers_accepted(spec, frame):
    df = frame.assign(b2=pd.Series([3, 4, None, 6, 9.0, 10], index=frame.index, dtype=object))
    p = prepare_items(spec, df, missing="listwise")
    assert p.n_used == 4


def test_nullable_and_integer_dtypes(spec, frame):
    df = frame.assign(
        b1=pd.array([2, 3, None, 5, 6, 8], dtype="Int64"),
        b2=pd.array([3, 4, 5, 6, 9, 10], dtype="UInt8"),
        a1=pd.array([1, 2, 3, 4, 5, 6], dtype="Float64"),
    )
    p = prepare_items(spec, df, missing="listwise")
    assert list(p.row_labels) == ["r0", "r3", "r4", "r5"]
    assert p.X.dtype == np.float64


def test_bool_only_for_binary_items(spec, frame):
    p = prepare_items(spec, frame.assign(c1=frame["c1"].astype(bool)), missing="listwise")
    np.testing.assert_array_equal(p.X[:, 4], [0, 0, 1, 0, 0])
    p = prepare_items(spec, frame.assign(c1=pd.array([0, 1, 0, 1, None, 0], dtype="boolean")), missing="listwise")
    assert p.n_used == 4
    with pytest.raises(DataError, match="'b1' is boolean.*binary"):
        prepare_items(spec, frame.assign(b1=frame["b1"] > 3), missing="listwise")


def test_categorical_rejected(spec, frame):
    with pytest.raises(DataError, match="'b1' is categorical"):
        prepare_items(spec, frame.assign(b1=frame["b1"].astype("category")), missing="listwise")


def test_infinite_value(spec, frame):
    with pytest.raises(DataError, match=r"'c2' holds an infinite value -inf \(first at row 'r2'\)"):
        prepare_items(spec, frame.assign(c2=[0.1, 0.2, -np.inf, 1, 2, np.inf]), missing="listwise")


def test_out_of_scale(spec, frame):
    with pytest.raises(DataError) as exc:
        prepare_items(spec, frame.assign(b1=[2, 3, 0, 5, 11, 8]), missing="listwise")
    msg = str(exc.value)
    assert "'b1'" in msg and "holds 0 at row 'r2'" in msg and "[1, 10]" in msg and "2 value(s)" in msg


def test_undeclared_missing_code_is_out_of_scale(spec, frame):
    with pytest.raises(DataError, match="'a1' holds 99 .*missing_codes"):
        prepare_items(spec, frame.assign(a1=[1, 2, 99, 4, 5, 6]), missing="listwise")


def test_unscaled_item_has_no_range_check(spec, frame):
    p = prepare_items(spec, frame.assign(c2=[1e6, -3, 2, 1, 0, 5]), missing="listwise")
    assert p.X[0, 5] == 1e6


def test_constant_item(spec, frame):
    with pytest.raises(DataError, match=r"'b2' \(always 7\) do not vary over the 5 rows"):
        prepare_items(spec, frame.assign(b2=[7, 7, 7, 7, 7, 7]), missing="listwise")


def test_constant_after_listwise_only(spec, frame):
    # varies in the input, constant on the rows used
    df = frame.assign(b2=[7, 1, 7, 7, 7, 7])
    with pytest.raises(DataError, match="'b2'"):
        prepare_items(spec, df, missing="listwise")


def test_too_few_rows_names_both_numbers(spec, frame):
    assert min_rows(spec) == (3, 1, 0)
    modeb = ModelSpec(
        "mb",
        constructs=(
            Construct("A", tuple(Item(f"a{i}", 1, 10) for i in range(4)), mode="B"),
            Construct("B", (Item("b1", 1, 10),)),
            Construct("C", (Item("c1", 1, 10),)),
        ),
        paths=(Path("A", "C"), Path("B", "C")),
    )
    assert min_rows(modeb) == (6, 2, 4)
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.integers(1, 11, size=(5, 6)), columns=list(modeb.item_names))
    with pytest.raises(DataError) as exc:
        prepare_items(modeb, df)
    msg = str(exc.value)
    assert "5 usable row(s)" in msg and "at least 6" in msg and "2 predictor(s)" in msg and "4 item(s)" in msg
    with pytest.raises(DataError, match="after listwise deletion of 4 row"):
        prepare_items(spec, frame.assign(c2=[np.nan, np.nan, 1, np.nan, 2, np.nan]), missing="listwise")


def test_weights_column_array_and_series(spec, frame):
    p = prepare_items(spec, frame, missing="listwise", weights="w")
    np.testing.assert_array_equal(p.weights, [1.0, 1.0, 0.5, 1.0, 1.5])
    assert not p.weights.flags.writeable
    p2 = prepare_items(spec, frame, missing="listwise", weights=frame["w"].to_numpy())
    np.testing.assert_array_equal(p2.weights, p.weights)
    shuffled = frame["w"].iloc[::-1]
    p3 = prepare_items(spec, frame, missing="listwise", weights=shuffled)
    np.testing.assert_array_equal(p3.weights, p.weights)


@pytest.mark.parametrize(
    ("weights", "pattern"),
    [
        ([1, 1, 1], "3 weights for 6 rows"),
        ([1, 1, 0, 1, 1, 1], r"finite and > 0; got 0.0 at row 'r2'"),
        ([1, -1, 1, 1, 1, 1], "> 0"),
        ([1, 1, 1, np.nan, 1, 1], r"got nan at row 'r3'"),
        ([1, 1, 1, np.inf, 1, 1], "finite"),
        ("weight", "weights column 'weight' is not in the data"),
        ("W", r"weights column 'W' is not in the data \(closest: 'w'\)"),
        (["1", "1", "1", "1", "1", "1"], "weights column 'weights' holds '1'"),
        (np.ones((6, 1)), "one-dimensional"),
    ],
)
def test_bad_weights(spec, frame, weights, pattern):
    with pytest.raises(DataError, match=pattern):
        prepare_items(spec, frame, missing="listwise", weights=weights)


def test_weights_series_with_foreign_index(spec, frame):
    with pytest.raises(DataError, match="same row labels"):
        prepare_items(spec, frame, missing="listwise", weights=pd.Series(np.ones(6)))


def test_to_frame(spec, frame):
    p = prepare_items(spec, frame, missing="listwise")
    out = p.to_frame()
    assert list(out.columns) == list(spec.item_names) and list(out.index) == list(p.row_labels)
