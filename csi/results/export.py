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

from csi.results.fit import FitResult

if TYPE_CHECKING:  # annotations only: results sit below resample in the layers
    from csi.resample.result import BootstrapResult


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
    if boot is not None:
        doc["bootstrap"] = {
            "n_resamples": boot.n_resamples,
            "n_failed": boot.n_failed,
            "ci": boot.ci,
            "level": boot.level,
            "plan": {k: _plain(v) for k, v in boot.plan.items()},
        }
    doc.update(extra or {})
    tables = result_tables(fit, boot, index)
    tables.pop("draws", None)
    doc["tables"] = {name: _records(t) for name, t in tables.items()}
    return doc


def write_results(
    out: str | os.PathLike[str],
    fit: FitResult,
    boot: BootstrapResult | None = None,
    index: pd.Series | None = None,
    extra: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write every table as ``<name>.csv`` and :func:`results_json` as ``results.json`` into ``out``.

    Parameters
    ----------
    out
        Folder, created if needed.
    fit, boot, index
        The fit, an optional bootstrap of it and optional 0-100 indices.
    extra
        More top-level JSON fields (e.g. the command-line options).

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in result_tables(fit, boot, index).items():
        path = folder / f"{name}.csv"
        table.to_csv(path, index=False)
        written.append(path)
    path = folder / "results.json"
    path.write_text(json.dumps(results_json(fit, boot, index, extra), indent=2, allow_nan=False) + "\n")
    written.append(path)
    return written
