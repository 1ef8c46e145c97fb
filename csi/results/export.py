"""Writing a fit (and its bootstrap) to a folder of CSV files plus one JSON file."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from csi.results.csv_text import to_csv
from csi.results.files import MANIFEST, write_folder
from csi.results.fit import FitResult

if TYPE_CHECKING:  # annotations only: results sit below resample in the layers
    from csi.resample.result import BootstrapResult

MANIFEST_HEAD = {"kind": "csi fit results"}
"""The manifest of a fit folder besides its list of files."""


def _flat(table: pd.DataFrame) -> pd.DataFrame:
    # Keep a meaningful row index (e.g. the data rows of the scores) as a column.
    if isinstance(table.index, pd.RangeIndex) and table.index.name is None:
        return table
    return table.rename_axis(table.index.name or "row").reset_index()


def _plain(value: Any) -> Any:
    # JSON has no NaN and no numpy scalars: missing becomes null, numbers plain Python.
    if isinstance(value, np.generic | np.ndarray):
        value = value.item() if np.ndim(value) == 0 else value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in _flat(table).to_dict(orient="records")]


def result_tables(
    fit: FitResult, boot: BootstrapResult | None = None, index: pd.Series | None = None
) -> dict[str, pd.DataFrame]:
    """Every table to write, by file stem: :meth:`FitResult.tables`, then
    ``index``, ``bootstrap`` and ``draws`` when given."""
    tables = {name: _flat(t) for name, t in fit.tables().items()}
    if index is not None:
        tables["index"] = index.rename("index").rename_axis("construct").reset_index()
    if boot is not None:
        tables["bootstrap"] = boot.estimates
        tables["draws"] = boot.draws.rename_axis("replicate").reset_index()
    return tables


def results_json(
    fit: FitResult,
    boot: BootstrapResult | None = None,
    index: pd.Series | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document of a fit: model, options, n, convergence, GoF and every table as records.

    The bootstrap draws are left out (they go to ``draws.csv``); the bootstrap
    summary table and its settings are included.
    """
    doc: dict[str, Any] = {
        "model": fit.spec.name,
        "method": fit.method,
        "options": {k: _plain(v) for k, v in fit.options.items()},
        "n": int(fit.n),
        "converged": bool(fit.converged),
        "iterations": int(fit.iterations),
        "gof": float(fit.gof),
    }
    rep = fit.missing_report
    if rep is not None:
        doc["missing"] = {
            "method": rep.method,
            "n_input": int(rep.n_input),
            "n_used": int(rep.n_used),
            "n_patterns": int(rep.n_patterns),
            "cell_rate": float(rep.rate),
            "item_rate": {k: float(v) for k, v in rep.item_missing.items()},
            "little_mcar": None if rep.raw is None else {k: _plain(v) for k, v in rep.little._asdict().items()},
        }
    if boot is not None:
        doc["bootstrap"] = {
            "n_resamples": boot.n_resamples,
            "n_failed": boot.n_failed,
            # Kept replicates (failed="keep") are not in n_failed: say how many did not converge or were
            # inadmissible, so a reader can tell what the summaries rest on.
            "n_not_converged": int(boot.n_not_converged),
            "n_singular": int(boot.n_singular),
            "n_inadmissible": int(boot.n_inadmissible),
            "ci": boot.ci,
            "level": boot.level,
            "plan": {k: _plain(v) for k, v in boot.plan.items()},
        }
    doc.update(extra or {})
    tables = result_tables(fit, boot, index)
    tables.pop("draws", None)
    doc["tables"] = {name: _records(t) for name, t in tables.items()}
    return doc


def fill_results(
    folder: Path,
    fit: FitResult,
    boot: BootstrapResult | None = None,
    index: pd.Series | None = None,
    extra: Mapping[str, Any] | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, str]:
    """Write the tables and ``results.json`` into an existing folder (no manifest); returns what each file is.

    Used by :func:`write_results` and by writers that put a fit beside other
    files (``csi demo --out``); prefer :func:`write_results`.  ``tables``:
    more tables (e.g. item descriptives) written as ``<name>.csv`` only.
    """
    kinds = {}
    for name, table in {**result_tables(fit, boot, index), **(tables or {})}.items():
        to_csv(table, folder / f"{name}.csv")
        kinds[f"{name}.csv"] = f"{name} table of the fit (CSV; text cells starting with = + - @ quoted)"
    doc = results_json(fit, boot, index, extra)
    (folder / "results.json").write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    kinds["results.json"] = "model, options, n, convergence, GoF and every table except the draws (JSON)"
    return kinds


def write_results(
    out: str | os.PathLike[str],
    fit: FitResult,
    boot: BootstrapResult | None = None,
    index: pd.Series | None = None,
    extra: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> list[Path]:
    """Write every table as ``<name>.csv``, :func:`results_json` as ``results.json`` and a manifest into ``out``.

    The folder is written whole (:func:`csi.results.files.write_folder`): into
    a temporary sibling, sealed with ``manifest.json`` (size, SHA-256 and kind
    of every file; check it with :func:`csi.results.files.verify_folder`),
    then renamed into place, so a folder never mixes two runs (a rerun without
    a bootstrap leaves no old ``bootstrap.csv`` behind).  Text cells that a
    spreadsheet would run as formulas are quoted (:mod:`csi.results.csv_text`).

    Parameters
    ----------
    out
        Folder to create; an existing folder must be empty unless ``overwrite``.
    fit, boot, index
        The fit, an optional bootstrap of it and optional 0-100 indices.
    extra
        More top-level JSON fields (e.g. the command-line options).
    tables
        More tables to write as ``<name>.csv`` (not in ``results.json``).
    overwrite
        Replace an existing results folder as a whole.

    Returns
    -------
    list of Path
        The files written (tables, ``results.json``, ``manifest.json``).
    """
    written: dict[str, str] = {}

    def fill(tmp: Path) -> dict[str, str]:
        written.update(fill_results(tmp, fit, boot, index, extra, tables))
        return written

    folder = write_folder(out, fill, MANIFEST_HEAD, overwrite=overwrite)
    return [folder / name for name in written] + [folder / MANIFEST]
