"""Kano classification and coefficients (methodology §6.5) on hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csi.classical import KANO_TABLE, kano, kano_classify
from csi.errors import DataError


def test_evaluation_table_cells():
    pairs = {(1, 1): "Q", (1, 2): "A", (1, 4): "A", (1, 5): "O", (2, 5): "M", (4, 5): "M", (3, 3): "I",
             (2, 1): "R", (5, 1): "R", (5, 4): "R", (5, 5): "Q"}  # fmt: skip
    f, d = np.array(list(pairs)).T
    assert kano_classify(f, d).tolist() == list(pairs.values())
    assert "".join(KANO_TABLE.ravel()) == "QAAAORIIIMRIIIMRIIIMRRRRQ"


def _data(pairs):
    f, d = zip(*pairs)
    return pd.DataFrame({"f": f, "d": d})


def test_attribute_summary_hand_worked():
    # 4 A, 3 O, 2 M, 1 I
    df = _data([(1, 2)] * 4 + [(1, 5)] * 3 + [(2, 5)] * 2 + [(3, 3)])
    row = kano(df, {"wifi": ("f", "d")}).table.loc["wifi"]
    assert (row["A"], row["O"], row["M"], row["I"], row["R"], row["Q"], row["n"]) == (4, 3, 2, 1, 0, 0, 10)
    assert (row["category"], row["second"]) == ("A", "O")
    assert row["better"] == pytest.approx(0.7) and row["worse"] == pytest.approx(-0.5)
    assert row["category_strength"] == pytest.approx(0.1) and row["total_strength"] == pytest.approx(0.9)
    # Fong: |4 - 3| = 1 < 1.65 sqrt(7 * 13 / 20) = 3.52, so not significant -> mixed
    assert not row["fong_significant"] and row["category_mixed"] == "A/O"
    assert row["better_worse_category"] == "A"


def test_tie_break_and_fong_significance():
    # 3 M, 3 O, 0 other among 6 ... tie -> M; then a clear case 9 M vs 1 I
    tie = kano(_data([(1, 5)] * 3 + [(3, 5)] * 3), {"x": ("f", "d")}).table.loc["x"]
    assert tie["category"] == "M" and tie["second"] == "O"
    clear = kano(_data([(3, 5)] * 9 + [(3, 3)]), {"x": ("f", "d")}).table.loc["x"]
    # |9 - 1| = 8 >= 1.65 sqrt(10 * 10 / 20) = 3.69
    assert clear["fong_significant"] and clear["category_mixed"] == "M"
    assert clear["better"] == 0.0 and clear["worse"] == pytest.approx(-0.9)


def test_missing_answers_and_recode():
    df = pd.DataFrame({"f": [1, np.nan, 1], "d": [5, 5, 2]})
    res = kano(df, {"x": ("f", "d")})
    assert res.table.loc["x", "n"] == 2 and res.categories["x"].isna().tolist() == [False, True, False]
    assert res.categories["x"].dropna().tolist() == ["O", "A"]
    # a form coded 5 = Like ... 1 = Dislike
    flipped = kano(6 - df, {"x": ("f", "d")}, recode={5: 1, 4: 2, 3: 3, 2: 4, 1: 5})
    assert flipped.categories["x"].dropna().tolist() == ["O", "A"]


def test_answers_outside_1_to_5_name_attribute_and_row():
    df = pd.DataFrame({"f": [1, 6], "d": [5, 5]}, index=["r1", "r2"])
    with pytest.raises(DataError, match=r"attribute 'wifi': functional answer 6 at row 'r2' \(column 'f'\)"):
        kano(df, {"wifi": ("f", "d")})
    with pytest.raises(DataError, match="dysfunctional answer 2.5 at row 'r1'"):
        kano(df.assign(f=[1, 1], d=[2.5, 5]), {"wifi": ("f", "d")})
    with pytest.raises(DataError, match=r"accepted codes: \[1, 2\]"):
        kano(df, {"wifi": ("f", "d")}, recode={1: 1, 2: 5})
    with pytest.raises(DataError, match="give \\(functional column, dysfunctional column\\)"):
        kano(df, {"wifi": "f"})
