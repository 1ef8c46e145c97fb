"""Kano model classification and coefficients (methodology §6.5).

Kano, Seraku, Takahashi & Tsuji (1984, Journal of the Japanese Society for
Quality Control 14(2):39-48): each attribute has a functional question
(attribute present) and a dysfunctional one (attribute absent), answered
1 Like, 2 Must-be, 3 Neutral, 4 Live with, 5 Dislike.  The pair is classified
with the evaluation table into A (attractive), O (one-dimensional), M
(must-be), I (indifferent), R (reverse) or Q (questionable).  Coefficients
follow Berger et al. (1993, Center for Quality of Management Journal
2(4):3-36) and Sauerwein et al. (1996); the significance rule is Fong (1996).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi.classical._columns import as_frame, float_column
from csi.errors import DataError

CATEGORIES = ("A", "O", "M", "I", "R", "Q")
"""Kano categories, in table-column order of :attr:`KanoResult.table`."""

PRIORITY = ("M", "O", "A", "I", "R", "Q")
"""Tie-break of the modal category: M > O > A > I (order of importance), then R, Q."""

KANO_TABLE = np.array(
    [
        # D: 1 Like, 2 Must-be, 3 Neutral, 4 Live with, 5 Dislike
        ["Q", "A", "A", "A", "O"],  # F: 1 Like
        ["R", "I", "I", "I", "M"],  # F: 2 Must-be
        ["R", "I", "I", "I", "M"],  # F: 3 Neutral
        ["R", "I", "I", "I", "M"],  # F: 4 Live with
        ["R", "R", "R", "R", "Q"],  # F: 5 Dislike
    ]
)
"""Evaluation table (rows = functional answer 1..5, columns = dysfunctional answer 1..5), methodology §6.5."""

FONG_Z = 1.65
"""Fong (1996) critical value (one-sided 5 %)."""


def kano_classify(functional: np.ndarray, dysfunctional: np.ndarray) -> np.ndarray:
    """Category letter of each (functional, dysfunctional) answer pair.

    Parameters
    ----------
    functional, dysfunctional
        Integer answer codes 1..5 (any matching shape; not validated: use
        :func:`kano` for survey data).

    Returns
    -------
    numpy.ndarray
        Array of ``"A" "O" "M" "I" "R" "Q"``.
    """
    f = np.asarray(functional, dtype=int)
    d = np.asarray(dysfunctional, dtype=int)
    return KANO_TABLE[f - 1, d - 1]


def fong_threshold(a: float, b: float, n: float) -> float:
    """Fong (1996): counts a, b of the top two categories differ when ``|a - b| >= 1.65 sqrt((a+b)(2n-a-b)/(2n))``."""
    return FONG_Z * math.sqrt((a + b) * (2 * n - a - b) / (2 * n))


@dataclass(frozen=True, eq=False)
class KanoResult:
    """Kano classification of every attribute.

    Attributes
    ----------
    categories
        Respondents x attributes: category letter of each answer pair (missing,
        ``NaN``, where either answer is missing).
    table
        One row per attribute: counts ``A O M I R Q``, ``n`` (classified
        pairs), ``category`` (mode, tie-break :data:`PRIORITY`), ``second``,
        ``better`` = (A+O)/(A+O+M+I), ``worse`` = -(O+M)/(A+O+M+I),
        ``category_strength`` (share of top minus share of second),
        ``total_strength`` = (A+O+M)/n, ``fong_significant`` (top two counts
        differ by Fong's rule), ``category_mixed`` (``"top/second"`` when they
        do not), ``better_worse_category`` (quadrant at 0.5/0.5).
    """

    categories: pd.DataFrame
    table: pd.DataFrame


def _answers(
    frame: pd.DataFrame, col: str, attribute: str, role: str, recode: Mapping[float, int] | None
) -> np.ndarray:
    x = float_column(frame, col, role=f"attribute {attribute!r}, {role} column")
    if recode is not None:
        mapped = np.full_like(x, np.nan)
        for code, canon in recode.items():
            mapped[x == float(code)] = float(canon)
        unmapped = ~np.isnan(x) & np.isnan(mapped)
        if unmapped.any():
            pos = int(np.argmax(unmapped))
            raise DataError(
                f"attribute {attribute!r}: {role} answer {x[pos]:g} at row {frame.index[pos]!r} (column {col!r}) "
                f"is not in recode; accepted codes: {sorted(recode)}"
            )
        x = mapped
    bad = ~np.isnan(x) & ~np.isin(x, [1.0, 2.0, 3.0, 4.0, 5.0])
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(
            f"attribute {attribute!r}: {role} answer {x[pos]:g} at row {frame.index[pos]!r} (column {col!r}) is "
            "not a Kano code; accepted: 1 Like, 2 Must-be, 3 Neutral, 4 Live with, 5 Dislike (map other "
            "codings with recode=)"
        )
    return x


def kano(
    data: pd.DataFrame,
    attributes: Mapping[str, tuple[str, str]],
    *,
    recode: Mapping[float, int] | None = None,
) -> KanoResult:
    """Classify Kano answer pairs and summarise each attribute (methodology §6.5).

    Parameters
    ----------
    data
        One row per respondent; never modified.  A missing answer (NaN) leaves
        that respondent out of that attribute.
    attributes
        Attribute name -> (functional column, dysfunctional column).
    recode
        Map from the questionnaire's answer codes to the canonical 1..5 codes
        (for forms whose options are ordered differently), applied to both
        questions.

    Returns
    -------
    KanoResult

    Raises
    ------
    DataError
        An answer outside 1..5 (after ``recode``), naming the attribute, the
        question, the column and the row; an attribute nobody answered.
    """
    frame = as_frame(data)
    if not attributes:
        raise DataError("attributes is empty; give attribute name -> (functional column, dysfunctional column)")
    cats: dict[str, np.ndarray] = {}
    rows = []
    for attr, pair in attributes.items():
        if isinstance(pair, str) or len(pair) != 2:
            raise DataError(f"attribute {attr!r}: give (functional column, dysfunctional column), got {pair!r}")
        f = _answers(frame, pair[0], attr, "functional", recode)
        d = _answers(frame, pair[1], attr, "dysfunctional", recode)
        ok = ~np.isnan(f) & ~np.isnan(d)
        if not ok.any():
            raise DataError(f"attribute {attr!r} has no respondent who answered both questions")
        c = np.full(len(frame), None, dtype=object)
        c[ok] = kano_classify(f[ok], d[ok])
        cats[attr] = c
        rows.append(_summary(attr, c[ok]))
    table = pd.DataFrame(rows).set_index("attribute")
    categories = pd.DataFrame(cats, index=frame.index)
    categories.columns.name = "attribute"
    return KanoResult(categories=categories, table=table)


def _summary(attr: str, c: np.ndarray) -> dict[str, object]:
    counts = {k: int((c == k).sum()) for k in CATEGORIES}
    n = len(c)
    # Mode with the importance tie-break: sort by count descending, then by PRIORITY position.
    ranked = sorted(PRIORITY, key=lambda k: (-counts[k], PRIORITY.index(k)))
    top, second = ranked[0], ranked[1]
    a, o, m, i = counts["A"], counts["O"], counts["M"], counts["I"]
    core = a + o + m + i
    better = (a + o) / core if core else math.nan
    worse = -(o + m) / core if core else math.nan
    significant = abs(counts[top] - counts[second]) >= fong_threshold(counts[top], counts[second], n)
    if math.isnan(better):
        quadrant = None
    elif better > 0.5:
        quadrant = "O" if abs(worse) > 0.5 else "A"
    else:
        quadrant = "M" if abs(worse) > 0.5 else "I"
    return {
        "attribute": attr, **counts, "n": n, "category": top, "second": second,
        "better": better, "worse": worse,
        "category_strength": (counts[top] - counts[second]) / n, "total_strength": (a + o + m) / n,
        "fong_significant": bool(significant),
        "category_mixed": top if significant else f"{top}/{second}",
        "better_worse_category": quadrant,
    }  # fmt: skip
