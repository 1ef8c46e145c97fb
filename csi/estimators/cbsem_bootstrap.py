"""The batched replicate statistic of a CB-SEM (ML) fit: warm-started Fisher scoring on resampled moments.

A naive bootstrap builds and fits a fresh semopy model for every resample (a
parse, start values and an SLSQP run from scratch).  Here each resample is a
frequency vector of the seeded plans of :mod:`csi.resample.plans`; a block's
weighted covariance matrices come from one product
(:func:`csi.core.moments.resample_moments`) and the ML discrepancy is then
minimised for all of them by Newton and Fisher-scoring steps
(:func:`csi.estimators.cbsem_kernel.fisher_scoring`) started from the original
estimates and their exact Hessian, which near the optimum converge in a few steps
(each replicate's whole loop in one call of the numba kernel of
:mod:`csi.estimators.cbsem_compiled` unless ``CSI_BOOTSTRAP_ENGINE=numpy``, which
runs the same steps batch-wide in NumPy).  The resampling
driver (:mod:`csi.resample.driver`) runs :class:`CBSEMStatistic` over blocks
of the plan in worker processes; a block's result does not depend on which
worker ran it, so a seed gives byte-identical draws for any ``n_jobs``.

Each replicate reports every row of the fit's parameter table (unstandardised
``estimate``: the quantity lavaan's ``se = "bootstrap"`` resamples) and, when
every item's scale is known, the 0-100 index of every construct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from csi.core.index import index_0_100
from csi.core.moments import cov_to_corr, resample_moments
from csi.errors import EstimationError
from csi.estimators.cbsem import block_weights
from csi.estimators.cbsem_compiled import available as compiled_available
from csi.estimators.cbsem_kernel import PSI, THETA, ScoringResult, Structure, fisher_scoring, implied, observed_hessian
from csi.estimators.cbsem_table import TableLayout
from csi.estimators.replicates import (
    REPLICATE_INADMISSIBLE,
    REPLICATE_NOT_CONVERGED,
    REPLICATE_OK,
    StatisticLayout,
    _bounds,
    fit_index,
)
from csi.results.fit import FitResult
from csi.spec.model import ModelSpec


@dataclass(frozen=True)
class _Task:
    """Everything a worker needs; pickled once per worker."""

    X: np.ndarray
    weights: np.ndarray | None
    spec: ModelSpec
    structure: Structure
    theta: np.ndarray
    layout: TableLayout
    bounds: tuple[np.ndarray, np.ndarray] | None
    tol: float
    max_iter: int
    hessian0: np.ndarray

    def statistics(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, q) statistics and (B,) status codes (:func:`replicate_status`) of the resamples with draw
        frequencies ``counts (B, n)``."""
        means, covs = resample_moments(self.X, counts, self.weights)
        corr, sd = cov_to_corr(covs)
        finite = np.all(np.isfinite(covs), axis=(-2, -1)) & np.all(sd > 0, axis=-1)
        covs = np.where(finite[:, None, None], covs, np.eye(covs.shape[-1]))  # placeholder, discarded below
        res = fisher_scoring(
            self.theta, covs, self.structure, tol=self.tol, max_iter=self.max_iter, hessian0=self.hessian0,
            compiled=compiled_available(),
        )
        est, _ = self.layout.values(res.theta, self.structure)
        cols = [est]
        if self.bounds is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                w = block_weights(res.theta, self.structure, self.spec, sd, corr)
                cols.append(index_0_100(w / sd, means, *self.bounds, self.spec.block_mask))
        stats = np.concatenate(cols, axis=-1)
        stats[~finite] = np.nan
        return stats, replicate_status(res.theta, res.converged & finite, self.structure)


class CBSEMStatistic:
    """The replicate statistic of a CB-SEM fit for :func:`csi.resample.driver.run_plan` (picklable): runs a
    task's ``statistics(counts) -> (stats, status)`` (complete-data ML here, FIML or multiple groups in
    :mod:`csi.estimators.cbsem_fiml_bootstrap` and :mod:`csi.estimators.cbsem_groups_bootstrap`).

    One Fisher-scoring batch is one chunk, so chunks must be the plan's blocks (a replicate's iterations end
    when its whole batch has converged): the estimator declares ``block_batches``.
    """

    what = "CB-SEM"

    def __init__(self, task: Any, layout: StatisticLayout) -> None:
        self.task = task
        self.layout = layout
        self.width = len(layout.labels)

    def prepare(self, plan: Any) -> None:
        pass

    def evaluate(self, plan: Any, a: int, b: int, out: np.ndarray | None = None) -> tuple[Any, Any, None]:
        stats, conv = self.task.statistics(plan.counts(a, b))
        return stats, conv, None

    def jackknife(self) -> CBSEMStatistic:
        """Leave-one-out replicates run the same warm-started statistic (BCa acceleration)."""
        return self


def cbsem_statistic(fit: FitResult, *, sign_change: str = "none", inner_resamples: int | None = None) -> CBSEMStatistic:
    """The :class:`CBSEMStatistic` of a CB-SEM fit; only ML fits, without sign change or nested bootstrap.
    A ``missing="fiml"`` fit is refitted by FIML in every replicate (:mod:`csi.estimators.cbsem_fiml_bootstrap`)."""
    _check_ml_fit(fit, "the CB-SEM bootstrap")
    check_cbsem_options(sign_change, inner_resamples)
    if fit.options.get("missing") == "fiml":
        from csi.estimators.cbsem_fiml_bootstrap import fiml_statistic

        return fiml_statistic(fit)
    return CBSEMStatistic(*_task(fit))


def check_cbsem_options(sign_change: str, inner_resamples: int | None) -> None:
    """Refuse the PLS-only bootstrap options for a CB-SEM fit."""
    if sign_change != "none":
        raise EstimationError(
            f"sign_change={sign_change!r} is a PLS correction; CB-SEM factors are oriented by their marker "
            "loadings, so only 'none' is accepted"
        )
    if inner_resamples is not None:
        raise EstimationError("the CB-SEM bootstrap has no nested bootstrap (studentized intervals); use PLS")


def admissible(theta: np.ndarray, st: Structure) -> np.ndarray:
    """Per replicate (...,): no free variance below zero and a positive definite latent covariance matrix
    (the Heywood checks of a single fit, Kolenikov & Bollen 2012, batched)."""
    diag = ((st.matrix == PSI) | (st.matrix == THETA)) & (st.row == st.col)
    ok = np.all(theta[..., st.param[diag]] >= 0, axis=-1)
    with np.errstate(invalid="ignore", over="ignore"):
        Phi = implied(theta, st)[1]
        finite = np.all(np.isfinite(Phi), axis=(-2, -1))
        eig = np.linalg.eigvalsh(np.where(finite[..., None, None], Phi, np.eye(st.m)))[..., 0]
    return ok & finite & (eig > 0)


def replicate_status(theta: np.ndarray, converged: np.ndarray, st: Structure) -> np.ndarray:
    """The driver's status code of every replicate: not converged, else inadmissible (:func:`admissible`),
    else OK (:data:`csi.estimators.replicates.REPLICATE_OK` and siblings)."""
    ok = admissible(theta, st)
    code = np.where(ok, REPLICATE_OK, REPLICATE_INADMISSIBLE)
    return np.where(~converged, REPLICATE_NOT_CONVERGED, code).astype(np.int8)


def _check_ml_fit(fit: FitResult, what: str) -> Any:
    """The CB-SEM state of an ML fit; anything else is rejected naming ``what`` needs it."""
    state = fit.cbsem_state
    if state is None:
        raise EstimationError(f"{what} needs a method='cbsem' fit, got {fit.method!r}")
    if fit.options.get("obj") != "MLW":
        raise EstimationError(
            f"{what} re-estimates by maximum likelihood; the fit used obj={fit.options.get('obj')!r}. "
            "Refit with obj='MLW'"
        )
    return state


def _task(fit: FitResult) -> tuple[_Task, StatisticLayout]:
    state = fit.cbsem_state
    layout = state.layout
    bounds = _bounds(fit)
    task = _Task(
        fit.data.X, fit.data.weights, fit.spec, state.structure, state.theta, layout, bounds,
        float(fit.options["tol"]), int(fit.options["max_iter"]),
        # The exact Hessian of the full-sample fit: every replicate starts with it as its Newton metric.
        observed_hessian(state.theta, fit.moments, state.structure)[3],
    )  # fmt: skip
    lhs, op, rhs = list(layout.lhs), list(layout.op), list(layout.rhs)
    original = list(fit.parameter_table["estimate"])
    if bounds is not None:
        names = list(fit.spec.construct_names)
        lhs, op, rhs = lhs + names, op + ["index"] * len(names), rhs + names
        original += list(fit_index(fit, bounds))
    return task, StatisticLayout.build(lhs, op, rhs, original, bounds is not None)


def cbsem_replicates(fit: FitResult, covs: np.ndarray) -> ScoringResult:
    """ML re-estimates of a CB-SEM fit for a stack of (B, p, p) covariances, warm-started at its estimates.

    The same call as the CB-SEM bootstrap's: Fisher scoring from ``fit``'s parameter vector with its ``tol``
    and ``max_iter``.
    """
    state = _check_ml_fit(fit, "cbsem_replicates")
    return fisher_scoring(
        state.theta, covs, state.structure, tol=float(fit.options["tol"]), max_iter=int(fit.options["max_iter"]),
        hessian0=observed_hessian(state.theta, fit.moments, state.structure)[3], compiled=compiled_available(),
    )  # fmt: skip


def cbsem_paths_index(fit: FitResult, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised paths (B, P), indices (B, J) and convergence (B,) of a CB-SEM fit's replicates.

    Paths are lavaan's ``std.all`` of the ``~`` rows (``fit.paths``), in ``fit.spec.paths`` order; non-converged
    replicates are NaN.
    """
    spec = fit.spec
    res = cbsem_replicates(fit, covs)
    state = fit.cbsem_state
    layout, st = state.layout, state.structure
    _, std = layout.values(res.theta, st)
    row = {(a, b): r for r, (a, o, b) in enumerate(zip(layout.lhs, layout.op, layout.rhs, strict=True)) if o == "~"}
    paths = std[:, [row[(p.target, p.source)] for p in spec.paths]]
    corr, sd = cov_to_corr(covs)
    bounds = _bounds(fit)
    if bounds is None:
        index = np.full(means.shape[:-1] + (len(spec.construct_names),), np.nan)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            w = block_weights(res.theta, st, spec, sd, corr)
            index = index_0_100(w / sd, means, *bounds, spec.block_mask)
    paths[~res.converged], index[~res.converged] = np.nan, np.nan
    return paths, index, res.converged
