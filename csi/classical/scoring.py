"""Descriptive questionnaire scoring (methodology §6.1).

Per item: mean, top-box and top-2-box shares and
``score_0_100 = 100 (mean - min) / (max - min)``; overall: the weighted mean of
the item scores.  This is the baseline every modelled index is compared with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from csi.classical._columns import as_frame, check_range, float_column, respondent_weights
from csi.errors import DataError
from csi.spec.model import ModelSpec


@dataclass(frozen=True, eq=False)
class ItemScores:
    """Per-item descriptive scores.

    Attributes
    ----------
    table
        One row per item: ``n`` (answers), ``mean``, ``top_box`` and
        ``top2_box`` (shares of answers at ``max`` and at ``>= max - step``),
        ``score_0_100``, ``scale_min``, ``scale_max``.
    overall
        Weighted mean of ``score_0_100`` with the item weights.
    item_weights
        The item weights used, normalised to sum 1.
    """

    table: pd.DataFrame
    overall: float
    item_weights: pd.Series


def _bounds(items: Sequence[str], spec: ModelSpec | None, scale: Any) -> dict[str, tuple[float, float]]:
    if isinstance(scale, Mapping):
        unknown = [k for k in scale if k not in items]
        if unknown:
            raise DataError(f"scale names item(s) {', '.join(map(repr, unknown))} that are not scored")
        out = {k: tuple(map(float, v)) for k, v in scale.items()}
    elif scale is not None:
        out = dict.fromkeys(items, tuple(map(float, scale)))
    else:
        out = {}
    if spec is not None:
        for it in spec.items:
            if it.name not in out and it.has_scale:
                out[it.name] = (float(it.scale_min), float(it.scale_max))
    lacking = [i for i in items if i not in out]
    if lacking:
        raise DataError(
            f"scoring needs each item's theoretical scale; unknown for {', '.join(map(repr, lacking))}. "
            "Pass scale=(min, max) or {item: (min, max)}"
        )
    for k, (a, b) in out.items():
        if not b > a:
            raise DataError(f"item {k!r}: scale maximum {b:g} must exceed minimum {a:g}")
    return out


def item_scores(
    data: pd.DataFrame,
    items: ModelSpec | Sequence[str],
    scale: tuple[float, float] | Mapping[str, tuple[float, float]] | None = None,
    *,
    item_weights: Sequence[float] | Mapping[str, float] | None = None,
    weights: str | Sequence[float] | pd.Series | None = None,
    step: float = 1.0,
) -> ItemScores:
    """Mean, top-box, top-2-box and 0-100 score of every item (methodology §6.1).

    Parameters
    ----------
    data
        One row per respondent; never modified.  ``NaN`` is a missing answer:
        each item is scored on the respondents who answered it (``n``).
    items
        Column names, or a :class:`~csi.spec.model.ModelSpec` (all its items,
        with its scale bounds; reverse-worded items are *not* recoded here,
        since the score describes the question as asked).
    scale
        ``(min, max)`` for every item or ``{item: (min, max)}``; overrides the spec.
    item_weights
        Importance of each item in ``overall`` (default equal), any
        non-negative scale with a positive sum; normalised to sum 1 and
        reported in :attr:`ItemScores.item_weights`.
    weights
        Respondent weights: a column name or one value per row (finite, > 0).
    step
        Distance between adjacent answer codes; the top-2 box is ``x >= max - step``.

    Returns
    -------
    ItemScores

    Raises
    ------
    DataError
        Naming the column and row of a non-numeric or out-of-scale answer, an
        item nobody answered, or invalid weights.
    """
    frame = as_frame(data)
    spec = items if isinstance(items, ModelSpec) else None
    names = list(spec.item_names) if spec is not None else [items] if isinstance(items, str) else list(items)
    if not names:
        raise DataError("no items to score; pass column names or a ModelSpec")
    if not step > 0:
        raise DataError(f"step must be > 0, got {step!r}")
    bounds = _bounds(names, spec, scale)
    w = respondent_weights(weights, frame)
    rows = []
    for name in names:
        x = float_column(frame, name)
        lo, hi = bounds[name]
        check_range(x, name, frame.index, lo, hi)
        ok = ~np.isnan(x)
        if not ok.any():
            raise DataError(f"column {name!r} has no answers, so it has no score")
        ww = np.ones(ok.sum()) if w is None else w[ok]
        xs = x[ok]
        mean = float(ww @ xs / ww.sum())
        rows.append({
            "item": name, "n": int(ok.sum()), "mean": mean,
            "top_box": float(ww @ (xs >= hi) / ww.sum()),
            "top2_box": float(ww @ (xs >= hi - step) / ww.sum()),
            "score_0_100": 100.0 * (mean - lo) / (hi - lo), "scale_min": lo, "scale_max": hi,
        })  # fmt: skip
    table = pd.DataFrame(rows).set_index("item")
    a = _item_weights(item_weights, names)
    return ItemScores(table=table, overall=float(a @ table["score_0_100"].to_numpy()),
                      item_weights=pd.Series(a, index=table.index, name="item_weight"))  # fmt: skip


def _item_weights(item_weights: Any, names: list[str]) -> np.ndarray:
    if item_weights is None:
        return np.full(len(names), 1.0 / len(names))
    if isinstance(item_weights, Mapping):
        missing = [n for n in names if n not in item_weights]
        extra = [k for k in item_weights if k not in names]
        if missing or extra:
            raise DataError(f"item_weights must name exactly the scored items; missing {missing}, unknown {extra}")
        a = np.array([float(item_weights[n]) for n in names])
    else:
        a = np.asarray(item_weights, dtype=float)
        if a.shape != (len(names),):
            raise DataError(f"got {a.size} item_weights for {len(names)} items; give one per item")
    if not np.isfinite(a).all() or (a < 0).any() or not a.sum() > 0:
        raise DataError(f"item_weights must be finite, >= 0 and not all 0; got {a.tolist()}")
    return a / a.sum()
