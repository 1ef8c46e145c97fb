"""The panel's unit hierarchy and aggregation weights, validated at the edge (methodology §3.3).

A panel names, for every respondent, a company and a wave and optionally an
industry and a sector.  The hierarchy is the chain of the levels present:
``company -> industry -> sector -> national``, ``company -> industry ->
national`` without sectors, ``company -> sector -> national`` without
industries, or ``company -> national``.  Aggregation weights come from a
unit-weights table with columns ``level, unit, wave, weight``: a unit's weight
is used when it is aggregated into its parent (company revenue into the
industry, industry revenue into the sector, sector GDP share into the nation).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi.data.prepare import as_frame
from csi.errors import DataError

LEVELS = ("company", "industry", "sector", "national")
"""Levels of the hierarchy, bottom to top."""

NATIONAL = "national"
"""The one unit of the national level (its ``unit`` label)."""

UNIT_WEIGHT_COLUMNS = ("level", "unit", "wave", "weight")


def key(value: object) -> str:
    """The text form in which units and waves are matched across tables (2023 and "2023" are one wave)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def keys(values: pd.Series) -> pd.Series:
    """``values.map(key)``, with :func:`key` called once per distinct value rather than once per row (a panel's
    company, industry and wave columns repeat a few hundred labels over every respondent).  Object columns
    are mapped row by row: factorising them would merge values that compare equal but print differently
    (``True`` and ``1``, ``None`` and NaN)."""
    if values.dtype == object:
        return values.map(key)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return pd.Series(uniques).map(key).iloc[codes].set_axis(values.index).rename(values.name)


def check_column(frame: pd.DataFrame, column: object, role: str) -> None:
    """Raise a DataError naming ``column`` (and the closest names) if ``frame`` lacks it."""
    if not isinstance(column, str):
        raise DataError(f"the {role} column must be given by name (a string), got {column!r}")
    if column not in frame.columns:
        near = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=3, cutoff=0.6)
        hint = f" (closest: {', '.join(map(repr, near))})" if near else ""
        raise DataError(f"the {role} column {column!r} is not in the data{hint}")
    if frame[column].isna().any():
        row = frame.index[int(np.argmax(frame[column].isna().to_numpy()))]
        raise DataError(
            f"the {role} column {column!r} has missing values (first at row {row!r}); every respondent needs one"
        )


@dataclass(frozen=True)
class Hierarchy:
    """Which unit belongs to which parent, per wave.

    Attributes
    ----------
    levels
        Levels present, bottom to top, always starting with ``company`` and
        ending with ``national``.
    parent
        ``(level, unit, wave) -> parent unit`` for every level below national.
    units
        ``(level, wave) -> sorted unit labels``.
    waves
        Wave labels (text), earliest first (:func:`csi.index.waves.order_waves`).
    """

    levels: tuple[str, ...]
    parent: dict[tuple[str, str, str], str]
    units: dict[tuple[str, str], list[str]]
    waves: list[str]

    def children(self, level: str, unit: str, wave: str) -> list[str]:
        """Units of the level below ``level`` whose parent is ``unit`` in ``wave``."""
        below = self.levels[self.levels.index(level) - 1]
        return [u for u in self.units[(below, wave)] if self.parent[(below, u, wave)] == unit]


def build_hierarchy(
    frame: pd.DataFrame,
    company: str,
    wave: str,
    industry: str | None,
    sector: str | None,
    wave_order: list[object] | None = None,
) -> Hierarchy:
    """The hierarchy of a panel; each unit must have one parent per wave.

    Waves are ordered by :func:`csi.index.waves.order_waves` (``wave_order``
    when given).

    Raises
    ------
    DataError
        When a company lies in two industries (or an industry in two sectors)
        within one wave, or when the waves have no order (see
        :func:`~csi.index.waves.order_waves`).
    """
    from csi.index.waves import order_waves  # waves.py imports key() from here

    cols = {"company": company, "industry": industry, "sector": sector}
    levels = tuple(lv for lv in ("company", "industry", "sector") if cols[lv] is not None) + (NATIONAL,)
    keyed = pd.DataFrame({lv: keys(frame[cols[lv]]) for lv in levels[:-1]})
    keyed["wave"] = keys(frame[wave])
    waves = order_waves(keyed["wave"].unique(), wave_order, column=wave)  # keys are their own key: one per wave
    parent: dict[tuple[str, str, str], str] = {}
    units: dict[tuple[str, str], list[str]] = {}
    for lo, hi in zip(levels[:-1], levels[1:]):
        if hi == NATIONAL:
            pairs = keyed[[lo, "wave"]].drop_duplicates().assign(**{hi: NATIONAL})
        else:
            pairs = keyed[[lo, "wave", hi]].drop_duplicates()
            dup = pairs.duplicated([lo, "wave"], keep=False)
            if dup.any():
                bad = pairs[dup].sort_values([lo, "wave", hi]).iloc[0]
                parents = sorted(pairs[dup & (pairs[lo] == bad[lo]) & (pairs["wave"] == bad["wave"])][hi])
                raise DataError(
                    f"{lo} {bad[lo]!r} belongs to more than one {hi} in wave {bad['wave']!r} "
                    f"({', '.join(map(repr, parents))}); each {lo} needs one {hi} per wave"
                )
        for u, w, p in pairs[[lo, "wave", hi]].itertuples(index=False):
            parent[(lo, u, w)] = p
    for lv in levels[:-1]:
        for w in waves:
            units[(lv, w)] = sorted(keyed.loc[keyed["wave"] == w, lv].unique())
    for w in waves:
        units[(NATIONAL, w)] = [NATIONAL]
    return Hierarchy(levels, parent, units, waves)


def unit_weight_table(unit_weights: object, hierarchy: Hierarchy) -> dict[tuple[str, str, str], float]:
    """``(level, unit, wave) -> weight`` for every unit below national, validated.

    ``None`` gives every unit weight 1 (equal weights within each parent).

    Raises
    ------
    DataError
        For missing columns, an unknown level, a non-positive or non-numeric
        weight, a duplicated ``(level, unit, wave)``, a row for a unit or wave
        the panel lacks (a misspelt company would otherwise be ignored), or a
        unit of the panel without a weight (each message names the unit).
    """
    needed = [(lv, u, w) for lv in hierarchy.levels[:-1] for w in hierarchy.waves for u in hierarchy.units[(lv, w)]]
    if unit_weights is None:
        return dict.fromkeys(needed, 1.0)
    table = as_frame(unit_weights, "unit weights")
    absent = [c for c in UNIT_WEIGHT_COLUMNS if c not in table.columns]
    if absent:
        raise DataError(
            f"the unit-weights table lacks column(s) {', '.join(map(repr, absent))}; "
            f"it needs {', '.join(UNIT_WEIGHT_COLUMNS)} (one row per unit and wave)"
        )
    levels = table["level"].map(key)
    unknown = sorted(set(levels) - set(LEVELS[:-1]))
    if unknown:
        raise DataError(
            f"unknown level(s) {', '.join(map(repr, unknown))} in the unit-weights table; "
            f"accepted: {', '.join(LEVELS[:-1])} (the national level needs no weight)"
        )
    weight = pd.to_numeric(table["weight"], errors="coerce").to_numpy(dtype=float)
    units, waves = table["unit"].map(key), table["wave"].map(key)
    bad = ~np.isfinite(weight) | ~(weight > 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"unit weight of {levels.iloc[i]} {units.iloc[i]!r} in wave {waves.iloc[i]!r} must be a positive "
            f"number, got {table['weight'].iloc[i]!r}"
        )
    out: dict[tuple[str, str, str], float] = {}
    for lv, u, w, x in zip(levels, units, waves, weight):
        if (lv, u, w) in out:
            raise DataError(f"the unit-weights table gives {lv} {u!r} in wave {w!r} more than one weight")
        out[(lv, u, w)] = float(x)
    known = set(needed)
    unknown_rows = [k for k in out if k not in known]
    if unknown_rows:
        lv, u, w = unknown_rows[0]
        elsewhere = sorted({ww for (ll, uu, ww) in known if (ll, uu) == (lv, u)})
        where = (f"it is in the panel only in wave(s) {', '.join(map(repr, elsewhere))}" if elsewhere
                 else f"the panel has no {lv} {u!r}")  # fmt: skip
        raise DataError(
            f"the unit-weights table gives a weight for {lv} {u!r} in wave {w!r}, but {where} "
            f"({len(unknown_rows)} row(s) name units the panel lacks); fix the name or remove the row"
        )
    missing = [k for k in needed if k not in out]
    if missing:
        lv, u, w = missing[0]
        raise DataError(
            f"no unit weight for {lv} {u!r} in wave {w!r} ({len(missing)} unit-wave(s) of the panel lack one); "
            "add a row (level, unit, wave, weight) for it, or pass no unit-weights table for equal weights"
        )
    return {k: out[k] for k in needed}
