"""The HTML report: one self-contained file (inline CSS and SVG, nothing fetched).

Rendered with a jinja2 template whose autoescaping is on, so every string that
comes from the data or the model (unit names, construct labels, the model text,
manifest values) is escaped; the only markup passed through unescaped is the
SVG that matplotlib writes, which escapes its own text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from csi.errors import CSIError
from csi.report import figures, methodology, tables
from csi.report.groups import group_context
from csi.report.i18n import Words, fmt_ci, fmt_int, fmt_num, fmt_p, fmt_signed, missing, wave_label
from csi.report.load import ReportData, load_results
from csi.results.files import staged_file

PAPERS = {"a4": "A4", "letter": "letter"}
"""Paper sizes of the printed report (``--paper``), as CSS ``@page`` names them."""


def change_mark(change: Any, significant: Any, better: str = "higher") -> dict[str, str]:
    """Arrow and colour of a change: ▲/▼ by its sign when significant; 'good'/'bad' by the construct's direction.

    A significant fall of complaints (``better="lower"``) is good news, so it
    is green even though its arrow points down.
    """
    if not bool(significant) or missing(change) or float(change) == 0:
        return {"arrow": "", "cls": ""}
    rise = float(change) > 0
    good = rise == (better != "lower")
    return {"arrow": "▲" if rise else "▼", "cls": "good" if good else "bad"}


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
    env.filters.update(num=fmt_num, signed=fmt_signed, int=fmt_int)
    env.globals.update(ci=fmt_ci, mark=change_mark)
    return env


def _records(frame: Any) -> list[dict[str, Any]]:
    return frame.to_dict("records") if len(frame) else []


def default_title(data: ReportData, words: Words) -> str:
    """A short title from the model: '<model> index report' (the subtitle names the model in full)."""
    return words("title_default", model=data.model_name)


def report_context(data: ReportData, title: str | None = None, lang: str = "en", paper: str = "a4") -> dict[str, Any]:
    """Everything the template shows, as plain Python values (strings unescaped; the template escapes)."""
    from markupsafe import Markup

    import csi

    words = Words(lang)
    if paper not in PAPERS:
        raise CSIError(f"unknown paper size {paper!r}; accepted: {', '.join(PAPERS)}")
    level = tables.confidence_level(data)
    alpha = 1 - level
    sub_levels = [lv for lv in ("sector", "industry", "company") if lv in data.levels]
    sections = []
    for lv in sub_levels:
        rows = tables.level_table(data, lv, lang=lang)
        sections.append(
            {
                "level": lv,
                "title": words(f"level_{lv}"),
                "singular": words(f"one_{lv}"),
                "rows": _records(rows),
                "flagged": int((rows["index"].notna() & (rows["status"] != "ok")).sum()),
                "trends": Markup(figures.unit_trends(data, lv, lang)) if len(data.waves) > 1 else None,
                "forest": Markup(figures.index_ci(data, lv, lang)),
            }
        )
    impacts = tables.impacts_table(data, lang=lang)
    quality = tables.quality_table(data)
    paths = _records(tables.paths_table(data))
    for r in paths:
        r["significant_text"] = "–" if pd.isna(r["significant"]) else (words.yes if r["significant"] else words.no)
    measurement = tables.measurement_table(data)
    measurement["question"] = [data.item_label(i, lang) for i in measurement["item"]]
    items = data.items.copy() if len(data.items) else pd.DataFrame()
    if len(items):
        items["question"] = [data.item_label(i, lang) for i in items["item"]]
    sample = data.manifest.get("report", {}).get("sample") if isinstance(data.manifest.get("report"), dict) else None
    national = tables.national_table(data, lang=lang)
    lower = [data.label(c, lang) for c in national["construct"] if data.better(c) == "lower"]
    return {
        "t": words,
        "lang": "zh-Hans" if lang == "zh" else "en",
        "paper": PAPERS[paper],
        "kind": data.kind,
        "wl": lambda w: wave_label(w, words),
        "p": lambda x: fmt_p(x, alpha),
        "title": title or default_title(data, words),
        "model_name": data.model_name,
        "model_label": data.spec.label_in(lang) if data.spec is not None else "",
        "model_text": tables.model_text(data),
        "target": data.target,
        "target_label": data.label(data.target, lang),
        "waves": list(data.waves),
        "level_pct": f"{100 * level:g}",
        "headline": tables.headline(data, lang),
        "national": _records(national),
        "lower_is_better": ", ".join(lower),
        "national_trend": Markup(figures.national_trend(data, lang)) if len(data.waves) > 1 else None,
        "sections": sections,
        "flagged_policy": tables.flagged_policy(data),
        "paths": paths,
        "paths_have_ci": any(r["significant_text"] != "–" for r in paths),
        "path_diagram": Markup(figures.path_diagram(data, lang))
        if (data.estimates["level"] == "national").any() and (data.estimates["op"] == "~").any()
        else None,
        "impacts": _records(impacts),
        "ipma": Markup(figures.ipma(data, lang)) if len(impacts) else None,
        "quality_columns": [c for c in quality.columns if c != "construct"],
        "criteria_names": tables.CRITERIA,
        "quality": _records(quality),
        "measurement": _records(measurement),
        "items": _records(items),
        "sample": sample,
        "samples": _records(tables.sample_table(data)),
        "cells": methodology.cells(data, words),
        "paragraphs": methodology.paragraphs(data, words),
        "settings": methodology.settings(data, words),
        "run_warnings": methodology.run_warnings(data),
        "csi_version": csi.__version__,
        "groups": group_context(data.groups, data, lang, alpha),  # csi mga folders only
    }


def render_html(result: Any, *, title: str | None = None, lang: str = "en", paper: str = "a4") -> str:
    """The report as one HTML string.

    Parameters
    ----------
    result
        A results folder (``csi index --out DIR``, ``csi fit --out DIR`` or
        ``csi bootstrap --out DIR``), a panel index result, a fit or
        bootstrap result, or :class:`~csi.report.load.ReportData`.
    title
        Overrides the default title ('<model> index report').
    lang
        ``"en"`` or ``"zh"`` (Simplified Chinese): every heading, label and
        sentence, and the construct and item labels from the model file.
    paper
        ``"a4"`` or ``"letter"``: the page size when printed (and in the PDF).
    """
    words = Words(lang)  # an unknown language fails before any work
    data = load_results(result)
    return _environment().get_template("report.html.j2").render(**report_context(data, title, words.lang, paper))


def write_html(
    result: Any, path: str | os.PathLike[str], *, title: str | None = None, lang: str = "en", paper: str = "a4"
) -> Path:
    """Write the HTML report to ``path`` (UTF-8); returns the path."""
    path = Path(path)
    page = render_html(result, title=title, lang=lang, paper=paper)
    with staged_file(path) as staged:  # a reader never sees half a page, and a failure keeps the old one
        staged.write_text(page, encoding="utf-8")
    return path
