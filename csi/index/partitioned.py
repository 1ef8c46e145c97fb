"""A panel stored as a hive-partitioned Parquet dataset by wave and company, indexed without loading it whole.

Layout (``csi index --data DIR/``): one folder per wave and company, ``DIR/<wave>=<label>/<company>=<label>/``
holding one or more Parquet files with the respondents of that cell (every other column: items, industry,
sector, respondent weight).  It is what ``pyarrow.dataset.write_dataset(table, DIR, format="parquet",
partitioning=["wave", "company"], partitioning_flavor="hive")`` writes (the column names are the panel's own;
the order of the two levels does not matter).

The client lists the dataset's fragments and reads only their partition keys (folder names, no data); each
worker reads only its cells' rows through a pyarrow dataset filter.  A first pass over the cells validates
every item value (:func:`csi.data.prepare.prepare_items`, cell by cell) and hashes the rows; the indexing pass
then sends each task the address of its rows instead of the rows.  The client holds the unit keys, one 8-byte
hash per respondent (for the manifest's data hash) and the results.

The rows are taken in the dataset's fragment order, cells one after another: the same panel as one file whose
rows are in that order (for instance sorted by the partition folders' paths) gives byte-identical results,
including the manifest's data hash and the row numbers in messages (rows are numbered from 1 in that order).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csi.data.prepare import prepare_items
from csi.errors import DataError, InputFileError
from csi.index.cells import CellResult, CellTask, run_cell
from csi.index.hierarchy import NATIONAL, Hierarchy, check_column, key
from csi.index.pooled import PooledTask, run_pooled
from csi.index.rows import Work, pooled_failure
from csi.resample.scheduler import Executor, TaskError
from csi.spec.model import ModelSpec

__all__ = ["PartitionedPanel"]

_DATASETS: dict[str, Any] = {}
"""Datasets opened in this process, by folder (a worker discovers a dataset's files once, not per cell)."""


def _open(path: str) -> Any:
    import pyarrow.dataset as ds

    if path not in _DATASETS:
        _DATASETS[path] = ds.dataset(path, format="parquet", partitioning="hive")
    return _DATASETS[path]


def _frame(table: Any, partitions: list[str]) -> pd.DataFrame:
    """A pyarrow table as pandas with integer partition keys as int64 (what a CSV of the panel reads as)."""
    import pyarrow as pa

    for name in partitions:
        if name in table.column_names and pa.types.is_integer(table.schema.field(name).type):
            table = table.set_column(table.column_names.index(name), name, table[name].cast(pa.int64()))
    return table.to_pandas()


@dataclass(frozen=True)
class Cell:
    """One (wave, company) cell of the dataset: raw partition values, keys, first row number and size."""

    wave: Any
    company: Any
    offset: int = 0
    n: int = 0


def _read(path: str, roles: tuple[str, str], wave: Any, companies: list[Any] | None, columns: list[str],
          cells: list[Cell]) -> pd.DataFrame:  # fmt: skip
    """The rows of ``companies`` (None: every company) in ``wave``, numbered as in the whole panel (``cells``, in
    fragment order), or within the cell when ``cells`` is empty."""
    import pyarrow.dataset as ds

    wave_col, company_col = roles
    where = ds.field(wave_col) == wave
    if companies is not None:
        where = where & ds.field(company_col).isin(companies)
    table = _open(path).to_table(columns=columns, filter=where)
    frame = _frame(table, [wave_col, company_col])
    if not cells:  # the scan: rows numbered within the cell
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        return frame
    expected = sum(c.n for c in cells)
    if len(frame) != expected:
        raise DataError(f"dataset {Path(path).name!r} changed while it was indexed: wave {key(wave)!r} has "
                        f"{len(frame)} rows for {len(cells)} cell(s), {expected} when it was scanned")  # fmt: skip
    frame.index = pd.Index(np.concatenate([np.arange(c.offset + 1, c.offset + c.n + 1) for c in cells]))
    return frame


@dataclass(frozen=True)
class ScanTask:
    path: str
    roles: dict[str, str | None]
    spec: ModelSpec
    missing: str
    columns: list[str]
    cell: Cell


@dataclass(frozen=True)
class ScanResult:
    n: int
    units: pd.DataFrame  # distinct (company, wave, industry, sector) rows of the cell
    hashes: bytes  # pandas' 8-byte row hashes of the data-hash columns, in row order


def scan_cell(task: ScanTask) -> ScanResult:
    """Validate one cell's rows (unit columns and item values) and hash them; raises the cell's DataError."""
    roles = task.roles
    wave_col, company_col = roles["wave"], roles["company"]
    assert wave_col is not None and company_col is not None
    cols = list(dict.fromkeys(task.columns))
    frame = _read(task.path, (wave_col, company_col), task.cell.wave, [task.cell.company], cols, [])
    try:
        for role, col in roles.items():
            if col is not None:
                check_column(frame, col, role)
        prepare_items(task.spec, frame, missing=task.missing, weights=roles["respondent weight"])
    except DataError as e:
        # Rows are numbered within the cell here: name the cell's folder.
        raise DataError(f"{wave_col}={task.cell.wave}/{company_col}={task.cell.company}: {e}") from None
    unit_cols = [c for r, c in roles.items() if c is not None and r != "respondent weight"]
    hashes = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy().tobytes()
    return ScanResult(len(frame), frame[unit_cols].drop_duplicates().reset_index(drop=True), hashes)


@dataclass(frozen=True)
class DatasetTask:
    """A cell, pooled industry or national fit whose rows a worker reads from the dataset itself."""

    kind: str  # "company", "pooled" or "national"
    path: str
    roles: tuple[str, str]  # wave and company columns
    wave: Any  # raw partition value
    companies: list[Any] | None  # raw partition values read (None: every company of the wave)
    cells: list[Cell]
    columns: list[str]  # item (and respondent weight) columns
    unit: str
    wave_key: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return sum(c.n for c in self.cells)

    def failed(self, error: TaskError) -> CellResult | list[CellResult]:
        reason = f"the cell's task raised {error}"
        if self.kind == "pooled":
            sizes: dict[str, int] = {}
            for c in self.cells:
                sizes[key(c.company)] = sizes.get(key(c.company), 0) + c.n
            return pooled_failure(self.unit, self.wave_key, self.n, dict(sorted(sizes.items())), reason)
        level = NATIONAL if self.kind == "national" else "company"
        return CellResult(level, self.unit, self.wave_key, "failed", self.n, message=reason)


def run_dataset_task(task: DatasetTask) -> Any:
    """Read the task's rows on this worker, then run it as :func:`run_cell` or :func:`run_pooled` would."""
    wave_col, company_col = task.roles
    frame = _read(task.path, task.roles, task.wave, task.companies, [*task.columns, company_col], task.cells)
    items = frame[task.columns]
    if task.kind == "company":
        return run_cell(CellTask(level="company", unit=task.unit, wave=task.wave_key, data=items, **task.options))
    companies = frame[company_col].map(key).to_numpy()
    if task.kind == "national":
        return run_cell(CellTask(level=NATIONAL, unit=NATIONAL, wave=task.wave_key, data=items, strata=companies,
                                 **task.options))  # fmt: skip
    cell = CellTask(level="industry", unit=task.unit, wave=task.wave_key, data=items, **task.options)
    return run_pooled(PooledTask(cell, companies))


@dataclass(frozen=True)
class ScannedRows:
    """The dataset after the scan: its cells in order, unit keys, row count and row hashes (a row source of
    :func:`csi.index_panel`, like :class:`csi.index.rows.FrameRows`)."""

    path: str
    roles: dict[str, str | None]
    cells: list[Cell]
    keys: pd.DataFrame
    n_rows: int
    hashes: list[bytes]
    columns: list[str]

    def data_hash(self, columns: list[str]) -> str:
        """:func:`csi.index.panel.data_hash` of the panel, from the workers' row hashes."""
        h = hashlib.sha256("\x1f".join(dict.fromkeys(columns)).encode("utf-8"))
        for part in self.hashes:
            h.update(part)
        return h.hexdigest()

    def _task(self, kind: str, wave: str, companies: list[str] | None, unit: str, common: dict[str, Any]
              ) -> DatasetTask:  # fmt: skip
        chosen = [c for c in self.cells if key(c.wave) == wave and (companies is None or key(c.company) in companies)]
        raw = None if companies is None else [c.company for c in chosen]
        roles = (str(self.roles["wave"]), str(self.roles["company"]))
        return DatasetTask(kind, self.path, roles, chosen[0].wave, raw, chosen, self.columns, unit, wave, common)

    def company_tasks(self, hierarchy: Hierarchy, common: dict[str, Any]) -> Work:
        return run_dataset_task, [self._task("company", w, [u], u, common)
                                  for w in hierarchy.waves for u in hierarchy.units[("company", w)]]  # fmt: skip

    def pooled_tasks(self, hierarchy: Hierarchy, common: dict[str, Any]) -> Work:
        return run_dataset_task, [self._task("pooled", w, hierarchy.children("industry", ind, w), ind, common)
                                  for w in hierarchy.waves for ind in hierarchy.units[("industry", w)]]  # fmt: skip

    def national_tasks(self, hierarchy: Hierarchy, common: dict[str, Any]) -> Work:
        return run_dataset_task, [self._task("national", w, None, NATIONAL, common) for w in hierarchy.waves]


class PartitionedPanel:
    """A panel stored as a hive-partitioned Parquet dataset by wave and company (see the module docstring).

    Pass it as the ``data`` of :func:`csi.index_panel`; the ``company`` and ``wave`` columns must be its two
    partition levels.

    Parameters
    ----------
    path
        The dataset's folder.

    Raises
    ------
    InputFileError
        When the folder does not exist.
    DataError
        When it holds no Parquet files or is not partitioned by two hive levels (``name=value`` folders).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        folder = Path(path)
        if not folder.is_dir():
            raise InputFileError(f"no dataset folder {str(folder)!r}")
        self.path = str(folder.resolve())
        self.name = folder.name
        try:
            _DATASETS.pop(self.path, None)  # discover the files afresh: the folder may have been rewritten
            dataset = _open(self.path)
            fragments = list(dataset.get_fragments())
        except Exception as e:  # pyarrow raises ArrowInvalid/OSError variants for files that are not Parquet
            raise DataError(f"cannot read folder {self.name!r} as a Parquet dataset: {str(e).splitlines()[0]}") from e
        self.partitions = list(dataset.partitioning.schema.names) if dataset.partitioning else []
        if not fragments or len(self.partitions) != 2:
            raise DataError(
                f"folder {self.name!r} is not a Parquet dataset partitioned by wave and company: expected "
                "folders <wave>=<label>/<company>=<label>/ holding .parquet files (found "
                f"{len(fragments)} file(s), partition levels {self.partitions})"
            )
        self.schema = dataset.schema
        self._fragments = fragments

    def __repr__(self) -> str:
        return f"PartitionedPanel({self.name!r}, partitions={self.partitions})"

    def schema_frame(self) -> pd.DataFrame:
        """An empty frame with the dataset's columns and types (no rows are read)."""
        return _frame(self.schema.empty_table(), self.partitions)

    def cells(self, company: str, wave: str) -> list[Cell]:
        """The (wave, company) cells in fragment order, from the partition folders only."""
        import pyarrow.dataset as ds

        if sorted(self.partitions) != sorted([company, wave]):
            raise DataError(
                f"dataset {self.name!r} is partitioned by {self.partitions}; the company column {company!r} and "
                f"the wave column {wave!r} must be its two partition levels"
            )
        seen: dict[tuple[Any, Any], Cell] = {}
        for frag in self._fragments:
            keys = ds.get_partition_keys(frag.partition_expression)
            if wave not in keys or company not in keys:
                raise DataError(f"file {frag.path!r} of dataset {self.name!r} is not inside a "
                                f"{wave}=.../{company}=... folder")  # fmt: skip
            seen.setdefault((keys[wave], keys[company]), Cell(keys[wave], keys[company]))
        return list(seen.values())

    def scan(self, executor: Executor, spec: ModelSpec, roles: dict[str, str | None], missing: str,
             columns: list[str], progress: bool | None) -> ScannedRows:  # fmt: skip
        """Validate and hash every cell on the workers; the unit keys and sizes come back."""
        wave_col, company_col = roles["wave"], roles["company"]
        assert wave_col is not None and company_col is not None
        cells = self.cells(company_col, wave_col)
        used = [c for c in roles.values() if c is not None]
        tasks = [ScanTask(self.path, roles, spec, missing, used + columns, c) for c in cells]
        show = bool(progress) if progress is not None else False
        found = executor.map(scan_cell, tasks, progress=show, desc="scan", unit="cell")
        offset, placed = 0, []
        for c, r in zip(cells, found):
            placed.append(Cell(c.wave, c.company, offset, r.n))
            offset += r.n
        keys = pd.concat([r.units for r in found], ignore_index=True).drop_duplicates(ignore_index=True)
        return ScannedRows(self.path, roles, placed, keys, offset, [r.hashes for r in found], columns)
