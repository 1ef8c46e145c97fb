"""Turn one survey column into a float array, or say exactly why it cannot be.

This is the only place that looks at pandas dtypes.  The rules are strict on
purpose: a column that *looks* numeric but is stored as text (``"7"``) usually
means a CSV with a stray label or a decimal comma somewhere, and converting it
silently would hide that.

Rules
-----
* Integer, unsigned and float dtypes, including the pandas nullable ``Int64`` /
  ``Float64`` families, are accepted; ``pd.NA`` becomes ``NaN`` (missing).
* ``bool`` (and nullable ``boolean``) columns are accepted **only for items of
  type "binary"** (``False`` -> 0, ``True`` -> 1).  For a rating item a boolean
  column is almost certainly the wrong column, so it is rejected.
* ``object`` columns are checked value by value: Python/NumPy real numbers and
  missing markers (``None``, ``NaN``, ``pd.NA``) are accepted, anything else
  (including numeric strings and booleans) is rejected with the row label and
  the offending value.
* Strings, categoricals, dates, durations and complex numbers are rejected.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from csi.errors import DataError


def _is_missing_scalar(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and np.isnan(value)


def _looks_numeric(text: str) -> bool:
    try:
        float(text.strip().replace(",", "."))
    except ValueError:
        return False
    return True


def _describe_bad(column: str, label: object, value: object, role: str) -> str:
    msg = f"{role} {column!r} holds {value!r}, which is not a number (first such value at row {label!r})"
    if isinstance(value, str) and _looks_numeric(value):
        msg += (
            "; numeric text is not converted automatically because it often hides a stray label or a "
            "decimal comma: convert the column first, e.g. with pd.to_numeric(df[col], errors='raise')"
        )
    elif isinstance(value, bool | np.bool_):
        msg += "; booleans are accepted only for items of type 'binary' in a boolean column"
    else:
        msg += "; csi needs numeric response codes"
    return msg


def column_to_float(series: pd.Series, *, allow_bool: bool, role: str = "column") -> np.ndarray:
    """Convert one column to a new float64 array with ``NaN`` for missing values.

    Parameters
    ----------
    series
        The column; never modified.
    allow_bool
        Accept boolean dtypes (as 0/1); ``True`` for items of type ``"binary"``.
    role
        Word used in messages (``"column"`` or ``"weights column"``).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64, a copy.

    Raises
    ------
    DataError
        For non-numeric values, naming the column, the first bad row label and
        the value.
    """
    name = str(series.name)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        if not allow_bool:
            raise DataError(
                f"{role} {name!r} is boolean (True/False); booleans are accepted only for items of type "
                "'binary'. Convert it to numeric codes or declare the item as binary"
            )
        return series.to_numpy(dtype=float, na_value=np.nan, copy=True)
    if isinstance(dtype, pd.CategoricalDtype):
        raise DataError(
            f"{role} {name!r} is categorical; csi needs the numeric response codes, e.g. "
            "df[col].cat.codes + 1 or the original numeric column (check the code order first)"
        )
    if pd.api.types.is_complex_dtype(dtype):
        raise DataError(f"{role} {name!r} holds complex numbers; csi needs real response codes")
    if pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=float, na_value=np.nan, copy=True)
    if pd.api.types.is_object_dtype(dtype):
        out = np.empty(len(series), dtype=float)
        for pos, (label, value) in enumerate(series.items()):
            if _is_missing_scalar(value):
                out[pos] = np.nan
            elif isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
                out[pos] = float(value)
            else:
                raise DataError(_describe_bad(name, label, value, role))
        return out
    # str / string / datetime / timedelta / period / interval ...: report the first
    # non-missing value so the user sees what is in the column.
    notna = series.notna().to_numpy()
    if notna.any():
        # Point at the stray label ("k.A." in row 40) rather than at the numeric text it turned the column into.
        stray = notna & ~series.map(lambda v: isinstance(v, str) and _looks_numeric(v)).to_numpy(dtype=bool)
        pos = int(np.argmax(stray if stray.any() else notna))
        raise DataError(_describe_bad(name, series.index[pos], series.iloc[pos], role) + f" (dtype {dtype})")
    raise DataError(f"{role} {name!r} has dtype {dtype} and no numeric values; csi needs numeric response codes")
