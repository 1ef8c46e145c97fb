"""A survey file as read: the respondent table plus what the file says about its columns.

SPSS and Stata files carry metadata that a plain table loses: the question
text of every variable (variable labels), the meaning of response codes (value
labels, e.g. ``1 = "very dissatisfied" ... 10 = "very satisfied"``) and the
codes that mean "no answer" (SPSS user-missing values, e.g. ``99 = "don't
know"``).  :class:`Survey` keeps them next to the data so that binding a model
to the file (:mod:`csi.data.binding`) can take item labels, scale bounds and
missing codes from them.  CSV, Excel and Parquet files give empty metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, eq=False)  # a DataFrame has no single truth value, so surveys compare by identity
class Survey:
    """A survey file read by :func:`csi.read_survey`.

    Attributes
    ----------
    data
        One row per respondent.  The row index is the file's own 1-based data
        row number (the first row below the header is row 1), so every error
        message about a value names the row a user finds in the file.  SPSS
        user-missing values are already ``NaN``.  The frame is built for the
        caller and not kept anywhere else.
    source
        The file's name (without folders), used in messages.
    format
        ``"csv"``, ``"excel"``, ``"parquet"``, ``"spss"`` or ``"stata"``.
    variable_labels
        Column -> question text, for the columns that have one.
    value_labels
        Column -> {code: label}, for the columns that have value labels.
    missing_codes
        Column -> user-missing codes declared in the file (SPSS discrete
        missing values, and the integers of a missing range of at most
        :data:`MAX_RANGE_CODES` values).  The values are ``NaN`` in
        :attr:`data` already; the codes are kept to document them in a binding.
    sheet
        The Excel sheet read, ``None`` for other formats.
    sep, encoding
        Delimiter and text encoding of a CSV/TSV file (detected or given).
    """

    data: pd.DataFrame
    source: str
    format: str
    variable_labels: Mapping[str, str] = field(default_factory=dict)
    value_labels: Mapping[str, Mapping[float, str]] = field(default_factory=dict)
    missing_codes: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    sheet: str | None = None
    sep: str | None = None
    encoding: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "variable_labels", _frozen(self.variable_labels))
        object.__setattr__(
            self, "value_labels", _frozen({k: _frozen(v) for k, v in dict(self.value_labels or {}).items()})
        )
        object.__setattr__(
            self, "missing_codes", _frozen({k: tuple(v) for k, v in dict(self.missing_codes or {}).items()})
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names, in file order."""
        return tuple(str(c) for c in self.data.columns)

    def label(self, column: str) -> str:
        """The variable label of ``column`` (``""`` when the file gives none)."""
        return self.variable_labels.get(column, "")

    def labelled_scale(self, column: str, missing_codes: tuple[float, ...] = ()) -> tuple[float, float] | None:
        """Scale end points stated by the value labels of ``column``.

        The lowest and highest labelled codes that are not missing codes (the
        file's user-missing values and ``missing_codes``), when at least two
        such codes are labelled; ``None`` otherwise.  Survey software labels
        the end points of a rating scale (``1 = "very dissatisfied"``,
        ``10 = "very satisfied"``), so these are the bounds the index needs.
        """
        skip = set(self.missing_codes.get(column, ())) | set(missing_codes)
        codes = sorted(float(c) for c in self.value_labels.get(column, {}) if float(c) not in skip)
        return (codes[0], codes[-1]) if len(codes) >= 2 else None


MAX_RANGE_CODES = 20
"""A user-missing range of at most this many integers is listed code by code in :attr:`Survey.missing_codes`."""
