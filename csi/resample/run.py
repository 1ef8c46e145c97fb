"""The nonparametric bootstrap of a fit, for every estimator that has a replicate statistic.

The estimator of the fit supplies the batched statistic
(:meth:`csi.estimators.base.Estimator.statistic`); the resampling driver
(:func:`csi.resample.driver.run_plan`) runs it over the plan's replicates in
chunks, on threads (composite estimators: NumPy and the compiled kernel of
:mod:`csi.core.fused` release the GIL, the BLAS runs one thread per call
meanwhile) or processes (CB-SEM), and applies the failure policy.

PLS fits take the fast path: each resample is a vector of draw frequencies,
exact moment sums (:func:`csi.core.moments.moment_sums`) feed the compiled
per-replicate kernel, which writes every chunk's statistics straight into the
result.  PLSc fits run the NumPy kernels on whole stacks of moment matrices,
CB-SEM fits a warm-started Fisher scoring per block.  Fits whose missing-data
method is ``em`` or ``pairwise`` re-run the method inside every replicate
(:func:`csi.estimators.missing.replicate_moments`, the statistic's moment step).

Reproducibility: the resampling plan draws replicate r's rows from a stream
that depends only on (seed, r) (see :mod:`csi.resample.plans`), and the
frequency products are taken in fixed blocks of :data:`csi.resample.plans.BLOCK`
replicates, so a seed gives byte-identical draws whatever ``chunk_size`` or
``n_jobs``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from csi.errors import EstimationError
from csi.estimators import estimator_of
from csi.estimators.replicates import ENGINE_VARIABLE, INNER_KEY, SIGN_CHANGES, StatisticLayout, inner_rng
from csi.resample.driver import (
    FAILURE_POLICIES,
    Processes,
    Threads,
    apply_failure_policy,
    run_plan,
    show_progress,
    single_threaded_blas,
)
from csi.resample.options import check_fit, check_memory, check_strata, check_workers, inner_resamples_of
from csi.resample.plans import (
    BLOCK,
    FixedPlan,
    JackknifePlan,
    OrdinaryPlan,
    ResamplingPlan,
    StratifiedPlan,
    seed_sequence,
)
from csi.resample.result import BootstrapResult
from csi.resample.scheduler import check_scheduler, resolve_scheduler
from csi.results.fit import FitResult

__all__ = [
    "DEFAULT_INNER_RESAMPLES", "ENGINE_VARIABLE", "FAILURE_POLICIES", "INNER_KEY", "apply_failure_policy", "bootstrap",
    "default_chunk_size", "inner_rng", "jackknife", "make_plan", "single_threaded_blas", "strata_labels",
]  # fmt: skip


def default_chunk_size(n_rows: int, n_resamples: int | None = None, workers: int = 1) -> int:
    """Replicates per chunk, a multiple of the block size.

    At most about 8 million frequency cells (memory), and small enough that
    every worker gets about four chunks (load balance).
    """
    size = max(BLOCK, (8_000_000 // max(n_rows, 1)) // BLOCK * BLOCK)
    size = min(size, 64 * BLOCK)
    if n_resamples is not None:
        share = -(-n_resamples // (4 * max(workers, 1)))
        size = min(size, max(BLOCK, -(-share // BLOCK) * BLOCK))
    return size


def make_plan(fit: FitResult, n_resamples: int, seed: Any, indices: Any, strata: Any, error: type = EstimationError
              ) -> ResamplingPlan:  # fmt: skip
    """The plan of a resampling of ``fit``'s rows: fixed ``indices``, stratified by ``strata``, or ordinary."""
    n = fit.data.X.shape[0]
    if indices is not None:
        if strata is not None:
            raise error("give either indices or strata, not both")
        if isinstance(indices, ResamplingPlan):  # a ready plan (e.g. one wave of a cluster plan), checked for size
            if indices.n != n:
                raise error(f"the resampling plan covers {indices.n} rows, the fit {n}")
            return indices
        return FixedPlan(indices, n)
    if strata is not None:
        return StratifiedPlan(strata_labels(fit, strata), n_resamples, seed)
    return OrdinaryPlan(n, n_resamples, seed)


def bootstrap(
    fit: FitResult,
    n_resamples: int = 5000,
    seed: int | np.random.SeedSequence | None = None,
    *,
    indices: Any = None,
    strata: Any = None,
    ci: str | None = None,
    level: float = 0.95,
    sign_change: str = "none",
    failed: str = "drop",
    chunk_size: int | None = None,
    n_jobs: int | None = None,
    progress: bool | None = None,
    inner_resamples: int | None = None,
    scheduler: Any = None,
    mi_interval: str | None = None,
) -> BootstrapResult:
    """Nonparametric bootstrap of every estimate and 0-100 index of a PLS fit.

    Parameters
    ----------
    fit
        A PLS :class:`~csi.results.fit.FitResult`; its options (scheme,
        scaling, stopping and sign rules) are used in every replicate.
    n_resamples
        Number of resamples B (ignored when ``indices`` is given).
    seed
        Integer seed (recorded); ``None`` draws fresh entropy and records it.
    indices
        Optional (B, n) array of 0-based row positions, one resample per row,
        to reproduce another program's resamples replicate by replicate; or a
        :class:`~csi.resample.plans.ResamplingPlan` of the fit's ``n`` rows
        (e.g. one wave of a :class:`~csi.resample.plans.ClusterPlan`).
    strata
        Optional grouping (a column name of the fitted data's rows or an array
        aligned with them): rows are resampled within each stratum.
    ci, level
        Interval type and level of the ``estimates`` table; change them later
        with :meth:`BootstrapResult.with_ci` without resampling.  ``ci=None``
        (default): the fit's default, ``"percentile"``, or ``"rubin"`` for the
        Rubin bootstrap of a ``missing="mi"`` fit (see ``mi_interval``).
    sign_change
        See :data:`csi.resample.statistics.SIGN_CHANGES`.
    failed
        See :data:`FAILURE_POLICIES`.
    chunk_size
        Replicates per chunk (memory bound); default from the data size.
        Results do not depend on it.
    n_jobs
        Threads; default: all cores.  Results do not depend on it.
    progress
        Show a progress bar; default: only when writing to a terminal and the
        run is long.
    inner_resamples
        Resamples M of a nested bootstrap inside every replicate, whose standard
        deviations are the per-replicate standard errors the studentized
        (bootstrap-t) interval needs (Efron & Tibshirani 1993, §12.5; Davison &
        Hinkley 1997, §5.2.1).  Default: 100 when ``ci="studentized"``, else
        none.  Costs M times the outer bootstrap.  Replicate r's inner draws
        come from their own stream (see :func:`inner_rng`), so they too do not
        depend on ``chunk_size`` or ``n_jobs``.
    scheduler
        Where the chunks of replicates run.  Default ``None``: the
        estimator's choice (threads for composite estimators, processes for
        CB-SEM).  ``"serial"``, ``"threads"``, ``"processes"``, ``"dask"``
        (a Dask LocalCluster of ``n_jobs`` workers, started for the run) or a
        Dask scheduler address / ``distributed.Client`` for very large runs
        (:func:`csi.resample.scheduler.resolve_scheduler`); the fit and plan
        are sent to every worker once.  Results do not depend on it.
    mi_interval
        ``missing="mi"`` fits of data with missing values only
        (:mod:`csi.resample.mi_boot`): ``"rubin"`` (default; impute, then
        bootstrap: each completed data set is bootstrapped as complete data
        and Rubin's rules give a t interval, ``ci="rubin"``) or ``"boot-mi"``
        (bootstrap, then impute every replicate ``m`` times; far slower).
        With ``"rubin"`` the default ``ci`` is ``"rubin"``; another ``ci``
        given explicitly (``"percentile"`` included) summarises the
        imputations' pooled draws.

    Returns
    -------
    BootstrapResult
        For a multiple-group CB-SEM fit (``group=``) rows are resampled within the groups and the
        estimates table has a ``group`` column (:mod:`csi.resample.group_bootstrap`).
    """
    from csi.estimators.cbsem_groups import GroupFit

    check_scheduler(scheduler)
    if isinstance(fit, GroupFit):
        ci = DEFAULT_CI if ci is None else ci
        from csi.resample.group_bootstrap import bootstrap_groups

        if scheduler is not None or chunk_size is not None:
            raise EstimationError(
                "the bootstrap of a multiple-group fit runs its groups' replicates in this process; drop scheduler= "
                "and chunk_size="
            )
        return bootstrap_groups(
            fit, n_resamples, seed, indices=indices, strata=strata, ci=ci, level=level, sign_change=sign_change,
            failed=failed, n_jobs=n_jobs, progress=progress, inner_resamples=inner_resamples,
        )  # fmt: skip
    check_fit(fit)
    workers = check_workers(n_jobs)
    check_scheduler(scheduler)
    est = estimator_of(fit)
    caps = est.capabilities
    if not caps.bootstrap:
        raise EstimationError(f"the bootstrap has no replicate statistic for method {fit.method!r}")
    if sign_change not in SIGN_CHANGES:
        raise EstimationError(f"unknown sign_change {sign_change!r}; accepted: {', '.join(SIGN_CHANGES)}")
    if failed not in FAILURE_POLICIES:
        raise EstimationError(f"unknown failed-replicate policy {failed!r}; accepted: {', '.join(FAILURE_POLICIES)}")
    if inner_resamples is not None or caps.nested_bootstrap:
        inner_resamples = inner_resamples_of(inner_resamples, ci, DEFAULT_INNER_RESAMPLES)
    n = fit.data.X.shape[0]
    rubin = _rubin_requested(fit, mi_interval, inner_resamples)
    if rubin:
        from csi.resample.mi_boot import ImputedStatistic

        statistic: Any = ImputedStatistic(fit, sign_change=sign_change)
        ci = "rubin" if ci is None else ci
    else:
        ci = DEFAULT_CI if ci is None else ci
        statistic = est.statistic(fit, sign_change=sign_change, inner_resamples=inner_resamples)
    plan = make_plan(fit, n_resamples, seed, indices, strata)
    if isinstance(plan, StratifiedPlan):
        check_strata(plan.stratum_sizes)
    B = plan.n_resamples
    executor = None if scheduler is None else resolve_scheduler(scheduler, n_jobs)
    if executor is not None:
        workers = executor.workers
    try:
        if not caps.block_batches:
            if chunk_size is None:
                chunk_size = default_chunk_size(n, B, workers)
            if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
                raise EstimationError(f"chunk_size must be a positive integer, got {chunk_size!r}")
            check_memory(n, B, statistic.width, chunk_size, workers, inner_resamples)
            if inner_resamples or getattr(statistic, "mi", False):  # nested draws, or fresh imputations
                statistic.inner_root = seed_sequence(seed) if isinstance(plan, FixedPlan) else plan._root
            backend: Any = Threads(workers)
            long_run = B * n > 5_000_000
        else:
            # Warm-started Fisher scoring runs a block of the plan as one batch, so chunks are the plan's blocks.
            chunk_size = BLOCK
            check_memory(n, B, statistic.width, BLOCK, workers)
            workers = min(workers, -(-B // BLOCK))
            backend = Processes(workers) if workers > 1 else None
            long_run = B >= 1000
        if executor is not None:
            backend = executor.driver_backend()
        reps = run_plan(
            plan, statistic, chunk_size=chunk_size, backend=backend, failed=failed,
            what=statistic.what, progress=show_progress(progress, long_run), stacklevel=2,
        )  # fmt: skip
    finally:
        if executor is not None:
            executor.close()
    layout = statistic.layout
    stats, se_draws = reps.stats, reps.extra
    imputation_estimates = None
    if rubin:
        from csi.resample.mi_boot import split_draws

        stats = split_draws(stats, statistic.m).reshape(-1, statistic.q)  # imputation-major rows
        imputation_estimates = statistic.estimates
    draws = pd.DataFrame(stats, columns=pd.Index(layout.labels, name="parameter"), copy=False)
    draws.index.name = "replicate"
    se_frame = None
    if se_draws is not None:
        se_draws[np.isnan(stats)] = np.nan
        se_frame = pd.DataFrame(se_draws, columns=draws.columns, index=draws.index, copy=False)
    return BootstrapResult(
        fit=fit,
        layout=layout,
        draws=draws,
        n_not_converged=int(reps.not_converged.sum()),
        n_inadmissible=int(reps.inadmissible.sum()),
        n_singular=int(reps.singular.sum()),
        failed_policy=failed,
        sign_change=sign_change,
        plan=plan.describe(),
        ci=ci,
        level=level,
        se_draws=se_frame,
        inner_resamples=inner_resamples,
        imputation_estimates=imputation_estimates,
    )


def _rubin_requested(fit: FitResult, mi_interval: str | None, inner_resamples: int | None) -> bool:
    """Whether ``mi_interval`` asks for impute-then-bootstrap on this fit (and it can have it)."""
    from csi.estimators.missing import imputes_in_replicates
    from csi.resample.mi_boot import check_mi_interval

    method = check_mi_interval(mi_interval)
    if mi_interval is not None and fit.data.missing != "mi":
        raise EstimationError(f"mi_interval applies to missing='mi' fits; this fit used missing={fit.data.missing!r}")
    if method != "rubin" or not imputes_in_replicates(fit):
        return False
    if inner_resamples:
        raise EstimationError("mi_interval='rubin' has no nested bootstrap (studentized intervals); use ci='rubin'")
    return True


DEFAULT_CI = "percentile"
"""The interval type of ``csi.bootstrap(..., ci=None)``, except a Rubin bootstrap's (``"rubin"``)."""
DEFAULT_INNER_RESAMPLES = 100
"""Inner resamples per replicate when studentized intervals are asked for without ``inner_resamples``."""

def jackknife(fit: FitResult, layout: StatisticLayout, sign_change: str = "none") -> np.ndarray:
    """Leave-one-out statistics (n, q) of the bootstrap's statistic, for BCa acceleration."""
    from csi.estimators.cbsem_groups import GroupFit

    if isinstance(fit, GroupFit):
        from csi.resample.group_bootstrap import jackknife_groups

        return jackknife_groups(fit)
    statistic = estimator_of(fit).statistic(fit, sign_change=sign_change).jackknife()
    plan = JackknifePlan(fit.data.X.shape[0])
    size = BLOCK if estimator_of(fit).capabilities.block_batches else plan.block
    return run_plan(plan, statistic, chunk_size=size, failed=None).stats


def strata_labels(fit: FitResult, strata: Any) -> np.ndarray:
    rows = fit.data.row_labels
    if isinstance(strata, str):
        raise EstimationError(
            f"strata={strata!r} names a column, but the fit keeps only the model's items; pass the column "
            "itself, e.g. strata=data[" + repr(strata) + "]"
        )
    if isinstance(strata, pd.Series):
        missing = rows.difference(strata.index)
        if len(missing):
            raise EstimationError(f"strata has no label for row(s) {list(missing[:5])} of the fitted data")
        return strata.loc[rows].to_numpy()
    arr = np.asarray(strata)
    if arr.shape != (len(rows),):
        raise EstimationError(f"strata must have one label per fitted row ({len(rows)}), got shape {arr.shape}")
    return arr


_strata_labels = strata_labels  # the name the HTMT bootstrap and older callers use
