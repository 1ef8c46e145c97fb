"""Loyalty segmentation by attitude x repeat patronage (methodology §6.6).

Dick & Basu (1994, Journal of the Academy of Marketing Science 22(2):99-113):

=========================  ======================  =====================
relative attitude          high repeat patronage   low repeat patronage
=========================  ======================  =====================
high                       true loyalty            latent loyalty
low                        spurious loyalty        no loyalty
=========================  ======================  =====================

High/low are split at thresholds (default: the sample medians, recorded in the
result); the segment names are configurable so a textbook's own level names
(e.g. Griffin's premium / latent / inertia / no loyalty) can be used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from csi.classical._columns import respondent_weights
from csi.errors import DataError

SEGMENTS = ("true", "latent", "spurious", "none")
"""Segment keys: (high, high), (high attitude, low patronage), (low, high), (low, low)."""

DEFAULT_LABELS: dict[str, str] = {
    "true": "true loyalty",
    "latent": "latent loyalty",
    "spurious": "spurious loyalty",
    "none": "no loyalty",
}

THRESHOLD_RULES = ("median", "mean")
"""Data-driven thresholds; a number gives a fixed threshold (e.g. the scale midpoint)."""


@dataclass(frozen=True, eq=False, repr=False)
class LoyaltySegments:
    """Dick & Basu loyalty segments.

    Attributes
    ----------
    segment
        Per respondent: segment label (categorical, the four labels in
        :data:`SEGMENTS` order); missing where attitude or patronage is.
    shares
        Share of each segment among the classified respondents (weighted).
    counts
        Respondents per segment (unweighted).
    grid
        2 x 2 table of shares: rows attitude high/low, columns patronage high/low.
    thresholds
        The threshold values used: ``{"attitude": ..., "patronage": ...}``.
    options
        Threshold rules, ``inclusive`` and labels, as given.
    """

    segment: pd.Series
    shares: pd.Series
    counts: pd.Series
    grid: pd.DataFrame
    thresholds: dict[str, float]
    options: dict[str, Any]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k} {v:.1%}" for k, v in self.shares.items())
        return f"LoyaltySegments(n={int(self.counts.sum())}: {shown})"

    def _table(self) -> pd.DataFrame:
        return pd.DataFrame({"respondents": self.counts.astype(int).map(lambda v: f"{v:,}"),
                             "share": self.shares.map(lambda v: f"{100 * v:.1f} %")})  # fmt: skip

    def summary(self) -> str:
        """Journal-style text: thresholds, then respondents and share per segment, then the 2 x 2 grid."""
        t = ", ".join(f"{k} {v:.3g}" for k, v in self.thresholds.items())
        grid = self.grid.map(lambda v: f"{100 * v:.1f} %")
        return "\n".join([
            f"Loyalty segments (Dick & Basu 1994), n = {int(self.counts.sum()):,} classified",
            f"Thresholds: {t}", "", self._table().to_string(), "",
            "Shares by attitude (rows) and patronage (columns)", grid.to_string(),
        ])  # fmt: skip

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        return (f"<div><p><b>{html.escape(repr(self))}</b></p>{self._table().to_html(escape=True)}"
                f"{self.grid.map(lambda v: f'{100 * v:.1f} %').to_html(escape=True)}</div>")  # fmt: skip


def _values(x: Any, name: str, index: pd.Index | None) -> pd.Series:
    if isinstance(x, pd.Series):
        s = x
    else:
        arr = np.asarray(x)
        if arr.ndim != 1:
            raise DataError(f"{name} must be one value per respondent (1-D), got shape {arr.shape}")
        s = pd.Series(arr, index=index if index is not None and len(index) == len(arr) else None)
    try:
        v = pd.to_numeric(s, errors="raise").astype(float)
    except (ValueError, TypeError):
        bad = s[pd.to_numeric(s, errors="coerce").isna() & s.notna()]
        raise DataError(f"{name} holds {bad.iloc[0]!r} at row {bad.index[0]!r}, which is not a number") from None
    if np.isinf(v.to_numpy()).any():
        raise DataError(f"{name} holds an infinite value at row {v.index[np.isinf(v.to_numpy())][0]!r}")
    return v


def _threshold(rule: Any, v: np.ndarray, w: np.ndarray | None, name: str) -> float:
    if isinstance(rule, str):
        if rule not in THRESHOLD_RULES:
            raise DataError(f"unknown {name} threshold {rule!r}; accepted: {', '.join(THRESHOLD_RULES)} or a number")
        if rule == "mean":
            return float(np.average(v, weights=w))
        if w is None:
            return float(np.median(v))
        # Weighted median: smallest value whose cumulative weight reaches half the total.
        order = np.argsort(v, kind="stable")
        cum = np.cumsum(w[order])
        return float(v[order][np.searchsorted(cum, 0.5 * cum[-1])])
    if isinstance(rule, bool) or not isinstance(rule, (int, float)) or not np.isfinite(rule):
        raise DataError(f"{name} threshold must be 'median', 'mean' or a finite number, got {rule!r}")
    return float(rule)


def loyalty_segments(
    attitude: pd.Series | Sequence[float],
    patronage: pd.Series | Sequence[float],
    *,
    attitude_threshold: str | float = "median",
    patronage_threshold: str | float = "median",
    inclusive: bool = True,
    labels: Mapping[str, str] | None = None,
    weights: Sequence[float] | pd.Series | None = None,
) -> LoyaltySegments:
    """Dick & Basu (1994) loyalty segments and their shares (methodology §6.6).

    Parameters
    ----------
    attitude
        Relative attitude per respondent (e.g. a 0-100 index of attitudinal
        loyalty items, satisfaction or recommendation).
    patronage
        Repeat patronage per respondent (repeat purchases, share of wallet,
        tenure, or the repurchase item).  Aligned with ``attitude`` by index
        when both are Series.
    attitude_threshold, patronage_threshold
        ``"median"`` (default; weighted median with weights), ``"mean"``, or
        a number (e.g. the scale midpoint).  Computed on respondents with both
        values and recorded in :attr:`LoyaltySegments.thresholds`.
    inclusive
        ``True`` (default): a value equal to the threshold counts as high, so
        a median split puts the respondents at the median in the high group.
    labels
        Display names for the keys of :data:`SEGMENTS` (all four).
    weights
        Respondent weights for the shares and data-driven thresholds.

    Returns
    -------
    LoyaltySegments
    """
    a = _values(attitude, "attitude", None)
    p = _values(patronage, "patronage", a.index)
    if len(a) != len(p):
        raise DataError(f"attitude has {len(a)} values, patronage {len(p)}; give one of each per respondent")
    if isinstance(attitude, pd.Series) and isinstance(patronage, pd.Series) and not a.index.equals(p.index):
        if set(a.index) != set(p.index) or a.index.has_duplicates:
            raise DataError("attitude and patronage Series must have the same row labels")
        p = p.reindex(a.index)
    else:
        p.index = a.index
    names = dict(DEFAULT_LABELS)
    if labels is not None:
        if set(labels) != set(SEGMENTS):
            raise DataError(f"labels must give all of {', '.join(SEGMENTS)} exactly; got {list(labels)}")
        names = {k: str(labels[k]) for k in SEGMENTS}
        if len(set(names.values())) != 4:
            raise DataError(f"the four segment labels must differ, got {list(names.values())}")
    frame = pd.DataFrame(index=a.index)
    w_all = respondent_weights(weights, frame)
    ok = (a.notna() & p.notna()).to_numpy()
    if not ok.any():
        raise DataError("no respondent has both an attitude and a patronage value")
    av, pv = a.to_numpy()[ok], p.to_numpy()[ok]
    w = None if w_all is None else w_all[ok]
    t_a = _threshold(attitude_threshold, av, w, "attitude")
    t_p = _threshold(patronage_threshold, pv, w, "patronage")
    hi_a = av >= t_a if inclusive else av > t_a
    hi_p = pv >= t_p if inclusive else pv > t_p
    key = np.where(hi_a, np.where(hi_p, "true", "latent"), np.where(hi_p, "spurious", "none"))
    order = [names[k] for k in SEGMENTS]
    seg = pd.Series(pd.Categorical([None] * len(a), categories=order), index=a.index, name="segment")
    seg[ok] = [names[k] for k in key]
    ww = np.ones(ok.sum()) if w is None else w
    shares = pd.Series(
        [ww[key == k].sum() / ww.sum() for k in SEGMENTS], index=pd.Index(order, name="segment"), name="share"
    )
    counts = pd.Series([int((key == k).sum()) for k in SEGMENTS], index=shares.index, name="count")
    grid = pd.DataFrame(
        [[shares.iloc[0], shares.iloc[1]], [shares.iloc[2], shares.iloc[3]]],
        index=pd.Index(["high", "low"], name="attitude"), columns=pd.Index(["high", "low"], name="patronage"),
    )  # fmt: skip
    return LoyaltySegments(
        segment=seg, shares=shares, counts=counts, grid=grid,
        thresholds={"attitude": t_a, "patronage": t_p},
        options={"attitude_threshold": attitude_threshold, "patronage_threshold": patronage_threshold,
                 "inclusive": inclusive, "labels": names},
    )  # fmt: skip
