"""The report's figures as inline SVG.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot, so
no global state and no display backend).  Text stays text in the SVG
(``svg.fonttype = none``), so numbers can be searched, selected and copied, and
matplotlib's SVG writer escapes it; ids are salted with a constant and the
date is left out, so the same results give the same bytes.
"""

from __future__ import annotations

import io
import math
from typing import Any

from csi.report import plots
from csi.report.load import ReportData

SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "csi-report", "font.size": 9}


def figure_svg(fig: Any, tight: bool = False) -> str:
    """A matplotlib figure as an ``<svg>`` element (no XML prolog), ready to inline."""
    import matplotlib

    buf = io.StringIO()
    extra = {"bbox_inches": "tight", "pad_inches": 0.04} if tight else {}
    with matplotlib.rc_context(SVG_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, **extra)  # constrained layout fits it
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _rc(lang: str) -> Any:
    """matplotlib settings of the report's figures in ``lang`` (a CJK font for Chinese)."""
    import matplotlib

    from csi.report.fonts import font_families

    return matplotlib.rc_context({**SVG_RC, "font.family": font_families(lang), "axes.unicode_minus": True})


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def national_trend(data: ReportData, lang: str = "en") -> str:
    with _rc(lang):
        fig = _figure(6.5, 3.0)
        plots.plot_trend(data, fig.add_subplot(), level="national", lang=lang)
        return figure_svg(fig)


def unit_trends(data: ReportData, level: str, lang: str = "en", ncols: int = 3) -> str:
    """Small multiples: one trend panel per unit of ``level``, on a shared y axis."""
    units = list(dict.fromkeys(data.index.loc[data.index["level"] == level, "unit"]))
    nrows = math.ceil(len(units) / ncols)
    with _rc(lang):
        fig = _figure(3.0 * ncols, 2.2 * nrows + 0.3)
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
        for ax, unit in zip(axes.flat, units):
            plots.plot_trend(data, ax, level=level, unit=unit, lang=lang)
            ax.set_ylabel("")
        for ax in axes.flat[len(units) :]:
            ax.set_axis_off()
        return figure_svg(fig)


def index_ci(data: ReportData, level: str, lang: str = "en") -> str:
    n = int(((data.index["level"] == level) & (data.index["wave"] == data.latest_wave)).sum())
    n_units = n // max(1, data.index["construct"].nunique())
    with _rc(lang):
        fig = _figure(6.5, 0.32 * n_units + 1.0)
        plots.plot_index_ci(data, fig.add_subplot(), level=level, lang=lang)
        return figure_svg(fig)


def path_diagram_figure(data: Any, lang: str = "en") -> Any:
    """The path diagram on a figure sized to the drawing (its scale fixed, so labels are measured right)."""
    from matplotlib.figure import Figure

    lay, parts = plots.diagram_layout(data, lang=lang)
    x0, x1, y0, y1 = lay.extent()
    with _rc(lang):
        fig = Figure(figsize=((x1 - x0) * plots.PTS_PER_UNIT / 72, (y1 - y0) * plots.PTS_PER_UNIT / 72))
        plots.draw_path_diagram(fig.add_axes((0, 0, 1, 1)), lay, parts, lang)
    return fig


def path_diagram(data: ReportData, lang: str = "en") -> str:
    # A tight box: the SVG is as tall as the drawing and its title, no more.
    with _rc(lang):
        return figure_svg(path_diagram_figure(data, lang), tight=True)


def ipma(data: ReportData, lang: str = "en") -> str:
    with _rc(lang):
        fig = _figure(5.5, 4.0)
        plots.plot_ipma(data, fig.add_subplot(), lang=lang)
        return figure_svg(fig)
