"""The path diagram's layout: every path has exactly one label, no two texts overlap, no two arrows coincide.

Checked with matplotlib's own renderer (Agg): the window extents of every text the figure draws (coefficient
labels, construct names with R², the title) are compared pairwise, and every coefficient label also against
every construct box, for the shipped models (fitted to simulated data) and for random acyclic models of 2 to
12 constructs (random coefficients, with and without intervals).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import csi
from csi.report import figures, plots
from csi.report.diagram import CURVE_GAP, bezier
from csi.spec.toml_io import read_toml

matplotlib.use("Agg")

MODELS = Path(__file__).resolve().parents[1] / "models"


def _rendered(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_text()] + ([ax.title] if ax.get_title() else [])
    return renderer, ax, texts


def _check(fig, est: pd.DataFrame) -> None:
    renderer, ax, texts = _rendered(fig)
    paths = est[est["op"] == "~"]
    labels = [t for t in ax.texts if t.get_gid() == "path-label"]
    # Exactly one label per path, showing that path's coefficient.
    assert len(labels) == len(paths)
    shown = sorted(t.get_text().rstrip("*").replace("\u2212", "-") for t in labels)
    assert shown == sorted(f"{v:.2f}".replace("-0.00", "0.00") for v in paths["estimate"])  # no negative zero
    boxes = [t.get_window_extent(renderer) for t in texts]
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not a.overlaps(b), (texts[i].get_text(), texts[j].get_text())
    patches = [p.get_window_extent(renderer) for p in ax.patches if type(p).__name__ == "FancyBboxPatch"]
    for t in labels:
        ext = t.get_window_extent(renderer)
        assert not any(ext.overlaps(p) for p in patches), t.get_text()
    # The figure box is tight: the drawing fills it (no 655 pt tall SVG for a 200 pt drawing).
    union = matplotlib.transforms.Bbox.union([*boxes, *patches])
    fig_h = fig.get_figheight() * fig.dpi
    assert union.height > 0.6 * fig_h


def _distinct_curves(result) -> None:
    lay, _ = plots.diagram_layout(result)
    t = np.linspace(0.15, 0.85, 71)
    curves = {e: bezier(lay.pos[e[0]], c, lay.pos[e[1]], t) for e, c in lay.control.items()}
    for (e, a), (f, b) in itertools.combinations(curves.items(), 2):
        d = np.min(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2), axis=1)
        assert np.mean(d < CURVE_GAP / 2) < 0.2, (e, f)  # two arrows never run on top of each other


@pytest.mark.parametrize("model", ["acsi", "ecsi", "ecsi6", "scsb"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_shipped_models(model, lang):
    spec = read_toml(MODELS / f"{model}.toml")
    fit = csi.fit(spec, csi.simulate(spec, 300, seed=3).data)
    fig = figures.path_diagram_figure(fit, lang)
    _check(fig, fit.estimates)
    _distinct_curves(fit)


def _random_estimates(rng: np.random.Generator, k: int, with_ci: bool) -> pd.DataFrame:
    names = [f"C{i}" if rng.random() < 0.7 else f"Construct{i}" for i in range(k)]
    rows = []
    for j in range(1, k):
        parents = rng.choice(j, size=min(j, int(rng.integers(1, 4))), replace=False)
        for i in parents:
            est = float(np.round(rng.uniform(-0.6, 0.9), 3))
            lo, hi = est - rng.uniform(0.02, 0.4), est + rng.uniform(0.02, 0.4)
            rows.append((names[j], "~", names[i], est, lo if with_ci else np.nan, hi if with_ci else np.nan))
    for n in names[1:]:
        rows.append((n, "r2", n, float(rng.uniform(0, 0.9)), np.nan, np.nan))
    return pd.DataFrame(rows, columns=["lhs", "op", "rhs", "estimate", "ci_lower", "ci_upper"])


@pytest.mark.parametrize("seed", range(24))
def test_random_models_up_to_twelve_constructs(seed):
    rng = np.random.default_rng(seed)
    est = _random_estimates(rng, int(rng.integers(2, 13)), with_ci=bool(seed % 2))
    fig = figures.path_diagram_figure(est)
    _check(fig, est)
    _distinct_curves(est)


def test_the_issue_case_acsi_labels_that_coincided_are_apart():
    # EXP -> SAT and QUAL -> VAL cross near the middle of the ACSI drawing; their labels used to be drawn at
    # the same point.
    spec = read_toml(MODELS / "acsi.toml")
    fit = csi.fit(spec, csi.simulate(spec, 300, seed=1).data)
    lay, parts = plots.diagram_layout(fit)
    a, b = lay.label_at[("EXP", "SAT")], lay.label_at[("QUAL", "VAL")]
    (wa, ha), (wb, hb) = lay.label_size[("EXP", "SAT")], lay.label_size[("QUAL", "VAL")]
    assert abs(a[0] - b[0]) >= (wa + wb) / 2 or abs(a[1] - b[1]) >= (ha + hb) / 2
