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
from typing import Any

import numpy as np

from csi.core.moments import resample_moments
from csi.estimators import ESTIMATORS, estimator_of
from csi.estimators.cbsem_bootstrap import cbsem_paths_index, cbsem_replicates
from csi.resample.driver import run_plan
from csi.resample.plans import BLOCK, OrdinaryPlan
from csi.results.fit import FitResult

__all__ = ["RESAMPLABLE", "bootstrap_paths_index", "cbsem_replicates", "cbsem_statistics", "percentile_interval",
           "statistics"]  # fmt: skip

RESAMPLABLE = tuple(ESTIMATORS)
"""Methods whose paths and indices :func:`bootstrap_paths_index` can resample."""


def statistics(fit: FitResult, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Paths and indices of a stack of moment matrices, by ``fit``'s estimator and options.

    Parameters
    ----------
    fit
        The original fit (estimator, options, model).
    means, covs
        (B, p) item means and (B, p, p) covariances.

    Returns
    -------
    paths : (B, P) ndarray
        In ``fit.spec.paths`` order.
    index : (B, J) ndarray
        0-100 index of every construct (NaN when the model has items without scale).
    """
    return estimator_of(fit).paths_index(fit, means, covs)


def cbsem_statistics(fit: FitResult, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised paths (B, P), indices (B, J) and convergence (B,) of a CB-SEM fit's replicates."""
    return cbsem_paths_index(fit, means, covs)


class _PathsIndex:
    """Paths and indices of a plan's replicates side by side, for :func:`csi.resample.driver.run_plan`."""

    what = ""

    def __init__(self, fit: FitResult) -> None:
        self.fit = fit
        self.estimator = estimator_of(fit)
        self.n_paths = len(fit.spec.paths)
        self.width = self.n_paths + len(fit.spec.construct_names)

    def prepare(self, plan: Any) -> None:
        pass

    def evaluate(self, plan: Any, a: int, b: int, out: np.ndarray | None = None) -> tuple[Any, Any, None]:
        X, w = self.fit.data.X, self.fit.data.weights
        means, covs = resample_moments(X, plan.counts(a, b), w)
        sd = np.sqrt(np.diagonal(covs, axis1=-2, axis2=-1))
        bad = ~(sd > 0).all(axis=-1)
        if bad.any():
            covs = np.where(bad[:, None, None], np.eye(X.shape[1]), covs)  # placeholder, result discarded
        with np.errstate(invalid="ignore", divide="ignore"):
            p, i = self.estimator.paths_index(self.fit, means, covs)
        p[bad], i[bad] = np.nan, np.nan
        return np.concatenate([p, i], axis=1), ~bad, None


def bootstrap_paths_index(
    fit: FitResult, n_resamples: int, seed: int | np.random.SeedSequence
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap draws of paths (B, P) and indices (B, J) of ``fit``.

    Resamples with zero variance in an item give NaN rows (dropped by the
    percentile intervals).  Moments are computed in chunks that are multiples
    of the plan's seeded block, as :func:`csi.bootstrap` does.
    """
    statistic = _PathsIndex(fit)
    # Block-batched estimators (CB-SEM): csi.bootstrap's blocks, so the same batches; others: four blocks.
    chunk = BLOCK if statistic.estimator.capabilities.block_batches else 4 * BLOCK
    plan = OrdinaryPlan(fit.data.X.shape[0], n_resamples, seed)
    stats = run_plan(plan, statistic, chunk_size=chunk, failed=None).stats
    return stats[:, : statistic.n_paths], stats[:, statistic.n_paths :]


def percentile_interval(draws: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval (Efron & Tibshirani 1993, §13.3) of every column, ignoring NaN draws."""
    alpha = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN limits
        lo, hi = np.nanquantile(draws, [alpha, 1 - alpha], axis=0)
    return lo, hi
