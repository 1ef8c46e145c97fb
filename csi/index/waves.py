"""The order of a panel's waves, which decides the sign of every wave-over-wave change.

Waves are compared "previous -> next", so their order must be right; sorting
labels as text is not (``w10`` comes before ``w9``, ``Q1-2024`` before
``Q4-2023``, ``Feb`` before ``Jan``).  :func:`order_waves` therefore accepts
only orders it can justify:

1. numbers (including years such as 2023), by value;
2. period labels, all of one kind: quarters (``Q1-2024``, ``Q1 2024``,
   ``2024Q1``, ``2024-Q1``), half years (``H1-2024``, ``2024H2``), months with
   a year (``2024-01``, ``01/2024``, ``Jan 2024``, ``2024-January``), months
   without one (``Jan``, ``January``: calendar order) or ISO dates
   (``2024-01-15``), by time;
3. one common text prefix followed by a number (``w9``, ``w10``; ``Wave 2``),
   by the number;
4. an explicit order given by the caller, which must list every wave of the
   data once and nothing else.

Anything else is an error asking for the explicit order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from csi.errors import DataError
from csi.index.hierarchy import key

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
"""English month names and abbreviations -> month number."""

_SEP = r"[\s\-/_.]*"
_PATTERNS: tuple[tuple[str, re.Pattern[str], tuple[int, ...]], ...] = (
    # (kind, pattern, group order giving (year, part[, day]))
    ("quarter", re.compile(rf"^q([1-4]){_SEP}(\d{{4}})$"), (2, 1)),
    ("quarter", re.compile(rf"^(\d{{4}}){_SEP}q([1-4])$"), (1, 2)),
    ("half", re.compile(rf"^h([12]){_SEP}(\d{{4}})$"), (2, 1)),
    ("half", re.compile(rf"^(\d{{4}}){_SEP}h([12])$"), (1, 2)),
    ("date", re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ t]00:00:00)?$"), (1, 2, 3)),
    ("month", re.compile(r"^(\d{4})[-/.](\d{1,2})$"), (1, 2)),
    ("month", re.compile(r"^(\d{1,2})[-/.](\d{4})$"), (2, 1)),
    ("month", re.compile(rf"^([a-z]+){_SEP}(\d{{4}})$"), (2, 1)),
    ("month", re.compile(rf"^(\d{{4}}){_SEP}([a-z]+)$"), (1, 2)),
    ("month of year", re.compile(r"^([a-z]+)\.?$"), (1,)),
)


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return MONTHS.get(text)


def _period(label: str) -> tuple[str, tuple[int, ...]] | None:
    text = label.strip().lower()
    for kind, pattern, groups in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        parts = [_number(m.group(g)) for g in groups]
        if any(p is None for p in parts):
            continue
        if kind in ("month", "month of year", "date") and not 1 <= parts[1 if kind != "month of year" else 0] <= 12:
            continue
        if kind == "date" and not 1 <= parts[2] <= 31:
            continue
        return kind, tuple(p for p in parts if p is not None)
    return None


def _float(label: str) -> float | None:
    try:
        return float(label)
    except ValueError:
        return None


def _numbered(labels: list[str]) -> list[str] | None:
    found = [re.match(r"^(.*?\D)\s*(\d+)$", lb.strip()) for lb in labels]
    if not all(found) or len({m.group(1).strip().lower() for m in found if m}) != 1:
        return None
    return [lb for _, lb in sorted(zip((int(m.group(2)) for m in found if m), labels, strict=True))]


def _infer(labels: list[str]) -> list[str] | None:
    numbers = [_float(lb) for lb in labels]
    if all(v is not None for v in numbers):
        return [lb for _, lb in sorted(zip(numbers, labels, strict=True))]  # type: ignore[type-var]
    periods = [_period(lb) for lb in labels]
    if all(periods) and len({p[0] for p in periods if p}) == 1:
        return [lb for _, lb in sorted(zip((p[1] for p in periods if p), labels, strict=True))]
    return _numbered(labels)


def order_waves(
    values: Iterable[object], wave_order: Sequence[object] | None = None, column: str = "wave"
) -> list[str]:
    """The distinct waves of a panel in time order, as text labels.

    Parameters
    ----------
    values
        The wave of every respondent (numbers or labels).
    wave_order
        The order, earliest first, when the labels do not state it; compared
        with the data as text (``2023`` and ``"2023"`` are one wave).
    column
        Name of the wave column, for messages.

    Returns
    -------
    list of str
        Each wave once, earliest first.

    Raises
    ------
    DataError
        When the labels are neither numbers, nor period labels of one kind,
        nor a common prefix with numbers and no ``wave_order`` is given; or
        when ``wave_order`` omits a wave of the data, names a wave the data
        lack, or names one twice.
    """
    labels = list(dict.fromkeys(key(v) for v in values))
    if wave_order is not None:
        if isinstance(wave_order, str | bytes):
            raise DataError(f"wave_order must be a list of wave labels, got the string {wave_order!r}")
        given = [key(v) for v in wave_order]
        twice = sorted({w for w in given if given.count(w) > 1})
        omitted = [w for w in labels if w not in given]
        unknown = [w for w in given if w not in labels]
        problems = []
        if omitted:
            problems.append(f"omits wave(s) {', '.join(map(repr, omitted))} present in column {column!r}")
        if unknown:
            problems.append(f"names wave(s) {', '.join(map(repr, unknown))} that column {column!r} does not hold")
        if twice:
            problems.append(f"names {', '.join(map(repr, twice))} more than once")
        if problems:
            raise DataError(
                f"the wave order {given!r} {'; '.join(problems)}; list every wave of the data once, earliest "
                f"first (waves in the data: {', '.join(map(repr, labels))})"
            )
        return given
    ordered = _infer(labels) if len(labels) > 1 else labels
    if ordered is None:
        raise DataError(
            f"cannot tell the order of the waves {', '.join(map(repr, labels))} in column {column!r}: they are "
            "neither numbers, nor period labels of one kind (years, quarters such as Q1-2024 or 2024Q1, half "
            "years, months such as Jan, January or 2024-01, ISO dates), nor one prefix with numbers (w1, w2); "
            "give the order, earliest first, with wave_order=[...] (csi index --wave-order a,b,c)"
        )
    return ordered
