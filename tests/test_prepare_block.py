"""The vectorised item block of prepare_items equals the column-by-column checks, result and message alike.

Plain int/float columns take the one-pass block; the same values in object columns take the per-column
path (csi.data.columns.column_to_float), which is the reference here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from csi import Construct, DataError, Item, ModelSpec, Path
from csi.data import prepare_items

SPEC = ModelSpec(
    "block",
    constructs=(
        Construct("A", (Item("a1", 1, 5), Item("a2", 1, 5, reverse=True, missing_codes=(9,)), Item("a3"))),
        Construct("B", (Item("b1", 0, 10, missing_codes=(98, 99)), Item("b2", 0, 10, missing_codes=(98, 99)))),
    ),
    paths=(Path("A", "B", "+"),),
)

value = st.one_of(st.integers(-1, 12), st.sampled_from([9, 98, 99, np.nan, np.inf, -np.inf, 2.5]))


def _outcome(frame: pd.DataFrame, missing: str):
    try:
        out = prepare_items(SPEC, frame, missing=missing)
    except DataError as e:
        return "error", str(e)
    return "ok", (out.X, list(out.row_labels), out.n_missing)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(value, value, value, value, value), min_size=1, max_size=12),
    missing=st.sampled_from(["error", "listwise", "mean", "em"]),
    extra=st.booleans(),
    shuffle=st.booleans(),
)
def test_block_equals_column_by_column(rows, missing, extra, shuffle):
    frame = pd.DataFrame(rows, columns=list(SPEC.item_names), index=[f"r{i}" for i in range(len(rows))])
    if extra:
        frame["note"] = "x"  # a text column outside the model must not matter
    if shuffle:
        frame = frame[frame.columns[::-1]]
    numeric = frame.astype({c: float for c in SPEC.item_names})
    reference = frame.astype({c: object for c in SPEC.item_names})
    a, b = _outcome(numeric, missing), _outcome(reference, missing)
    assert a[0] == b[0]
    if a[0] == "error":
        assert a[1] == b[1]
    else:
        np.testing.assert_array_equal(a[1][0], b[1][0])
        assert a[1][1:] == b[1][1:]


def test_integer_block_and_reverse_coding():
    frame = pd.DataFrame({"a1": [1, 2, 3, 4], "a2": [1, 9, 5, 2], "a3": [0, 7, 1, 3], "b1": [0, 5, 99, 10],
                          "b2": [1, 2, 3, 98]})  # fmt: skip
    out = prepare_items(SPEC, frame, missing="em")  # keeps the missing cells as NaN
    nan = np.nan
    expected = [[1, 5, 0, 0, 1], [2, nan, 7, 5, 2], [3, 1, 1, nan, 3], [4, 4, 3, 10, nan]]  # a2 -> 6 - a2
    np.testing.assert_array_equal(out.X, expected)
    assert out.n_missing == (0, 1, 0, 1, 1)
