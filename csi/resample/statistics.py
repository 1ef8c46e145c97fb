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

from csi.core.fused import SCHEME_CODES, STOP_CODES, FusedModel, fused_statistics, output_offsets
from csi.core.index import index_0_100, unstandardise
from csi.core.moments import MomentBasis, cov_to_corr
from csi.core.pls import pls_inner, pls_weights
from csi.core.plsc import plsc
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
    """Statistics of every replicate (PLS, or PLSc when ``fit.method == "plsc"``).

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
    if fit.method == "plsc":
        # PLSc keeps the PLS weights (and so the indices) and corrects loadings and paths
        # (Dijkstra & Henseler 2015a); an inadmissible replicate keeps its NaNs, as in a single fit.
        mode_a = np.array([m == "A" for m in spec.modes])
        with np.errstate(invalid="ignore", divide="ignore"):
            pc = plsc(S, w, M, D, mode_a, inner.loadings, inner.cross, inner.R)
        inner = inner._replace(B=pc.B, r2=pc.r2, loadings=pc.loadings, total=pc.total)

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


def fused_model(fit: FitResult, layout: StatisticLayout, sign_change: str = "none") -> FusedModel:
    """The fit's structure and options as arrays for :mod:`csi.core.fused`."""
    spec, opt = fit.spec, fit.options
    M = spec.block_mask
    block = np.asarray(spec.block_index, dtype=np.int64)
    p, J = M.shape
    q = np.argsort(block, kind="stable").astype(np.int64)  # block order: every block a contiguous range
    bstart = np.concatenate([[0], np.cumsum(M.sum(axis=0))]).astype(np.int64)
    rows, cols = np.triu_indices(p)
    pos = np.empty((p, p), dtype=np.int64)
    pos[rows, cols] = np.arange(rows.size)
    pos[cols, rows] = pos[rows, cols]
    D = np.asarray(spec.adjacency, dtype=np.int64)
    topo: list[int] = []
    while len(topo) < J:  # the spec guarantees an acyclic model
        topo += [j for j in range(J) if j not in topo and all(k in topo for k in np.flatnonzero(D[j]))]
    if layout.with_index:
        lo, hi = (np.broadcast_to(np.asarray(b, dtype=np.float64), (p,)) for b in scale_bounds(spec))
    else:
        lo = hi = np.zeros(p)
    return FusedModel(
        q=q, bstart=bstart, block=block[q], D=D,
        pred=np.concatenate([np.flatnonzero(D[j]) for j in range(J)]).astype(np.int64),
        pstart=np.concatenate([[0], np.cumsum(D.sum(axis=1))]).astype(np.int64),
        nbr=np.concatenate([np.flatnonzero(D[j] + D[:, j]) for j in range(J)]).astype(np.int64),
        nstart=np.concatenate([[0], np.cumsum((D + D.T > 0).sum(axis=1))]).astype(np.int64), cneed=_needed(D),
        topo=np.asarray(topo, dtype=np.int64),
        mode_b=np.array([m == "B" for m in spec.modes]), pos=np.ascontiguousarray(pos[np.ix_(q, q)]),
        scheme=SCHEME_CODES[opt["scheme"]], scaled=bool(opt["scaled"]), tol=float(opt["tol"]),
        max_iter=int(opt["max_iter"]), stop=STOP_CODES[opt["stop"]],
        raw_factor=(fit.n - 1) / fit.n if opt["stop"] == "plspm" else 1.0,
        majority=opt["sign_rule"] == "majority", construct_flip=sign_change == "construct",
        lam0=np.ascontiguousarray(fit.loadings.to_numpy()[q], dtype=np.float64), with_index=layout.with_index,
        lo=np.ascontiguousarray(lo[q]), hi=np.ascontiguousarray(hi[q]),
    )  # fmt: skip


def _needed(D: np.ndarray) -> np.ndarray:
    """Composite correlations the kernel reads: ``C[k, j]`` of neighbours, and of every regression of a
    construct on its predecessors (among the predecessors, and with the construct)."""
    need = (D + D.T) > 0
    for j in range(D.shape[0]):
        pred = np.flatnonzero(D[j])
        need[np.ix_(pred, pred)] = True
        need[pred, j] = True
    return need


def gather_columns(fit: FitResult, layout: StatisticLayout) -> tuple[np.ndarray, np.ndarray]:
    """Column of the fused kernel's output row for every statistic (and one to subtract, or -1)."""
    spec = fit.spec
    p, J = spec.block_mask.shape
    off = output_offsets(p, J)
    names = {n: i for i, n in enumerate(spec.construct_names)}
    items = {n: i for i, n in enumerate(spec.item_names)}
    take, minus = [], []
    for lhs, op, rhs in zip(layout.lhs, layout.op, layout.rhs):
        sub = -1
        if op == "~":
            col = off["B"] + names[lhs] * J + names[rhs]
        elif op == "=~":
            col = off["loadings"] + items[rhs]
        elif op == "<~":
            col = off["w"] + items[rhs]
        elif op == "r2":
            col = off["r2"] + names[lhs]
        elif op in ("ind", "total"):
            col = off["total"] + names[lhs] * J + names[rhs]
            if op == "ind":
                sub = off["B"] + names[lhs] * J + names[rhs]
        elif op == "index":
            col = off["index"] + names[lhs]
        else:  # pragma: no cover - the layout only holds the ops above
            raise AssertionError(op)
        take.append(col)
        minus.append(sub)
    return np.asarray(take, dtype=np.int64), np.asarray(minus, dtype=np.int64)


def fused_statistics_of(
    fit: FitResult, G: np.ndarray, basis: MomentBasis, layout: StatisticLayout, sign_change: str = "none",
    mdl: FusedModel | None = None, gather: tuple[np.ndarray, np.ndarray] | None = None, out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """:func:`replicate_statistics` from moment sums, through the compiled kernel of :mod:`csi.core.fused`.

    Parameters
    ----------
    G
        (B, 1 + p + T) moment sums ``F R`` of the replicates
        (:func:`csi.core.moments.moment_sums` with ``basis``).

    mdl, gather
        :func:`fused_model` and :func:`gather_columns` of the fit, when already made.
    out
        Optional (B, q) float64 array the statistics are written into (and returned).

    Returns
    -------
    stats, converged
        As :func:`replicate_statistics`.
    """
    if mdl is None:
        mdl = fused_model(fit, layout, sign_change)
    take, minus = gather_columns(fit, layout) if gather is None else gather
    # The kernel picks (and differences) the labelled columns itself, row by row.
    stats, conv, finite, _ = fused_statistics(G, basis.exact, basis.origin, mdl, take, minus, out)
    if sign_change == "individual":
        flippable = np.isin(layout.op, ["~", "=~", "<~", "ind", "total"])
        differs = np.sign(stats) != np.sign(layout.original)
        np.negative(stats, out=stats, where=differs & flippable)
    return stats, conv & finite
