"""The batched bootstrap of a PLS fit.

Each resample is a vector of draw frequencies; its moment matrix comes from one
matrix product (:func:`csi.core.moments.resample_moments`) and the PLS kernels
then run on the whole stack of moment matrices at once, so there is no Python
loop per replicate.  PLS fits take the fast path: exact moment sums
(:func:`csi.core.moments.moment_sums`) fed to the compiled per-replicate
kernel of :mod:`csi.core.fused`, which writes every chunk's statistics straight
into the result.  Work proceeds in chunks of replicates to bound memory;
chunks run on a thread pool (NumPy and the compiled kernel release the GIL),
and meanwhile the BLAS runs one thread per call (:func:`single_threaded_blas`).

Reproducibility: the resampling plan draws replicate r's rows from a stream
that depends only on (seed, r) (see :mod:`csi.resample.plans`), and the
frequency products are taken in fixed blocks of :data:`csi.resample.plans.BLOCK`
replicates, so a seed gives byte-identical draws whatever ``chunk_size`` or
``n_jobs``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from csi.core import fused
from csi.core.moments import counts_from_indices, moment_basis, moment_sums
from csi.errors import ConvergenceWarning, EstimationError
from csi.estimators.missing import replicate_moments, resamples_missing
from csi.resample.options import check_fit, check_memory, check_strata, check_workers, inner_resamples_of
from csi.resample.plans import BLOCK, FixedPlan, OrdinaryPlan, StratifiedPlan, seed_sequence
from csi.resample.result import BootstrapResult
from csi.resample.statistics import (
    SIGN_CHANGES,
    StatisticLayout,
    fused_model,
    fused_statistics_of,
    gather_columns,
    replicate_statistics,
)
from csi.resample.stream import chunk_counts
from csi.results.fit import FitResult

FAILURE_POLICIES = ("drop", "keep", "raise")
"""What to do with a replicate whose PLS iterations did not converge: ``drop``
(default: excluded from every summary, counted), ``keep`` (use its last
iterate, counted), ``raise`` (stop with an error).  Replicates with singular
moments (e.g. a resample in which an item is constant) are always dropped and
counted."""


def _chunk_bounds(n_resamples: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(a, min(a + chunk_size, n_resamples)) for a in range(0, n_resamples, chunk_size)]


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


ENGINE_VARIABLE = "CSI_BOOTSTRAP_ENGINE"
"""Environment variable: ``numpy`` forces the NumPy reference kernels instead of the compiled one."""


_BLAS: dict[str, Any] = {"controller": None, "users": 0, "limiter": None}
_BLAS_LOCK = threading.Lock()


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Context in which the BLAS behind NumPy runs one thread per call.

    The bootstrap already runs ``n_jobs`` threads, each taking its own moment
    products; a threaded BLAS inside them adds no cores, and OpenBLAS's idle
    threads spin between calls, which on a small machine costs more CPU time
    than the whole bootstrap.  The limit is process-wide while any such
    context is open (bootstraps running at once in several threads share it,
    and the last to finish restores the previous setting); it is set with
    threadpoolctl, and without threadpoolctl nothing is changed.
    """
    with _BLAS_LOCK:
        if _BLAS["controller"] is None:
            try:
                from threadpoolctl import ThreadpoolController

                _BLAS["controller"] = ThreadpoolController()
            except ImportError:  # pragma: no cover - threadpoolctl is a dependency
                _BLAS["controller"] = False
        if _BLAS["users"] == 0 and _BLAS["controller"]:
            _BLAS["limiter"] = _BLAS["controller"].limit(limits=1, user_api="blas")
        _BLAS["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS["users"] -= 1
            if _BLAS["users"] == 0 and _BLAS["limiter"] is not None:
                _BLAS["limiter"].restore_original_limits()
                _BLAS["limiter"] = None


def use_fused(method: str) -> bool:
    """Whether a bootstrap of a fit with this method runs the compiled kernel of :mod:`csi.core.fused`."""
    return method == "pls" and os.environ.get(ENGINE_VARIABLE, "").lower() != "numpy" and fused.available()


def bootstrap(
    fit: FitResult,
    n_resamples: int = 5000,
    seed: int | np.random.SeedSequence | None = None,
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
    inner_resamples: int | None = None,
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
        to reproduce another program's resamples replicate by replicate.
    strata
        Optional grouping (a column name of the fitted data's rows or an array
        aligned with them): rows are resampled within each stratum.
    ci, level
        Interval type and level of the ``estimates`` table; change them later
        with :meth:`BootstrapResult.with_ci` without resampling.
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

    Returns
    -------
    BootstrapResult
    """
    check_fit(fit)
    workers = check_workers(n_jobs)
    if fit.method == "cbsem":
        from csi.estimators.cbsem_bootstrap import bootstrap_cbsem

        return bootstrap_cbsem(
            fit, n_resamples, seed, indices=indices, strata=strata, ci=ci, level=level, sign_change=sign_change,
            failed=failed, chunk_size=chunk_size, n_jobs=n_jobs, progress=progress,
        )  # fmt: skip
    if fit.method not in ("pls", "plsc"):
        raise EstimationError(f"the batched bootstrap runs PLS and PLSc fits; got method {fit.method!r}")
    if sign_change not in SIGN_CHANGES:
        raise EstimationError(f"unknown sign_change {sign_change!r}; accepted: {', '.join(SIGN_CHANGES)}")
    if failed not in FAILURE_POLICIES:
        raise EstimationError(f"unknown failed-replicate policy {failed!r}; accepted: {', '.join(FAILURE_POLICIES)}")
    inner_resamples = inner_resamples_of(inner_resamples, ci, DEFAULT_INNER_RESAMPLES)
    data = fit.data
    X, w = data.X, data.weights
    n = X.shape[0]
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
    if chunk_size is None:
        chunk_size = default_chunk_size(n, B, workers)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise EstimationError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    layout = StatisticLayout.of(fit)
    check_memory(n, B, len(layout.labels), chunk_size, workers, inner_resamples)
    # With missing cells under em/pairwise every replicate re-runs the method on its moments.
    fast = use_fused(fit.method) and not resamples_missing(fit)
    if resamples_missing(fit):
        replicate_moments(fit, np.zeros((0, n)))  # refuses a method it cannot resample before any work
    if fast:
        basis = moment_basis(X, w, plan.n_draw)
        mdl = fused_model(fit, layout, sign_change)
        gather = gather_columns(fit, layout)
        # Every chunk writes its rows straight into the one result array.
        stats_all = np.empty((B, len(layout.labels)))
    inner_root = seed_sequence(seed) if isinstance(plan, FixedPlan) else plan._root

    def stats_of_counts(F: np.ndarray) -> np.ndarray:
        """Statistics of a small batch of replicates given by their counts (one product, fixed shape)."""
        if fast:
            G = moment_sums(basis, F.astype(basis.dtype) if basis.exact else F, float64=False)
            return fused_statistics_of(fit, G, basis, layout, sign_change, mdl, gather)[0]
        m, c = replicate_moments(fit, F)
        return replicate_statistics(fit, m, c, layout, sign_change)[0]

    def inner_se(a: int, b: int) -> np.ndarray:
        """Standard errors of every statistic from a nested bootstrap of each replicate in [a, b)."""
        idx = plan.indices(a, b)
        out = np.empty((b - a, len(layout.labels)))
        for r in range(a, b):
            rows = idx[r - a]
            pick = inner_rng(inner_root, r).integers(0, rows.size, size=(inner_resamples, rows.size), dtype=np.intp)
            inner = stats_of_counts(counts_from_indices(rows[pick], n))
            with warnings.catch_warnings(), np.errstate(invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                out[r - a] = np.nanstd(inner, axis=0, ddof=1)
        return out

    def run_fused_chunk(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        a, b = bounds
        if basis.exact:
            # Exact integer sums do not depend on how the product is blocked (and stay exact in float32).
            G = moment_sums(basis, chunk_counts(plan, a, b, basis.dtype), float64=False)
        else:  # as in run_chunk: whole blocks, then slice
            first = a // BLOCK * BLOCK
            parts = []
            for s in range(first, b, BLOCK):
                e = min(s + BLOCK, B)
                parts.append(moment_sums(basis, chunk_counts(plan, s, e))[max(a, s) - s : min(b, e) - s])
            G = np.concatenate(parts)
        stats, conv = fused_statistics_of(fit, G, basis, layout, sign_change, mdl, gather, stats_all[a:b])
        return stats, conv, (inner_se(a, b) if inner_resamples else None)

    def run_chunk(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        a, b = bounds
        # The frequency product of a whole block of BLOCK replicates is always taken
        # at once and then sliced: a matrix product's rows can differ in the last
        # bit with the number of rows, so this keeps every replicate's moments
        # identical whatever the chunking.
        first = a // BLOCK * BLOCK
        parts = []
        for s in range(first, b, BLOCK):
            e = min(s + BLOCK, B)
            m, c = replicate_moments(fit, chunk_counts(plan, s, e))
            lo, hi = max(a, s) - s, min(b, e) - s
            parts.append((m[lo:hi], c[lo:hi]))
        means = np.concatenate([p[0] for p in parts])
        covs = np.concatenate([p[1] for p in parts])
        stats, conv = replicate_statistics(fit, means, covs, layout, sign_change)
        return stats, conv, (inner_se(a, b) if inner_resamples else None)

    chunks = _chunk_bounds(B, chunk_size)
    work = run_fused_chunk if fast else run_chunk
    show = progress if progress is not None else (sys.stderr.isatty() and B * n > 5_000_000)
    from tqdm.auto import tqdm

    with single_threaded_blas(), ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(tqdm(pool.map(work, chunks), total=len(chunks), disable=not show, unit="chunk",
                            desc="bootstrap"))  # fmt: skip
    stats = stats_all if fast else np.concatenate([r[0] for r in results])
    converged = np.concatenate([r[1] for r in results])
    se_draws = np.concatenate([r[2] for r in results]) if inner_resamples else None
    singular, not_converged = apply_failure_policy(stats, converged, failed, se_draws=se_draws, stacklevel=2)
    # stats is this call's own array: wrap it rather than copy it.
    draws = pd.DataFrame(stats, columns=pd.Index(layout.labels, name="parameter"), copy=False)
    draws.index.name = "replicate"
    if se_draws is not None:
        se_draws[np.isnan(stats)] = np.nan
        se_frame = pd.DataFrame(se_draws, columns=draws.columns, index=draws.index)
    return BootstrapResult(
        fit=fit,
        layout=layout,
        draws=draws,
        n_not_converged=int(not_converged.sum()),
        n_singular=int(singular.sum()),
        failed_policy=failed,
        sign_change=sign_change,
        plan=plan.describe(),
        ci=ci,
        level=level,
        se_draws=se_frame if se_draws is not None else None,
        inner_resamples=inner_resamples,
    )


DEFAULT_INNER_RESAMPLES = 100
"""Inner resamples per replicate when studentized intervals are asked for without ``inner_resamples``."""

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


def jackknife(fit: FitResult, layout: StatisticLayout, sign_change: str = "none") -> np.ndarray:
    """Leave-one-out statistics (n, q) through the same moment path, for BCa acceleration."""
    if fit.method == "cbsem":
        from csi.estimators.cbsem_bootstrap import jackknife_cbsem

        return jackknife_cbsem(fit)
    data = fit.data
    n = data.X.shape[0]
    out = []
    for a in range(0, n, 512):
        b = min(a + 512, n)
        counts = np.ones((b - a, n))
        counts[np.arange(b - a), np.arange(a, b)] = 0.0
        means, covs = replicate_moments(fit, counts)
        out.append(replicate_statistics(fit, means, covs, layout, sign_change)[0])
    return np.concatenate(out)


def _strata_labels(fit: FitResult, strata: Any) -> np.ndarray:
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


def apply_failure_policy(
    stats: np.ndarray,
    converged: np.ndarray,
    failed: str,
    *,
    what: str = "",
    se_draws: np.ndarray | None = None,
    stacklevel: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Count failed replicates and apply the ``failed`` policy to ``stats`` (and ``se_draws``) in place.

    A replicate whose statistics are all NaN had singular moments (an item
    constant in the resample): always dropped, counted and warned about.  A
    replicate that did not converge is dropped (``"drop"``: set to NaN), kept
    (``"keep"``) or raises (``"raise"``), and is warned about.

    ``stacklevel`` is the level the caller would give :func:`warnings.warn`.

    Returns
    -------
    singular, not_converged
        Boolean masks over the replicates.
    """
    B = stats.shape[0]
    label = f"{what} " if what else ""
    singular = np.isnan(stats).all(axis=1)
    not_converged = ~converged & ~singular
    if not_converged.any():
        if failed == "raise":
            first = int(np.flatnonzero(not_converged)[0])
            raise EstimationError(
                f"{int(not_converged.sum())} of {B} {label}replicates did not converge (first: replicate {first}); "
                "raise max_iter in the fit, or use failed='drop' or 'keep'"
            )
        if failed == "drop":
            stats[not_converged] = np.nan
            if se_draws is not None:
                se_draws[not_converged] = np.nan
        warnings.warn(
            f"{int(not_converged.sum())} of {B} {label}bootstrap replicates did not converge "
            f"({'dropped' if failed == 'drop' else 'kept'})",
            ConvergenceWarning,
            stacklevel=stacklevel + 1,
        )
    if singular.any():
        warnings.warn(
            f"{int(singular.sum())} of {B} bootstrap replicates had singular moments (an item constant "
            "in the resample) and were dropped",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    return singular, not_converged
