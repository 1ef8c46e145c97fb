"""Reading survey data files into a DataFrame, chosen by file suffix."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from csi.errors import DataError

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
    FileNotFoundError
        When the file does not exist.
    DataError
        For an unknown suffix or a file the reader cannot parse (including a
        missing optional engine such as pyarrow or openpyxl).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no data file {str(p)!r}")
    kind = READERS.get(p.suffix.lower())
    if kind is None:
        raise DataError(f"cannot read {p.name!r}: unknown file type; accepted: {', '.join(sorted(READERS))}")
    try:
        return getattr(pd, f"read_{kind}")(p)
    except ImportError as e:
        raise DataError(f"cannot read {p.name!r}: {e}") from e
    except (ValueError, OSError, pd.errors.ParserError) as e:
        # Parser errors span several lines; the first one says what went wrong.
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"cannot read {p.name!r}: {first}") from e
