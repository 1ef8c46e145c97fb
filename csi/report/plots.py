"""Report charts, usable on their own in notebooks.

Every function has the form ``plot_*(result, ax=None, ...) -> Axes``: it draws
on ``ax`` (a new pyplot figure when None) and returns the Axes.  ``result`` is
a results folder, a panel index result or a :class:`~csi.report.load.ReportData`;
:func:`plot_path_diagram` also takes a :class:`csi.FitResult` or
:class:`csi.BootstrapResult`.  matplotlib is imported here only, on first use.

Text from the user's data (unit and construct names) goes through
:func:`mpl_text`, so a ``$`` in a company name is shown, not parsed as
mathtext.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from csi.errors import DataError
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
) -> Any:
    """One unit's index across waves, with its confidence band.

    Suppressed or missing waves leave a gap.  Defaults: the national unit and
    the model's target construct.
    """
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
            ax.annotate(f"{v:.1f}", (xi, v), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    ax.set_xticks(x, [mpl_text(w) for w in data.waves])
    ax.set_xlim(-0.4, len(x) - 0.6)
    ax.set_title(mpl_text(unit), fontsize=10)
    ax.set_ylabel(f"{mpl_text(construct)} index (0-100)")
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_index_ci(
    result: Any,
    ax: Any = None,
    *,
    level: str = "company",
    wave: str | None = None,
    construct: str | None = None,
) -> Any:
    """Every unit of a level in one wave: index and confidence interval, sorted (a forest plot)."""
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
    ax.set_xlabel(f"{mpl_text(construct)} index, {mpl_text(wave)} (0-100)")
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_ipma(result: Any, ax: Any = None, *, wave: str | None = None, target: str | None = None) -> Any:
    """Importance-performance map of the drivers of the target (national, one wave).

    x: impact (index points gained on the target per +5 points of the driver);
    y: the driver's performance (its 0-100 index); dashed lines at the means
    (Ringle & Sarstedt 2016).  High impact with low performance is the priority.
    """
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
    ax.set_xlabel(f"Impact on {mpl_text(target)} (points per +5 points)")
    ax.set_ylabel("Performance (0-100 index)")
    ax.set_title(f"Importance-performance map, {mpl_text(wave)}", fontsize=10)
    ax.grid(alpha=0.3)
    return ax


# ------------------------------------------------------------------ path diagram


def _diagram_inputs(result: Any, wave: str | None, level: str, unit: str | None) -> tuple[Any, pd.DataFrame, str]:
    """(spec or None, estimates with lhs/op/rhs/estimate[/ci_lower/ci_upper], caption)."""
    from csi.resample.result import BootstrapResult
    from csi.results.fit import FitResult

    if isinstance(result, BootstrapResult):
        return result.fit.spec, result.estimates, f"{result.fit.method}, {result.n_resamples} bootstrap resamples"
    if isinstance(result, FitResult):
        return result.spec, result.estimates, f"{result.method}, n = {result.n}"
    data = _data(result)
    est = data.estimates[data.estimates["level"] == level]
    if est.empty:
        raise DataError(f"no {level!r} estimates for the path diagram")
    wave = _pick(est["wave"], None if wave is None else str(wave), "wave", str(est["wave"].iloc[-1]))
    est = est[est["wave"] == wave]
    unit = _pick(est["unit"], unit, f"{level} unit", str(est["unit"].iloc[0]))
    return data.spec, est[est["unit"] == unit], f"{unit}, {wave}"


def _layers(names: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layer of every construct (sources in layer 0)."""
    layer = dict.fromkeys(names, 0)
    for _ in names:  # Bellman-Ford style relaxation; the model is acyclic
        for s, t in edges:
            layer[t] = max(layer[t], layer[s] + 1)
    return layer


BOX_W, BOX_H = 1.3, 0.62  # construct boxes, in data units


def _positions(names: list[str], edges: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    layer = _layers(names, edges)
    pos = {}
    singles = 0
    for k in sorted(set(layer.values())):
        members = [n for n in names if layer[n] == k]
        if len(members) == 1:
            # Chains of one-node layers zigzag, so an edge that skips one layer does not cross a box.
            pos[members[0]] = np.array([2.0 * k, 0.9 if singles % 2 == 0 else -0.9])
            singles += 1
        else:
            for j, n in enumerate(members):
                pos[n] = np.array([2.0 * k, 1.8 * ((len(members) - 1) / 2 - j)])
    return pos


def _bezier(p0: np.ndarray, c: np.ndarray, p1: np.ndarray, t: np.ndarray) -> np.ndarray:
    t = t[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t**2 * p1


def _inside(points: np.ndarray, centre: np.ndarray, pad: float = 0.0) -> np.ndarray:
    d = np.abs(points - centre)
    return (d[:, 0] <= BOX_W / 2 + pad) & (d[:, 1] <= BOX_H / 2 + pad)


def _edge_curve(p0: np.ndarray, p1: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """Control point of a quadratic curve from p0 to p1 that misses every other box.

    Straight when it can be; otherwise bent away from the diagram's centre line,
    further until no other box is crossed.
    """
    t = np.linspace(0, 1, 101)
    mid = (p0 + p1) / 2
    normal = np.array([-(p1 - p0)[1], (p1 - p0)[0]])
    normal = normal / np.linalg.norm(normal)
    side = np.sign(mid[1]) or 1.0
    if normal[1] * side < 0:
        normal = -normal
    for bend in (0.0, 0.8, 1.4, 2.0, 2.8):
        c = mid + bend * normal
        pts = _bezier(p0, c, p1, t)
        if not any(_inside(pts, o, 0.08).any() for o in others):
            return c
    return c


def _draw_edge(ax: Any, p0: np.ndarray, c: np.ndarray, p1: np.ndarray, style: dict[str, Any]) -> np.ndarray:
    """Draw the curve clipped to the two boxes, with an arrow head; returns its midpoint."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path

    t = np.linspace(0, 1, 201)
    pts = _bezier(p0, c, p1, t)
    keep = ~_inside(pts, p0, 0.04) & ~_inside(pts, p1, 0.06)
    ts = t[keep]
    a, b = ts[0], ts[-1]
    # The sub-curve on [a, b] of a quadratic Bezier is again quadratic: new control point by blossoming.
    q0, q2 = _bezier(p0, c, p1, np.array([a, b]))
    q1 = (1 - a) * (1 - b) * p0 + ((1 - a) * b + a * (1 - b)) * c + a * b * p1
    path = Path([q0, q1, q2], [Path.MOVETO, Path.CURVE3, Path.CURVE3])
    ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=12, **style))
    return _bezier(p0, c, p1, np.array([0.5]))[0]


def plot_path_diagram(
    result: Any,
    ax: Any = None,
    *,
    wave: str | None = None,
    level: str = "national",
    unit: str | None = None,
) -> Any:
    """The structural model with its estimated path coefficients.

    Boxes are constructs (R² of endogenous ones inside), arrows are paths
    labelled with their coefficient; with confidence intervals a ``*`` marks a
    coefficient whose interval excludes 0 and a dashed grey arrow one whose
    interval contains it.  Panel results show the national pooled fit of the
    latest wave unless ``wave``/``level``/``unit`` say otherwise.
    """
    from matplotlib.patches import FancyBboxPatch

    spec, est, caption = _diagram_inputs(result, wave, level, unit)
    paths = est[est["op"] == "~"]
    if paths.empty:
        raise DataError("no path coefficients (op '~') to draw")
    r2 = est[est["op"] == "r2"].set_index("lhs")["estimate"]
    names = list(spec.construct_names) if spec is not None else list(dict.fromkeys([*paths["rhs"], *paths["lhs"]]))
    edges = [(r.rhs, r.lhs) for r in paths.itertuples()]
    pos = _positions(names, edges)
    ax = _axes(ax, (9, 4.2))
    has_ci = {"ci_lower", "ci_upper"} <= set(paths.columns) and bool(paths["ci_lower"].notna().any())
    for r in paths.itertuples():
        p0, p1 = pos[r.rhs], pos[r.lhs]
        significant = bool(has_ci and (r.ci_lower > 0 or r.ci_upper < 0))
        solid = significant or not has_ci
        c = _edge_curve(p0, p1, [pos[n] for n in names if n not in (r.rhs, r.lhs)])
        style = {"color": "#333333" if solid else GREY, "linestyle": "-" if solid else "--", "linewidth": 1.1}
        mid = _draw_edge(ax, p0, c, p1, style)
        text = f"{r.estimate:.2f}" + ("*" if significant else "")
        ax.text(*mid, text, ha="center", va="center", fontsize=8, zorder=3,
                bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.9})  # fmt: skip
    for n in names:
        x, y = pos[n]
        box = FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H, boxstyle="round,pad=0,rounding_size=0.08",
                             fc="#e8f1f8", ec=BLUE, zorder=4)  # fmt: skip
        ax.add_patch(box)
        label = mpl_text(n) + (f"\nR² = {r2[n]:.2f}" if n in r2.index and np.isfinite(r2[n]) else "")
        ax.text(x, y, label, ha="center", va="center", fontsize=8, zorder=5)
    xs, ys = zip(*pos.values())
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 2.2, max(ys) + 2.2)
    ax.set_axis_off()
    note = "; * interval excludes 0, dashed: includes 0" if has_ci else ""
    ax.set_title(f"Path coefficients ({mpl_text(caption)}){note}", fontsize=9)
    return ax
