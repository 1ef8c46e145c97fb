"""Figure of a Monte-Carlo summary (matplotlib, imported lazily: an optional dependency)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from csi.errors import CSIError


def plot_summary(summary: pd.DataFrame, path: str | Path) -> Path:
    """RMSE and |bias| of path coefficients and of 0-100 indices against n, one panel per model and population.

    Rows of panels: mean RMSE over all paths, mean |bias| over all paths, mean
    RMSE over all indices (index points); one line per method; log-scaled n.
    The file type follows ``path``'s suffix (``.png``, ``.svg``, ``.pdf``).

    Raises
    ------
    CSIError
        When matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise CSIError("the benchmark plot needs matplotlib: pip install matplotlib") from e
    s = summary.assign(abs_bias=summary["bias"].abs())
    agg = s.groupby(["model", "population", "method", "kind", "n"], sort=False)[["rmse", "abs_bias"]].mean()
    agg = agg.reset_index()
    panels = list(dict.fromkeys(zip(s["model"], s["population"])))
    rows = [("path", "rmse", "paths: mean RMSE"), ("path", "abs_bias", "paths: mean |bias|"),
            ("index", "rmse", "indices: mean RMSE (points)")]  # fmt: skip
    fig, axes = plt.subplots(len(rows), len(panels), figsize=(3.6 * len(panels), 2.8 * len(rows)), squeeze=False)
    methods = list(dict.fromkeys(s["method"]))
    for c, (model, pop) in enumerate(panels):
        for r, (kind, metric, title) in enumerate(rows):
            ax = axes[r, c]
            sel = agg[(agg["model"] == model) & (agg["population"] == pop) & (agg["kind"] == kind)]
            for m in methods:
                line = sel[sel["method"] == m].sort_values("n")
                if len(line) and np.isfinite(line[metric]).any():
                    ax.plot(line["n"], line[metric], marker="o", label=m)
            ax.set_xscale("log")
            ax.set_title(f"{model} / {pop}\n{title}" if r == 0 else title, fontsize=9)
            ax.set_xlabel("n" if r == len(rows) - 1 else "")
            ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out
