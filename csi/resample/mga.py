"""Multi-group analysis: are paths, weights, loadings, R² and 0-100 indices different between groups?

:func:`compare_groups` fits the model in every group of a column and tests every parameter's difference
for every pair of groups by one of four methods (Sarstedt, Henseler & Ringle 2011 review them):

``permutation`` (Chin & Dibbern 2010)
    The pair's rows are pooled and their group labels permuted ``n_permutations`` times, every group
    keeping its size (so unequal sizes are kept exactly as observed: the reference distribution is that of
    the difference between a random ``n_g``-subset and the remaining ``n_h`` rows); both permuted groups are
    re-estimated (:mod:`csi.resample.permutation`, on the batched kernel).  Two-sided
    ``p = (1 + #{|d*| >= |d|}) / (1 + R)`` over the ``R`` usable permutations (Phipson & Smyth 2010; ties
    within ``1e-10 (1 + |d|)`` count as reaching ``|d|``).
``henseler`` (Henseler 2007; Henseler, Ringle & Sinkovics 2009, p. 309)
    Each group is bootstrapped (:func:`csi.bootstrap`, ``n_resamples``).  With bias-centred replicates
    ``x_j = 2 mean(θ*_g) - θ*_gj`` and ``y_i = 2 mean(θ*_h) - θ*_hi``, the one-sided p-value of
    ``H1: θ_g > θ_h`` is ``P = 1 - #{(j, i): x_j > y_i} / (J_g J_h)``, the share of the ``J_g J_h``
    bootstrap differences of the wrong sign; the two-sided p-value is ``2 min(P, 1 - P)``.
``parametric`` (Keil et al. 2000, as adjusted in Sarstedt, Henseler & Ringle 2011)
    ``t = d / (sqrt((n_g-1)² / (n_g+n_h-2) se_g² + (n_h-1)² / (n_g+n_h-2) se_h²) sqrt(1/n_g + 1/n_h))``
    with ``n_g + n_h - 2`` degrees of freedom; ``se`` the bootstrap standard errors.
``welch`` (Sarstedt, Henseler & Ringle 2011)
    ``t = d / sqrt(a_g + a_h)`` with ``a = (n-1)/n se²`` and the Welch-Satterthwaite degrees of freedom in
    Welch's (1947) form ``round((a_g + a_h)² / (a_g² / (n_g-1) + a_h² / (n_h-1)) - 2)``, as cSEM's ``testMGD``.

With more than two groups every pair is tested (each pair permuted within its own rows, so a pairwise
test's null hypothesis involves only that pair) and the p-values of each parameter are adjusted over the
pairs (Holm 1979 by default, or Bonferroni).  An omnibus test per parameter is run by permuting all groups'
labels: its statistic is the size-weighted between-group variance of the estimates,
``T = Σ_g n_g (θ_g - θ̄)² / Σ_g n_g`` with ``θ̄ = Σ_g n_g θ_g / Σ_g n_g`` (a permutation analogue of the
one-way ANOVA between-group sum of squares; small groups weigh less, as their estimates are noisier), and
``p = (1 + #{T* >= T}) / (1 + R)``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from csi.errors import EstimationError
from csi.estimators.replicates import StatisticLayout
from csi.resample.group_result import GroupComparison
from csi.resample.groups import KINDS, Groups, child_seed, root_seed, split_groups
from csi.resample.options import check_workers
from csi.resample.permutation import GroupStatistic, PermutationPlan, permutation_chunk_size, run_permutations
from csi.resample.plans import SeedLike
from csi.resample.run import bootstrap
from csi.resample.scheduler import Executor, resolve_scheduler
from csi.spec.model import ModelSpec

__all__ = ["CORRECTIONS", "METHODS", "compare_groups", "henseler_p", "omnibus_statistic", "permutation_p"]

METHODS = ("permutation", "henseler", "parametric", "welch")
CORRECTIONS = ("holm", "bonferroni", None)
TIE = 1e-10
"""Relative tolerance within which a permuted statistic counts as reaching the observed one (the compiled
kernel and a single fit agree to about 1e-13)."""


def permutation_p(observed: np.ndarray, permuted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided permutation p-values ``(1 + #{|d*| >= |d|}) / (1 + R)`` per column, and ``R``.

    ``observed`` (q,), ``permuted`` (B, q) with NaN rows for unusable permutations.  A column whose observed
    difference is NaN (an estimate undefined in a group, e.g. an inadmissible PLSc block) or without any usable
    permutation has no test: its p-value is NaN, never the smallest possible value.
    """
    ok = ~np.isnan(permuted)
    d = np.abs(observed)
    with np.errstate(invalid="ignore"):
        reach = ok & (np.abs(permuted) >= d - TIE * (1 + d))
    valid = ok.sum(axis=0)
    p = (1 + reach.sum(axis=0)) / (1 + valid)
    return np.where(np.isnan(d) | (valid == 0), np.nan, p), valid


def omnibus_statistic(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Size-weighted between-group variance ``Σ_g n_g (θ_g - θ̄)² / Σ n_g`` over axis -2 (groups)."""
    w = np.asarray(sizes, dtype=float)[:, None] / np.sum(sizes)
    centre = (w * values).sum(axis=-2, keepdims=True)
    return (w * (values - centre) ** 2).sum(axis=-2)


def henseler_p(draws_g: np.ndarray, draws_h: np.ndarray) -> np.ndarray:
    """Henseler's one-sided p-value of ``H1: θ_g > θ_h`` for every column (NaN draws ignored).

    ``P = 1 - #{(j, i): (2 θ̄*_g - θ*_gj) - (2 θ̄*_h - θ*_hi) > 0} / (J_g J_h)`` (Henseler, Ringle &
    Sinkovics 2009, p. 309), counted by sorting instead of the double sum.
    """
    out = np.full(draws_g.shape[1], np.nan)
    for c in range(draws_g.shape[1]):
        a, b = draws_g[:, c], draws_h[:, c]
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        if a.size == 0 or b.size == 0:
            continue
        x = 2 * a.mean() - a
        y = np.sort(2 * b.mean() - b)
        above = np.searchsorted(y, x, side="left").sum()  # pairs with y_i < x_j
        out[c] = 1.0 - above / (a.size * b.size)
    return out


def adjust(p: np.ndarray, correction: str | None) -> np.ndarray:
    """Familywise adjustment of p-values (axis 0: the tests of one family; NaN entries are left out)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    for c in range(p.shape[1]):
        col = p[:, c]
        ok = np.flatnonzero(~np.isnan(col))
        m = ok.size
        if correction is None or m == 0:
            out[ok, c] = col[ok]
        elif correction == "bonferroni":
            out[ok, c] = np.minimum(1.0, m * col[ok])
        else:  # holm: step-down, monotone
            order = ok[np.argsort(col[ok], kind="stable")]
            stepped = np.maximum.accumulate((m - np.arange(m)) * col[order])
            out[order, c] = np.minimum(1.0, stepped)
    return out


def permuted_estimates(
    groups: Groups, codes: np.ndarray, members: list[int], layout: StatisticLayout, n_permutations: int,
    seed: np.random.SeedSequence, workers: int, chunk_size: int | None, executor: Executor | None = None,
) -> tuple[np.ndarray, PermutationPlan, int]:  # fmt: skip
    """(R, K, q) estimates of the permuted groups (codes ``0..K-1`` = ``members``), the plan, failures."""
    plan = PermutationPlan(codes, n_permutations, seed)
    statistic = GroupStatistic(groups.pooled, [groups.fits[m] for m in members], layout)
    chunk_size = permutation_chunk_size(plan, chunk_size, workers)
    stats, failed = run_permutations(plan, statistic, chunk_size=chunk_size, workers=workers, executor=executor,
                                     stacklevel=4)  # fmt: skip
    return stats.reshape(n_permutations, len(members), len(layout.labels)), plan, failed


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise EstimationError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def compare_groups(
    spec: ModelSpec | str | os.PathLike[str],
    data: pd.DataFrame,
    group: str,
    method: str = "permutation",
    *,
    n_permutations: int = 1000,
    n_resamples: int = 1000,
    seed: SeedLike = None,
    correction: str | None = "holm",
    n_jobs: int | None = None,
    chunk_size: int | None = None,
    fit_method: str = "pls",
    scheduler: Any = None,
    **options: Any,
) -> GroupComparison:
    """Test every path, outer weight, loading, R² and 0-100 index for differences between groups.

    Parameters
    ----------
    spec
        The model (a :class:`~csi.spec.model.ModelSpec`, a shipped model name, a file or model text).
    data
        Survey data with the items and the grouping column.
    group
        Name of the grouping column (industry, segment, wave, ...); two or more groups.  Rows without a
        value are left out (with a warning).
    method
        ``"permutation"`` (default), ``"henseler"``, ``"parametric"`` or ``"welch"``; see the module notes.
    n_permutations
        Permutations of the permutation test and of the omnibus test (more than two groups).
    n_resamples
        Bootstrap resamples per group of the ``henseler``, ``parametric`` and ``welch`` methods.
    seed
        Seed of every permutation and bootstrap stream (recorded; ``None`` draws one).  The pair ``i``'s
        permutations use stream ``(i,)``, the omnibus permutations stream ``(n_pairs,)`` and group ``k``'s
        bootstrap stream ``(1000 + k,)`` below it.
    correction
        Familywise adjustment over the pairs of each parameter: ``"holm"`` (default), ``"bonferroni"`` or
        None.
    n_jobs, chunk_size
        Threads (default: every core) and permutations per chunk; results do not depend on them.
    fit_method
        ``"pls"`` (default) or ``"plsc"``.
    scheduler
        Where the permutation and bootstrap chunks run: None (default: ``n_jobs`` threads here),
        ``"processes"``, ``"dask"``, a Dask scheduler address or client
        (:func:`csi.resample.scheduler.resolve_scheduler`); results do not depend on it.
    **options
        Estimator options for every fit (``scheme``, ``scaled``, ``missing``, ``tol``, ...).  Each group is
        fitted with its own missing-data treatment; ``mean`` and ``mi`` cannot be permuted.

    Returns
    -------
    GroupComparison
        ``table``: one row per parameter and pair of groups.
    """
    if method not in METHODS:
        raise EstimationError(f"unknown group-comparison method {method!r}; accepted: {', '.join(METHODS)}")
    if correction not in CORRECTIONS:
        raise EstimationError(f"unknown correction {correction!r}; accepted: 'holm', 'bonferroni' or None")
    n_permutations = _check_count(n_permutations, "n_permutations")
    n_resamples = _check_count(n_resamples, "n_resamples")
    workers = check_workers(n_jobs)
    if scheduler is not None and not isinstance(scheduler, Executor):
        with resolve_scheduler(scheduler, n_jobs) as executor:  # started once for every pair and group
            return compare_groups(
                spec, data, group, method, n_permutations=n_permutations, n_resamples=n_resamples, seed=seed,
                correction=correction, n_jobs=n_jobs, chunk_size=chunk_size, fit_method=fit_method,
                scheduler=executor, **options,
            )  # fmt: skip
    executor = scheduler
    groups = split_groups(spec, data, group, fit_method, options)
    K = len(groups.labels)
    permutes = method == "permutation" or K > 2
    if permutes:
        groups.refuse_imputed_permutations("a permutation test")
    root = root_seed(seed)
    layout = groups.layout()
    observed = groups.observed(layout)
    sizes = groups.table["n_used"].to_numpy()
    pairs = [(g, h) for g in range(K) for h in range(g + 1, K)]
    draws: dict[int, np.ndarray] = {}
    plans: dict[str, Any] = {"seed_entropy": int(root.entropy)}  # type: ignore[arg-type]
    if method != "permutation":
        for k, f in enumerate(groups.fits):
            boot = bootstrap(f, n_resamples, seed=child_seed(root, 1000 + k), n_jobs=workers, progress=False,
                             scheduler=None if executor is None else executor.option)  # fmt: skip
            draws[k] = boot.draws[layout.labels].to_numpy()
        plans["bootstrap"] = {"n_resamples": n_resamples, "streams": [[1000 + k] for k in range(K)]}
    rows, n_failed = [], 0
    for i, (g, h) in enumerate(pairs):
        d = observed[g] - observed[h]
        extra: dict[str, Any] = {}
        if method == "permutation":
            perm, plan, failed = permuted_estimates(
                groups, groups.pair_codes(g, h), [g, h], layout, n_permutations, child_seed(root, i), workers,
                chunk_size, executor,
            )  # fmt: skip
            n_failed += failed
            p, valid = permutation_p(d, perm[:, 0] - perm[:, 1])
            extra["n_permutations"] = valid
            plans.setdefault("pairs", []).append({"groups": [g, h], "stream": [i], **plan.describe()})
        else:
            se_g, se_h = (np.nanstd(draws[k], axis=0, ddof=1) for k in (g, h))
            extra.update(se_a=se_g, se_b=se_h)
            if method == "henseler":
                one = henseler_p(draws[g], draws[h])
                p = np.minimum(1.0, 2 * np.minimum(one, 1 - one))
                extra["p_one_sided"] = one
            else:
                t, df = _t_test(d, se_g, se_h, sizes[g], sizes[h], method)
                from scipy.stats import t as student

                p = 2 * student.sf(np.abs(t), df)
                extra.update(t=t, df=df)
        rows.append((g, h, d, p, extra))
    adjusted = adjust(np.array([r[3] for r in rows]), correction)
    omnibus = None
    if K > 2:
        perm, plan, failed = permuted_estimates(
            groups, groups.codes, list(range(K)), layout, n_permutations, child_seed(root, len(pairs)), workers,
            chunk_size, executor,
        )  # fmt: skip
        n_failed += failed
        stat = omnibus_statistic(observed, sizes)
        star = omnibus_statistic(perm, sizes)
        p_omni, valid = permutation_p(stat, star)  # T >= 0, so |T*| >= |T| is T* >= T
        omnibus = _label_frame(layout).assign(statistic=stat, p_value=p_omni, n_permutations=valid)
        plans["omnibus"] = {"stream": [len(pairs)], **plan.describe()}
    table = _table(groups, layout, observed, rows, adjusted, omnibus)
    return GroupComparison(
        method=method, group_column=groups.column, groups=groups.table, table=table, omnibus=omnibus,
        correction=correction, n_permutations=n_permutations if permutes else 0,
        n_resamples=n_resamples if method != "permutation" else 0, n_failed=n_failed, plan=plans,
        pooled=groups.pooled, fits=groups.fits, n_unlabelled=groups.n_unlabelled,
    )  # fmt: skip


def _t_test(
    d: np.ndarray, se_g: np.ndarray, se_h: np.ndarray, n_g: int, n_h: int, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """The parametric (pooled) or Welch-Satterthwaite t statistic and degrees of freedom (module notes)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "parametric":
            dof = n_g + n_h - 2
            pooled = np.sqrt((n_g - 1) ** 2 / dof * se_g**2 + (n_h - 1) ** 2 / dof * se_h**2)
            return d / (pooled * np.sqrt(1 / n_g + 1 / n_h)), np.full(d.shape, float(dof))
        a_g, a_h = (n_g - 1) / n_g * se_g**2, (n_h - 1) / n_h * se_h**2
        # Degrees of freedom as cSEM's testMGD computes them for this test (Welch's 1947 form: the
        # Satterthwaite ratio minus 2, rounded), so p-values agree with the peer researchers compare against.
        dof = np.round((a_g + a_h) ** 2 / (a_g**2 / (n_g - 1) + a_h**2 / (n_h - 1)) - 2)
        return d / np.sqrt(a_g + a_h), dof


def _label_frame(layout: StatisticLayout) -> pd.DataFrame:
    return pd.DataFrame({"parameter": layout.labels, "kind": [KINDS[o] for o in layout.op],
                         "lhs": layout.lhs, "op": layout.op, "rhs": layout.rhs})  # fmt: skip


def _table(
    groups: Groups, layout: StatisticLayout, observed: np.ndarray, rows: list[tuple[Any, ...]], adjusted: np.ndarray,
    omnibus: pd.DataFrame | None,
) -> pd.DataFrame:  # fmt: skip
    parts = []
    base = _label_frame(layout)
    for i, (g, h, d, p, extra) in enumerate(rows):
        part = base.assign(
            group_a=[groups.labels[g]] * len(d), group_b=[groups.labels[h]] * len(d),
            estimate_a=observed[g], estimate_b=observed[h], difference=d, p_value=p, p_adjusted=adjusted[i],
            **extra,
        )  # fmt: skip
        if omnibus is not None:
            part = part.assign(omnibus_statistic=omnibus["statistic"].to_numpy(),
                               omnibus_p=omnibus["p_value"].to_numpy())  # fmt: skip
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
