"""MICOM: the measurement invariance of composites between groups (Henseler, Ringle & Sarstedt 2016).

For every pair of groups (g, h) and every construct j:

1. *Configural invariance*: the same model, items, item treatment (scales, reverse coding, missing-data
   method) and algorithm settings in both groups.  :func:`micom` fits every group with one model and one
   estimator, so this holds by construction; it checks what can still differ: that every item varies in
   every group and that every group's fit converged.
2. *Compositional invariance*: ``c_j = corr(X w_g, X w_h)`` on the pooled standardised data ``X`` (the pooled
   fit's item moments), ``w_g`` the weights estimated in group g:
   ``c_j = w_gj' S_jj w_hj / sqrt(w_gj' S_jj w_gj  w_hj' S_jj w_hj)``.  The labels are permuted
   (every group keeping its size) and ``c*`` recomputed; invariance is established when ``c_j`` is not below
   the 5 % quantile of ``c*`` (a one-sided test: ``c`` cannot exceed 1).
3. *Equal composite means and variances*: the composite scores of the pooled fit (pooled weights, pooled
   standardisation) give the difference of group means ``m_g - m_h`` and the log ratio of the sample
   variances (divisor n - 1) ``log(v_g / v_h)``; each must lie within the 2.5 % and 97.5 % quantiles
   (:func:`numpy.quantile`, linear interpolation) of its permutation distribution.

Verdict per construct: ``no`` (step 2 fails), ``partial`` (step 2 holds, step 3 fails for the mean or the
variance: group paths may be compared, data not pooled), ``full`` (all hold: the groups may be pooled).
Step 1 failing gives ``no`` as well.  The paper recommends at least 5,000 permutations.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from csi.errors import EstimationError
from csi.estimators.replicates import StatisticLayout
from csi.resample.group_result import MicomResult
from csi.resample.groups import Groups, child_seed, root_seed, split_groups
from csi.resample.mga import TIE, _check_count
from csi.resample.options import check_workers
from csi.resample.permutation import GroupStatistic, PermutationPlan, permutation_chunk_size, run_permutations
from csi.resample.plans import SeedLike
from csi.resample.scheduler import Executor, resolve_scheduler
from csi.spec.model import ModelSpec

__all__ = ["compositional_c", "micom", "score_moments"]


def compositional_c(S: np.ndarray, M: np.ndarray, w_g: np.ndarray, w_h: np.ndarray) -> np.ndarray:
    """``c_j`` of every construct (..., J) from the weights (..., p) of two groups and pooled moments ``S``.

    ``c_j = w_gj' S_jj w_hj / sqrt(w_gj' S_jj w_gj  w_hj' S_jj w_hj)``, the within-block quadratic forms taken
    with the block-diagonal part of ``S`` (three matrix products for a whole stack of replicates).
    """
    inside = (M @ M.T) > 0
    Sb = np.where(inside, S, 0.0)
    Mf = M.astype(float)
    Sg, Sh = w_g @ Sb, w_h @ Sb
    ab = (w_g * Sh) @ Mf
    aa = (w_g * Sg) @ Mf
    bb = (w_h * Sh) @ Mf
    return ab / np.sqrt(aa * bb)


def score_moments(scores: np.ndarray, F_g: np.ndarray, F_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean difference (..., J) and log variance ratio (divisor n - 1) of the scores selected by 0/1 vectors."""

    def mean_var(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = F.sum(axis=-1, keepdims=True)
        mean = F @ scores / n
        var = (F @ scores**2 - n * mean**2) / (n - 1)
        return mean, var

    (m_g, v_g), (m_h, v_h) = mean_var(F_g), mean_var(F_h)
    return m_g - m_h, np.log(v_g / v_h)


class MicomStatistic:
    """Per permutation of a pair: ``c`` (J), the mean difference (J) and the log variance ratio (J)."""

    what = "permutation"

    def __init__(self, groups: Groups, members: list[int], layout: StatisticLayout) -> None:
        self.inner = GroupStatistic(groups.pooled, [groups.fits[m] for m in members], layout)
        self.S = groups.pooled.moments
        self.M = groups.pooled.spec.block_mask
        # Scores about their pooled mean, so the sums of squares below lose no digits.
        s = groups.pooled.scores.to_numpy()
        self.scores = s - s.mean(axis=0)
        self.J = self.M.shape[1]
        self.width = 3 * self.J

    def prepare(self, plan: Any) -> None:
        self.inner.prepare(plan)

    def evaluate(self, plan: Any, a: int, b: int, out: np.ndarray | None = None) -> tuple[Any, Any, None]:
        p = self.M.shape[0]
        w = np.empty((b - a, self.inner.width))
        conv = np.ones(b - a, dtype=bool)
        labels, first = self.inner.run(plan, a, b, w, conv)
        stats = np.empty((b - a, self.width)) if out is None else out
        with np.errstate(invalid="ignore", divide="ignore"):
            stats[:, : self.J] = compositional_c(self.S, self.M, w[:, :p], w[:, p:])
            for s in range(first, b, plan.block):  # whole blocks: products independent of the chunking
                e = min(s + plan.block, plan.n_resamples)
                lo, hi = max(a, s), min(b, e)
                part = labels[s - first : e - first]
                md, lv = score_moments(self.scores, (part == 0).astype(float), (part == 1).astype(float))
                stats[lo - a : hi - a, self.J : 2 * self.J] = md[lo - s : hi - s]
                stats[lo - a : hi - a, 2 * self.J :] = lv[lo - s : hi - s]
        stats[np.isnan(stats).any(axis=1)] = np.nan
        return stats, conv, None


def _configural(groups: Groups) -> pd.DataFrame:
    """Step 1's mechanical checks, one row per check and group."""
    rows = []
    spec = groups.pooled.spec
    for g, f in zip(groups.labels, groups.fits, strict=True):
        constant = [i for i, sd in zip(spec.item_names, f.item_sds.to_numpy(), strict=True) if not sd > 0]
        rows.append({"group": g, "check": "same model, items, item treatment and estimator options",
                     "passed": True, "detail": "one model and one estimator fit every group"})  # fmt: skip
        rows.append({"group": g, "check": "every item varies in the group", "passed": not constant,
                     "detail": ", ".join(constant) or f"{len(spec.item_names)} items"})  # fmt: skip
        rows.append({"group": g, "check": "the group's fit converged", "passed": bool(f.converged),
                     "detail": f"{f.iterations} iterations"})  # fmt: skip
    return pd.DataFrame(rows)


def micom(
    spec: ModelSpec | str | os.PathLike[str],
    data: pd.DataFrame,
    group: str,
    *,
    n_permutations: int = 5000,
    seed: SeedLike = None,
    level: float = 0.05,
    n_jobs: int | None = None,
    chunk_size: int | None = None,
    fit_method: str = "pls",
    scheduler: Any = None,
    **options: Any,
) -> MicomResult:
    """The three steps of MICOM for every pair of groups and every construct (see the module notes).

    Parameters
    ----------
    spec, data, group
        As :func:`csi.compare_groups`.
    n_permutations
        Permutations of every pair (default 5,000, the paper's recommendation).
    seed
        Seed (recorded); pair ``i`` uses stream ``(i,)`` below it.
    level
        Test level: step 2 compares ``c`` with the ``level`` quantile of ``c*``, step 3 uses the
        ``level / 2`` and ``1 - level / 2`` quantiles.
    n_jobs, chunk_size, fit_method, scheduler, **options
        As :func:`csi.compare_groups`.

    Returns
    -------
    MicomResult
    """
    n_permutations = _check_count(n_permutations, "n_permutations")
    if not (isinstance(level, float | int) and 0 < level < 0.5):
        raise EstimationError(f"level must lie strictly between 0 and 0.5, got {level!r}")
    workers = check_workers(n_jobs)
    if scheduler is not None and not isinstance(scheduler, Executor):
        with resolve_scheduler(scheduler, n_jobs) as executor:  # started once for every pair
            return micom(spec, data, group, n_permutations=n_permutations, seed=seed, level=level, n_jobs=n_jobs,
                         chunk_size=chunk_size, fit_method=fit_method, scheduler=executor, **options)  # fmt: skip
    groups = split_groups(spec, data, group, fit_method, options)
    groups.refuse_imputed_permutations("MICOM")
    root = root_seed(seed)
    pooled = groups.pooled
    names = list(pooled.spec.construct_names)
    items = list(pooled.spec.item_names)
    layout = StatisticLayout.build(
        [pooled.spec.construct_names[j] for j in pooled.spec.block_index], ["<~"] * len(items), items,
        pooled.weights.to_numpy(), False,
    )  # fmt: skip
    J = len(names)
    K = len(groups.labels)
    scores = pooled.scores.to_numpy()
    scores = scores - scores.mean(axis=0)
    frames, plans, n_failed = [], [], 0
    pairs = [(a, b) for a in range(K) for b in range(a + 1, K)]
    for i, (g, h) in enumerate(pairs):
        codes = groups.pair_codes(g, h)
        plan = PermutationPlan(codes, n_permutations, child_seed(root, i))
        statistic = MicomStatistic(groups, [g, h], layout)
        size = permutation_chunk_size(plan, chunk_size, workers)
        stats, failed = run_permutations(plan, statistic, chunk_size=size, workers=workers, executor=scheduler,
                                         stacklevel=2)  # fmt: skip
        n_failed += failed
        star = stats[~np.isnan(stats).any(axis=1)]
        c = compositional_c(pooled.moments, pooled.spec.block_mask, groups.fits[g].weights.to_numpy(),
                            groups.fits[h].weights.to_numpy())  # fmt: skip
        md, lv = score_moments(scores, (codes == 0).astype(float), (codes == 1).astype(float))
        q_c = np.quantile(star[:, :J], level, axis=0)
        lo_m, hi_m = np.quantile(star[:, J : 2 * J], [level / 2, 1 - level / 2], axis=0)
        lo_v, hi_v = np.quantile(star[:, 2 * J :], [level / 2, 1 - level / 2], axis=0)
        step2 = c >= q_c - TIE  # single-item blocks: c = 1 = every c*, up to rounding
        means_ok = (md >= lo_m) & (md <= hi_m)
        vars_ok = (lv >= lo_v) & (lv <= hi_v)
        frames.append(pd.DataFrame({
            "construct": names, "group_a": [groups.labels[g]] * J, "group_b": [groups.labels[h]] * J,
            "c": c, "c_quantile": q_c, "c_p_value": (1 + (star[:, :J] <= c).sum(axis=0)) / (1 + star.shape[0]),
            "compositional": step2,
            "mean_difference": md, "mean_lower": lo_m, "mean_upper": hi_m, "equal_means": means_ok,
            "log_variance_ratio": lv, "variance_lower": lo_v, "variance_upper": hi_v, "equal_variances": vars_ok,
            "n_permutations": star.shape[0],
        }))  # fmt: skip
        plans.append({"groups": [g, h], "stream": [i], **plan.describe()})
    table = pd.concat(frames, ignore_index=True)
    configural = _configural(groups)
    step1 = bool(configural["passed"].all())
    verdict = np.where(
        ~table["compositional"].to_numpy() | (not step1),
        "no",
        np.where(table["equal_means"].to_numpy() & table["equal_variances"].to_numpy(), "full", "partial"),
    )
    table = table.assign(configural=step1, verdict=verdict)
    return MicomResult(
        group_column=groups.column, groups=groups.table, configural=configural, table=table,
        n_permutations=n_permutations, level=float(level), n_failed=n_failed,
        plan={"seed_entropy": int(root.entropy), "pairs": plans},  # type: ignore[arg-type]
        pooled=pooled, fits=groups.fits, n_unlabelled=groups.n_unlabelled,
    )  # fmt: skip
