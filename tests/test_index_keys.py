"""csi.index.hierarchy.keys: the per-distinct-value form of ``Series.map(key)`` gives the same Series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csi.index.hierarchy import key, keys

RNG = np.random.default_rng(0)
CASES = {
    "int waves": pd.Series(RNG.integers(2020, 2025, 300), index=RNG.permutation(300)),
    "float waves with NaN": pd.Series(np.where(RNG.random(300) < 0.1, np.nan, RNG.integers(1, 9, 300) / 1.0)),
    "fractional and signed zero": pd.Series([0.0, -0.0, 2.5, 1e20, np.inf, -np.inf] * 5),
    "str with missing": pd.Series(np.where(RNG.random(300) < 0.1, None, RNG.choice(["C001", "C2"], 300)), dtype="str"),
    "string dtype": pd.Series(np.where(RNG.random(300) < 0.1, None, RNG.choice(["p", "q"], 300)), dtype="string"),
    "nullable int": pd.Series([1, None, 3] * 10, dtype="Int64"),
    "category": pd.Series(RNG.choice(["z", "y"], 300)).astype("category"),
    "bool": pd.Series(RNG.random(300) < 0.5),
    # Values that compare equal but print differently: factorising would merge them, so object columns go row by row.
    "object mixed": pd.Series(np.array([1, "1", 1.0, True, None, np.nan, "b"] * 5, dtype=object)),
    "empty": pd.Series([], dtype=float),
}


@pytest.mark.parametrize("name", list(CASES))
def test_keys_equal_mapping_key_row_by_row(name):
    values = CASES[name].rename(name)
    want, got = values.map(key), keys(values)
    pd.testing.assert_series_equal(got, want, check_exact=True)
    assert list(map(str, got)) == list(map(str, want))  # the labels themselves, NaN and None included
