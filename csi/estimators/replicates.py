"""The batched replicate statistic of the composite estimators (PLS, PLSc; paths and indices of all four).

:func:`replicate_statistics` is the function the bootstrap, the jackknife and
the fixed-index parity checks share: given replicate means and covariances it
re-runs the PLS kernels on the whole stack and gathers each row of
``FitResult.estimates`` (plus the 0-100 indices) into one (B, q) array, in the
same order and with the same labels.  :class:`CompositeStatistic` wraps it (and
the compiled fast path of :mod:`csi.core.fused`, and the nested bootstrap of
studentized intervals) as the statistic the resampling driver
(:mod:`csi.resample.driver`) runs over a plan; :func:`composite_paths_index` is
the Monte-Carlo benchmark's statistic (paths and indices only) for PLS, PLSc,
sum scores and PCA.

The :class:`StatisticLayout` is the one parameter table of a bootstrap: every
statistic's ``lhs, op, rhs`` and label (:data:`OPS`, :func:`parameter_label`),
and where the kernels' outputs hold it; nothing outside this module addresses
the kernels' outputs by offset.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from csi.core import fused
from csi.core.fused import SCHEME_CODES, STOP_CODES, FusedModel, fused_statistics, output_offsets
from csi.core.index import index_0_100, normalise_blocks, scale_bounds, unstandardise
from csi.core.moments import MomentBasis, counts_from_indices, cov_to_corr, moment_basis, moment_sums
from csi.core.pls import pls_inner, pls_weights
from csi.core.plsc import plsc
from csi.errors import EstimationError
from csi.estimators.missing import (
    imputed_replicate_moments,
    imputes_in_replicates,
    replicate_moments,
    resamples_missing,
)
from csi.results.fit import FitResult
from csi.spec.parameters import parameter_label

OPS = ("~", "=~", "<~", "r2", "ind", "total", "index")
"""Operators of the statistics of a composite fit: path, loading, outer weight, R², indirect and total
effect (the rows of ``FitResult.estimates``) and the 0-100 index."""

REPLICATE_OK, REPLICATE_NOT_CONVERGED, REPLICATE_INADMISSIBLE = 0, 1, 2
"""Status codes a replicate statistic may return instead of a convergence mask (the resampling driver's
``OK``, ``NOT_CONVERGED``, ``INADMISSIBLE``).  Inadmissible: converged to a solution outside the parameter
space (a Heywood case: a negative variance, a latent covariance matrix that is not positive definite;
Kolenikov & Bollen 2012)."""

SIGN_FLIPPABLE = ("~", "=~", "<~", "ind", "total")
"""Operators whose replicate values ``sign_change="individual"`` may flip."""

ENGINE_VARIABLE = "CSI_BOOTSTRAP_ENGINE"
"""Environment variable: ``numpy`` forces the NumPy reference kernels instead of the compiled one."""

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
    group: list[Any] | None = None
    """The group of every statistic of a multiple-group fit (None otherwise)."""

    def __post_init__(self) -> None:
        self.original.flags.writeable = False

    @classmethod
    def build(cls, lhs: list[str], op: list[str], rhs: list[str], original: Any, with_index: bool) -> StatisticLayout:
        """The layout of the given rows; labels from :func:`parameter_label`, ``original`` copied."""
        labels = [parameter_label(a, o, b) for a, o, b in zip(lhs, op, rhs, strict=True)]
        return cls(labels, list(lhs), list(op), list(rhs), with_index, np.array(original, dtype=float))

    @classmethod
    def of(cls, fit: FitResult) -> StatisticLayout:
        """Every row of ``fit.estimates`` (the fit's own copy, whatever a caller did to theirs) plus the
        0-100 index of every construct when every item has a scale."""
        est = fit.estimates
        lhs, op, rhs = list(est["lhs"]), list(est["op"]), list(est["rhs"])
        original = list(est["estimate"])
        bounds = _bounds(fit)
        if bounds is not None:
            names = list(fit.spec.construct_names)
            lhs, op, rhs = lhs + names, op + ["index"] * len(names), rhs + names
            original += list(fit_index(fit, bounds))
        return cls.build(lhs, op, rhs, original, bounds is not None)


def _bounds(fit: FitResult) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        return scale_bounds(fit.spec)
    except EstimationError:
        return None


def fit_index(fit: FitResult, bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The fit's 0-100 index of every construct (as :func:`csi.compute_index` with ``negative="force"``)."""
    M = fit.spec.block_mask
    u = unstandardise(fit.weights.to_numpy(), fit.item_sds.to_numpy(), bool(fit.options.get("scaled", True)))
    return index_0_100(normalise_blocks(u, M), fit.item_means.to_numpy(), *bounds, M)


def replicate_statistics(
    fit: FitResult, means: np.ndarray, covs: np.ndarray, layout: StatisticLayout, sign_change: str = "none",
    plsc_correction: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Statistics of every replicate (PLS, or PLSc when ``plsc``).

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
    plsc_correction
        Apply the PLSc correction (Dijkstra & Henseler 2015a); default: when the fit is a PLSc fit.

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
    if plsc_correction is None:
        plsc_correction = fit.capabilities.consistent
    if plsc_correction:
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
        flippable = np.isin(layout.op, SIGN_FLIPPABLE)
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
        flippable = np.isin(layout.op, SIGN_FLIPPABLE)
        differs = np.sign(stats) != np.sign(layout.original)
        np.negative(stats, out=stats, where=differs & flippable)
    return stats, conv & finite


def use_fused(fit: FitResult) -> bool:
    """Whether a bootstrap of ``fit`` runs the compiled kernel of :mod:`csi.core.fused`."""
    return (
        fit.capabilities.compiled_bootstrap
        and os.environ.get(ENGINE_VARIABLE, "").lower() != "numpy"
        and fused.available()
    )


INNER_KEY = 2**31
"""Spawn-key marker of the nested bootstrap's streams (the outer blocks use keys below 2**31)."""


def inner_rng(root: np.random.SeedSequence, replicate: int) -> np.random.Generator:
    """Generator of the nested bootstrap inside outer replicate ``replicate``.

    ``SeedSequence(root.entropy, spawn_key=root.spawn_key + (2**31, replicate))``
    with PCG64; its first call ``integers(0, n_draw, size=(M, n_draw))`` picks
    positions within the outer replicate's drawn rows.  Part of the seeding
    contract, like :data:`csi.resample.plans.BLOCK`.
    """
    ss = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, INNER_KEY, replicate))
    return np.random.Generator(np.random.PCG64(ss))


MI_KEY = 2**31 + 1
"""Spawn-key marker of the imputation streams of ``missing="mi"`` replicates."""


def mi_rng(root: np.random.SeedSequence, replicate: int) -> np.random.Generator:
    """Generator of the imputations inside bootstrap replicate ``replicate`` of a ``missing="mi"`` fit:
    ``SeedSequence(root.entropy, spawn_key=root.spawn_key + (2**31 + 1, replicate))`` with PCG64 (part of the
    seeding contract, like :func:`inner_rng`)."""
    ss = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, MI_KEY, replicate))
    return np.random.Generator(np.random.PCG64(ss))


def _nan_sd(values: np.ndarray) -> np.ndarray:
    """Column standard deviations (ddof 1) ignoring NaN rows; NaN where fewer than two values.

    Computed without :func:`numpy.nanstd`, whose warnings would need ``warnings.catch_warnings``, which is not
    thread-safe and this runs in worker threads.
    """
    ok = ~np.isnan(values)
    k = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, values, 0.0).sum(axis=0) / k
        dev = np.where(ok, values - mean, 0.0)
        return np.where(k > 1, np.sqrt((dev * dev).sum(axis=0) / (k - 1)), np.nan)


class CompositeStatistic:
    """The replicate statistic of a PLS or PLSc fit for :func:`csi.resample.driver.run_plan`.

    ``evaluate(plan, a, b, out)`` gives the statistics of replicates ``[a, b)`` of ``plan`` (every row of
    :class:`StatisticLayout`), their convergence, and, when ``inner_resamples`` is set, their standard errors
    from a nested bootstrap.  Frequency products are always taken over whole blocks of ``plan.block``
    replicates and then sliced: a matrix product's rows can differ in the last bit with the number of rows,
    so this keeps every replicate identical whatever the chunking.  Draw frequencies come from
    ``plan.stream_counts`` (compact integers replayed a replicate at a time for long data).

    The moments of a replicate are those of the fit's missing-data method
    (:func:`csi.estimators.missing.replicate_moments`): the weighted moments of the resampled rows, or, for
    ``em`` and ``pairwise`` fits of data with missing cells, the method re-run on the replicate's rows; such
    fits take the NumPy kernels, not the compiled fast path (which sums complete rows).
    """

    what = ""

    def __init__(self, fit: FitResult, *, sign_change: str = "none", inner_resamples: int | None = None) -> None:
        if sign_change not in SIGN_CHANGES:
            raise EstimationError(f"unknown sign_change {sign_change!r}; accepted: {', '.join(SIGN_CHANGES)}")
        self.fit = fit
        self.sign_change = sign_change
        self.inner_resamples = inner_resamples
        self.layout = StatisticLayout.of(fit)
        self.width = len(self.layout.labels)
        self.mi = imputes_in_replicates(fit)
        if self.mi:
            # Rubin's point estimate of every statistic, as each replicate's: the mean over the imputations
            # (for paths, loadings and weights the pooled fit's own; R², effects and indices of the pooled
            # tables differ from it at the 1e-3 level).
            parts = [StatisticLayout.of(f).original for f in fit.missing_report.imputations]
            self.layout = dataclasses.replace(self.layout, original=np.mean(parts, axis=0))
        if self.mi and inner_resamples:
            raise EstimationError(
                "a missing='mi' fit imputes afresh in every replicate; a nested bootstrap (studentized intervals) "
                "on top is not supported: use ci='percentile', 'basic', 'normal' or 'bc'"
            )
        if resamples_missing(fit) and not self.mi:
            replicate_moments(fit, np.zeros((0, fit.data.X.shape[0])))  # refuses a method it cannot resample
        self.fast = use_fused(fit) and not resamples_missing(fit)
        self.inner_root: np.random.SeedSequence | None = None
        self._basis: dict[int, MomentBasis] = {}
        if self.fast:
            self.model = fused_model(fit, self.layout, sign_change)
            self.gather = gather_columns(fit, self.layout)

    def prepare(self, plan: Any) -> None:
        """Per-plan set-up before any chunk runs (the exact moment basis of the fast path)."""
        if self.fast and plan.n_draw not in self._basis:
            self._basis[plan.n_draw] = moment_basis(self.fit.data.X, self.fit.data.weights, plan.n_draw)

    def _of_counts(self, F: np.ndarray, basis: MomentBasis | None) -> np.ndarray:
        """Statistics of a small batch of replicates given by their counts (one product, fixed shape)."""
        if basis is not None:
            G = moment_sums(basis, F.astype(basis.dtype) if basis.exact else F, float64=False)
            return fused_statistics_of(self.fit, G, basis, self.layout, self.sign_change, self.model, self.gather)[0]
        m, c, ok = replicate_moments(self.fit, F)
        stats = replicate_statistics(self.fit, m, c, self.layout, self.sign_change)[0]
        stats[~ok] = np.nan  # an inner replicate whose EM stopped at its cap is left out of the inner SD
        return stats

    def _inner_se(self, plan: Any, a: int, b: int, basis: MomentBasis | None) -> np.ndarray:
        """Standard errors of every statistic from a nested bootstrap of each replicate in [a, b)."""
        n = self.fit.data.X.shape[0]
        idx = plan.indices(a, b)
        out = np.empty((b - a, self.width))
        for r in range(a, b):
            rows = idx[r - a]
            pick = inner_rng(self.inner_root, r).integers(
                0, rows.size, size=(self.inner_resamples, rows.size), dtype=np.intp
            )
            out[r - a] = _nan_sd(self._of_counts(counts_from_indices(rows[pick], n), basis))
        return out

    def evaluate(
        self, plan: Any, a: int, b: int, out: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Statistics (b - a, q), convergence (b - a,) and nested standard errors (or None) of ``[a, b)``."""
        B, block = plan.n_resamples, plan.block
        first = a // block * block
        if self.fast:
            basis = self._basis[plan.n_draw]
            if basis.exact:
                # Exact integer sums do not depend on how the product is blocked (and stay exact in float32).
                G = moment_sums(basis, plan.stream_counts(a, b, basis.dtype), float64=False)
            else:
                parts = []
                for s in range(first, b, block):
                    e = min(s + block, B)
                    parts.append(moment_sums(basis, plan.stream_counts(s, e))[max(a, s) - s : min(b, e) - s])
                G = np.concatenate(parts)
            stats, conv = fused_statistics_of(
                self.fit, G, basis, self.layout, self.sign_change, self.model, self.gather, out
            )
        elif self.mi:
            basis = None
            stats, conv = self._imputed(plan, a, b)
        else:
            basis = None
            mparts = []
            for s in range(first, b, block):
                e = min(s + block, B)
                m, c, ok = replicate_moments(self.fit, plan.stream_counts(s, e))
                lo, hi = max(a, s) - s, min(b, e) - s
                mparts.append((m[lo:hi], c[lo:hi], ok[lo:hi]))
            means = np.concatenate([p[0] for p in mparts])
            covs = np.concatenate([p[1] for p in mparts])
            stats, conv = replicate_statistics(self.fit, means, covs, self.layout, self.sign_change)
            conv = conv & np.concatenate([p[2] for p in mparts])  # EM stopped at its step cap: not converged
        return stats, conv, (self._inner_se(plan, a, b, basis) if self.inner_resamples else None)

    def _imputed(self, plan: Any, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Replicates ``[a, b)`` of a ``missing="mi"`` fit: bootstrap, then impute (Schomaker & Heumann 2018,
        "Boot MI").  Replicate r's rows are imputed m times afresh from its own stream (:func:`mi_rng`), each
        imputation is fitted, and the replicate's statistic is their mean (Rubin's point estimate, as the
        fit's own); the percentiles of those means are the intervals."""
        idx = plan.indices(a, b)
        stats = np.empty((b - a, self.width))
        conv = np.empty(b - a, dtype=bool)
        for r in range(a, b):
            means, covs = imputed_replicate_moments(self.fit, idx[r - a], mi_rng(self.inner_root, r))
            s, c = replicate_statistics(self.fit, means, covs, self.layout, self.sign_change)
            stats[r - a] = s.mean(axis=0)
            conv[r - a] = bool(c.all())
        return stats, conv

    def jackknife(self) -> Any:
        """The statistic the leave-one-out replicates of BCa run: the NumPy kernels, in blocks of 512."""
        return _JackknifeStatistic(self)


class _JackknifeStatistic:
    """Leave-one-out replicates through the NumPy moment path and the fit's missing-data method (the BCa
    acceleration's jackknife)."""

    what = ""

    def __init__(self, parent: CompositeStatistic) -> None:
        self.parent = parent
        self.width = parent.width

    def prepare(self, plan: Any) -> None:
        pass

    def evaluate(self, plan: Any, a: int, b: int, out: np.ndarray | None = None) -> tuple[Any, Any, None]:
        p = self.parent
        means, covs, ok = replicate_moments(p.fit, plan.counts(a, b))
        stats, conv = replicate_statistics(p.fit, means, covs, p.layout, p.sign_change)
        return stats, conv & ok, None


def composite_statistic(fit: FitResult, *, sign_change: str = "none", inner_resamples: int | None = None) -> Any:
    """The :class:`CompositeStatistic` of a PLS or PLSc fit."""
    return CompositeStatistic(fit, sign_change=sign_change, inner_resamples=inner_resamples)


def composite_paths_index(
    fit: FitResult, means: np.ndarray, covs: np.ndarray, raw: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Paths (B, P) in ``spec.paths`` order and indices (B, J) of a PLS, PLSc or fixed-weight fit's replicates.

    PLS and PLSc re-run :func:`csi.core.pls.pls_weights` with the fit's options (PLSc then
    :func:`csi.core.plsc.plsc`); the fixed-weight rules (``raw``: the raw-metric sum-score weights, or None
    for the first principal component) re-run :func:`csi.estimators.fixed.fixed_weights`.  Indices are NaN
    when an item has no scale.
    """
    from csi.estimators.fixed import FixedWeights, fixed_weights

    spec, opt = fit.spec, fit.options
    M, D = spec.block_mask, spec.adjacency
    corr, sd = cov_to_corr(covs)
    scaled = bool(opt.get("scaled", True))
    S = corr if scaled else covs
    if isinstance(fit.estimator, FixedWeights):
        w = fixed_weights(S, corr, sd, raw, M, scaled)
    else:
        mode_b = np.array([m == "B" for m in spec.modes])
        w = pls_weights(
            S, M, D, mode_b, opt["scheme"],
            tol=opt["tol"], max_iter=opt["max_iter"], stop=opt["stop"], sign_rule=opt["sign_rule"], n_obs=fit.n,
        ).w  # fmt: skip
    inner = pls_inner(S, w, M, D)
    Bmat = inner.B
    if fit.capabilities.consistent:
        mode_a = np.array([m == "A" for m in spec.modes])
        Bmat = plsc(S, w, M, D, mode_a, inner.loadings, inner.cross, inner.R).B
    names = {c: j for j, c in enumerate(spec.construct_names)}
    paths = np.stack([Bmat[..., names[p.target], names[p.source]] for p in spec.paths], axis=-1)
    bounds = _bounds(fit)
    if bounds is None:
        return paths, np.full(means.shape[:-1] + (len(names),), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        index = index_0_100(unstandardise(w, sd, scaled), means, *bounds, M)
    return paths, index
