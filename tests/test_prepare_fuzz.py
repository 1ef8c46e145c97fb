"""Property test: prepare_items either returns a finite matrix or raises DataError, never anything else."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from csi import Construct, DataError, Item, ModelSpec, Path
from csi.data import prepare_items

SPEC = ModelSpec(
    "fuzz",
    constructs=(
        Construct("A", (Item("a1", 1, 5), Item("a2", 1, 5, reverse=True, missing_codes=(9,)))),
        Construct("B", (Item("b1", 0, 1, type="binary"), Item("b2"))),
    ),
    paths=(Path("A", "B", "+"),),
)

cell = st.one_of(
    st.integers(-2, 10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.sampled_from(["3", "x", "", "4,5"]),
)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(cell, cell, cell, cell), min_size=0, max_size=8),
    missing=st.sampled_from(["error", "listwise", "mean", "pairwise", "em", "mi"]),
)
def test_prepare_never_crashes(rows, missing):
    frame = pd.DataFrame(rows, columns=list(SPEC.item_names)) if rows else pd.DataFrame(columns=SPEC.item_names)
    before = copy.deepcopy(frame)
    try:
        out = prepare_items(SPEC, frame, missing=missing)
    except DataError:
        pass
    else:
        if missing in ("pairwise", "em", "mi"):  # missing cells stay NaN for the estimator; no empty rows
            assert not np.isinf(out.X).any() and not np.isnan(out.X).all(axis=1).any()
        else:
            assert np.isfinite(out.X).all()
        assert out.X.shape == (out.n_input - out.n_dropped, 4)
    pd.testing.assert_frame_equal(frame, before)
