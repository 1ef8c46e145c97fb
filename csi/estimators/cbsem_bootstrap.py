"""Nonparametric bootstrap of a CB-SEM (ML) fit: batched, warm-started, seeded, parallel.

A naive bootstrap builds and fits a fresh semopy model for every resample (a
parse, start values and an SLSQP run from scratch).  Here each resample is a
frequency vector of the same seeded plans as the PLS bootstrap
(:mod:`csi.resample.plans`: blocks of 64 replicates, one ``SeedSequence`` child
per block); a block's 64 weighted covariance matrices come from one product
(:func:`csi.core.moments.resample_moments`) and the ML discrepancy is then
minimised for all 64 at once by Fisher scoring
(:func:`csi.estimators.cbsem_kernel.fisher_scoring`) started from the original
estimates, which near the optimum converges in a few steps.  Blocks are
spread over worker processes; a block's result does not depend on which
worker ran it, so a seed gives byte-identical draws for any ``n_jobs``.

Each replicate reports every row of the fit's parameter table (unstandardised
``estimate``: the quantity lavaan's ``se = "bootstrap"`` resamples) and, when
every item's scale is known, the 0-100 index of every construct.
"""

from __future__ import annotations

import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from csi.core.index import index_0_100
from csi.core.moments import cov_to_corr, resample_moments
from csi.errors import AdmissibilityWarning, EstimationError
from csi.estimators.cbsem import block_weights
from csi.estimators.cbsem_kernel import PSI, THETA, Structure, fisher_scoring, implied, observed_hessian
from csi.estimators.cbsem_table import TableLayout
from csi.index.compute import compute_index, scale_bounds
from csi.resample.plans import BLOCK, FixedPlan, OrdinaryPlan, ResamplingPlan, StratifiedPlan
from csi.resample.result import BootstrapResult
from csi.resample.run import apply_failure_policy
from csi.resample.statistics import StatisticLayout
from csi.results.fit import FitResult
from csi.spec.model import ModelSpec

FAILURE_POLICIES = ("drop", "keep", "raise")


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

    def statistics(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(B, q) statistics, (B,) convergence and (B,) admissibility of the resamples with draw frequencies
        ``counts (B, n)``."""
        means, covs = resample_moments(self.X, counts, self.weights)
        corr, sd = cov_to_corr(covs)
        finite = np.all(np.isfinite(covs), axis=(-2, -1)) & np.all(sd > 0, axis=-1)
        covs = np.where(finite[:, None, None], covs, np.eye(covs.shape[-1]))  # placeholder, discarded below
        res = fisher_scoring(
            self.theta, covs, self.structure, tol=self.tol, max_iter=self.max_iter, hessian0=self.hessian0
        )
        est, _ = self.layout.values(res.theta, self.structure)
        cols = [est]
        if self.bounds is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                w = block_weights(res.theta, self.structure, self.spec, sd, corr)
                cols.append(index_0_100(w / sd, means, *self.bounds, self.spec.block_mask))
        stats = np.concatenate(cols, axis=-1)
        stats[~finite] = np.nan
        return stats, res.converged & finite, admissible(res.theta, self.structure)


_TASK: _Task | None = None


def _init(task: _Task) -> None:
    global _TASK
    _TASK = task


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


def _run_block(args: tuple[ResamplingPlan, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    plan, s, e = args
    assert _TASK is not None
    return _TASK.statistics(plan.counts(s, e))


def _task(fit: FitResult) -> tuple[_Task, StatisticLayout]:
    state = fit.cbsem_state
    layout = state.layout
    try:
        bounds = scale_bounds(fit.spec)
    except EstimationError:
        bounds = None
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
        original += list(compute_index(fit, negative="force"))
    labels = [f"{a} {o} {b}" for a, o, b in zip(lhs, op, rhs, strict=True)]
    return task, StatisticLayout(labels, lhs, op, rhs, bounds is not None, np.asarray(original))


def bootstrap_cbsem(
    fit: FitResult,
    n_resamples: int = 5000,
    seed: Any = None,
    *,
    indices: Any = None,
    strata: Any = None,
    ci: str = "percentile",
    level: float = 0.95,
    sign_change: str = "none",
    failed: str = "drop",
    chunk_size: int | None = None,
    n_jobs: int | None = None,
    progress: bool | None = None,
) -> BootstrapResult:
    """Bootstrap a CB-SEM fit; the arguments are those of :func:`csi.resample.run.bootstrap`.

    ``sign_change`` must be ``"none"`` (factor signs are fixed by the marker
    loadings) and ``chunk_size`` is ignored (work goes in blocks of
    :data:`~csi.resample.plans.BLOCK` replicates).  ``n_jobs`` worker
    processes (default: all cores; 1 runs in this process).  Replicates whose
    Fisher scoring hits ``max_iter`` follow ``failed``; replicates with a
    constant item are dropped and counted as singular.
    """
    from csi.resample.options import check_memory, check_strata, check_workers
    from csi.resample.run import _strata_labels

    if fit.method != "cbsem" or fit.cbsem_state is None:
        raise EstimationError(f"bootstrap_cbsem needs a method='cbsem' fit, got {fit.method!r}")
    if fit.options.get("missing") == "fiml":
        raise EstimationError(
            "the CB-SEM bootstrap resamples complete-data moments; a missing='fiml' fit cannot be bootstrapped yet "
            "(use its observed-information standard errors, or refit with missing='listwise')"
        )
    if fit.options.get("obj") != "MLW":
        raise EstimationError(
            f"the CB-SEM bootstrap re-estimates by maximum likelihood; the fit used obj={fit.options.get('obj')!r}. "
            "Refit with obj='MLW'"
        )
    if sign_change != "none":
        raise EstimationError(
            f"sign_change={sign_change!r} is a PLS correction; CB-SEM factors are oriented by their marker "
            "loadings, so only 'none' is accepted"
        )
    if failed not in FAILURE_POLICIES:
        raise EstimationError(f"unknown failed-replicate policy {failed!r}; accepted: {', '.join(FAILURE_POLICIES)}")
    n = fit.data.X.shape[0]
    plan: ResamplingPlan
    if indices is not None:
        if strata is not None:
            raise EstimationError("give either indices or strata, not both")
        plan = FixedPlan(indices, n)
    elif strata is not None:
        plan = StratifiedPlan(_strata_labels(fit, strata), n_resamples, seed)
        check_strata(plan.stratum_sizes)
    else:
        plan = OrdinaryPlan(n, n_resamples, seed)
    B = plan.n_resamples
    task, layout = _task(fit)
    check_memory(n, B, len(layout.labels), BLOCK, check_workers(n_jobs))
    blocks = [(plan, s, min(s + BLOCK, B)) for s in range(0, B, BLOCK)]
    workers = min(check_workers(n_jobs), len(blocks))
    from tqdm.auto import tqdm

    show = progress if progress is not None else (sys.stderr.isatty() and B >= 1000)
    if workers == 1:
        _init(task)
        results = [_run_block(b) for b in tqdm(blocks, disable=not show, unit="block", desc="bootstrap")]
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init, initargs=(task,)) as pool:
            results = list(tqdm(pool.map(_run_block, blocks), total=len(blocks), disable=not show, unit="block",
                                desc="bootstrap"))  # fmt: skip
    stats = np.concatenate([r[0] for r in results])
    converged = np.concatenate([r[1] for r in results])
    inadmissible = ~np.concatenate([r[2] for r in results]) & converged
    if inadmissible.any():
        # Kept, as lavaan keeps them: dropping Heywood replicates biases the bootstrap distribution.
        warnings.warn(
            f"{int(inadmissible.sum())} of {B} CB-SEM bootstrap replicates are inadmissible (a negative variance or "
            "a latent covariance matrix that is not positive definite); they are kept",
            AdmissibilityWarning,
            stacklevel=2,
        )
    singular, not_converged = apply_failure_policy(stats, converged, failed, what="CB-SEM", stacklevel=3)
    draws = pd.DataFrame(stats, columns=pd.Index(layout.labels, name="parameter"))
    draws.index.name = "replicate"
    return BootstrapResult(
        fit=fit, layout=layout, draws=draws, n_not_converged=int(not_converged.sum()), n_singular=int(singular.sum()),
        failed_policy=failed, sign_change=sign_change, plan=plan.describe(), ci=ci, level=level,
    )  # fmt: skip


def jackknife_cbsem(fit: FitResult) -> np.ndarray:
    """Leave-one-out statistics (n, q), warm-started like the bootstrap (BCa acceleration)."""
    task, _ = _task(fit)
    n = fit.data.X.shape[0]
    out = []
    for a in range(0, n, BLOCK):
        b = min(a + BLOCK, n)
        counts = np.ones((b - a, n))
        counts[np.arange(b - a), np.arange(a, b)] = 0.0
        out.append(task.statistics(counts)[0])
    return np.concatenate(out)
