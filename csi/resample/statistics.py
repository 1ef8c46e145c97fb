"""Every labelled quantity of a PLS fit, recomputed for a stack of moment matrices.

:func:`replicate_statistics` is the function the bootstrap, the jackknife and
the fixed-index parity checks share: given replicate means and covariances it
re-runs the PLS kernels on the whole stack and gathers each row of
``FitResult.estimates`` (plus the 0-100 indices) into one (B, q) array, in the
same order and with the same labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csi.core.index import index_0_100, unstandardise
from csi.core.moments import cov_to_corr
from csi.core.pls import pls_inner, pls_weights
from csi.index.compute import compute_index, scale_bounds
from csi.results.fit import FitResult, parameter_label

SIGN_CHANGES = ("none", "individual", "construct")
"""Sign-change corrections of PLS replicates (Tenenhaus et al. 2005, p. 177;
cSEM ``resamplecSEMResults``): ``none`` (default: each replicate already gets the
fit's deterministic sign rule), ``individual`` (flip each replicate value whose
sign differs from the original estimate), ``construct`` (flip a replicate's block
when ``|Σ(λ_orig − λ_rep)| > |Σ(λ_orig + λ_rep)|``, then recompute everything
from the flipped weights)."""


@dataclass(frozen=True)
class StatisticLayout:
    """Where each labelled quantity lives in the kernels' outputs."""

    labels: list[str]
    lhs: list[str]
    op: list[str]
    rhs: list[str]
    with_index: bool
    original: np.ndarray
    """The fit's own value of every statistic, in layout order."""

    @classmethod
    def of(cls, fit: FitResult) -> StatisticLayout:
        est = fit.estimates
        lhs, op, rhs = list(est["lhs"]), list(est["op"]), list(est["rhs"])
        try:
            scale_bounds(fit.spec)
            with_index = True
        except ValueError:
            with_index = False
        if with_index:
            for c in fit.spec.construct_names:
                lhs.append(c)
                op.append("index")
                rhs.append(c)
        labels = [parameter_label(a, o, b) for a, o, b in zip(lhs, op, rhs)]
        original = list(est["estimate"])
        if with_index:
            original += list(compute_index(fit, negative="force"))
        return cls(labels, lhs, op, rhs, with_index, np.asarray(original))


def replicate_statistics(
    fit: FitResult, means: np.ndarray, covs: np.ndarray, layout: StatisticLayout, sign_change: str = "none"
) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of every replicate.

    Parameters
    ----------
    fit
        The original fit; supplies the model and every estimator option.
    means, covs
        (B, p) replicate item means and (B, p, p) covariances (divisor = sum of
        the replicate's weights).
    layout
        Labels and order of the statistics (:meth:`StatisticLayout.of`).
    sign_change
        See :data:`SIGN_CHANGES`.

    Returns
    -------
    stats : numpy.ndarray
        (B, q) statistics, NaN rows for replicates whose moments are singular.
    converged : numpy.ndarray
        (B,) convergence flag of each replicate.
    """
    spec, opt = fit.spec, fit.options
    M, D = spec.block_mask, spec.adjacency
    block = spec.block_index
    mode_b = np.array([m == "B" for m in spec.modes])
    corr, sd = cov_to_corr(covs)
    S = corr if opt["scaled"] else covs
    finite = np.all(np.isfinite(S), axis=(-2, -1)) & np.all(sd > 0, axis=-1)
    if not finite.all():
        S = np.where(finite[:, None, None], S, fit.moments)  # placeholder moments, result discarded below
    res = pls_weights(
        S, M, D, mode_b, opt["scheme"],
        tol=opt["tol"], max_iter=opt["max_iter"], stop=opt["stop"], sign_rule=opt["sign_rule"], n_obs=fit.n,
    )  # fmt: skip
    w = res.w
    if sign_change == "construct":
        lam = pls_inner(S, w, M, D).loadings
        lam0 = fit.loadings.to_numpy()
        flip = np.abs((lam0 - lam) @ M) > np.abs((lam0 + lam) @ M)
        w = w * np.where(flip, -1.0, 1.0)[:, block]
    inner = pls_inner(S, w, M, D)

    names = {n: i for i, n in enumerate(spec.construct_names)}
    items = {n: i for i, n in enumerate(spec.item_names)}
    if layout.with_index:
        lo, hi = scale_bounds(spec)
        with np.errstate(divide="ignore", invalid="ignore"):  # singular replicates: discarded below
            index = index_0_100(unstandardise(w, sd, opt["scaled"]), means, lo, hi, M)
    cols = []
    for lhs, op, rhs in zip(layout.lhs, layout.op, layout.rhs):
        if op == "~":
            cols.append(inner.B[:, names[lhs], names[rhs]])
        elif op == "=~":
            cols.append(inner.loadings[:, items[rhs]])
        elif op == "<~":
            cols.append(w[:, items[rhs]])
        elif op == "r2":
            cols.append(inner.r2[:, names[lhs]])
        elif op == "ind":
            cols.append(inner.total[:, names[lhs], names[rhs]] - inner.B[:, names[lhs], names[rhs]])
        elif op == "total":
            cols.append(inner.total[:, names[lhs], names[rhs]])
        elif op == "index":
            cols.append(index[:, names[lhs]])
        else:  # pragma: no cover - the layout only holds the ops above
            raise AssertionError(op)
    stats = np.stack(cols, axis=-1)
    if sign_change == "individual":
        flippable = np.isin(layout.op, ["~", "=~", "<~", "ind", "total"])
        differs = np.sign(stats) != np.sign(layout.original)
        stats = np.where(differs & flippable, -stats, stats)
    stats[~finite] = np.nan
    return stats, res.converged & finite
