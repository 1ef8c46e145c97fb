"""The one resampling driver: a plan x a batched statistic x chunking x an execution backend x a failure policy.

:func:`run_plan` splits a plan's replicates into chunks, has a backend evaluate the statistic on every chunk,
gathers the results in replicate order and applies the failure policy.  Everything that resamples goes
through it: :func:`csi.bootstrap` for every estimator (the statistic comes from the estimator,
:meth:`csi.estimators.base.Estimator.statistic`), its jackknife, HTMT inference
(:mod:`csi.quality.htmt_inference`), pooled industries (through :func:`csi.bootstrap`) and the benchmark
resampling (:mod:`csi.bench.resample`).

A statistic is any object with

* ``width``: the number of statistics per replicate;
* ``prepare(plan)``: set-up before the first chunk (in the calling process);
* ``evaluate(plan, a, b, out) -> (stats, status, extra)``: replicates ``[a, b)``; ``out`` is the
  (b - a, width) slice of the result it may write into (None in worker processes), ``status`` a boolean
  array (True: converged) or an integer array of :data:`OK`, :data:`NOT_CONVERGED` and :data:`INADMISSIBLE`
  codes (a statistic that judges admissibility, e.g. CB-SEM's Heywood checks), ``extra`` an optional
  (b - a, width) array (the nested bootstrap's standard errors) or None.

A backend is any object with ``map(statistic, plan, chunks, out)`` yielding the chunks' results in order:
:class:`Serial`, :class:`Threads` (NumPy and the compiled kernels release the GIL) and :class:`Processes`
(the statistic is pickled once per worker).  Results never depend on the backend, its worker count or the
chunking: plans draw every replicate from a stream fixed by (seed, replicate), statistics take their
frequency products over whole blocks of ``plan.block`` replicates, and every chunk runs with the BLAS on one
thread (:func:`evaluate_chunk`).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from csi.errors import AdmissibilityWarning, ConvergenceWarning, EstimationError
from csi.estimators.replicates import REPLICATE_INADMISSIBLE, REPLICATE_NOT_CONVERGED, REPLICATE_OK

FAILURE_POLICIES = ("drop", "keep", "raise")
"""What to do with a replicate that did not converge or whose solution is inadmissible: ``drop`` (default:
excluded from every summary, counted), ``keep`` (use its last iterate, counted), ``raise`` (stop with an
error).  Replicates with singular moments (e.g. a resample in which an item is constant) are always dropped
and counted."""

OK, NOT_CONVERGED, INADMISSIBLE = REPLICATE_OK, REPLICATE_NOT_CONVERGED, REPLICATE_INADMISSIBLE
"""Replicate status codes a statistic may return instead of a convergence mask
(:data:`csi.estimators.replicates.REPLICATE_OK` and siblings, defined there so estimators need not import
the driver)."""


def status_codes(converged: Any) -> np.ndarray:
    """A statistic's per-replicate ``status`` as :data:`OK` / :data:`NOT_CONVERGED` / :data:`INADMISSIBLE`
    codes (a boolean convergence mask maps to the first two)."""
    c = np.asarray(converged)
    if c.dtype == bool:
        return np.where(c, OK, NOT_CONVERGED).astype(np.int8)
    return c.astype(np.int8)


class Statistic(Protocol):
    width: int

    def prepare(self, plan: Any) -> None: ...

    def evaluate(self, plan: Any, a: int, b: int, out: np.ndarray | None = None) -> tuple[Any, Any, Any]: ...


Chunk = tuple[int, int]


def evaluate_chunk(statistic: Statistic, plan: Any, a: int, b: int, out: np.ndarray | None) -> Any:
    """``statistic.evaluate(plan, a, b, out)`` with the BLAS on one thread (:func:`single_threaded_blas`).

    Every backend evaluates its chunks through this, wherever a chunk runs (the calling thread, a pool thread
    or process, a Dask worker process or an in-process Dask worker thread): a threaded BLAS splits some sums
    differently from a single thread, so the last bits of a replicate would otherwise depend on the thread
    count of the process that ran it (a Dask nanny sets ``OMP_NUM_THREADS=1``; a pool worker inherits the
    default), and several workers each running a threaded BLAS oversubscribe the cores.
    """
    with single_threaded_blas():
        return statistic.evaluate(plan, a, b, out)


class Serial:
    """Every chunk in the calling thread, in order."""

    def map(self, statistic: Statistic, plan: Any, chunks: list[Chunk], out: np.ndarray) -> Iterator[Any]:
        for a, b in chunks:
            yield evaluate_chunk(statistic, plan, a, b, out[a:b])


class Threads:
    """Chunks on a pool of ``workers`` threads."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map(self, statistic: Statistic, plan: Any, chunks: list[Chunk], out: np.ndarray) -> Iterator[Any]:
        # The outer limit spans the whole pool, so the BLAS setting is not flipped back and forth between chunks.
        with single_threaded_blas(), ThreadPoolExecutor(max_workers=self.workers) as pool:
            yield from pool.map(lambda c: evaluate_chunk(statistic, plan, c[0], c[1], out[c[0] : c[1]]), chunks)


_INSTALLED: tuple[Any, Any] | None = None


def _install(statistic: Statistic, plan: Any) -> None:
    global _INSTALLED
    _INSTALLED = (statistic, plan)


def _evaluate_installed(chunk: Chunk) -> Any:
    assert _INSTALLED is not None
    statistic, plan = _INSTALLED
    return evaluate_chunk(statistic, plan, chunk[0], chunk[1], None)


class Processes:
    """Chunks on ``workers`` processes; the statistic and the plan are pickled once per worker."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map(self, statistic: Statistic, plan: Any, chunks: list[Chunk], out: np.ndarray) -> Iterator[Any]:
        with ProcessPoolExecutor(max_workers=self.workers, initializer=_install, initargs=(statistic, plan)) as pool:
            yield from pool.map(_evaluate_installed, chunks)


@dataclass(frozen=True)
class Replicates:
    """What :func:`run_plan` returns: statistics, convergence, extras and failure masks, in replicate order.

    ``status`` holds the :data:`OK` / :data:`NOT_CONVERGED` / :data:`INADMISSIBLE` code of every replicate,
    ``converged`` whether it converged (admissible or not); the masks count what the failure policy saw
    (all False when it was not applied).
    """

    stats: np.ndarray
    converged: np.ndarray
    extra: np.ndarray | None
    singular: np.ndarray
    not_converged: np.ndarray
    inadmissible: np.ndarray
    status: np.ndarray


def chunk_bounds(n_resamples: int, chunk_size: int) -> list[Chunk]:
    """``[a, b)`` of every chunk of ``chunk_size`` replicates."""
    return [(a, min(a + chunk_size, n_resamples)) for a in range(0, n_resamples, chunk_size)]


def run_plan(
    plan: Any,
    statistic: Statistic,
    *,
    chunk_size: int,
    backend: Serial | Threads | Processes | None = None,
    failed: str | None = "drop",
    what: str = "",
    progress: bool = False,
    stacklevel: int = 2,
) -> Replicates:
    """Evaluate ``statistic`` on every replicate of ``plan``.

    Parameters
    ----------
    plan
        A resampling plan (:mod:`csi.resample.plans`).
    statistic
        See the module docstring.
    chunk_size
        Replicates per chunk (memory and load balance only).
    backend
        :class:`Serial` (default), :class:`Threads` or :class:`Processes`.
    failed
        A :data:`FAILURE_POLICIES` entry, or None to leave the statistics as the statistic returned them.
    what
        Word naming the replicates in warnings (e.g. ``"CB-SEM"``).
    progress
        Show a progress bar over the chunks.
    stacklevel
        The level the caller would give :func:`warnings.warn`.
    """
    if failed is not None and failed not in FAILURE_POLICIES:
        raise EstimationError(f"unknown failed-replicate policy {failed!r}; accepted: {', '.join(FAILURE_POLICIES)}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise EstimationError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    from tqdm.auto import tqdm

    B = plan.n_resamples
    chunks = chunk_bounds(B, chunk_size)
    statistic.prepare(plan)
    # Every chunk writes its rows straight into the one result array (or is copied there from a worker).
    stats = np.empty((B, statistic.width))
    status = np.empty(B, dtype=np.int8)
    extras: list[Any] = []
    results: Iterable[Any] = (backend or Serial()).map(statistic, plan, chunks, stats)
    for (a, b), (s, c, e) in zip(
        chunks, tqdm(results, total=len(chunks), disable=not progress, unit="chunk", desc="bootstrap"), strict=True
    ):
        if not np.shares_memory(s, stats):
            stats[a:b] = s
        status[a:b] = status_codes(c)
        extras.append(e)
    extra = np.concatenate(extras) if extras and extras[0] is not None else None
    conv = status != NOT_CONVERGED
    if failed is None:
        none = np.zeros(B, dtype=bool)
        return Replicates(stats, conv, extra, none, none, none, status)
    singular, not_converged, inadmissible = apply_failure_policy(
        stats, status, failed, what=what, se_draws=extra, stacklevel=stacklevel + 1
    )
    return Replicates(stats, conv, extra, singular, not_converged, inadmissible, status)


def apply_failure_policy(
    stats: np.ndarray,
    converged: np.ndarray,
    failed: str,
    *,
    what: str = "",
    se_draws: np.ndarray | None = None,
    stacklevel: int = 2,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count failed replicates and apply the ``failed`` policy to ``stats`` (and ``se_draws``) in place.

    A replicate whose statistics are all NaN had singular moments (an item
    constant in the resample): always dropped, counted and warned about.  A
    replicate that did not converge, or converged to an inadmissible solution,
    is dropped (``"drop"``: set to NaN), kept (``"keep"``) or raises
    (``"raise"``), and is warned about (:class:`~csi.errors.ConvergenceWarning`,
    :class:`~csi.errors.AdmissibilityWarning`).

    ``converged`` is a boolean mask or the status codes of :func:`status_codes`;
    ``stacklevel`` is the level the caller would give :func:`warnings.warn`.

    Returns
    -------
    singular, not_converged, inadmissible
        Boolean masks over the replicates.
    """
    B = stats.shape[0]
    label = f"{what} " if what else ""
    status = status_codes(converged)
    singular = np.isnan(stats).all(axis=1)
    failures = (
        (~singular & (status == NOT_CONVERGED), "did not converge", "raise max_iter in the fit, or ", ConvergenceWarning),
        (~singular & (status == INADMISSIBLE), "were inadmissible (Heywood case: a negative variance or a latent "
         "covariance matrix that is not positive definite)", "", AdmissibilityWarning),
    )  # fmt: skip
    for mask, said, hint, category in failures:
        if not mask.any():
            continue
        if failed == "raise":
            first = int(np.flatnonzero(mask)[0])
            raise EstimationError(
                f"{int(mask.sum())} of {B} {label}replicates {said} (first: replicate {first}); "
                f"{hint}use failed='drop' or 'keep'"
            )
        if failed == "drop":
            stats[mask] = np.nan
            if se_draws is not None:
                se_draws[mask] = np.nan
        warnings.warn(
            f"{int(mask.sum())} of {B} {label}bootstrap replicates {said} "
            f"({'dropped' if failed == 'drop' else 'kept'})",
            category,
            stacklevel=stacklevel + 1,
        )
    if singular.any():
        warnings.warn(
            f"{int(singular.sum())} of {B} bootstrap replicates had singular moments (an item constant "
            "in the resample) and were dropped",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    return singular, failures[0][0], failures[1][0]


_BLAS: dict[str, Any] = {"controller": None, "users": 0, "limiter": None}
_BLAS_LOCK = threading.Lock()


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Context in which the BLAS behind NumPy and SciPy runs one thread per call.

    Every task of the resampling driver and of the executors runs in one (:func:`evaluate_chunk`,
    :func:`csi.resample.scheduler.run_batch`): the tasks already run ``n_jobs`` at a time, so a threaded
    BLAS inside them adds no cores, and OpenBLAS's idle threads spin between calls, which on a small machine
    costs more CPU time than the work; and a threaded BLAS splits some sums differently from one thread, so
    results would depend on where a task ran.  The limit is process-wide while any such context is open
    (tasks running at once in several threads share it, and the last to finish restores the previous
    setting); it is set with threadpoolctl, and without threadpoolctl nothing is changed.
    """
    with _BLAS_LOCK:
        if _BLAS["controller"] is None:
            try:
                # threadpoolctl sees only the libraries loaded when it looks: load SciPy's BLAS (semopy and
                # scipy.linalg use it) first, or a task that imports it later would run it unlimited.
                import scipy.linalg  # noqa: F401
                from threadpoolctl import ThreadpoolController

                _BLAS["controller"] = ThreadpoolController()
            except ImportError:  # pragma: no cover - threadpoolctl is a dependency
                _BLAS["controller"] = False
        if _BLAS["users"] == 0 and _BLAS["controller"]:
            _release_blas_control()
            _BLAS["limiter"] = _BLAS["controller"].limit(limits=1, user_api="blas")
            _release_blas_control()
        _BLAS["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS["users"] -= 1
            if _BLAS["users"] == 0 and _BLAS["limiter"] is not None:
                _release_blas_control()
                _BLAS["limiter"].restore_original_limits()
                _release_blas_control()
                _BLAS["limiter"] = None


def _release_blas_control() -> None:
    """Let the next thread set OpenBLAS's thread count (threadpoolctl >= 3.8; called under ``_BLAS_LOCK``).

    OpenBLAS's pthreads pool is process-wide, so threadpoolctl 3.8 lets only the first thread that sets its size
    set it again, and silently ignores the others, until that thread clears its claim.  The limit here is set
    by whichever task thread enters first and restored by whichever leaves last (a pool thread, an in-process
    Dask worker thread), and these threads live on: without releasing the claim after each change, the
    restore (or the next run's limit from another thread) would be ignored and the limit would stick or
    never hold.  Every change here is made under the lock, so releasing it is safe.
    """
    try:
        from threadpoolctl import OpenBLASController
    except ImportError:  # pragma: no cover - threadpoolctl < 3.8 has no claim to release
        return
    release = getattr(OpenBLASController, "clear_controlling_thread", None)
    if release is not None:
        release(force=True)


def show_progress(progress: bool | None, long_run: bool) -> bool:
    """The progress default: only when writing to a terminal and the run is long."""
    return progress if progress is not None else (sys.stderr.isatty() and long_run)
