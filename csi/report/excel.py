"""The report's tables as an Excel workbook: a README sheet, then one sheet per table.

Written with openpyxl.  Numbers stay numbers (full precision) with display
formats: one decimal for 0-100 indices and changes, three for coefficients,
loadings and quality criteria, p-values as 0.000, counts with thousands
separators.  Headers are words in the report's language (the README sheet
lists the column names of the CSV files they stand for), the header row is
frozen and columns are sized to their content.  Text cells are always stored
as text: a unit called ``=HYPERLINK(...)`` stays a string and never becomes a
formula.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from csi.report import methodology, tables
from csi.report.i18n import Words, wave_label
from csi.report.load import ReportData, load_results
from csi.results.files import staged_file

#: Fixed document timestamps, so the same results give the same workbook content.
_EPOCH = dt.datetime(2000, 1, 1)

INDEX_FMT, COEF_FMT, P_FMT, INT_FMT, SHARE_FMT, TWO_FMT = "0.0", "0.000", "0.000", "#,##0", "0.0%", "0.00"

#: Column -> (English header, Chinese header).
HEADERS: dict[str, tuple[str, str]] = {
    "unit": ("Unit", "单位"), "parent": ("Part of", "所属"), "parent_level": ("Parent level", "上级层级"),
    "level": ("Level", "层级"), "wave": ("Wave", "调查期"), "wave_from": ("From wave", "起始期"),
    "wave_to": ("To wave", "结束期"), "construct": ("Construct", "潜变量"), "label": ("Label", "名称"),
    "better": ("Better when", "越…越好"), "n": ("Respondents", "受访者"), "status": ("Status", "状态"),
    "note": ("Status note", "状态说明"), "index": ("Index (0–100)", "指数（0–100）"), "se": ("SE", "标准误"),
    "ci_lower": ("CI lower", "置信区间下限"), "ci_upper": ("CI upper", "置信区间上限"),
    "change": ("Change", "变化"), "change_ci_lower": ("Change CI lower", "变化置信区间下限"),
    "change_ci_upper": ("Change CI upper", "变化置信区间上限"), "p_value": ("p-value", "p 值"),
    "significant": ("Significant", "显著"), "from": ("From", "自"), "to": ("To", "至"),
    "estimate": ("Estimate", "估计值"), "driver": ("Driver", "驱动因素"), "target": ("Target", "目标"),
    "impact": ("Impact (points per +5)", "影响（每提高 5 分）"), "performance": ("Performance (0–100)", "表现（0–100）"),
    "item": ("Item", "题项"), "question": ("Question", "题目"), "loading": ("Loading", "载荷"),
    "loading_ci_lower": ("Loading CI lower", "载荷置信区间下限"), "loading_ci_upper": ("Loading CI upper", "载荷置信区间上限"),
    "weight": ("Weight", "权重"), "units_ok": ("Units ok", "正常单位"), "suppressed": ("Suppressed", "不报告"),
    "failed": ("Failed", "失败"), "flagged": ("Flagged", "被标记"), "respondents": ("Respondents", "受访者"),
    "reason": ("Reason", "原因"), "lhs": ("Left-hand side", "左侧"), "op": ("Operator", "运算符"),
    "rhs": ("Right-hand side", "右侧"), "criterion": ("Criterion", "指标"), "value": ("Value", "取值"),
    "scale_min": ("Scale minimum", "量表最小值"), "scale_max": ("Scale maximum", "量表最大值"),
    "mean": ("Mean", "均值"), "sd": ("SD", "标准差"), "n_missing": ("Missing", "缺失"),
    "missing_share": ("Missing share", "缺失比例"),
}  # fmt: skip

#: Column -> number format, by the kind of sheet (indices on the 0-100 scale, or coefficients).
INDEX_COLUMNS = {"index", "se", "ci_lower", "ci_upper", "change", "change_ci_lower", "change_ci_upper", "performance"}
FORMATS = {"p_value": P_FMT, "n": INT_FMT, "respondents": INT_FMT, "n_missing": INT_FMT, "units_ok": INT_FMT,
           "suppressed": INT_FMT, "failed": INT_FMT, "flagged": INT_FMT, "impact": TWO_FMT, "mean": TWO_FMT,
           "sd": TWO_FMT, "missing_share": SHARE_FMT, "weight": COEF_FMT, "scale_min": "0", "scale_max": "0"}  # fmt: skip


#: Sheet names in Chinese (``lang="zh"``); English names are the keys.
SHEETS_ZH = {"README": "说明", "National": "全国", "Indices": "指数", "Sector": "行业大类", "Industry": "行业",
             "Company": "企业", "Trend national": "趋势 全国", "Trend sector": "趋势 行业大类",
             "Trend industry": "趋势 行业", "Trend company": "趋势 企业", "Paths": "路径系数", "Impacts": "影响",
             "Quality": "测量质量", "Measurement": "载荷与权重", "Items": "题项", "Samples": "样本量",
             "Cells": "单元状态", "Settings": "运行设置", "Index (all)": "指数（全部）", "Changes (all)": "变化（全部）",
             "Units": "单位", "Estimates (all)": "估计（全部）", "Group comparison": "分组比较", "Group sizes": "分组样本量",
             "MICOM": "测量不变性"}  # fmt: skip


def sheet_name(name: str, words: Words) -> str:
    """A sheet's name in the workbook's language (at most 31 characters, Excel's limit)."""
    return (SHEETS_ZH.get(name, name) if words.lang == "zh" else name)[:31]


def _header(col: Any, words: Words) -> str:
    pair = HEADERS.get(str(col))
    if pair is None:
        return str(col) if not isinstance(col, str) else (tables.CRITERIA.get(col) or col)
    return pair[1] if words.lang == "zh" else pair[0]


def _format(col: Any, coefficients: bool) -> str | None:
    col = str(col)
    if col in FORMATS:
        return FORMATS[col]
    if col in INDEX_COLUMNS and not coefficients:
        return INDEX_FMT
    return COEF_FMT


def workbook_tables(data: ReportData, lang: str = "en") -> dict[str, tuple[pd.DataFrame, bool]]:
    """Sheet name -> (table, holds coefficients rather than indices), in workbook order."""
    words = Words(lang)
    out: dict[str, tuple[pd.DataFrame, bool]] = {"National": (tables.national_table(data, lang=lang), False)}
    if data.kind == "survey":
        out = {"Indices": (out["National"][0].drop(columns=["unit"]), False)}
    for level in ("sector", "industry", "company"):
        if level in data.levels:
            out[level.capitalize()] = (tables.level_table(data, level, lang=lang), False)
    if data.kind == "panel":
        for level in data.levels:
            trend = tables.trend_table(data, level)
            trend.columns = [wave_label(w, words) for w in trend.columns]
            out[f"Trend {level}"] = (trend.rename_axis("unit").reset_index(), False)
    measurement = tables.measurement_table(data)
    measurement.insert(2, "question", [data.item_label(i, lang) for i in measurement["item"]])
    out |= {
        "Paths": (tables.paths_table(data), True),
        "Impacts": (tables.impacts_table(data, lang=lang), False),
        "Quality": (tables.quality_table(data), True),
        "Measurement": (measurement, True),
    }
    if len(data.items):
        items = data.items.copy()
        items.insert(2, "question", [data.item_label(i, lang) for i in items["item"]])
        out["Items"] = (items, False)
    if data.kind == "panel":
        out |= {
            "Samples": (tables.sample_table(data), False),
            "Cells": (pd.DataFrame(methodology.cells(data, words), columns=["level", "unit", "parent", "wave", "n",
                                                                             "status", "reason"]), False),  # fmt: skip
        }
    out["Settings"] = (methodology.settings_table(data, words), False)
    if data.groups is not None:  # a csi mga folder: the group tables as the run wrote them
        out |= {"Group comparison": (data.groups.comparison, True), "Group sizes": (data.groups.sizes, False)}
        if data.groups.micom is not None:
            out["MICOM"] = (data.groups.micom, True)
    if data.kind == "panel":
        out |= {
            "Index (all)": (data.index, False),
            "Changes (all)": (data.changes, False),
            "Units": (data.units, True),
            "Estimates (all)": (data.estimates, True),
        }
    return out


def _cell_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def _readme(ws: Any, data: ReportData, words: Words, title: str, sheets: dict[str, tuple[pd.DataFrame, bool]]) -> None:
    from openpyxl.styles import Font

    zh = words.lang == "zh"
    lines: list[tuple[str, str]] = [
        (title, ""),
        ("", ""),
        ("模型" if zh else "Model", f"{data.model_name}" + (f" – {data.spec.label}" if data.spec is not None and
                                                           data.spec.label else "")),  # fmt: skip
        ("核心潜变量" if zh else "Headline construct", f"{data.target} ({data.label(data.target, words.lang)})"),
        ("来源" if zh else "Source", data.source),
        ("", ""),
        ("工作表" if zh else "Sheet", "内容" if zh else "What it holds"),
    ]
    about = {
        "National": ("Every construct's national index, interval and change", "各潜变量的全国指数、区间与变化"),
        "Indices": ("Every construct's index and interval", "各潜变量的指数与区间"),
        "Sector": ("Sectors: index, interval, change", "行业大类：指数、区间、变化"),
        "Industry": ("Industries: index, interval, change", "行业：指数、区间、变化"),
        "Company": ("Companies: index, interval, change, status", "企业：指数、区间、变化、状态"),
        "Paths": ("Path coefficients with intervals", "路径系数及区间"),
        "Impacts": ("Impacts (points per +5 points of the driver) and performance", "影响（驱动因素每提高 5 分）与表现"),
        "Quality": ("Reliability and validity per construct", "各潜变量的信度与效度"),
        "Measurement": ("Loadings and weights per item", "各题项的载荷与权重"),
        "Items": ("Item means, SDs and missing data", "题项均值、标准差与缺失"),
        "Samples": ("Units and respondents per wave and level", "各期各层级的单位数与受访者"),
        "Cells": ("Suppressed, failed and flagged cells with the reason", "不报告、失败及标记的单元及原因"),
        "Settings": ("Estimator, intervals, seed, input hash, versions", "估计方法、区间、随机种子、输入哈希、版本"),
        "Index (all)": ("index.csv as written by the run", "运行写出的 index.csv"),
        "Changes (all)": ("changes.csv as written by the run", "运行写出的 changes.csv"),
        "Units": ("units.csv as written by the run", "运行写出的 units.csv"),
        "Estimates (all)": ("estimates.csv as written by the run", "运行写出的 estimates.csv"),
        "Group comparison": ("Every parameter's difference per pair of groups, p and adjusted p",
                             "各参数在每对分组间的差异、p 值与校正后 p 值"),
        "Group sizes": ("Rows and used rows per group", "各组行数与使用的行数"),
        "MICOM": ("Measurement invariance per construct and pair of groups", "各潜变量在每对分组间的测量不变性"),
    }
    for name in sheets:
        text = about.get(name) or ((f"Index by {name[6:]} and wave", f"{name[6:]} 各期指数") if name.startswith("Trend")
                                   else (name, name))  # fmt: skip
        lines.append((sheet_name(name, words), text[1] if zh else text[0]))
    lines += [
        ("", ""),
        ("数字格式" if zh else "Number formats",
         "指数与变化保留一位小数，系数保留三位，p 值为 0.000；单元格保存完整精度" if zh else
         "indices and changes one decimal, coefficients three, p-values 0.000; cells hold full precision"),
        ("列名" if zh else "Column names",
         "各表列名与 CSV 文件列名的对应：" if zh else "CSV column names behind the headers:"),
    ]  # fmt: skip
    for col, pair in HEADERS.items():
        lines.append((pair[1] if zh else pair[0], col))
    for row in lines:
        ws.append([*row])
    for cell in ws["A"]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 90


def write_xlsx(result: Any, path: str | os.PathLike[str], *, lang: str = "en", title: str | None = None) -> Path:
    """Write the report's tables to an ``.xlsx`` workbook (README sheet first); returns the path."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from csi.report.html import default_title

    words = Words(lang)
    data = load_results(result)
    sheets = workbook_tables(data, lang)
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "csi"
    wb.properties.created = wb.properties.modified = _EPOCH
    _readme(wb.create_sheet(sheet_name("README", words)), data, words, title or default_title(data, words), sheets)
    for name, (frame, coefficients) in sheets.items():
        ws = wb.create_sheet(sheet_name(name, words))
        ws.append([_header(c, words) for c in frame.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            ws.append([_cell_value(v) for v in row])
        formats = [_format(c, coefficients) for c in frame.columns]
        for cells in ws.iter_rows(min_row=2):
            for cell, fmt in zip(cells, formats):
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # openpyxl would store '=...' as a formula
                elif isinstance(cell.value, int | float) and not isinstance(cell.value, bool) and fmt:
                    cell.number_format = fmt
        ws.freeze_panes = "B2"
        for j, col in enumerate(frame.columns, start=1):
            numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col])
            shown = [10] if numeric else [len(str(v)) for v in frame[col].head(200)]  # numbers show formatted
            width = max([len(_header(col, words)) * (2 if lang == "zh" else 1)] + shown)
            ws.column_dimensions[get_column_letter(j)].width = min(max(9, width + 2), 60)
    path = Path(path)
    with staged_file(path) as staged:
        wb.save(staged)
    return path
