"""The result of a panel index run: tidy tables plus a manifest, written to and read from a folder."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from csi.errors import DataError
from csi.index.status import FLAGGED
from csi.results.csv_text import to_csv, unescape_frame
from csi.results.files import verify_folder, without_files, write_folder

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
class PanelIndexResult:
    """Indices of every company, industry, sector and the nation, per wave, with changes.

    Attributes
    ----------
    index
        ``level, unit, wave, construct, index, se, ci_lower, ci_upper, n``;
        suppressed or failed cells are present with NaN index/se/ci and their
        n; flagged cells keep their index (their status is in ``units``).
    changes
        ``level, unit, construct, wave_from, wave_to, change, ci_lower,
        ci_upper, p_value, significant`` for consecutive waves.
    units
        ``level, unit, parent_level, parent, wave, weight, n, status``: the
        hierarchy, the normalised aggregation weight each unit actually
        received within its parent (NaN when it was left out) and its status
        (:mod:`csi.index.status`: ``ok``, ``suppressed``, ``failed``, the
        flagged ``not_converged``, ``inadmissible``, ``negative_weight``, and
        for parents ``includes_flagged`` or ``all_flagged``).
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
        versions, counts of suppressed, failed and flagged cells and failed
        replicates, and the flags of every flagged cell.
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

    def write(self, directory: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write every table as CSV and Parquet plus ``manifest.json`` into the folder ``directory``, whole.

        The folder is written into a temporary sibling and renamed into place
        (:func:`csi.results.files.write_folder`), so it is never half written
        or a mix of two runs; ``manifest.json`` holds :attr:`manifest` plus the
        size, SHA-256 and kind of every file, which
        :func:`read_panel_result` and ``csi report`` verify.  Text cells of the
        CSV files that a spreadsheet would run as a formula are prefixed with
        a quote (:mod:`csi.results.csv_text`); the readers undo it.

        Parameters
        ----------
        directory
            The folder to create; an existing folder must be empty unless
            ``overwrite``.
        overwrite
            Replace an existing results folder as a whole.

        Returns
        -------
        Path
            The folder written.
        """
        return write_folder(directory, self.fill, self.manifest, overwrite=overwrite)

    def fill(self, folder: Path) -> dict[str, str]:
        """Write the tables into an existing folder (no manifest); returns what each file is, by name.

        Used by :meth:`write` and by writers that put a panel result inside a
        larger folder (``csi demo --out``); prefer :meth:`write`.
        """
        kinds = {}
        for name, df in self.tables().items():
            to_csv(df, folder / f"{name}.csv")
            df.to_parquet(folder / f"{name}.parquet", index=False)
            kinds[f"{name}.csv"] = f"{name} table of the panel index (CSV; text cells starting with = + - @ quoted)"
            kinds[f"{name}.parquet"] = f"{name} table of the panel index (Parquet)"
        return kinds

    def summary(self) -> str:
        """National and sector/industry indices of the model's target construct, per wave."""
        target = self.manifest.get("model", {}).get("target")
        idx = self.index[self.index["level"] != "company"]
        if target:
            idx = idx[idx["construct"] == target]
        m = self.manifest.get("counts", {})
        head = (
            f"Panel index of {self.manifest.get('model', {}).get('name', '?')}: {m.get('cells', '?')} company cells, "
            f"{m.get('suppressed', 0)} suppressed, {m.get('failed', 0)} failed, {m.get('flagged', 0)} flagged"
        )
        policy = self.manifest.get("options", {}).get("flagged", "exclude")
        head += "\n" + flagged_line(m, policy)
        return head + "\n" + idx.to_string(index=False, float_format=lambda x: f"{x:.2f}")

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def flagged_line(counts: Mapping[str, Any], policy: str) -> str:
    """One line counting the flagged company cells by status and saying what the aggregates did with them."""
    by = {f: int(counts.get(f, 0)) for f in FLAGGED}
    total = sum(by.values())
    if not total:
        return "Flagged cells: none (every fitted cell converged, is admissible and has positive weights)"
    what = ", ".join(f"{n} {f}" for f, n in by.items() if n)
    fate = "excluded from" if policy == "exclude" else "included in"
    return (f"Flagged cells: {total} company cell(s) ({what}), shown with their status and {fate} the aggregates "
            f"(flagged={policy!r})")  # fmt: skip


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


def _read_table(folder: Path, name: str, fmt: str) -> pd.DataFrame:
    cols = COLUMNS[name]
    path = folder / f"{name}.{fmt}"
    if path.stat().st_size == 0:
        raise DataError(f"{path.name} in {str(folder)!r} is empty (0 bytes); the folder is damaged: write it again")
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        df = pd.read_csv(path, dtype={c: str for c in cols if c in TEXT_COLUMNS}, keep_default_na=True)
        return unescape_frame(df, [c for c in cols if c in TEXT_COLUMNS])
    except (ValueError, OSError, pd.errors.ParserError) as e:  # ArrowInvalid and EmptyDataError are ValueErrors
        raise DataError(f"{path.name} in {str(folder)!r} cannot be read as {fmt.upper()} ({type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''}); the folder is damaged: write it again") from e


def read_panel_result(directory: str | os.PathLike[str], *, format: str = "parquet") -> PanelIndexResult:
    """Read a folder written by :meth:`PanelIndexResult.write`, after verifying it against its manifest.

    Parameters
    ----------
    directory
        The results folder.
    format
        ``"parquet"`` (default, exact) or ``"csv"``: which copy of the tables to read.

    Raises
    ------
    DataError
        The folder does not exist, its manifest is missing or lists no files,
        a file is missing, truncated, changed or foreign
        (:func:`csi.results.files.verify_folder`), or a table lacks a column.
    """
    if format not in ("parquet", "csv"):
        raise DataError(f"unknown table format {format!r}; accepted: 'parquet', 'csv'")
    if not isinstance(directory, str | os.PathLike):
        raise DataError(f"read_panel_result needs the path of a results folder, got {type(directory).__name__}")
    folder = Path(directory)
    manifest = verify_folder(folder)
    tables = {}
    for name, cols in COLUMNS.items():
        if f"{name}.{format}" not in manifest["files"]:
            raise DataError(f"results folder {str(folder)!r} lists no {name}.{format}; expected the tables "
                            f"{', '.join(COLUMNS)} as .csv and .parquet")  # fmt: skip
        df = _read_table(folder, name, format)
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(f"{name} table in {folder} lacks column(s) {', '.join(missing)}")
        tables[name] = typed(name, df)
    return PanelIndexResult(manifest=without_files(manifest), **tables)
