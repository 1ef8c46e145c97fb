"""Reading a results folder for the report.

A panel folder is what ``csi index --out DIR`` (``PanelIndexResult.write``)
writes: ``index.csv, changes.csv, units.csv, estimates.csv, impacts.csv,
quality.csv`` and ``manifest.json``.  A folder with ``results.json`` is one
survey (``csi fit --out DIR`` or ``csi bootstrap --out DIR``), read by
:mod:`csi.report.survey` into the same tables.  This module is the report's
only entry point for reading, so the report can switch to another reader in
one place.

Tolerance, all of it deliberate:

- extra columns are ignored; a missing required column is an error naming the
  file and the column;
- the ``sector`` and ``industry`` levels are optional (a panel without a
  hierarchy has only ``company`` and ``national`` rows);
- unit, parent, construct and wave labels are read as text, exactly as written
  (a company called ``NA`` or ``007`` stays so);
- waves are in the order the manifest lists them (the order ``csi index``
  used for its changes); without that list, in the order
  :func:`csi.index.waves.order_waves` finds (never alphabetically).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csi.errors import DataError
from csi.index.result import COLUMNS, TEXT_COLUMNS
from csi.index.waves import order_waves
from csi.results.csv_text import unescape_frame
from csi.results.files import FILES_KEY, verify_folder, without_files

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
    kind: str = "panel"
    """``"panel"`` (a ``csi index`` run) or ``"survey"`` (one ``csi fit``/``csi bootstrap`` run)."""
    items: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    """One survey: item descriptives (item, construct, scale_min, scale_max, mean, sd, n_missing, missing_share)."""
    groups: Any = field(default=None, repr=False)
    """A ``csi mga`` folder: its group tables (:class:`csi.report.groups.GroupTables`), else None."""

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
        named = manifest_value(self.manifest, "target") or manifest_value(self.manifest.get("report") or {}, "target")
        constructs = list(dict.fromkeys(self.index["construct"]))
        for candidate in (named, getattr(self.spec, "target", None), "SAT"):
            if isinstance(candidate, str) and candidate in constructs:
                return candidate
        return constructs[-1]

    def label(self, construct: str, lang: str = "en") -> str:
        """A construct's long label in ``lang`` from the model, or its English label, or its name."""
        if self.spec is not None and construct in self.spec.construct_names:
            return self.spec.construct(construct).label_in(lang)
        return construct

    def item_label(self, item: str, lang: str = "en") -> str:
        """An item's question text in ``lang`` from the model, or its English text, or ''."""
        if self.spec is not None and item in self.spec.item_names:
            found = self.spec.items[self.spec.item_names.index(item)]
            text = found.label_in(lang)
            return "" if text == item else text
        return ""

    def better(self, construct: str) -> str:
        """``"higher"`` or ``"lower"``: which direction of the construct's index is good news (model file)."""
        if self.spec is not None and construct in self.spec.construct_names:
            return self.spec.construct(construct).better
        return "higher"


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


def _wave_order(labels: list[str], listed: Any) -> tuple[str, ...]:
    unique = list(dict.fromkeys(labels))
    if isinstance(listed, list) and all(isinstance(w, str) for w in listed) and set(listed) >= set(unique):
        return tuple(w for w in listed if w in set(unique))
    return tuple(order_waves(unique))


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
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:  # EmptyDataError is a ValueError
        raise DataError(f"{path.name} cannot be read as CSV ({type(e).__name__}: {e}); the folder is damaged: "
                        "write it again") from e  # fmt: skip
    # csi quotes text cells that a spreadsheet would run as formulas; numeric columns are parsed later.
    return unescape_frame(frame, [c for c in frame.columns if c in TEXT_COLUMNS])


def _spec_from(manifest: Mapping[str, Any]) -> Any:
    text = manifest_value(manifest, "model_text")
    model = manifest.get("model")
    if text is None and isinstance(model, Mapping):
        text = model.get("text")
    report = manifest.get("report")
    if text is None and isinstance(report, Mapping):
        text = report.get("model_text")
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
        A results folder written by ``csi index --out DIR`` (a panel) or by
        ``csi fit --out DIR`` / ``csi bootstrap --out DIR`` (one survey), an
        object with the attributes ``index, changes, units, estimates,
        impacts, quality, manifest`` (a ``PanelIndexResult``), a
        :class:`csi.FitResult` or :class:`csi.BootstrapResult`, or a
        :class:`ReportData`.

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
    from csi.report import survey
    from csi.resample.result import BootstrapResult
    from csi.results.fit import FitResult

    if isinstance(source, FitResult | BootstrapResult):
        frames, manifest, items, spec = survey.survey_from_result(source)
        frames = {n: _typed(n, f, f"{n} table") for n, f in frames.items()}
        return replace(_assemble(frames, manifest, type(source).__name__, True), spec=spec, kind="survey", items=items)
    if isinstance(source, str | os.PathLike):
        folder = Path(source)
        if not folder.is_dir():
            raise DataError(f"results folder {str(folder)!r} does not exist (write one with 'csi index ... --out DIR' "
                            "or 'csi fit ... --out DIR')")  # fmt: skip
        if (folder / "results.json").is_file():
            frames, manifest, items, _ = survey.survey_from_folder(folder)
            frames = {n: _typed(n, f, f"{n} table of {folder.name}") for n, f in frames.items()}
            from csi.report.groups import read_groups

            return replace(_assemble(frames, manifest, str(folder), True), kind="survey", items=items,
                           groups=read_groups(folder, manifest))  # fmt: skip
        manifest = verify_folder(folder)  # before any table is trusted
        frames = {}
        for name in COLUMNS:
            path = folder / f"{name}.csv"
            if f"{name}.csv" not in manifest[FILES_KEY]:
                raise DataError(f"results folder {str(folder)!r} has no {name}.csv; expected: "
                                f"{', '.join(f'{n}.csv' for n in COLUMNS)} and manifest.json (csi index --out), "
                                "or results.json (csi fit --out)")  # fmt: skip
            frames[name] = _typed(name, _read_csv(path), f"{path.name}")
        manifest = without_files(manifest)
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


def _assemble(
    frames: dict[str, pd.DataFrame], manifest: Mapping[str, Any], where: str, survey: bool = False
) -> ReportData:
    index = frames["index"]
    if survey and not len(index):
        raise DataError(f"{where}: the fit has no 0-100 indices (every item needs a scale in the model file, e.g. "
                        "scale = [1, 10]); a report needs them")  # fmt: skip
    unknown = sorted(set(index["level"]) - set(LEVELS))
    if unknown:
        raise DataError(f"index.csv: unknown level(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(LEVELS)}")
    present = tuple(lv for lv in LEVELS if (index["level"] == lv).any())
    absent = [lv for lv in (("national",) if survey else REQUIRED_LEVELS) if lv not in present]
    if absent:
        raise DataError(f"index.csv has no {' or '.join(map(repr, absent))} rows; a report needs both")
    if not len(index):
        raise DataError("index.csv has no rows")
    waves = _wave_order(list(index["wave"]), manifest.get("waves"))
    return ReportData(
        kind="survey" if survey else "panel",
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
