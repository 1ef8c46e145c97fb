"""The bootstrap of a multiple-group CB-SEM fit (``csi.fit(..., method="cbsem", group=...)``).

Rows are resampled within each group (:class:`csi.resample.plans.StratifiedPlan` with the groups as strata,
or fixed ``indices``), every replicate refitted by multi-group ML
(:mod:`csi.estimators.cbsem_groups_bootstrap`) through the one resampling driver, whose failure policy
counts non-converged and inadmissible replicates as for a single-group fit.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from csi.errors import EstimationError
from csi.estimators.cbsem_bootstrap import check_cbsem_options
from csi.estimators.cbsem_groups import GroupFit
from csi.estimators.cbsem_groups_bootstrap import group_labels, groups_statistic
from csi.resample.driver import Processes, run_plan, show_progress
from csi.resample.options import check_memory, check_strata, check_workers
from csi.resample.plans import BLOCK, FixedPlan, JackknifePlan, StratifiedPlan
from csi.resample.result import BootstrapResult


def bootstrap_groups(
    fit: GroupFit, n_resamples: int, seed: Any, *, indices: Any, strata: Any, ci: str, level: float,
    sign_change: str, failed: str, n_jobs: int | None, progress: bool | None, inner_resamples: int | None,
) -> BootstrapResult:  # fmt: skip
    """:func:`csi.bootstrap` of a :class:`~csi.estimators.cbsem_groups.GroupFit` (same parameters)."""
    if fit.state is None:
        raise EstimationError("this multiple-group fit holds no data to resample; refit it with csi.fit(..., group=)")
    check_cbsem_options(sign_change, inner_resamples)
    if strata is not None:
        raise EstimationError(
            f"a multiple-group fit is resampled within its groups ({fit.group!r}); strata cannot be given as well"
        )
    workers = check_workers(n_jobs)
    n = fit.state.X.shape[0]
    if indices is not None:
        plan: Any = FixedPlan(indices, n)
    else:
        plan = StratifiedPlan(group_labels(fit), n_resamples, seed)
        check_strata(plan.stratum_sizes)
    statistic = groups_statistic(fit)
    B = plan.n_resamples
    check_memory(n, B, statistic.width, BLOCK, workers)
    workers = min(workers, -(-B // BLOCK))
    reps = run_plan(
        plan, statistic, chunk_size=BLOCK, backend=Processes(workers) if workers > 1 else None, failed=failed,
        what=statistic.what, progress=show_progress(progress, B >= 1000), stacklevel=3,
    )  # fmt: skip
    draws = pd.DataFrame(reps.stats, columns=pd.Index(statistic.layout.labels, name="parameter"), copy=False)
    draws.index.name = "replicate"
    return BootstrapResult(
        fit=fit, layout=statistic.layout, draws=draws, n_not_converged=int(reps.not_converged.sum()),
        n_singular=int(reps.singular.sum()), failed_policy=failed, sign_change=sign_change, plan=plan.describe(),
        ci=ci, level=level, n_inadmissible=int(reps.inadmissible.sum()),
    )  # fmt: skip


def jackknife_groups(fit: GroupFit) -> Any:
    """Leave-one-out statistics (n, width) of a multiple-group fit (BCa acceleration)."""
    plan = JackknifePlan(fit.state.X.shape[0])
    return run_plan(plan, groups_statistic(fit), chunk_size=BLOCK, failed=None).stats
