"""Reports of a panel-index run or of one survey: HTML, PDF and Excel, in English or Chinese.

Read a results folder (``csi index --out DIR``, ``csi fit --out DIR`` or
``csi bootstrap --out DIR``) or a result object with
:func:`load_results`; write the report with :func:`write_html`,
:func:`write_pdf` and :func:`write_xlsx` (or all at once with
:func:`write_report`); draw any chart in a notebook with the ``plot_*``
functions, which return the matplotlib Axes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from csi.errors import CSIError
from csi.report.excel import write_xlsx
from csi.report.html import PAPERS, render_html, write_html
from csi.report.i18n import LANGUAGES, Words
from csi.report.load import ReportData, load_results
from csi.report.pdf import find_chromium, write_pdf
from csi.report.plots import plot_index_ci, plot_ipma, plot_path_diagram, plot_trend


def write_report(
    result: Any,
    html: str | os.PathLike[str] | None = None,
    *,
    pdf: str | os.PathLike[str] | None = None,
    xlsx: str | os.PathLike[str] | None = None,
    title: str | None = None,
    lang: str = "en",
    paper: str = "a4",
) -> dict[str, Path]:
    """Write any of the HTML, PDF and Excel reports of one run; returns the paths written by kind.

    ``result`` is a panel (``csi index --out``) or one-survey (``csi fit/bootstrap --out``)
    results folder, or the result object; ``lang`` is ``"en"`` or ``"zh"``, ``paper``
    ``"a4"`` or ``"letter"`` (the printed page and the PDF).

    Each file is written to a temporary sibling and renamed into place, so an
    existing report is replaced whole or left as it was.  A report may not be
    written inside the results folder it reports on (it would be a file the
    folder's manifest does not list, and the folder would no longer verify).
    """
    if isinstance(result, str | os.PathLike):
        folder = Path(result).resolve()
        for path in (html, pdf, xlsx):
            if path is not None and folder in Path(path).resolve().parents:
                raise CSIError(f"report file {str(path)!r} lies inside the results folder {str(result)!r}; write it "
                               "elsewhere (an unlisted file would make the folder fail verification)")  # fmt: skip
    Words(lang)  # an unknown language or paper size fails before any work
    if paper not in PAPERS:
        raise CSIError(f"unknown paper size {paper!r}; accepted: {', '.join(PAPERS)}")
    data = load_results(result)
    out: dict[str, Path] = {}
    if html is not None:
        out["html"] = write_html(data, html, title=title, lang=lang, paper=paper)
    if pdf is not None:
        out["pdf"] = write_pdf(data, pdf, title=title, lang=lang, paper=paper)
    if xlsx is not None:
        out["xlsx"] = write_xlsx(data, xlsx, lang=lang, title=title)
    return out


__all__ = [
    "LANGUAGES",
    "PAPERS",
    "ReportData",
    "find_chromium",
    "load_results",
    "plot_index_ci",
    "plot_ipma",
    "plot_path_diagram",
    "plot_trend",
    "render_html",
    "write_html",
    "write_pdf",
    "write_report",
    "write_xlsx",
]
