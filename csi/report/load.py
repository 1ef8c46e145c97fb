"""Reading a panel-index results folder for the report.

The folder is what ``csi index --out DIR`` (``PanelIndexResult.write``) writes:
``index.csv, changes.csv, units.csv, estimates.csv, impacts.csv, quality.csv``
and ``manifest.json``.  This module is the report's only reader of it, so the
report can switch to another reader in one place.

Tolerance, all of it deliberate:

- extra columns are ignored; a missing required column is an error naming the
  file and the column;
- the ``sector`` and ``industry`` levels are optional (a panel without a
  hierarchy has only ``company`` and ``national`` rows);
- unit, parent, construct and wave labels are read as text, exactly as written
  (a company called ``NA`` or ``007`` stays so);
- waves are ordered numerically when every wave label is a number, otherwise
  as text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csi.errors import DataError
from csi.index.result import COLUMNS, TEXT_COLUMNS

#: Aggregation levels from the top down; ``national`` and ``company`` are required.
LEVELS = ("national", "sector", "industry", "company")
REQUIRED_LEVELS = ("national", "company")


@dataclass(frozen=True, eq=False)
class ReportData:
    """The tables of one panel-index run, checked and typed for reporting.

    Attributes
    ----------
    index, changes, units, estimates, impacts, quality
        The contract's tables (required columns first, in contract order);
        label columns are text, the others float (``significant`` bool).
    manifest
        Provenance (model, options, seed, input hash, versions, ...).
    waves
        Wave labels in chronological order.
    levels
        Levels present, from ``national`` down to ``company``.
    source
        Where the tables came from (a folder, or the type of the object).
    """

    index: pd.DataFrame
    changes: pd.DataFrame
    units: pd.DataFrame
    estimates: pd.DataFrame
    impacts: pd.DataFrame
    quality: pd.DataFrame
    manifest: Mapping[str, Any]
    waves: tuple[str, ...]
    levels: tuple[str, ...]
    source: str = ""
    spec: Any = field(default=None, repr=False)
    """The model (:class:`csi.ModelSpec`) rebuilt from the manifest's model text, or None."""

    @property
    def latest_wave(self) -> str:
        return self.waves[-1]

    @property
    def previous_wave(self) -> str | None:
        return self.waves[-2] if len(self.waves) > 1 else None

    @property
    def model_name(self) -> str:
        return str(manifest_value(self.manifest, "model_name", "model") or (self.spec.name if self.spec else "model"))

    @property
    def target(self) -> str:
        """The headline construct: the model's target, else SAT, else the last construct."""
        named = manifest_value(self.manifest, "target")
        constructs = list(dict.fromkeys(self.index["construct"]))
        for candidate in (named, getattr(self.spec, "target", None), "SAT"):
            if isinstance(candidate, str) and candidate in constructs:
                return candidate
        return constructs[-1]

    def label(self, construct: str) -> str:
        """A construct's long label from the model, or its name."""
        if self.spec is not None and construct in self.spec.construct_names:
            return self.spec.construct(construct).label or construct
        return construct


def manifest_value(manifest: Mapping[str, Any], *keys: str) -> Any:
    """The first of ``keys`` present in the manifest (None if none is).

    A value that is a mapping with a ``name`` entry (e.g. ``{"model": {"name": ..}}``)
    gives that entry for the ``*_name`` keys' fallback.
    """
    for key in keys:
        value = manifest.get(key)
        if isinstance(value, Mapping) and "name" in value and key == "model":
            return value["name"]
        if value is not None:
            return value
    return None


def _wave_order(labels: list[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(labels))
    try:
        return tuple(sorted(unique, key=float))
    except ValueError:
        return tuple(sorted(unique))


def _text(values: pd.Series) -> pd.Series:
    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        return str(v)

    return pd.Series([one(v) for v in values], index=values.index, dtype=object)


def _boolean(values: pd.Series, where: str) -> pd.Series:
    truth = {"true": True, "1": True, "1.0": True, "false": False, "0": False, "0.0": False, "": False}
    out = []
    for v in values:
        if isinstance(v, bool | np.bool_):
            out.append(bool(v))
            continue
        key = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip().lower()
        if key not in truth:
            raise DataError(f"{where}: column 'significant' holds {v!r}; accepted: True/False (or 1/0)")
        out.append(truth[key])
    return pd.Series(out, index=values.index, dtype=bool)


def _typed(name: str, frame: pd.DataFrame, where: str) -> pd.DataFrame:
    missing = [c for c in COLUMNS[name] if c not in frame.columns]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {', '.join(map(repr, missing))}; required: {', '.join(COLUMNS[name])}"
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for col in COLUMNS[name]:
        values = frame[col].reset_index(drop=True)
        if col in TEXT_COLUMNS:
            out[col] = _text(values)
        elif col == "significant":
            out[col] = _boolean(values, where)
        else:
            numeric = pd.to_numeric(values.replace("", np.nan), errors="coerce")
            bad = numeric.isna() & values.notna() & (values.astype(str).str.strip() != "")
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(f"{where}: column {col!r}, row {row + 1}: {values.iloc[row]!r} is not a number")
            out[col] = numeric.astype(float)
    return out


def _read_csv(path: Path) -> pd.DataFrame:
    # Everything as text first, so labels such as "NA" or "007" survive; numbers are parsed per column.
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _spec_from(manifest: Mapping[str, Any]) -> Any:
    text = manifest_value(manifest, "model_text")
    model = manifest.get("model")
    if text is None and isinstance(model, Mapping):
        text = model.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    from csi.errors import CSIError
    from csi.spec.load import load_model

    try:
        return load_model(text)
    except CSIError:
        return None  # labels fall back to construct names; the tables carry every number


def load_results(source: str | os.PathLike[str] | Any) -> ReportData:
    """Read and check the tables of a panel-index run.

    Parameters
    ----------
    source
        A results folder written by ``csi index --out DIR``, an object with the
        attributes ``index, changes, units, estimates, impacts, quality,
        manifest`` (a ``PanelIndexResult``), or a :class:`ReportData`.

    Returns
    -------
    ReportData

    Raises
    ------
    DataError
        A missing file, column or level, or a value of the wrong type, named.
    """
    if isinstance(source, ReportData):
        return source
    if isinstance(source, str | os.PathLike):
        folder = Path(source)
        if not folder.is_dir():
            raise DataError(f"results folder {str(folder)!r} does not exist (write one with 'csi index ... --out DIR')")
        frames = {}
        for name in COLUMNS:
            path = folder / f"{name}.csv"
            if not path.is_file():
                raise DataError(f"results folder {str(folder)!r} has no {name}.csv; expected: "
                                f"{', '.join(f'{n}.csv' for n in COLUMNS)} and manifest.json")  # fmt: skip
            frames[name] = _typed(name, _read_csv(path), f"{path.name}")
        mpath = folder / "manifest.json"
        if not mpath.is_file():
            raise DataError(f"results folder {str(folder)!r} has no manifest.json")
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise DataError(f"manifest.json is not valid JSON ({e.msg} at line {e.lineno})") from e
        where = str(folder)
    else:
        missing = [n for n in (*COLUMNS, "manifest") if not hasattr(source, n)]
        if missing:
            raise DataError(
                f"cannot report on a {type(source).__name__}: it lacks {', '.join(missing)}; "
                "pass a results folder or a panel index result"
            )
        frames = {n: _typed(n, pd.DataFrame(getattr(source, n)), f"{n} table") for n in COLUMNS}
        manifest = dict(source.manifest)
        where = type(source).__name__
    if not isinstance(manifest, Mapping):
        raise DataError("manifest.json must hold a JSON object")
    return _assemble(frames, manifest, where)


def _assemble(frames: dict[str, pd.DataFrame], manifest: Mapping[str, Any], where: str) -> ReportData:
    index = frames["index"]
    unknown = sorted(set(index["level"]) - set(LEVELS))
    if unknown:
        raise DataError(f"index.csv: unknown level(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(LEVELS)}")
    present = tuple(lv for lv in LEVELS if (index["level"] == lv).any())
    absent = [lv for lv in REQUIRED_LEVELS if lv not in present]
    if absent:
        raise DataError(f"index.csv has no {' or '.join(map(repr, absent))} rows; a report needs both")
    if not len(index):
        raise DataError("index.csv has no rows")
    waves = _wave_order(list(index["wave"]))
    return ReportData(
        index=index,
        changes=frames["changes"],
        units=frames["units"],
        estimates=frames["estimates"],
        impacts=frames["impacts"],
        quality=frames["quality"],
        manifest=manifest,
        waves=waves,
        levels=present,
        source=where,
        spec=_spec_from(manifest),
    )
