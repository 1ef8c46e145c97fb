"""Permutations of group labels as a resampling plan, and the batched per-group statistic they feed.

A permutation replicate of a multi-group analysis re-assigns the group labels of the pooled respondents at
random, keeping every group's size, and re-estimates the model in every permuted group (Chin & Dibbern
2010).  In the moment representation of the bootstrap (:mod:`csi.resample.plans`) permuted group ``k`` of
replicate ``r`` is a 0/1 frequency vector over the pooled rows, so each replicate is one frequency product
per group and the compiled PLS kernel, exactly as a bootstrap replicate is.

Seeding contract
----------------
:class:`PermutationPlan` uses the block seeding of :mod:`csi.resample.plans`: block ``k`` of
:data:`~csi.resample.plans.BLOCK` replicates draws ``rng.permuted(np.tile(arange(m), (BLOCK, 1)), axis=1)``
(``m`` = rows taking part) from its own generator ``SeedSequence(entropy, spawn_key + (k,))`` with PCG64, row
``j`` being replicate ``64 k + j``.  Replicate ``r``'s labels depend only on ``(seed, r)``: any chunking and
any number of workers give the same permutations, bit for bit.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from csi.core.moments import MomentBasis, moment_basis, moment_sums, row_chunk
from csi.errors import ConvergenceWarning, DataError, EstimationError
from csi.estimators.missing import replicate_moments, resamples_missing
from csi.estimators.replicates import (
    StatisticLayout,
    fused_model,
    fused_statistics_of,
    gather_columns,
    replicate_statistics,
    use_fused,
)
from csi.resample.driver import Threads, run_plan
from csi.resample.plans import BLOCK, SeedLike, _BlockPlan
from csi.resample.run import default_chunk_size
from csi.results.fit import FitResult

__all__ = ["GroupStatistic", "PermutationPlan", "run_permutations"]


class PermutationPlan(_BlockPlan):
    """Random re-assignments of group labels among the pooled rows, every group keeping its size.

    Parameters
    ----------
    codes
        (n,) integer group code of every pooled row: ``0 .. K-1`` for the rows whose labels are permuted,
        ``-1`` for rows that take no part (e.g. the third group in a test of groups 1 and 2).
    n_resamples
        Number of permutations.
    seed
        See the seeding contract of :mod:`csi.resample.plans`.
    """

    kind = "permutation"

    def __init__(self, codes: Any, n_resamples: int, seed: SeedLike = None) -> None:
        codes = np.asarray(codes)
        if codes.ndim != 1 or codes.dtype.kind not in "iu":
            raise DataError(f"group codes must be a 1-D integer array; got shape {codes.shape}, dtype {codes.dtype}")
        self.codes = codes.astype(np.int64)
        self.codes.flags.writeable = False
        self.rows = np.flatnonzero(self.codes >= 0)
        self.n_groups = int(self.codes.max()) + 1 if self.rows.size else 0
        if self.n_groups < 2:
            raise DataError("a permutation of group labels needs rows of at least two groups")
        self.n = self.codes.size
        self.n_draw = self.rows.size
        self.sizes = np.bincount(self.codes[self.rows], minlength=self.n_groups)
        super().__init__(n_resamples, seed)

    def _draw_block(self, rng: np.random.Generator) -> NDArray[np.intp]:
        return rng.permuted(np.tile(np.arange(self.n_draw, dtype=np.intp), (BLOCK, 1)), axis=1)

    def labels(self, start: int = 0, stop: int | None = None) -> NDArray[np.int64]:
        """(stop - start, n) group code of every pooled row in replicates ``[start, stop)`` (-1: no part)."""
        perm = self.indices(start, stop)
        out = np.full((perm.shape[0], self.n), -1, dtype=np.int64)
        # Position i of the taking-part rows receives the label of row perm[i]: a permutation of the labels.
        out[:, self.rows] = self.codes[self.rows][perm]
        return out

    def group_counts(self, start: int, stop: int, group: int, dtype: type = np.float64) -> NDArray[np.floating]:
        """(stop - start, n) 0/1 frequencies of the rows that permuted group ``group`` holds."""
        return (self.labels(start, stop) == group).astype(dtype)

    def counts(self, start: int = 0, stop: int | None = None, dtype: type = np.float64) -> NDArray[np.floating]:
        """Group 0's frequencies (a permutation plan has one frequency matrix per group: :meth:`group_counts`)."""
        stop = self.n_resamples if stop is None else stop
        return self.group_counts(start, stop, 0, dtype)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["n_draw"] = int(self.n_draw)
        info["group_sizes"] = [int(s) for s in self.sizes]
        return info


class GroupStatistic:
    """Every statistic of ``layout`` in every permuted group, for :func:`csi.resample.driver.run_plan`.

    Replicate ``r``'s row holds group 0's statistics, then group 1's, ... (width ``K * q``).  Group ``k``'s
    statistics are those of a fit of its rows with ``group_fits[k]``'s options: the moments of its 0/1
    frequency vector over the pooled rows (:func:`csi.core.moments.moment_sums`) through the compiled kernel,
    or, for ``em`` and ``pairwise`` fits of data with missing cells, the missing-data method re-run on the
    group's rows (:func:`csi.estimators.missing.replicate_moments`) through the NumPy kernels.  Products are
    taken over whole blocks of ``plan.block`` replicates, so results do not depend on the chunking.

    Parameters
    ----------
    pooled
        The fit of the pooled rows (its data are what the 0/1 vectors select from).
    group_fits
        One fit per group code, in code order; they supply the options and the group size (PLS's ``plspm``
        stopping rule uses it).
    layout
        The statistics to compute (:meth:`csi.estimators.replicates.StatisticLayout.build`).
    """

    what = "permutation"

    def __init__(self, pooled: FitResult, group_fits: list[FitResult], layout: StatisticLayout) -> None:
        self.pooled = pooled
        self.group_fits = list(group_fits)
        self.layout = layout
        self.q = len(layout.labels)
        self.width = self.q * len(self.group_fits)
        self.fast = use_fused(pooled) and not resamples_missing(pooled)
        self._basis: MomentBasis | None = None
        self._all: NDArray[np.floating] | None = None
        self._R: NDArray[np.floating] | None = None
        if self.fast:
            self.models = [fused_model(f, layout) for f in self.group_fits]
            self.gather = gather_columns(pooled, layout)

    def prepare(self, plan: Any) -> None:
        if self.fast and self._basis is None:
            self._basis = basis = moment_basis(self.pooled.data.X, self.pooled.data.weights, plan.n)
            # The right-hand side of the moment product, built once (moment_sums would rebuild it every call).
            if basis.X.shape[0] <= row_chunk(basis.width):
                self._R = basis.rows(0, basis.X.shape[0])

    def _product(self, F: NDArray[np.floating]) -> NDArray[np.floating]:
        basis = self._basis
        assert basis is not None
        if self._R is not None:
            return F @ self._R
        return moment_sums(basis, F, float64=False)

    def _sums(self, labels: NDArray[np.int64]) -> list[NDArray[np.floating]]:
        """Moment sums of every permuted group (fast path).  Exact integer sums of the last group are those
        of all taking-part rows minus the other groups' (exact, and one product fewer)."""
        basis = self._basis
        assert basis is not None
        K = len(self.group_fits)
        sums = [self._product((labels == k).astype(basis.dtype)) for k in range(K - 1)]
        if basis.exact:
            if self._all is None:
                self._all = self._product((labels[:1] >= 0).astype(basis.dtype))
            sums.append(self._all - sum(sums[1:], sums[0]))
        else:
            sums.append(self._product((labels == K - 1).astype(basis.dtype)))
        return sums

    def _group(
        self, labels: NDArray[np.int64], k: int, G: NDArray[np.floating] | None
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        fit = self.group_fits[k]
        if G is not None:
            assert self._basis is not None
            return fused_statistics_of(fit, G, self._basis, self.layout, "none", self.models[k], self.gather)
        means, covs, ok = replicate_moments(self.pooled, (labels == k).astype(np.float64))
        stats, conv = replicate_statistics(fit, means, covs, self.layout)
        return stats, conv & ok

    def run(
        self, plan: Any, a: int, b: int, stats: NDArray[np.float64], conv: NDArray[np.bool_]
    ) -> tuple[NDArray[np.int64], int]:
        """Fill ``stats`` and ``conv`` of replicates ``[a, b)``; returns the labels of the whole blocks around
        them and the first replicate of those blocks.

        Exact integer moment sums do not depend on how the replicates are cut, so they are taken over the chunk
        at once; floating-point products are taken a whole block at a time (their rows may differ in the last
        bit with the number of rows), which keeps every replicate identical whatever the chunking.
        """
        block = plan.block
        first = a // block * block
        last = min(-(-b // block) * block, plan.n_resamples)
        labels = plan.labels(first, last)
        K = len(self.group_fits)
        exact = self.fast and self._basis is not None and self._basis.exact
        spans = [(a, b)] if exact else [(s, min(s + block, plan.n_resamples)) for s in range(first, b, block)]
        for s, e in spans:
            part = labels[s - first : e - first]
            sums = self._sums(part) if self.fast else [None] * K
            lo, hi = max(a, s), min(b, e)
            for k in range(K):
                values, ok = self._group(part, k, sums[k])
                stats[lo - a : hi - a, k * self.q : (k + 1) * self.q] = values[lo - s : hi - s]
                conv[lo - a : hi - a] &= ok[lo - s : hi - s]
        # A replicate in which a permuted group had singular moments (an item constant in it: every statistic
        # of the group NaN) has no comparison: the whole row is NaN, which the failure policy counts as singular
        # and drops.  Single NaN statistics (an inadmissible PLSc group) stay, and are left out per column.
        groups = stats.reshape(b - a, K, self.q)
        stats[np.isnan(groups).all(axis=2).any(axis=1)] = np.nan
        return labels, first

    def evaluate(self, plan: Any, a: int, b: int, out: NDArray[np.float64] | None = None) -> tuple[Any, Any, None]:
        stats = np.empty((b - a, self.width)) if out is None else out
        conv = np.ones(b - a, dtype=bool)
        self.run(plan, a, b, stats, conv)
        return stats, conv, None


def permutation_chunk_size(plan: PermutationPlan, chunk_size: Any, workers: int) -> int:
    """``chunk_size`` checked (a positive integer), or the bootstrap's default for the plan when None."""
    if chunk_size is None:
        return default_chunk_size(plan.n, plan.n_resamples, workers)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise EstimationError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    return int(chunk_size)


def run_permutations(
    plan: PermutationPlan, statistic: Any, *, chunk_size: int, workers: int, executor: Any = None, stacklevel: int = 2
) -> tuple[NDArray[np.float64], int]:
    """Run ``statistic`` over every permutation of ``plan`` on ``workers`` threads (or the ``executor`` of a
    ``scheduler`` option, :mod:`csi.resample.scheduler`); failed ones become NaN rows.

    A permutation fails when a permuted group has singular moments (an item constant in it) or did not
    converge; each kind is counted and warned about once.  Threads are used even for one worker: the pool
    limits the BLAS to one thread per call, as the bootstrap does (a threaded BLAS on these small products
    only spins).

    Returns
    -------
    stats, n_failed
    """
    backend = Threads(workers) if executor is None else executor.driver_backend()
    reps = run_plan(plan, statistic, chunk_size=chunk_size, backend=backend, failed=None)
    stats = reps.stats
    singular = np.isnan(stats).all(axis=1)
    stuck = ~reps.converged & ~singular
    stats[stuck] = np.nan
    B = plan.n_resamples
    if stuck.any():
        warnings.warn(f"{int(stuck.sum())} of {B} permutations did not converge in a permuted group and were dropped",
                      ConvergenceWarning, stacklevel=stacklevel + 1)  # fmt: skip
    if singular.any():
        warnings.warn(f"{int(singular.sum())} of {B} permutations gave a permuted group a constant item (singular "
                      "moments) and were dropped", UserWarning, stacklevel=stacklevel + 1)  # fmt: skip
    if (singular | stuck).all():
        raise EstimationError(
            f"all {B} permutations failed ({int(stuck.sum())} did not converge, {int(singular.sum())} had a constant "
            "item), so there is no permutation distribution; raise max_iter, or use larger groups"
        )
    return stats, int(singular.sum() + stuck.sum())
