"""CSV text cells that a spreadsheet cannot run as formulas, and their exact inverse.

OWASP's rule for CSV injection ("CSV Injection", owasp.org/www-community/attacks/CSV_Injection):
a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is prefixed with a single quote, so Excel, LibreOffice and Google Sheets show
it as text instead of evaluating it (a company named ``=HYPERLINK(...)``).
Only text cells are touched; numbers stay numbers (``-5.2`` in a numeric
column is written as it is).

To make the escape exactly reversible, a text that already begins with one or
more quotes followed by one of those characters gets one more quote too:
:func:`escape_text` adds one quote to every text matching ``'*[=+\\-@\\t\\r]``
and :func:`unescape_text` removes one from every text matching
``'+[=+\\-@\\t\\r]``, so ``unescape_text(escape_text(s)) == s`` for every
string ``s``.  Other texts (``'abc``, ``O'Neil``) are left alone both ways.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet treat a cell as a formula (OWASP)."""

_ESCAPE = re.compile(r"'*[=+\-@\t\r]")
_UNESCAPE = re.compile(r"'+[=+\-@\t\r]")


def escape_text(value: Any) -> Any:
    """``value`` with a leading quote when it is text a spreadsheet would evaluate; anything else unchanged."""
    if isinstance(value, str) and _ESCAPE.match(value):
        return "'" + value
    return value


def unescape_text(value: Any) -> Any:
    """The inverse of :func:`escape_text` (text cells read from a csi CSV file)."""
    if isinstance(value, str) and _UNESCAPE.match(value):
        return value[1:]
    return value


def _text_columns(frame: pd.DataFrame) -> list[Any]:
    return [c for c in frame.columns if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)]


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and text column names) are escaped; numeric columns untouched."""
    out = frame.copy()
    for c in _text_columns(frame):
        out[c] = frame[c].map(escape_text, na_action="ignore")
    return out.rename(columns=escape_text)


def unescape_frame(frame: pd.DataFrame, columns: Iterable[Any] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`unescape_text` applied to ``columns`` (default: every text column) and names."""
    out = frame.rename(columns=unescape_text)
    for c in _text_columns(out) if columns is None else [c for c in columns if c in out.columns]:
        out[c] = out[c].map(unescape_text, na_action="ignore")
    return out


def to_csv(frame: pd.DataFrame, path: Any, **options: Any) -> None:
    """Write ``frame`` as CSV with its text cells escaped (``index=False`` unless given).

    Python's CSV writer quotes a field with a line feed but not one with a bare
    carriage return, which readers then take for a line break; a file holding
    such a cell is written with every field quoted (numbers still read back
    as numbers).
    """
    options.setdefault("index", False)
    escaped = escape_frame(frame)
    texts = _text_columns(escaped)
    has_cr = any(escaped[c].map(lambda v: isinstance(v, str) and "\r" in v, na_action="ignore").any() for c in texts)
    if has_cr or any(isinstance(c, str) and "\r" in c for c in escaped.columns):
        options.setdefault("quoting", csv.QUOTE_ALL)
    escaped.to_csv(path, **options)
