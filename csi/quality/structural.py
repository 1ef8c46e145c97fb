"""Collinearity and effect sizes: VIF and f² (methodology §4.6)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from csi.core.quality import f_squared as _f_squared
from csi.core.quality import inner_vif
from csi.core.quality import vif as _vif
from csi.quality._common import correlation_and_weights
from csi.results.fit import FitResult


def vif(fit: FitResult) -> pd.DataFrame:
    """Variance inflation factors ``1 / (1 - R²_k) = [R^-1]_kk`` (Marquardt 1970; Hair et al. 2017).

    Rows ``lhs op rhs vif``: op ``~`` for each predictor of each structural
    equation (from the fit's construct correlations), op ``<~`` for each item
    of a Mode B block (from the block's item correlations: the collinearity
    of a regression-weight block).
    """
    spec = fit.spec
    names = list(spec.construct_names)
    V = inner_vif(fit.construct_correlations.to_numpy(), spec.adjacency)
    rows = [(t, "~", names[k], V[j, k]) for j, t in enumerate(names) for k in np.flatnonzero(spec.adjacency[j])]
    S, _ = correlation_and_weights(fit)
    for j, c in enumerate(spec.constructs):
        if c.mode == "B" and len(c.items) > 1:
            idx = np.flatnonzero(spec.block_mask[:, j])
            rows += [(c.name, "<~", i, v) for i, v in zip(c.item_names, _vif(S[np.ix_(idx, idx)]))]
    return pd.DataFrame(rows, columns=["lhs", "op", "rhs", "vif"])


def f_squared(fit: FitResult) -> pd.DataFrame:
    """Cohen's f² of every path: ``(R²_incl - R²_excl) / (1 - R²_incl)`` (Cohen 1988).

    R²_excl re-estimates the structural equation without the predictor on the
    same construct correlations (the outer weights are not re-estimated).
    Rows ``lhs op rhs f2`` with op ``~``.  Usual readings 0.02 / 0.15 / 0.35.
    """
    spec = fit.spec
    names = list(spec.construct_names)
    F = _f_squared(fit.construct_correlations.to_numpy(), spec.adjacency)
    rows = [(t, "~", names[k], F[j, k]) for j, t in enumerate(names) for k in np.flatnonzero(spec.adjacency[j])]
    return pd.DataFrame(rows, columns=["lhs", "op", "rhs", "f2"])
