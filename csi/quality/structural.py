"""Collinearity and effect sizes: VIF and f² (methodology §4.6)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from csi.core.quality import f_squared as _f_squared
from csi.core.quality import inner_vif
from csi.core.quality import vif as _vif
from csi.errors import EstimationError
from csi.estimators import fit as fit_model
from csi.quality._common import correlation_and_weights, prepared_data
from csi.results.fit import FitResult
from csi.spec.model import Path


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


F2_FORMS = ("fixed", "reestimated")
"""Forms of f²: the fixed-weights form (structural equation re-run without the predictor on the same construct
correlations) and the re-estimation form (the whole model re-estimated without the path)."""


def f_squared(fit: FitResult, form: str = "fixed") -> pd.DataFrame:
    """Cohen's f² of every path: ``(R²_incl - R²_excl) / (1 - R²_incl)`` (Cohen 1988).

    ``form="fixed"``: R²_excl re-estimates the structural equation without the
    predictor on the same construct correlations (the outer weights are not
    re-estimated).  ``form="reestimated"``: the whole model is re-estimated
    without the path, with the same estimator and options, and R²_excl is the
    target's R² in that fit (Hair et al. 2017, ch. 6, as SmartPLS reports it);
    a construct the removal leaves without any path is dropped from that fit,
    and a target left without predictors has R²_excl = 0.  Rows ``lhs op rhs
    f2`` with op ``~``.  Usual readings 0.02 / 0.15 / 0.35.
    """
    if form not in F2_FORMS:
        raise EstimationError(f"unknown f² form {form!r}; accepted: {', '.join(map(repr, F2_FORMS))}")
    spec = fit.spec
    names = list(spec.construct_names)
    pairs = [(t, names[k]) for j, t in enumerate(names) for k in np.flatnonzero(spec.adjacency[j])]
    if form == "reestimated":
        by_pair = {(p.target, p.source): p for p in spec.paths}
        r2 = fit.r2
        values = [(r2[t] - _r2_without(fit, by_pair[(t, s)])) / (1.0 - r2[t]) for t, s in pairs]
        return pd.DataFrame([(t, "~", s, v) for (t, s), v in zip(pairs, values, strict=True)],
                            columns=["lhs", "op", "rhs", "f2"])  # fmt: skip
    F = _f_squared(fit.construct_correlations.to_numpy(), spec.adjacency)
    pos = {n: i for i, n in enumerate(names)}
    return pd.DataFrame([(t, "~", s, F[pos[t], pos[s]]) for t, s in pairs], columns=["lhs", "op", "rhs", "f2"])


def _r2_without(fit: FitResult, path: Path) -> float:
    """R² of ``path.target`` when the model is re-estimated without ``path`` (0 if it keeps no predictor)."""
    spec = fit.spec
    paths = tuple(p for p in spec.paths if p != path)
    if not any(p.target == path.target for p in paths):
        return 0.0
    linked = {c for p in paths for c in (p.source, p.target)}
    constructs = tuple(c for c in spec.constructs if c.name in linked)
    target = spec.target if spec.target in linked else None
    reduced = dataclasses.replace(spec, constructs=constructs, paths=paths, target=target)
    data = prepared_data(fit, "the re-estimation form of f²")
    frame = data.to_frame()[list(reduced.item_names)]
    refit = fit_model(reduced, frame, method=fit.method, weights=data.weights, **fit.options)
    return float(refit.r2[path.target])


def information_criteria(fit: FitResult) -> pd.DataFrame:
    """Information criteria of every structural equation (Sharma, Sarstedt, Shmueli, Kim & Thiele 2019, JAIS 20(4)).

    For endogenous construct ``t`` with ``k`` predictors, ``n`` respondents and
    the regression's error sum of squares ``SSE = (n - 1)(1 - R²)`` (scores of
    unit sample variance):

    ``AIC  = n log(SSE/n) + 2(k+1)``,
    ``AICc = n log(SSE/n) + n (n+k) / (n-k-2)``,
    ``BIC  = n log(SSE/n) + (k+1) log n``,
    ``HQ   = n log(SSE/n) + 2(k+1) log log n``.

    Smaller is better when comparing models fitted to the same data.  Returns
    ``construct, k, n, aic, aicc, bic, hq``.
    """
    n = float(fit.n)
    rows = []
    for t in fit.spec.endogenous:
        k = len(fit.spec.predecessors(t))
        base = n * np.log((n - 1.0) * (1.0 - float(fit.r2[t])) / n)
        rows.append((t, k, int(n), base + 2 * (k + 1), base + n * (n + k) / (n - k - 2),
                     base + (k + 1) * np.log(n), base + 2 * (k + 1) * np.log(np.log(n))))  # fmt: skip
    return pd.DataFrame(rows, columns=["construct", "k", "n", "aic", "aicc", "bic", "hq"])
