"""Reading survey files: CSV/TSV, Excel, Parquet, SPSS and Stata, with their metadata.

Every command and :func:`csi.read_survey` read data through :func:`read_survey`,
so a file behaves the same everywhere.  What the readers do on their own:

* **Text files** (``.csv``, ``.tsv``, ``.tab``, ``.txt``): the encoding is
  UTF-8 (with or without byte-order mark), UTF-16 with a byte-order mark, or
  else Windows-1252 (which decodes every Latin-1 text file the same way except
  for control characters); the delimiter is the one of ``,`` ``;`` tab ``|``
  that splits the first lines into the same number (at least two) of fields.
  When the delimiter is not a comma and numbers are written with a decimal
  comma only (``7,5`` and never ``7.5``), the comma is read as the decimal mark,
  as spreadsheet programs write such files.
* **Excel** (``.xlsx``, ``.xlsm``; ``.xls`` when ``xlrd`` is installed): the
  first sheet, or the one named or numbered (from 1) by ``sheet``.
* **Parquet** (``.parquet``, ``.pq``).
* **SPSS** (``.sav``, ``.zsav``, ``.por``) and **Stata** (``.dta``) through
  pyreadstat, keeping variable labels, value labels and SPSS user-missing
  values (see :class:`~csi.data.survey.Survey`).

Checks at the edge: a header naming a column twice is an error (pandas would
silently rename the second one ``x.1``), and the rows are numbered as in the
file (1 = first data row; blank lines of a text file are not counted), so
every later message about a value names a row the user can find.
"""

from __future__ import annotations

import codecs
import csv
import math
import os
import re
from collections.abc import Callable, Sequence
from io import StringIO
from pathlib import Path
from typing import Any

import pandas as pd

from csi.data.survey import MAX_RANGE_CODES, Survey
from csi.errors import DataError, InputFileError

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".sav": "spss",
    ".zsav": "spss",
    ".por": "spss",
    ".dta": "stata",
}
"""File suffix -> format read by :func:`read_survey`."""

READERS = FORMATS
"""Former name of :data:`FORMATS`."""

DELIMITERS = (",", ";", "\t", "|")
"""Delimiters a text file is tried with, in order of preference on a tie."""

_SNIFF_LINES = 50


def _accepted() -> str:
    return ", ".join(sorted(FORMATS))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _check_header(names: Sequence[object], source: str, where: str = "") -> None:
    seen: dict[str, int] = {}
    for name in names:
        if name is None or (isinstance(name, float) and math.isnan(name)) or str(name).strip() == "":
            continue  # unnamed columns get distinct names from pandas
        seen[str(name)] = seen.get(str(name), 0) + 1
    dup = [n for n, k in seen.items() if k > 1]
    if dup:
        raise DataError(
            f"{source!r}{where}: the header names column(s) {', '.join(map(repr, dup))} more than once; "
            "rename them so that every column has its own name"
        )


def _file_rows(frame: pd.DataFrame) -> pd.DataFrame:
    # Row labels = the file's 1-based data rows, so messages such as "at row 7" point into the file.
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


# ----------------------------------------------------------------------------- text


def _decode(raw: bytes, encoding: str | None, source: str) -> tuple[str, str]:
    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise DataError(
                f"unknown text encoding {encoding!r} for {source!r}; use e.g. utf-8, cp1252, latin-1 or utf-16"
            ) from None
        # A byte-order mark is no text: drop it whether or not the user named it.
        tries = ["utf-8-sig" if codec == "utf-8" else encoding]
    elif raw.startswith(codecs.BOM_UTF8):
        tries = ["utf-8-sig"]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        tries = ["utf-16"]
    else:
        if b"\x00" in raw[:4096]:
            raise DataError(f"{source!r} is not a text file (it holds NUL bytes); accepted formats: {_accepted()}")
        tries = ["utf-8", "cp1252"]
    for enc in tries:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError as e:
            last = e
    line = raw[: last.start].count(b"\n") + 1
    tried = encoding if encoding is not None else " or ".join(tries)
    raise DataError(
        f"cannot decode {source!r} as {tried}: byte 0x{raw[last.start]:02x} on line {line} is not valid there; "
        "pass the file's encoding (--encoding / encoding=), e.g. utf-8, cp1252, latin-1 or utf-16"
    ) from None


def _fields(lines: list[str], sep: str) -> list[int]:
    return [len(row) for row in csv.reader(lines, delimiter=sep)]


def detect_delimiter(lines: list[str]) -> str:
    """The delimiter of a delimited text file, from its first non-empty lines.

    The candidate (:data:`DELIMITERS`) that gives the header at least two
    fields and the most rows with as many fields as the header wins; on a tie
    the one giving more fields, then the earlier candidate.  A one-column file
    gives ``","``.
    """
    best, best_score = ",", (0.0, 0)
    for sep in DELIMITERS:
        counts = _fields(lines, sep)
        if not counts or counts[0] < 2:
            continue
        score = (sum(c == counts[0] for c in counts) / len(counts), counts[0])
        if score > best_score:
            best, best_score = sep, score
    return best


def _read_text(path: Path, sep: str | None, encoding: str | None, source: str) -> Survey:
    text, used = _decode(path.read_bytes(), encoding, source)
    lines = [ln for ln in text.splitlines()[: _SNIFF_LINES * 2] if ln.strip()][:_SNIFF_LINES]
    if not lines:
        raise DataError(f"{source!r} is empty: it has no header line and no data")
    if sep is None:
        sep = detect_delimiter(lines)
    elif sep in ("\\t", "tab", "TAB"):
        sep = "\t"
    if len(sep) != 1:
        raise DataError(f"the delimiter of {source!r} must be one character (or 'tab'), got {sep!r}")
    _check_header(next(csv.reader(lines[:1], delimiter=sep)), source)
    body = "\n".join(lines[1:])
    decimal = "," if sep != "," and re.search(r"\d,\d", body) and not re.search(r"\d\.\d", body) else "."
    try:
        frame = pd.read_csv(StringIO(text), sep=sep, decimal=decimal)
    except (ValueError, pd.errors.ParserError) as e:
        raise DataError(f"cannot read {source!r} as {_sep_name(sep)}-separated text: {_first_line(e)}") from e
    return Survey(_file_rows(frame), source, "csv", sep=sep, encoding=used)


def _sep_name(sep: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(sep, repr(sep))


# ---------------------------------------------------------------------------- excel


def _pick_sheet(sheet: str | int | None, names: list[str], source: str) -> str:
    listed = ", ".join(f"{k} {n!r}" for k, n in enumerate(names, 1))
    if sheet is None:
        return names[0]
    if isinstance(sheet, str) and sheet in names:
        return sheet
    text = str(sheet).strip()
    if not isinstance(sheet, bool) and (isinstance(sheet, int) or text.isdigit()):
        number = int(text)
        if 1 <= number <= len(names):
            return names[number - 1]
        raise DataError(f"{source!r} has no sheet number {number} (numbers start at 1); its sheets: {listed}")
    raise DataError(f"{source!r} has no sheet {sheet!r}; its sheets: {listed} (give a name or a number from 1)")


def _read_excel(path: Path, sheet: str | int | None, source: str) -> Survey:
    try:
        book = pd.ExcelFile(path)
    except ImportError as e:
        raise DataError(f"cannot read {source!r}: {_first_line(e)}") from e
    except Exception as e:  # openpyxl raises zipfile/KeyError/ValueError variants for a damaged workbook
        raise DataError(f"cannot read {source!r} as an Excel workbook: {_first_line(e)}") from e
    with book:
        name = _pick_sheet(sheet, list(book.sheet_names), source)
        header = pd.read_excel(book, sheet_name=name, header=None, nrows=1)
        if header.empty:
            raise DataError(f"sheet {name!r} of {source!r} is empty: it has no header row")
        _check_header(list(header.iloc[0]), source, f" (sheet {name!r})")
        frame = pd.read_excel(book, sheet_name=name)
    frame.columns = [str(c) for c in frame.columns]
    return Survey(_file_rows(frame), source, "excel", sheet=name)


# -------------------------------------------------------------------------- parquet


def _read_parquet(path: Path, source: str) -> Survey:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        _check_header([n for n in names if not n.startswith("__index_level_")], source)
        frame = pd.read_parquet(path)
    except DataError:
        raise
    except Exception as e:  # pyarrow raises ArrowInvalid/OSError variants for a file that is not Parquet
        raise DataError(f"cannot read {source!r} as a Parquet file: {_first_line(e)}") from e
    return Survey(_file_rows(frame.reset_index(drop=True)), source, "parquet")


# ----------------------------------------------------------------- SPSS and Stata


def _range_codes(lo: float, hi: float) -> tuple[float, ...]:
    if lo == hi:
        return (float(lo),)
    if float(lo).is_integer() and float(hi).is_integer() and 0 < hi - lo < MAX_RANGE_CODES:
        return tuple(float(v) for v in range(int(lo), int(hi) + 1))
    return ()


def _user_missing(frame: pd.DataFrame, ranges: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[float, ...]]:
    codes: dict[str, tuple[float, ...]] = {}
    for column, spans in ranges.items():
        if column not in frame.columns or not pd.api.types.is_numeric_dtype(frame[column]):
            continue  # user-missing strings of a text variable: the variable is no item anyway
        values = frame[column]
        missing = pd.Series(False, index=frame.index)
        found: list[float] = []
        for span in spans:
            lo, hi = float(span["lo"]), float(span["hi"])
            missing |= (values >= lo) & (values <= hi)
            found += _range_codes(lo, hi)
        frame[column] = values.mask(missing)
        if found:
            codes[column] = tuple(sorted(set(found)))
    return codes


def _read_pyreadstat(path: Path, kind: str, source: str) -> Survey:
    import pyreadstat

    suffix = path.suffix.lower()
    read: Callable[..., Any]
    options: dict[str, Any] = {}
    if suffix == ".por":
        read = pyreadstat.read_por
    elif kind == "spss":
        read, options = pyreadstat.read_sav, {"user_missing": True}
    else:
        read = pyreadstat.read_dta
    try:
        frame, meta = read(str(path), **options)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError, ValueError, UnicodeError) as e:
        what = "an SPSS" if kind == "spss" else "a Stata"
        raise DataError(f"cannot read {source!r} as {what} file: {_first_line(e)}") from e
    missing = _user_missing(frame, getattr(meta, "missing_ranges", None) or {})
    labels = {c: str(t) for c, t in (meta.column_names_to_labels or {}).items() if t}
    values = {
        c: {float(code): str(text) for code, text in v.items() if isinstance(code, int | float)}
        for c, v in (meta.variable_value_labels or {}).items()
    }
    return Survey(
        _file_rows(frame),
        source,
        kind,
        variable_labels=labels,
        value_labels={c: v for c, v in values.items() if v},
        missing_codes=missing,
    )


# --------------------------------------------------------------------------- public


def read_survey(
    path: str | os.PathLike[str],
    sep: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
) -> Survey:
    """Read a survey file and the metadata it carries.

    Parameters
    ----------
    path
        The file; its suffix picks the format (:data:`FORMATS`).
    sep
        Delimiter of a text file (``","``, ``";"``, ``"\\t"`` or ``"tab"``, ...);
        default: detected.  Only for text files.
    encoding
        Text encoding of a text file (any Python codec name); default:
        detected (UTF-8 with or without BOM, UTF-16 with BOM, else cp1252).
        Only for text files.
    sheet
        Excel sheet: its name or its 1-based number; default: the first.  Only
        for Excel files.

    Returns
    -------
    Survey
        The data (rows numbered from 1 as in the file) and the file's
        variable labels, value labels and user-missing codes.

    Raises
    ------
    InputFileError
        When the file does not exist (also a ``FileNotFoundError``).
    DataError
        Naming the file: its type is not supported, it cannot be parsed or
        decoded, the sheet does not exist (the message lists the sheets), its
        header names a column twice, or an option does not apply to its format.
    """
    p = Path(path)
    source = p.name
    if not p.is_file():
        raise InputFileError(f"no data file {str(p)!r}" + (" (it is a folder)" if p.is_dir() else ""))
    kind = FORMATS.get(p.suffix.lower())
    if kind is None:
        raise DataError(
            f"cannot read {source!r}: unsupported file type {p.suffix or '(none)'!r}; accepted: {_accepted()}"
        )
    given = {"sep": sep, "encoding": encoding, "sheet": sheet}
    allowed = {"csv": ("sep", "encoding"), "excel": ("sheet",)}.get(kind, ())
    wrong = [k for k, v in given.items() if v is not None and k not in allowed]
    if wrong:
        raise DataError(
            f"option(s) {', '.join(wrong)} do not apply to {source!r} ({kind} file): sep and encoding are for "
            "CSV/TSV text files, sheet for Excel workbooks"
        )
    try:
        if kind == "csv":
            return _read_text(p, sep, encoding, source)
        if kind == "excel":
            return _read_excel(p, sheet, source)
        if kind == "parquet":
            return _read_parquet(p, source)
        return _read_pyreadstat(p, kind, source)
    except OSError as e:
        raise DataError(f"cannot read {source!r}: {_first_line(e)}") from e


def read_data(
    path: str | os.PathLike[str],
    sep: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """The data of :func:`read_survey` without the metadata."""
    return read_survey(path, sep=sep, encoding=encoding, sheet=sheet).data
