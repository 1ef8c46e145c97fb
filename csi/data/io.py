"""Reading survey data files into a DataFrame, chosen by file suffix."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from csi.errors import DataError, InputFileError

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel", ".xls": "excel"}
"""File suffix -> pandas reader (``pandas.read_<reader>``)."""


def read_data(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a survey data file: CSV, Parquet, or Excel when pandas has an engine for it.

    Parameters
    ----------
    path
        The file; its suffix picks the reader (:data:`READERS`).

    Returns
    -------
    pandas.DataFrame
        One row per respondent.

    Raises
    ------
    InputFileError
        When the file does not exist (also a ``FileNotFoundError``).
    DataError
        For an unknown suffix, a file the reader cannot parse (including a
        missing optional engine such as pyarrow or openpyxl), or a header that
        names a column twice (pandas would rename the second copy silently).
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"no data file {str(p)!r}")
    kind = READERS.get(p.suffix.lower())
    if kind is None:
        raise DataError(f"cannot read {p.name!r}: unknown file type; accepted: {', '.join(sorted(READERS))}")
    try:
        frame = getattr(pd, f"read_{kind}")(p)
    except ImportError as e:
        raise DataError(f"cannot read {p.name!r}: {e}") from e
    except (ValueError, OSError, pd.errors.ParserError) as e:
        # Parser errors span several lines; the first one says what went wrong.
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"cannot read {p.name!r}: {first}") from e
    if kind != "parquet":
        _check_header(p, kind, frame)
    return frame


def _check_header(p: Path, kind: str, frame: pd.DataFrame) -> None:
    """Refuse a header naming a column twice: the reader renames the copy (``x.1``) and the first is used."""
    if frame.columns.is_unique and not any(isinstance(c, str) and "." in c for c in frame.columns):
        return  # without a "." no column can be a renamed copy
    raw = getattr(pd, f"read_{kind}")(p, header=None, nrows=1).iloc[0].tolist() if len(frame.columns) else []
    names = [str(v) for v in raw]
    seen: dict[str, int] = {}
    for pos, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(
                f"the header of {p.name!r} names column {name!r} twice (columns {seen[name]} and {pos}); "
                "column names must be unique: rename or drop one copy"
            )
        seen[name] = pos
