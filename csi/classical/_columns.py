"""Shared edge checks of the classical methods: a data frame, named numeric columns.

Every classical method reads survey columns by name; this module turns one
column into a float array (``NaN`` = missing) through the same strict
:func:`csi.data.columns.column_to_float` the model pipeline uses, so a text
or boolean column is reported the same way everywhere.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from csi.data.columns import column_to_float
from csi.data.prepare import as_frame
from csi.errors import DataError

__all__ = ["as_frame"]


def float_column(frame: pd.DataFrame, name: str, role: str = "column") -> np.ndarray:
    """Column ``name`` as a new float64 array; a missing column lists the closest names."""
    if name not in frame.columns:
        near = difflib.get_close_matches(str(name), [str(c) for c in frame.columns], n=3, cutoff=0.6)
        hint = f" (closest: {', '.join(map(repr, near))})" if near else ""
        raise DataError(f"{role} {name!r} is not in the data{hint}")
    series = frame[name]
    if isinstance(series, pd.DataFrame):
        raise DataError(f"the data have more than one column named {name!r}; names must be unique")
    x = column_to_float(series, allow_bool=False, role=role)
    inf = np.isinf(x)
    if inf.any():
        pos = int(np.argmax(inf))
        raise DataError(f"{role} {name!r} holds an infinite value (first at row {frame.index[pos]!r})")
    return x


def check_range(x: np.ndarray, name: str, labels: pd.Index, lo: float, hi: float, role: str = "column") -> None:
    """Raise a :class:`DataError` naming the first value of ``x`` outside ``[lo, hi]`` (NaN ignored)."""
    with np.errstate(invalid="ignore"):
        out = (x < lo) | (x > hi)
    if out.any():
        pos = int(np.argmax(out))
        raise DataError(
            f"{role} {name!r} holds {x[pos]:g} at row {labels[pos]!r}, outside the scale [{lo:g}, {hi:g}] "
            f"({int(out.sum())} value(s) out of range); recode missing codes to NaN or correct the scale"
        )


def respondent_weights(weights: object, frame: pd.DataFrame) -> np.ndarray | None:
    """Respondent weights as a float array (finite, > 0), from a column name or one value per row."""
    if weights is None:
        return None
    if isinstance(weights, str):
        w = float_column(frame, weights, role="weights column")
    else:
        if isinstance(weights, pd.Series) and not weights.index.equals(frame.index):
            if weights.index.has_duplicates or set(weights.index) != set(frame.index):
                raise DataError("a weights Series must be indexed by the same row labels as the data")
            weights = weights.reindex(frame.index)
        w = np.asarray(weights, dtype=float).copy()
        if w.shape != (len(frame),):
            raise DataError(f"got weights of shape {w.shape} for {len(frame)} rows; give one weight per respondent")
    bad = ~np.isfinite(w) | ~(w > 0)
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(f"respondent weights must be finite and > 0; got {w[pos]} at row {frame.index[pos]!r}")
    return w
