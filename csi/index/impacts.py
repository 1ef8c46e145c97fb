"""Impacts and the importance-performance map (methodology §3.6).

An ACSI *impact* is the change in a target's 0-100 index implied by a change
in a driver's index (Fornell et al. 1996; ACSI reports state it per 5-point
gain in the driver).  It is the driver's total effect in the 0-100 metric: the
0-100 respondent score of construct ``k`` is an affine function of its
standardised composite ``Y_k`` (the unstandardised weights ``u = w / sd`` only
rescale the same composite), ``s_k = a_k + sd(s_k) Y_k``, so a standardised
total effect ``T[t, k]`` becomes ``T[t, k] sd(s_t) / sd(s_k)`` index points per
index point of the driver -- the "unstandardised total effect" of the
importance-performance map analysis (Höck, Ringle & Sarstedt 2010,
International Journal of Services Technology and Management 14(2/3):188-207;
Ringle & Sarstedt 2016, Industrial Management & Data Systems 116(9):1865-1886).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from csi.errors import EstimationError
from csi.index.compute import Scale, compute_index, scale_bounds, unstandardised_weights
from csi.results.fit import FitResult


def score_sds(fit: FitResult, scale: Scale = None) -> pd.Series:
    """Standard deviation of every construct's 0-100 respondent score.

    ``s_ik = 100 Σ_h u_h (x_ih − min_h) / Σ_h u_h (max_h − min_h)``, so
    ``sd(s_k) = 100 sqrt(u_kᵀ Σ_kk u_k) / Σ_h u_h (max_h − min_h)`` with ``Σ``
    the (weighted, divisor N) item covariance matrix of the fit.
    """
    lo, hi = scale_bounds(fit.spec, scale)
    u = unstandardised_weights(fit, "model", scale).to_numpy()
    sd = fit.item_sds.to_numpy()
    S = fit.moments
    cov = S * np.outer(sd, sd) if fit.options.get("scaled", True) else S
    M = fit.spec.block_mask
    U = M * u[:, None]  # (p, J): block j's weights in column j
    var = np.einsum("hj,hk,kj->j", U, cov, U)
    den = (u * (hi - lo)) @ M
    return pd.Series(100.0 * np.sqrt(var) / den, index=pd.Index(fit.spec.construct_names, name="construct"))


def impacts(fit: FitResult, points: float = 5.0, *, scale: Scale = None, negative: str = "force") -> pd.DataFrame:
    """Impact of every driver on every construct it reaches, in 0-100 index points.

    Every pair (driver ``k``, endogenous target ``t``) joined by a directed
    path gets ``impact = points × T[t, k] × sd(s_t) / sd(s_k)``: the gain in the
    target's index when the driver's index rises by ``points`` (default 5, the
    ACSI reporting convention), with ``T`` the fit's total effects
    (standardised; consistent ones for PLSc) and ``s`` the 0-100 scores
    (:func:`score_sds`).  So the table holds the drivers of satisfaction, the
    effect of satisfaction on loyalty and every other total effect.

    Parameters
    ----------
    fit
        A fitted model whose items all have a scale.
    points
        Driver change the impact is stated for.
    scale
        Scale bounds overriding the model's (see :func:`csi.index.scale_bounds`).
    negative
        Policy for blocks with negative weights, as in :func:`csi.compute_index`
        (default ``"force"``: computed and warned).

    Returns
    -------
    pandas.DataFrame
        ``driver, target, impact, performance``; ``performance`` is the
        driver's 0-100 index.
    """
    if isinstance(points, bool) or not isinstance(points, int | float) or not np.isfinite(points):
        raise EstimationError(f"points must be a finite number, got {points!r}")
    index = compute_index(fit, scale, negative=negative).to_numpy()
    sds = score_sds(fit, scale).to_numpy()
    names = list(fit.spec.construct_names)
    # Pairs joined by a directed path: the non-zero pattern of (I - D)^-1 - I for the recursive adjacency D.
    D = fit.spec.adjacency
    reach = np.linalg.inv(np.eye(len(names)) - D) - np.eye(len(names))
    T = fit.total_effects.to_numpy()
    rows = []
    for k, driver in enumerate(names):  # drivers in model order, then targets in model order (as fit.effects)
        for t, target in enumerate(names):
            if abs(reach[t, k]) > 0.5:
                rows.append((driver, target, float(points) * T[t, k] * sds[t] / sds[k], index[k]))
    return pd.DataFrame(rows, columns=["driver", "target", "impact", "performance"])


def ipma(fit: FitResult, target: str | None = None, *, scale: Scale = None, negative: str = "error") -> pd.DataFrame:
    """Importance-performance map of a target construct (Ringle & Sarstedt 2016).

    Construct rows: importance = unstandardised total effect on the target
    (index points per index point, :func:`impacts` with ``points=1``),
    performance = the construct's 0-100 index.  Item rows: importance = the
    item's normalised 0-100-metric weight times its construct's importance,
    performance = the item mean rescaled to 0-100 with its theoretical bounds
    (cSEM ``doIPMA``).  ``priority`` flags constructs (and their items) with
    above-average importance and below-average performance among the
    target's drivers (the quadrant lines at the means).

    Parameters
    ----------
    fit
        A fitted model whose items all have a scale.
    target
        Target construct; default the model's declared target (e.g. SAT).
    scale, negative
        As in :func:`csi.compute_index`.  IPMA needs positive weights, so the
        default is ``"error"``.

    Returns
    -------
    pandas.DataFrame
        ``kind`` (construct | item), ``name``, ``construct``, ``importance``,
        ``performance``, ``priority``; constructs first, ordered by importance.
    """
    spec = fit.spec
    target = target or spec.target
    if target not in spec.construct_names:
        raise EstimationError(
            f"unknown target construct {target!r}; the model's constructs are {', '.join(spec.construct_names)}"
        )
    if target not in spec.endogenous:
        raise EstimationError(
            f"target {target!r} is exogenous: nothing drives it; choose one of {', '.join(spec.endogenous)}"
        )
    imp = impacts(fit, 1.0, scale=scale, negative=negative)
    imp = imp[imp["target"] == target].sort_values("impact", ascending=False, kind="stable")
    lo, hi = scale_bounds(spec, scale)
    u = unstandardised_weights(fit, "model", scale).to_numpy()
    # Weights for items rescaled to 0-100: u_h (max_h - min_h), normalised per block.
    v = u * (hi - lo)
    v = v / (v @ spec.block_mask)[spec.block_index]
    item_perf = 100 * (fit.item_means.to_numpy() - lo) / (hi - lo)
    mean_imp, mean_perf = imp["impact"].mean(), imp["performance"].mean()
    rows = []
    for _, r in imp.iterrows():
        prio = bool(r["impact"] > mean_imp and r["performance"] < mean_perf)
        rows.append(("construct", r["driver"], r["driver"], r["impact"], r["performance"], prio))
    items = []
    for _, r in imp.iterrows():
        prio = bool(r["impact"] > mean_imp and r["performance"] < mean_perf)
        for h, name in enumerate(spec.item_names):
            if spec.block_of(name) == r["driver"]:
                items.append(("item", name, r["driver"], v[h] * r["impact"], item_perf[h], prio))
    return pd.DataFrame(rows + items, columns=["kind", "name", "construct", "importance", "performance", "priority"])


def indirect_impacts(source: Any, points: float = 5.0, *, scale: Scale = None, negative: str = "force") -> pd.DataFrame:
    """Specific and total indirect effects on the 0-100 impact scale, beside the standardised ones.

    The conversion is the one :func:`impacts` applies to total effects: an
    effect of driver ``s`` on target ``t`` (here a chain's product, or a
    pair's total indirect effect) becomes ``points × effect × sd(s_t) /
    sd(s_s)`` index points per ``points`` of the driver's index.  Along a
    chain ``s -> m -> t`` the intermediate SDs cancel (``b_ms sd_m / sd_s ×
    b_tm sd_t / sd_m``), so specific impacts still sum to the pair's total
    indirect impact, and the direct impact plus the total indirect impact is
    the pair's impact in :func:`impacts`.

    Parameters
    ----------
    source
        A :class:`~csi.results.fit.FitResult` (point estimates,
        ``fit.indirect_effects``) or a :class:`~csi.resample.result.BootstrapResult`
        (``boot.indirect_effects``, with its SE and interval).  For a
        bootstrap the score-SD ratio is held at the fit's value: the impact's
        SE and interval are the standardised ones times that positive
        constant (so the p-value is unchanged), carrying the sampling error
        of the paths but not that of the ratio.
    points, scale, negative
        As in :func:`impacts`.

    Returns
    -------
    pandas.DataFrame
        The indirect-effects table (``from, to, kind, path, estimate``, and
        for a bootstrap ``se, ci_lower, ci_upper, p_value``) plus ``impact``
        (and ``impact_se, impact_ci_lower, impact_ci_upper`` for a bootstrap).
    """
    from csi.resample.result import BootstrapResult  # the index layer reads bootstraps; imported where used

    if isinstance(points, bool) or not isinstance(points, int | float) or not np.isfinite(points):
        raise EstimationError(f"points must be a finite number, got {points!r}")
    boot = isinstance(source, BootstrapResult)
    fit = source.fit if boot else source
    if not isinstance(fit, FitResult):
        raise EstimationError(f"indirect_impacts needs a FitResult or a BootstrapResult, got {type(source).__name__}")
    compute_index(fit, scale, negative=negative)  # the same checks (scales, negative weights) as impacts()
    sds = score_sds(fit, scale)
    table = source.indirect_effects.copy()
    factor = float(points) * sds.loc[table["to"]].to_numpy() / sds.loc[table["from"]].to_numpy()
    table["impact"] = factor * table["estimate"].to_numpy()
    if boot:
        table["impact_se"] = factor * table["se"].to_numpy()
        table["impact_ci_lower"] = factor * table["ci_lower"].to_numpy()
        table["impact_ci_upper"] = factor * table["ci_upper"].to_numpy()
    return table
