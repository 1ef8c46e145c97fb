"""SERVQUAL gap scores and SERVPERF (methodology §6.4).

Parasuraman, Zeithaml & Berry (1988, Journal of Retailing 64(1):12-40; 1991,
67(4):420-450): 22 paired items, expectation E_k and perception P_k; the gap
of item k for a respondent is ``G_k = P_k - E_k`` (negative = shortfall); a
dimension score is the mean gap of its items; unweighted SERVQUAL is the mean
of the dimension scores; weighted SERVQUAL is ``Σ_d (points_d / 100) score_d``
with 100 points allocated over the dimensions by each respondent (1991).
SERVPERF (Cronin & Taylor 1992, Journal of Marketing 56(3):55-68) uses the
perceptions alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from csi.classical._columns import as_frame, check_range, float_column
from csi.errors import DataError

SERVQUAL_DIMENSIONS: dict[str, tuple[int, ...]] = {
    "tangibles": (1, 2, 3, 4),
    "reliability": (5, 6, 7, 8, 9),
    "responsiveness": (10, 11, 12, 13),
    "assurance": (14, 15, 16, 17),
    "empathy": (18, 19, 20, 21, 22),
}
"""The five dimensions of the 22-item instrument and their item numbers (1-based)."""

METHODS = {"servqual": "gap P - E", "servperf": "perception P only (Cronin & Taylor 1992)"}
MISSING = {"error": "stop at the first missing answer", "available": "average the items a respondent answered"}


@dataclass(frozen=True, eq=False)
class ServqualResult:
    """Per-respondent SERVQUAL (or SERVPERF) scores.

    Attributes
    ----------
    method
        ``"servqual"`` or ``"servperf"``.
    item_scores
        Respondents x item numbers: gaps P - E (SERVPERF: perceptions).
    dimension_scores
        Respondents x dimensions: mean item score of each dimension.
    unweighted
        Per respondent: mean of the dimension scores.
    weighted
        Per respondent: ``Σ_d points_d / 100 * score_d``; ``None`` without points.
    summary
        Per dimension: mean perception, mean expectation (SERVQUAL), mean score.
    dimensions
        The dimension map used.
    """

    method: str
    item_scores: pd.DataFrame
    dimension_scores: pd.DataFrame
    unweighted: pd.Series
    weighted: pd.Series | None
    summary: pd.DataFrame
    dimensions: dict[str, tuple[int, ...]]

    @property
    def total(self) -> float:
        """Sample mean of the unweighted score."""
        return float(self.unweighted.mean())

    @property
    def weighted_total(self) -> float | None:
        """Sample mean of the weighted score (``None`` without points)."""
        return None if self.weighted is None else float(self.weighted.mean())


def _columns(spec: str | Sequence[str], numbers: list[int], role: str) -> dict[int, str]:
    if isinstance(spec, str):
        if "{" not in spec:
            raise DataError(f"{role} must be a template such as 'P{{}}' (formatted with the item number) or a list")
        return {k: spec.format(k) for k in numbers}
    cols = list(spec)
    if len(cols) != len(numbers):
        raise DataError(
            f"got {len(cols)} {role} columns for {len(numbers)} items; list one column per item, in item order"
        )
    return dict(zip(numbers, cols))


def _dimensions(dimensions: Mapping[str, Sequence[int]] | None) -> dict[str, tuple[int, ...]]:
    dims = (
        SERVQUAL_DIMENSIONS if dimensions is None else {str(d): tuple(int(k) for k in v) for d, v in dimensions.items()}
    )
    owner: dict[int, str] = {}
    for d, ks in dims.items():
        if not ks:
            raise DataError(f"dimension {d!r} has no items")
        for k in ks:
            if k < 1:
                raise DataError(f"dimension {d!r}: item numbers start at 1, got {k}")
            if k in owner:
                raise DataError(f"item {k} is in dimensions {owner[k]!r} and {d!r}; each item belongs to one")
            owner[k] = d
    return dims


def servqual(
    data: pd.DataFrame,
    perception: str | Sequence[str] = "P{}",
    expectation: str | Sequence[str] | None = "E{}",
    *,
    dimensions: Mapping[str, Sequence[int]] | None = None,
    points: Mapping[str, str | float] | None = None,
    method: str = "servqual",
    scale: tuple[float, float] = (1, 7),
    reverse: Sequence[int] = (),
    missing: str = "error",
) -> ServqualResult:
    """SERVQUAL gap scores per respondent (methodology §6.4; Parasuraman et al. 1988, 1991).

    Parameters
    ----------
    data
        One row per respondent; never modified.
    perception, expectation
        The P and E columns: a template formatted with the item number
        (default ``"P{}"``/``"E{}"``: P1..P22) or a list where the k-th column
        is item k.  ``expectation`` is ignored by SERVPERF.
    dimensions
        Dimension -> item numbers; default :data:`SERVQUAL_DIMENSIONS`.
    points
        Importance points per dimension for the weighted score: dimension ->
        column name (each respondent's allocation) or a number (one allocation
        for everybody).  Must cover every dimension, be >= 0 and sum to 100
        for every respondent.
    method
        ``"servqual"`` (P - E, default) or ``"servperf"`` (P only).
    scale
        Answer scale of every P and E item (default the 7-point scale).
    reverse
        Item numbers worded negatively (the 1988 instrument), recoded
        ``min + max - x`` in both P and E before the gap.
    missing
        ``"error"`` (default) or ``"available"``: dimension scores average the
        items a respondent answered (NaN when none).

    Returns
    -------
    ServqualResult

    Raises
    ------
    DataError
        Naming the column and row of a bad answer, a points row that does not
        sum to 100, or an inconsistent dimension map.
    """
    if method not in METHODS:
        raise DataError(f"unknown method {method!r}; accepted: {', '.join(map(repr, METHODS))}")
    if missing not in MISSING:
        raise DataError(f"unknown missing policy {missing!r}; accepted: {', '.join(map(repr, MISSING))}")
    frame = as_frame(data)
    dims = _dimensions(dimensions)
    numbers = sorted(k for ks in dims.values() for k in ks)
    lo, hi = map(float, scale)
    if not hi > lo:
        raise DataError(f"scale maximum {hi:g} must exceed minimum {lo:g}")
    unknown_rev = sorted(set(reverse) - set(numbers))
    if unknown_rev:
        raise DataError(f"reverse names item number(s) {unknown_rev} that are in no dimension")
    pcols = _columns(perception, numbers, "perception")
    ecols = _columns(expectation, numbers, "expectation") if method == "servqual" else {}
    if method == "servqual" and expectation is None:
        raise DataError("method='servqual' needs expectation columns; use method='servperf' for perceptions only")

    def read(col: str, k: int) -> np.ndarray:
        x = float_column(frame, col)
        check_range(x, col, frame.index, lo, hi)
        if missing == "error" and np.isnan(x).any():
            pos = int(np.argmax(np.isnan(x)))
            raise DataError(
                f"column {col!r} has a missing answer at row {frame.index[pos]!r}; pass missing='available'"
            )
        return lo + hi - x if k in reverse else x

    P = {k: read(pcols[k], k) for k in numbers}
    E = {k: read(ecols[k], k) for k in numbers} if method == "servqual" else {}
    items = pd.DataFrame({k: P[k] - E[k] if E else P[k] for k in numbers}, index=frame.index)
    items.columns.name = "item"
    with np.errstate(all="ignore"):
        dscore = pd.DataFrame(
            {d: items[list(ks)].mean(axis=1, skipna=True) for d, ks in dims.items()}, index=frame.index
        )
    dscore.columns.name = "dimension"
    unweighted = dscore.mean(axis=1, skipna=missing == "available").rename("servqual" if E else "servperf")
    weighted = None
    if points is not None:
        pts = _points(points, dims, frame)
        weighted = pd.Series((pts * dscore.to_numpy()).sum(axis=1) / 100.0, index=frame.index, name="weighted")
    summary = pd.DataFrame({
        "perception": [np.nanmean(np.column_stack([P[k] for k in ks])) for ks in dims.values()],
        "expectation": [np.nanmean(np.column_stack([E[k] for k in ks])) if E else np.nan for ks in dims.values()],
        "score": dscore.mean(axis=0).to_numpy(),
    }, index=pd.Index(list(dims), name="dimension"))  # fmt: skip
    return ServqualResult(method, items, dscore, unweighted, weighted, summary, dict(dims))


def _points(points: Mapping[str, Any], dims: dict[str, tuple[int, ...]], frame: pd.DataFrame) -> np.ndarray:
    missing = [d for d in dims if d not in points]
    extra = [d for d in points if d not in dims]
    if missing or extra:
        raise DataError(f"points must give every dimension once; missing {missing}, unknown {extra}")
    cols = []
    for d in dims:
        v = points[d]
        cols.append(
            float_column(frame, v, role="points column") if isinstance(v, str) else np.full(len(frame), float(v))
        )
    pts = np.column_stack(cols)
    bad = ~np.isfinite(pts).all(axis=1) | (pts < 0).any(axis=1) | (np.abs(pts.sum(axis=1) - 100.0) > 1e-6)
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(
            f"the points of row {frame.index[pos]!r} are {pts[pos].tolist()} (sum {pts[pos].sum():g}); each respondent "
            f"must allocate 100 non-negative points over {', '.join(dims)}"
        )
    return pts
