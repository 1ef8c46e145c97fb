"""Report charts, usable on their own in notebooks.

Every function has the form ``plot_*(result, ax=None, ...) -> Axes``: it draws
on ``ax`` (a new pyplot figure when None) and returns the Axes.  ``result`` is
a results folder, a panel index result or a :class:`~csi.report.load.ReportData`;
:func:`plot_path_diagram` also takes a :class:`csi.FitResult`, a
:class:`csi.BootstrapResult` or an estimates table (``lhs, op, rhs,
estimate``, optionally ``ci_lower, ci_upper``).  matplotlib is imported here only, on first use.

Text from the user's data (unit and construct names) goes through
:func:`mpl_text`, so a ``$`` in a company name is shown, not parsed as
mathtext.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from csi.errors import DataError
from csi.report.i18n import Words, fmt_num, wave_label
from csi.report.load import ReportData, load_results

#: Colours (colour-blind safe, Okabe & Ito 2008).
BLUE, ORANGE, GREEN, GREY, RED = "#0072B2", "#E69F00", "#009E73", "#7f7f7f", "#D55E00"


def mpl_text(value: object) -> str:
    """A label for matplotlib: dollar signs escaped so they never start mathtext."""
    return str(value).replace("$", r"\$")


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _data(result: Any) -> ReportData:
    return load_results(result)


def _pick(values: pd.Series, value: str | None, what: str, default: str) -> str:
    options = list(dict.fromkeys(values))
    if value is None:
        return default
    if value not in options:
        shown = ", ".join(map(repr, options[:12])) + (" ..." if len(options) > 12 else "")
        raise DataError(f"unknown {what} {value!r}; accepted: {shown}")
    return value


def _unit_default(data: ReportData, level: str) -> str:
    units = data.index.loc[data.index["level"] == level, "unit"]
    if units.empty:
        raise DataError(f"no {level!r} rows; levels present: {', '.join(data.levels)}")
    return str(units.iloc[0])


def plot_trend(
    result: Any,
    ax: Any = None,
    *,
    level: str = "national",
    unit: str | None = None,
    construct: str | None = None,
    show_ci: bool = True,
    lang: str = "en",
) -> Any:
    """One unit's index across waves, with its confidence band.

    Suppressed or missing waves leave a gap.  Defaults: the national unit and
    the model's target construct.  ``lang`` ("en" or "zh") sets the words.
    """
    words = Words(lang)
    data = _data(result)
    ix = data.index
    level = _pick(ix["level"], level, "level", "national")
    at_level = ix[ix["level"] == level]
    unit = _pick(at_level["unit"], unit, f"{level} unit", _unit_default(data, level))
    construct = _pick(ix["construct"], construct, "construct", data.target)
    rows = at_level[(at_level["unit"] == unit) & (at_level["construct"] == construct)].set_index("wave")
    rows = rows.reindex(list(data.waves))
    ax = _axes(ax, (5, 3))
    x = np.arange(len(data.waves))
    if show_ci:
        ax.fill_between(x, rows["ci_lower"], rows["ci_upper"], color=BLUE, alpha=0.18, linewidth=0, label="CI")
    ax.plot(x, rows["index"], marker="o", color=BLUE, label=mpl_text(unit))
    for xi, v in zip(x, rows["index"]):
        if np.isfinite(v):
            ax.annotate(fmt_num(v), (xi, v), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    ax.set_xticks(x, [mpl_text(wave_label(w, words)) for w in data.waves])
    ax.set_xlim(-0.4, len(x) - 0.6)
    ax.set_title(mpl_text(words.national if level == "national" and unit == "national" else unit), fontsize=10)
    ax.set_ylabel(words("trend_y", construct=mpl_text(construct)))
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_index_ci(
    result: Any,
    ax: Any = None,
    *,
    level: str = "company",
    wave: str | None = None,
    construct: str | None = None,
    lang: str = "en",
) -> Any:
    """Every unit of a level in one wave: index and confidence interval, sorted (a forest plot)."""
    words = Words(lang)
    data = _data(result)
    ix = data.index
    level = _pick(ix["level"], level, "level", "company")
    wave = _pick(ix["wave"], None if wave is None else str(wave), "wave", data.latest_wave)
    construct = _pick(ix["construct"], construct, "construct", data.target)
    rows = ix[(ix["level"] == level) & (ix["wave"] == wave) & (ix["construct"] == construct)]
    rows = rows[np.isfinite(rows["index"])].sort_values("index")
    ax = _axes(ax, (6, 0.35 * len(rows) + 1))
    y = np.arange(len(rows))
    ax.errorbar(
        rows["index"],
        y,
        xerr=[rows["index"] - rows["ci_lower"], rows["ci_upper"] - rows["index"]],
        fmt="o",
        color=BLUE,
        ecolor=GREY,
        capsize=3,
    )
    ax.set_yticks(y, [mpl_text(u) for u in rows["unit"]])
    ax.set_xlabel(words("forest_x", construct=mpl_text(construct), w=mpl_text(wave_label(wave, words))))
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_ipma(
    result: Any, ax: Any = None, *, wave: str | None = None, target: str | None = None, lang: str = "en"
) -> Any:
    """Importance-performance map of the drivers of the target (national, one wave).

    x: impact (index points gained on the target per +5 points of the driver);
    y: the driver's performance (its 0-100 index); dashed lines at the means
    (Ringle & Sarstedt 2016).  High impact with low performance is the priority.
    """
    words = Words(lang)
    data = _data(result)
    imp = data.impacts[data.impacts["level"] == "national"]
    if imp.empty:
        raise DataError("no national impacts to map (impacts.csv has no 'national' rows)")
    wave = _pick(imp["wave"], None if wave is None else str(wave), "wave", str(imp["wave"].iloc[-1]))
    imp = imp[imp["wave"] == wave]
    target = _pick(imp["target"], target, "target", data.target if data.target in set(imp["target"]) else None)
    if target is None:
        target = str(imp["target"].iloc[0])
    imp = imp[imp["target"] == target]
    ax = _axes(ax, (5, 4))
    ax.scatter(imp["impact"], imp["performance"], s=60, color=BLUE, zorder=3)
    for r in imp.itertuples():
        ax.annotate(mpl_text(r.driver), (r.impact, r.performance), textcoords="offset points", xytext=(6, 4))
    ax.axvline(imp["impact"].mean(), color=GREY, linestyle="--", linewidth=1)
    ax.axhline(imp["performance"].mean(), color=GREY, linestyle="--", linewidth=1)
    ax.margins(0.25)
    lo, hi = ax.get_ylim()
    if hi - lo < 10:  # drivers' indices often agree to a point or two; do not magnify that into a spread
        mid = (hi + lo) / 2
        ax.set_ylim(mid - 5, mid + 5)
    ax.set_xlabel(words("ipma_x", construct=mpl_text(target)))
    ax.set_ylabel(words.ipma_y)
    title = words.ipma_title_plain if data.kind == "survey" else words("ipma_title", w=mpl_text(wave_label(wave, words)))
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    return ax


# ------------------------------------------------------------------ path diagram


def _diagram_inputs(
    result: Any, wave: str | None, level: str, unit: str | None, lang: str = "en"
) -> tuple[Any, pd.DataFrame, str]:
    """(spec or None, estimates with lhs/op/rhs/estimate[/ci_lower/ci_upper], caption)."""
    from csi.report.i18n import Words, wave_label
    from csi.resample.result import BootstrapResult
    from csi.results.fit import FitResult

    words = Words(lang)
    if isinstance(result, BootstrapResult):
        return result.fit.spec, result.estimates, f"n = {result.fit.n:,}, {result.n_resamples:,} bootstrap resamples"
    if isinstance(result, FitResult):
        return result.spec, result.estimates, f"n = {result.n:,}"
    if isinstance(result, pd.DataFrame):
        missing = [c for c in ("lhs", "op", "rhs", "estimate") if c not in result.columns]
        if missing:
            raise DataError(f"estimates table lacks column(s) {', '.join(missing)}; needs lhs, op, rhs, estimate")
        return None, result, ""
    data = _data(result)
    est = data.estimates[data.estimates["level"] == level]
    if est.empty:
        raise DataError(f"no {level!r} estimates for the path diagram")
    wave = _pick(est["wave"], None if wave is None else str(wave), "wave", str(est["wave"].iloc[-1]))
    est = est[est["wave"] == wave]
    unit = _pick(est["unit"], unit, f"{level} unit", str(est["unit"].iloc[0]))
    if data.kind == "survey":
        n = data.index.loc[data.index["level"] == level, "n"]
        caption = words("sample_n", n=f"{int(n.iloc[0]):,}") if len(n) and np.isfinite(n.iloc[0]) else ""
    else:
        shown = words.national if unit == "national" else unit
        caption = f"{shown}, {wave_label(wave, words)}"
    return data.spec, est[est["unit"] == unit], caption


PTS_PER_UNIT = 52.0  # the diagram's scale: points per data unit (0.72 inch)
DIAGRAM_FONT = 8.0
LABEL_PAD = 2.0  # points of white around a coefficient label


def _text_size(text: str, families: list[str], size: float = DIAGRAM_FONT) -> tuple[float, float]:
    """Width and height in points of ``text`` (one or more lines) as matplotlib will lay it out."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(family=families, size=size)
    lines = text.split("\n")
    width = max(TextToPath().get_text_width_height_descent(line, prop, ismath=False)[0] for line in lines)
    return width, 1.25 * size * len(lines)


def _draw_edge(ax: Any, p0: np.ndarray, c: np.ndarray, p1: np.ndarray, s0: tuple[float, float],
               s1: tuple[float, float], style: dict[str, Any]) -> None:  # fmt: skip
    """Draw the curve clipped to the two boxes, with an arrow head."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path

    from csi.report.diagram import bezier

    t = np.linspace(0, 1, 401)
    pts = bezier(p0, c, p1, t)

    def inside(q: np.ndarray, centre: np.ndarray, size: tuple[float, float], pad: float) -> np.ndarray:
        d = np.abs(q - centre)
        return (d[:, 0] <= size[0] / 2 + pad) & (d[:, 1] <= size[1] / 2 + pad)

    keep = ~inside(pts, p0, s0, 0.03) & ~inside(pts, p1, s1, 0.05)
    ts = t[keep]
    a, b = ts[0], ts[-1]
    # The sub-curve on [a, b] of a quadratic Bezier is again quadratic: new control point by blossoming.
    q0, q2 = bezier(p0, c, p1, np.array([a, b]))
    q1 = (1 - a) * (1 - b) * p0 + ((1 - a) * b + a * (1 - b)) * c + a * b * p1
    path = Path([q0, q1, q2], [Path.MOVETO, Path.CURVE3, Path.CURVE3])
    ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=11, **style))


def diagram_layout(result: Any, *, wave: str | None = None, level: str = "national", unit: str | None = None,
                   lang: str = "en") -> tuple[Any, dict[str, Any]]:  # fmt: skip
    """The layout (:class:`csi.report.diagram.Layout`) of the path diagram and what to draw in it."""
    from csi.report.diagram import layout
    from csi.report.fonts import font_families

    spec, est, caption = _diagram_inputs(result, wave, level, unit, lang)
    paths = est[est["op"] == "~"]
    if paths.empty:
        raise DataError("no path coefficients (op '~') to draw")
    r2 = est[est["op"] == "r2"].set_index("lhs")["estimate"]
    names = list(spec.construct_names) if spec is not None else list(dict.fromkeys([*paths["rhs"], *paths["lhs"]]))
    families = font_families(lang)
    has_ci = {"ci_lower", "ci_upper"} <= set(paths.columns) and bool(paths["ci_lower"].notna().any())
    edges, texts, significant = [], {}, {}
    for r in paths.itertuples():
        e = (str(r.rhs), str(r.lhs))
        sig = bool(has_ci and (r.ci_lower > 0 or r.ci_upper < 0))
        edges.append(e)
        significant[e] = sig
        texts[e] = fmt_num(r.estimate, 2) + ("*" if sig else "")
    box_text = {n: mpl_text(n) + (f"\nR² = {fmt_num(r2[n], 2)}" if n in r2.index and np.isfinite(r2[n]) else "")
                for n in names}  # fmt: skip
    box_w = {n: (_text_size(t, families)[0] + 12) / PTS_PER_UNIT for n, t in box_text.items()}
    label_size = {}
    for e, t in texts.items():
        w, h = _text_size(t, families)
        label_size[e] = ((w + 2 * LABEL_PAD + 2) / PTS_PER_UNIT, (h + 2 * LABEL_PAD) / PTS_PER_UNIT)
    lay = layout(names, edges, box_w, label_size)
    return lay, {"texts": texts, "box_text": box_text, "significant": significant, "has_ci": has_ci,
                 "caption": caption, "families": families}  # fmt: skip


def draw_path_diagram(ax: Any, lay: Any, parts: dict[str, Any], lang: str = "en") -> Any:
    """Draw a :func:`diagram_layout` on ``ax`` (equal aspect, no axes)."""
    from matplotlib.patches import FancyBboxPatch

    from csi.report.i18n import Words

    words = Words(lang)
    fam = parts["families"]
    for e, c in lay.control.items():
        s, t = e
        solid = parts["significant"][e] or not parts["has_ci"]
        style = {"color": "#333333" if solid else GREY, "linestyle": "-" if solid else "--", "linewidth": 1.0}
        _draw_edge(ax, lay.pos[s], c, lay.pos[t], lay.size[s], lay.size[t], style)
        x, y = lay.label_at[e]
        ax.text(x, y, parts["texts"][e], ha="center", va="center", fontsize=DIAGRAM_FONT, family=fam, zorder=6,
                gid="path-label", bbox={"boxstyle": f"round,pad={LABEL_PAD / DIAGRAM_FONT:.3f}", "fc": "white",
                                        "ec": "none", "alpha": 0.95})  # fmt: skip
    for n, (x, y) in lay.pos.items():
        w, h = lay.size[n]
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                    fc="#e8f1f8", ec=BLUE, zorder=4))  # fmt: skip
        ax.text(x, y, parts["box_text"][n], ha="center", va="center", fontsize=DIAGRAM_FONT, family=fam, zorder=5,
                gid="construct-label")  # fmt: skip
    x0, x1, y0, y1 = lay.extent()
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    title = words("diagram_title", caption=mpl_text(parts["caption"])) if parts["caption"] else ""
    if parts["has_ci"]:
        title = f"{title}\n{words.diagram_ci_note}" if title else words.diagram_ci_note
    ax.set_title(title, fontsize=9, family=fam)
    return ax


def plot_path_diagram(
    result: Any,
    ax: Any = None,
    *,
    wave: str | None = None,
    level: str = "national",
    unit: str | None = None,
    lang: str = "en",
) -> Any:
    """The structural model with its estimated path coefficients.

    Boxes are constructs (R² of endogenous ones inside), arrows are paths
    labelled with their coefficient; with confidence intervals a ``*`` marks a
    coefficient whose interval excludes 0 and a dashed grey arrow one whose
    interval contains it.  Panel results show the national pooled fit of the
    latest wave unless ``wave``/``level``/``unit`` say otherwise.  The layout
    (:mod:`csi.report.diagram`) is layered by path order and keeps every label
    clear of the others; without ``ax`` the figure is sized to the drawing.
    """
    lay, parts = diagram_layout(result, wave=wave, level=level, unit=unit, lang=lang)
    if ax is None:
        import matplotlib.pyplot as plt

        x0, x1, y0, y1 = lay.extent()
        fig = plt.figure(figsize=((x1 - x0) * PTS_PER_UNIT / 72, (y1 - y0) * PTS_PER_UNIT / 72))
        ax = fig.add_axes((0, 0, 1, 1))
    return draw_path_diagram(ax, lay, parts, lang)
