"""The result of a panel index run: tidy tables plus a manifest, written to and read from a folder."""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from csi.errors import DataError
from csi.results.frozen import CopiedTables

COLUMNS: dict[str, tuple[str, ...]] = {
    "index": ("level", "unit", "wave", "construct", "index", "se", "ci_lower", "ci_upper", "n"),
    "changes": (
        "level", "unit", "construct", "wave_from", "wave_to", "change", "ci_lower", "ci_upper", "p_value", "significant",
    ),
    "units": ("level", "unit", "parent_level", "parent", "wave", "weight", "n", "status"),
    "estimates": ("level", "unit", "wave", "lhs", "op", "rhs", "estimate", "se", "ci_lower", "ci_upper"),
    "impacts": ("level", "unit", "wave", "driver", "target", "impact", "performance"),
    "quality": ("level", "unit", "wave", "construct", "criterion", "value"),
}  # fmt: skip
"""The tables of a :class:`PanelIndexResult` and their exact columns, in file order."""

# Label columns are text in every table (wave 2024 and "2024" are one wave), so files round-trip.
TEXT_COLUMNS = frozenset({"level", "unit", "wave", "construct", "wave_from", "wave_to", "parent_level", "parent",
                          "status", "lhs", "op", "rhs", "driver", "target", "criterion"})  # fmt: skip
"""Columns of :data:`COLUMNS` that hold labels; every other column is numeric."""


@dataclass(frozen=True, eq=False)
class PanelIndexResult(CopiedTables):
    """Indices of every company, industry, sector and the nation, per wave, with changes.

    Attributes
    ----------
    index
        ``level, unit, wave, construct, index, se, ci_lower, ci_upper, n``;
        suppressed or failed cells are present with NaN index/se/ci and their n.
    changes
        ``level, unit, construct, wave_from, wave_to, change, ci_lower,
        ci_upper, p_value, significant`` for consecutive waves.
    units
        ``level, unit, parent_level, parent, wave, weight, n, status``: the
        hierarchy and the normalised aggregation weight each unit actually
        received within its parent (NaN when it had no score).
    estimates
        ``level, unit, wave, lhs, op, rhs, estimate, se, ci_lower, ci_upper``:
        paths, loadings, outer weights and R² of every company fit and of the
        pooled national fit of each wave.
    impacts
        ``level, unit, wave, driver, target, impact, performance``
        (:func:`csi.index.impacts`).
    quality
        ``level, unit, wave, construct, criterion, value``.
    manifest
        JSON-serialisable provenance: model, options, seed, data hash,
        versions, counts of suppressed cells and failed replicates.
    """

    index: pd.DataFrame
    changes: pd.DataFrame
    units: pd.DataFrame
    estimates: pd.DataFrame
    impacts: pd.DataFrame
    quality: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The six tables by name."""
        return {name: getattr(self, name) for name in COLUMNS}

    def write(self, directory: str | os.PathLike[str]) -> Path:
        """Write every table as CSV and Parquet plus ``manifest.json`` into ``directory`` (created)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name, df in self.tables().items():
            df.to_csv(out / f"{name}.csv", index=False)
            df.to_parquet(out / f"{name}.parquet", index=False)
        text = json.dumps(self.manifest, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
        (out / "manifest.json").write_text(text + "\n", encoding="utf-8")
        return out

    def summary(self) -> str:
        """National and sector/industry indices of the model's target construct, per wave."""
        target = self.manifest.get("model", {}).get("target")
        idx = self.index[self.index["level"] != "company"]
        if target:
            idx = idx[idx["construct"] == target]
        m = self.manifest.get("counts", {})
        head = (
            f"Panel index of {self.manifest.get('model', {}).get('name', '?')}: {m.get('cells', '?')} company cells, "
            f"{m.get('suppressed', 0)} suppressed, {m.get('failed', 0)} failed"
        )
        return head + "\n" + idx.to_string(index=False, float_format=lambda x: f"{x:.2f}")

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def typed(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the exact columns of table ``name`` and text label columns."""
    df = df.loc[:, list(COLUMNS[name])].reset_index(drop=True)
    for c in df.columns:
        if c in TEXT_COLUMNS:
            df[c] = df[c].astype(object).where(df[c].notna(), None)
            df[c] = [None if v is None else str(v) for v in df[c]]
    if name == "changes":
        df["significant"] = df["significant"].astype(bool)
    if "n" in df.columns:
        df["n"] = df["n"].astype("int64")
    return df


def read_panel_result(directory: str | os.PathLike[str]) -> PanelIndexResult:
    """Read a folder written by :meth:`PanelIndexResult.write` (Parquet tables where present, else CSV)."""
    folder = Path(directory)
    if not (folder / "manifest.json").is_file():
        raise DataError(
            f"{folder} holds no manifest.json; is it a folder written by csi index / PanelIndexResult.write?"
        )
    tables = {}
    for name, cols in COLUMNS.items():
        pq, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        if pq.is_file():
            df = pd.read_parquet(pq)
        elif csv.is_file():
            df = pd.read_csv(csv, dtype={c: str for c in cols if c in TEXT_COLUMNS}, keep_default_na=True)
        else:
            raise DataError(f"{folder} lacks {name}.parquet and {name}.csv")
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(f"{name} table in {folder} lacks column(s) {', '.join(missing)}")
        tables[name] = typed(name, df)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return PanelIndexResult(manifest=manifest, **tables)
