"""The report's tables as an Excel workbook, one sheet per table.

Written with openpyxl.  Text cells are always stored as text: a unit called
``=HYPERLINK(...)`` stays a string and never becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from csi.report import tables
from csi.report.load import ReportData, load_results
from csi.results.files import staged_file

#: Fixed document timestamps, so the same results give the same workbook content.
_EPOCH = dt.datetime(2000, 1, 1)


def workbook_tables(data: ReportData) -> dict[str, pd.DataFrame]:
    """Sheet name -> table, in workbook order."""
    out = {"National": tables.national_table(data)}
    for level in ("sector", "industry", "company"):
        if level in data.levels:
            out[level.capitalize()] = tables.level_table(data, level)
    for level in data.levels:
        out[f"Trend {level}"] = tables.trend_table(data, level).rename_axis("unit").reset_index()
    out |= {
        "Paths": tables.paths_table(data),
        "Impacts": tables.impacts_table(data),
        "Quality": tables.quality_table(data),
        "Measurement": tables.measurement_table(data),
        "Samples": tables.sample_table(data),
        "Suppressed": tables.suppressed_table(data),
        "Manifest": tables.manifest_table(data),
        "Index (all)": data.index,
        "Changes (all)": data.changes,
        "Units": data.units,
        "Estimates (all)": data.estimates,
    }
    return out


def _cell_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def write_xlsx(result: Any, path: str | os.PathLike[str]) -> Path:
    """Write the report's tables to an ``.xlsx`` workbook; returns the path."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    data = load_results(result)
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "csi"
    wb.properties.created = wb.properties.modified = _EPOCH
    for name, frame in workbook_tables(data).items():
        ws = wb.create_sheet(name[:31])
        ws.append([str(c) for c in frame.columns])
        for row in frame.itertuples(index=False):
            ws.append([_cell_value(v) for v in row])
        for cells in ws.iter_rows(min_row=2):
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # openpyxl would store '=...' as a formula
        ws.freeze_panes = "A2"
        for j, col in enumerate(frame.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200)])
            ws.column_dimensions[get_column_letter(j)].width = min(max(8, width + 2), 60)
    path = Path(path)
    with staged_file(path) as staged:
        wb.save(staged)
    return path
