"""Batched bootstrap of path coefficients and 0-100 indices for every composite-based estimator.

:func:`csi.bootstrap` resamples PLS fits only.  The Monte-Carlo study needs
intervals for PLS, PLSc, sum scores and PCA alike, so this module recomputes
just the quantities the study scores (paths and indices) from a stack of
resampled moment matrices with each estimator's own kernel:

* ``pls``: :func:`csi.core.pls.pls_weights` with the fit's options, then
  :func:`csi.core.pls.pls_inner` (the same kernels as :func:`csi.bootstrap`,
  whose draws it reproduces, see the tests);
* ``plsc``: the same weights, then :func:`csi.core.plsc.plsc` (inadmissible
  replicates are kept; NaN values are ignored by the percentiles);
* ``sumscore``, ``pca``: :func:`csi.estimators.fixed.fixed_weights`
  then ``pls_inner``;
* ``cbsem``: the warm-started Fisher scoring of :func:`csi.bootstrap`'s CB-SEM
  kernel (:mod:`csi.estimators.cbsem_bootstrap`), run on the same 64-replicate
  blocks from the fit's ML estimates, so every replicate is the same ML
  solution :func:`csi.bootstrap` finds (see the tests).  The study scores the
  *standardised* paths (``fit.paths``, lavaan's ``std.all``, on the scale of
  :func:`csi.simulate`'s true paths), which :func:`csi.bootstrap` does not
  report, so each replicate's std.all paths are computed here from its
  parameter vector with the fit's own table layout
  (:meth:`csi.estimators.cbsem_table.TableLayout.values`); its index uses the
  fit's per-block factor-score weights (:func:`csi.estimators.cbsem.block_weights`).
  Bootstrapping was preferred to a delta-method SE of std.all: the CB-SEM code
  exposes SEs of the free parameters only, a percentile interval needs no
  normality, and the warm-started kernel costs a few Fisher steps per
  replicate.  Replicates that do not converge are dropped (NaN), as
  :func:`csi.bootstrap`'s default ``failed="drop"`` does.

Rows are drawn by :class:`csi.resample.plans.OrdinaryPlan`, so one seed gives
the same resamples whatever the method (common random numbers) and whatever
the worker count.
"""

from __future__ import annotations

import warnings

import numpy as np

from csi.core.index import index_0_100, unstandardise
from csi.core.moments import cov_to_corr, resample_moments
from csi.core.pls import pls_inner, pls_weights
from csi.core.plsc import plsc
from csi.errors import EstimationError
from csi.estimators.cbsem import block_weights
from csi.estimators.cbsem_kernel import ScoringResult, fisher_scoring, observed_hessian
from csi.estimators.fixed import equal_raw_weights, fixed_weights
from csi.index.compute import scale_bounds
from csi.resample.plans import BLOCK, OrdinaryPlan
from csi.results.fit import FitResult

RESAMPLABLE = ("pls", "plsc", "sumscore", "pca", "cbsem")
"""Methods whose paths and indices :func:`bootstrap_paths_index` can resample."""


def statistics(fit: FitResult, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Paths and indices of a stack of moment matrices, by ``fit``'s method and options.

    Parameters
    ----------
    fit
        The original fit (method, options, model).
    means, covs
        (B, p) item means and (B, p, p) covariances.

    Returns
    -------
    paths : (B, P) ndarray
        In ``fit.spec.paths`` order.
    index : (B, J) ndarray
        0-100 index of every construct (NaN when the model has items without scale).
    """
    spec, opt, method = fit.spec, fit.options, fit.method
    if method not in RESAMPLABLE:
        raise EstimationError(f"cannot resample method {method!r}; accepted: {', '.join(RESAMPLABLE)}")
    if method == "cbsem":
        return cbsem_statistics(fit, means, covs)[:2]
    M, D = spec.block_mask, spec.adjacency
    corr, sd = cov_to_corr(covs)
    scaled = bool(opt.get("scaled", True))
    S = corr if scaled else covs
    if method in ("pls", "plsc"):
        mode_b = np.array([m == "B" for m in spec.modes])
        w = pls_weights(
            S, M, D, mode_b, opt["scheme"],
            tol=opt["tol"], max_iter=opt["max_iter"], stop=opt["stop"], sign_rule=opt["sign_rule"], n_obs=fit.n,
        ).w  # fmt: skip
    else:
        raw = equal_raw_weights(spec) if method == "sumscore" else None
        w = fixed_weights(S, corr, sd, raw, M, scaled)
    inner = pls_inner(S, w, M, D)
    Bmat = inner.B
    if method == "plsc":
        mode_a = np.array([m == "A" for m in spec.modes])
        Bmat = plsc(S, w, M, D, mode_a, inner.loadings, inner.cross, inner.R).B
    names = {c: j for j, c in enumerate(spec.construct_names)}
    paths = np.stack([Bmat[..., names[p.target], names[p.source]] for p in spec.paths], axis=-1)
    try:
        lo, hi = scale_bounds(spec)
    except EstimationError:
        return paths, np.full(means.shape[:-1] + (len(names),), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        index = index_0_100(unstandardise(w, sd, scaled), means, lo, hi, M)
    return paths, index


def cbsem_replicates(fit: FitResult, covs: np.ndarray) -> ScoringResult:
    """ML re-estimates of a CB-SEM fit for a stack of (B, p, p) covariances, warm-started at its estimates.

    The same call as the CB-SEM bootstrap's (:mod:`csi.estimators.cbsem_bootstrap`):
    Fisher scoring from ``fit``'s parameter vector with its ``tol`` and ``max_iter``.
    """
    state = fit.cbsem_state
    if fit.method != "cbsem" or state is None:
        raise EstimationError(f"cbsem_replicates needs a method='cbsem' fit, got {fit.method!r}")
    if fit.options.get("obj") != "MLW":
        raise EstimationError(
            f"the CB-SEM resampling kernel re-estimates by ML; the fit used obj={fit.options.get('obj')!r}"
        )
    return fisher_scoring(
        state.theta, covs, state.structure, tol=float(fit.options["tol"]), max_iter=int(fit.options["max_iter"]),
        hessian0=observed_hessian(state.theta, fit.moments, state.structure)[3],
    )  # fmt: skip


def cbsem_statistics(fit: FitResult, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised paths (B, P), indices (B, J) and convergence (B,) of a CB-SEM fit's replicates.

    Paths are lavaan's ``std.all`` of the ``~`` rows (``fit.paths``), in
    ``fit.spec.paths`` order; non-converged replicates are NaN.
    """
    spec = fit.spec
    res = cbsem_replicates(fit, covs)
    state = fit.cbsem_state
    assert state is not None
    layout, st = state.layout, state.structure
    _, std = layout.values(res.theta, st)
    row = {(a, b): r for r, (a, o, b) in enumerate(zip(layout.lhs, layout.op, layout.rhs, strict=True)) if o == "~"}
    paths = std[:, [row[(p.target, p.source)] for p in spec.paths]]
    corr, sd = cov_to_corr(covs)
    try:
        lo, hi = scale_bounds(spec)
    except EstimationError:
        index = np.full(means.shape[:-1] + (len(spec.construct_names),), np.nan)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            w = block_weights(res.theta, st, spec, sd, corr)
            index = index_0_100(w / sd, means, lo, hi, spec.block_mask)
    paths[~res.converged], index[~res.converged] = np.nan, np.nan
    return paths, index, res.converged


def bootstrap_paths_index(
    fit: FitResult, n_resamples: int, seed: int | np.random.SeedSequence
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap draws of paths (B, P) and indices (B, J) of ``fit``.

    Resamples with zero variance in an item give NaN rows (dropped by the
    percentile intervals).  Moments are computed in chunks that are multiples
    of the plan's seeded block, as :func:`csi.bootstrap` does.
    """
    chunk = BLOCK if fit.method == "cbsem" else 4 * BLOCK  # cbsem: csi.bootstrap's blocks, same Fisher batches
    data = fit.data
    X, w = data.X, data.weights
    plan = OrdinaryPlan(X.shape[0], n_resamples, seed)
    paths, index = [], []
    for a in range(0, n_resamples, chunk):
        b = min(a + chunk, n_resamples)
        means, covs = resample_moments(X, plan.counts(a, b), w)
        sd = np.sqrt(np.diagonal(covs, axis1=-2, axis2=-1))
        bad = ~(sd > 0).all(axis=-1)
        if bad.any():
            covs = np.where(bad[:, None, None], np.eye(X.shape[1]), covs)  # placeholder, result discarded
        with np.errstate(invalid="ignore", divide="ignore"):
            p, i = statistics(fit, means, covs)
        p[bad], i[bad] = np.nan, np.nan
        paths.append(p)
        index.append(i)
    return np.concatenate(paths), np.concatenate(index)


def percentile_interval(draws: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval (Efron & Tibshirani 1993, §13.3) of every column, ignoring NaN draws."""
    alpha = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN limits
        lo, hi = np.nanquantile(draws, [alpha, 1 - alpha], axis=0)
    return lo, hi
