"""The HTML report: one self-contained file (inline CSS and SVG, nothing fetched).

Rendered with a jinja2 template whose autoescaping is on, so every string that
comes from the data or the model (unit names, construct labels, the model text,
manifest values) is escaped; the only markup passed through unescaped is the
SVG that matplotlib writes, which escapes its own text.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from csi.report import figures, tables
from csi.report.load import ReportData, load_results, manifest_value
from csi.results.files import staged_file


def _missing(x: Any) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x: Any, digits: int = 1) -> str:
    """A number at fixed precision; '–' when missing."""
    if _missing(x):
        return "–"
    try:
        return f"{float(x):.{digits}f}"
    except (TypeError, ValueError):
        return str(x)


def fmt_signed(x: Any, digits: int = 1) -> str:
    """A change with its sign ('+1.2', '−0.4')."""
    if _missing(x):
        return "–"
    return f"{float(x):+.{digits}f}".replace("-", "−")


def fmt_ci(lo: Any, hi: Any, digits: int = 1) -> str:
    """An interval as '[lo, hi]'; '–' when missing."""
    if _missing(lo) or _missing(hi):
        return "–"
    return f"[{float(lo):.{digits}f}, {float(hi):.{digits}f}]"


def fmt_int(x: Any) -> str:
    return "–" if _missing(x) else f"{int(round(float(x))):,}"


def fmt_p(x: Any) -> str:
    if _missing(x):
        return "–"
    return "< 0.001" if float(x) < 0.001 else f"{float(x):.3f}"


def change_mark(change: Any, significant: Any) -> str:
    """'up' / 'down' for a significant change, '' otherwise (the template draws ▲ / ▼)."""
    if not bool(significant) or _missing(change):
        return ""
    return "up" if float(change) > 0 else "down"


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("csi.report", "templates"),
        autoescape=True,  # every data string is escaped; only figure SVG is marked safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=fmt_num, signed=fmt_signed, int=fmt_int, p=fmt_p)
    env.globals.update(ci=fmt_ci, mark=change_mark)
    return env


def _records(frame: Any) -> list[dict[str, Any]]:
    return frame.to_dict("records") if len(frame) else []


def _nested(manifest: Any, key: str, sub: str) -> Any:
    inner = manifest.get(key)
    return inner.get(sub) if isinstance(inner, dict) else None


def _first_present(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def report_context(data: ReportData, title: str | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain Python values (strings unescaped; the template escapes)."""
    from markupsafe import Markup

    import csi

    level = tables.confidence_level(data)
    sub_levels = [lv for lv in ("sector", "industry", "company") if lv in data.levels]
    level_names = {"sector": "Sectors", "industry": "Industries", "company": "Companies"}
    sections = []
    for lv in sub_levels:
        sections.append(
            {
                "level": lv,
                "title": level_names[lv],
                "singular": {"sector": "Sector", "industry": "Industry", "company": "Company"}[lv],
                "rows": _records(level_rows := tables.level_table(data, lv)),
                "flagged": int((level_rows["index"].notna() & (level_rows["status"] != "ok")).sum()),
                "trends": Markup(figures.unit_trends(data, lv)) if len(data.waves) > 1 else None,
                "forest": Markup(figures.index_ci(data, lv)),
            }
        )
    impacts = tables.impacts_table(data)
    quality = tables.quality_table(data)
    paths = _records(tables.paths_table(data))
    for r in paths:
        r["significant_text"] = "–" if pd.isna(r["significant"]) else ("yes" if r["significant"] else "no")
    return {
        "title": title or f"{data.label(data.target)}: {data.model_name} index report",
        "model_name": data.model_name,
        "model_label": getattr(data.spec, "label", "") or "",
        "model_text": tables.model_text(data),
        "target": data.target,
        "waves": list(data.waves),
        "level_pct": f"{100 * level:g}",
        "headline": tables.headline(data),
        "national": _records(tables.national_table(data)),
        "national_trend": Markup(figures.national_trend(data)) if len(data.waves) > 1 else None,
        "sections": sections,
        "flagged_policy": tables.flagged_policy(data),
        "paths": paths,
        "paths_have_ci": any(r["significant_text"] != "–" for r in paths),
        "path_diagram": Markup(figures.path_diagram(data)) if (data.estimates["level"] == "national").any() else None,
        "impacts": _records(impacts),
        "ipma": Markup(figures.ipma(data)) if len(impacts) else None,
        "quality_columns": [c for c in quality.columns if c != "construct"],
        "criteria_names": tables.CRITERIA,
        "quality": _records(quality),
        "measurement": _records(tables.measurement_table(data)),
        "samples": _records(tables.sample_table(data)),
        "suppressed": _records(tables.suppressed_table(data)),
        "manifest": _records(tables.manifest_table(data)),
        "seed": manifest_value(data.manifest, "seed"),
        "input_hash": manifest_value(data.manifest, "input_hash", "input_sha256", "data_hash"),
        "method": manifest_value(data.manifest, "method", "estimator") or _nested(data.manifest, "options", "method"),
        "failed_replicates": _first_present(
            manifest_value(data.manifest, "failed_replicates", "n_failed"),
            _nested(data.manifest, "counts", "failed_replicates"),
        ),
        "csi_version": csi.__version__,
        "label_of": data.label,
    }


def render_html(result: Any, *, title: str | None = None) -> str:
    """The report as one HTML string.

    Parameters
    ----------
    result
        A results folder (``csi index --out DIR``), a panel index result, or
        :class:`~csi.report.load.ReportData`.
    title
        Overrides the default title (the target construct and model).
    """
    data = load_results(result)
    return _environment().get_template("report.html.j2").render(**report_context(data, title))


def write_html(result: Any, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write the HTML report to ``path`` (UTF-8); returns the path."""
    path = Path(path)
    page = render_html(result, title=title)
    with staged_file(path) as staged:  # a reader never sees half a page, and a failure keeps the old one
        staged.write_text(page, encoding="utf-8")
    return path
