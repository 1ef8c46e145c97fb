"""Where tasks run: in this process, on a local pool, or on a Dask cluster (the one module that knows Dask).

:func:`resolve_scheduler` turns the ``scheduler`` option of :func:`csi.index_panel`, :func:`csi.bootstrap` and
the Monte-Carlo studies (``--scheduler`` on the command line) into an :class:`Executor`:

``"serial"``
    every task in the calling process, in order;
``"threads"``
    a pool of ``n_jobs`` threads (useful where the work releases the GIL: NumPy and the compiled kernels);
``"processes"`` (the default)
    a pool of ``n_jobs`` local processes (one: the same as ``"serial"``);
``"dask"``
    a :class:`distributed.LocalCluster` sized to the machine (``n_jobs`` worker processes of one thread, default
    every core), started for the run and closed after it; the dashboard link is printed to stderr;
``"tcp://host:port"`` (any Dask address: ``tls://``, ``ws://``, ``inproc://`` ...)
    an existing Dask scheduler, e.g. one started with ``dask scheduler`` / ``dask worker``, dask-jobqueue or
    on Kubernetes; or a :class:`distributed.Client` already connected (left open).

An executor has two faces.  :meth:`Executor.map` runs ``fn`` over a list of tasks (panel cells, pooled
industries, national fits, study replications), in batches of sensible size, and returns the results in task
order, whatever order they finish in (``as_completed`` and reordering, so the progress bar advances as work
finishes).  With ``on_error`` a task that raises does not stop the run: its result is ``on_error(task,
error)`` and the other tasks finish (csi's own errors, a bad option or input, still stop it).  :meth:`Executor.driver_backend` is a backend of the resampling driver
(:func:`csi.resample.driver.run_plan`): chunks of replicates, the statistic and the plan shipped once to every
worker (``scatter(broadcast=True)``).  Results never depend on the scheduler: every cell, replication and
replicate draws from a stream fixed by its identity (:func:`csi.index.cells.cell_seed`,
:mod:`csi.resample.plans`), every task runs with one BLAS thread wherever it runs (:func:`run_batch`,
:func:`csi.resample.driver.evaluate_chunk`), and results are assembled in task order.

Faults: Dask reruns the tasks of a worker that died on the remaining or replacement workers (a task's
arguments are held by the scheduler until it finishes), so a run survives a killed worker with the same results.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from csi.errors import CSIError, EstimationError
from csi.resample.driver import Processes, Serial, Threads, evaluate_chunk, single_threaded_blas

__all__ = ["SCHEDULERS", "Executor", "SchedulerError", "TaskError", "batch_size", "resolve_scheduler"]

SCHEDULERS = ("serial", "threads", "processes", "dask")
"""The scheduler names; a Dask scheduler address (``tcp://host:port``) is accepted too."""

DASK_PROTOCOLS = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")
"""Address prefixes taken for an existing Dask scheduler."""

MAX_BATCH = 64
"""Most tasks per batch: large enough that 40,000 cells make a few hundred Dask tasks per hundred workers, small
enough that a batch's data stays far below Dask's large-graph warning."""

CONNECT_TIMEOUT = "10s"
"""How long to try to reach a Dask scheduler address before giving up with a :class:`SchedulerError`."""

ACCEPTED = "'serial', 'threads', 'processes', 'dask' or a Dask scheduler address such as 'tcp://host:8786'"


class SchedulerError(EstimationError):
    """A bad ``scheduler`` option, or a Dask scheduler that cannot be reached."""


@dataclass(frozen=True)
class TaskError:
    """What a task that raised hands back when the caller asked to go on (``on_error``): the reason, as text."""

    kind: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def _error_of(exc: BaseException) -> TaskError:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f"{tb[-1].filename.rsplit(os.sep, 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return TaskError(type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", where)


def run_batch(fn: Callable[[Any], Any], tasks: Sequence[Any], catch: bool) -> list[Any]:
    """``[fn(t) for t in tasks]``, the BLAS on one thread; with ``catch`` a task that raises gives a
    :class:`TaskError` instead.

    Every executor runs its batches through this, so the one-thread BLAS (:func:`single_threaded_blas`) holds
    wherever a batch runs: the calling thread, a local pool, a Dask worker process (whatever thread count
    its environment sets) or an in-process Dask worker thread; results are then the same bytes everywhere,
    and workers do not oversubscribe the cores with BLAS threads.
    csi's own errors (:class:`~csi.errors.CSIError`: a bad option or input, such as a bootstrap too large for
    memory) are never caught: they concern the whole run, which they stop with their message.
    """
    with single_threaded_blas():
        if not catch:
            return [fn(t) for t in tasks]
        out: list[Any] = []
        for t in tasks:
            try:
                out.append(fn(t))
            except CSIError:
                raise
            except Exception as e:  # noqa: BLE001 - reported per task by the caller's on_error
                out.append(_error_of(e))
        return out


def batch_size(n_tasks: int, workers: int, cap: int = MAX_BATCH) -> int:
    """Tasks per batch: at least four batches per worker (load balance), at most ``cap`` tasks (memory and
    latency), the number of batches rounded up to a multiple of ``workers`` (as far as whole tasks allow), so
    that the workers finish together rather than one running the last batch alone (13 batches of 64 panel
    cells on two workers left one idle for a thirteenth of the run; 14 batches of 58 do not)."""
    workers = max(workers, 1)
    batches = max(4 * workers, -(-n_tasks // cap))
    batches = -(-batches // workers) * workers
    return max(1, -(-n_tasks // batches))


def _batches(n: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, n)) for a in range(0, n, size)]


class Executor:
    """Runs task lists and resampling chunks somewhere; see the module docstring.  Use it as a context manager:
    a cluster it started is closed on exit."""

    name = "serial"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release what the executor started (nothing for local pools, which live per call)."""

    @property
    def option(self) -> Any:
        """The ``scheduler`` option that runs more work in the same place (a Dask cluster: its client)."""
        return self.name

    def map(
        self,
        fn: Callable[[Any], Any],
        tasks: Sequence[Any],
        *,
        on_error: Callable[[Any, TaskError], Any] | None = None,
        progress: bool = False,
        desc: str = "",
        unit: str = "task",
        batch: int | None = None,
    ) -> list[Any]:
        """``[fn(t) for t in tasks]``, in task order.

        Parameters
        ----------
        fn
            A module-level function (pickled by reference for workers).
        tasks
            The tasks (picklable); each is shipped once, with its batch.
        on_error
            ``on_error(task, error)`` gives the result of a task that raised (``error`` a :class:`TaskError`
            naming the exception and its message); without it the first error is raised.
        progress, desc, unit
            A progress bar over the tasks.
        batch
            Tasks per batch; default :func:`batch_size`.
        """
        from tqdm.auto import tqdm

        tasks = list(tasks)
        results: list[Any] = [None] * len(tasks)
        bar = tqdm(total=len(tasks), disable=not progress, unit=unit, desc=desc or None)
        try:
            size = batch or batch_size(len(tasks), self.workers)
            for (a, b), out in self._run(fn, tasks, _batches(len(tasks), size), on_error is not None):
                results[a:b] = out
                bar.update(b - a)
        finally:
            bar.close()
        if on_error is not None:
            results = [on_error(t, r) if isinstance(r, TaskError) else r for t, r in zip(tasks, results)]
        return results

    def _run(self, fn: Callable[[Any], Any], tasks: list[Any], batches: list[tuple[int, int]], catch: bool
             ) -> Iterator[tuple[tuple[int, int], list[Any]]]:  # fmt: skip
        for a, b in batches:
            yield (a, b), run_batch(fn, tasks[a:b], catch)

    def driver_backend(self) -> Any:
        """A backend for :func:`csi.resample.driver.run_plan`."""
        return Serial()


class _PoolExecutor(Executor):
    pool_class: type = ProcessPoolExecutor

    def _run(self, fn: Callable[[Any], Any], tasks: list[Any], batches: list[tuple[int, int]], catch: bool
             ) -> Iterator[tuple[tuple[int, int], list[Any]]]:  # fmt: skip
        if self.workers <= 1 or len(batches) <= 1:
            yield from super()._run(fn, tasks, batches, catch)
            return
        with self.pool_class(max_workers=self.workers) as pool:
            pending: dict[Future[Any], tuple[int, int]] = {
                pool.submit(run_batch, fn, tasks[a:b], catch): (a, b) for a, b in batches
            }
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for f in done:
                        yield pending.pop(f), f.result()
            finally:
                for f in pending:
                    f.cancel()


class SerialExecutor(Executor):
    """Every task in the calling process, in order."""


class ProcessExecutor(_PoolExecutor):
    """A local pool of ``workers`` processes (started per call)."""

    name = "processes"
    pool_class = ProcessPoolExecutor

    def driver_backend(self) -> Any:
        return Processes(self.workers) if self.workers > 1 else Serial()


class ThreadExecutor(_PoolExecutor):
    """A local pool of ``workers`` threads (started per call)."""

    name = "threads"
    pool_class = ThreadPoolExecutor

    def driver_backend(self) -> Any:
        return Threads(self.workers) if self.workers > 1 else Serial()


def _evaluate_chunks(payload: tuple[Any, Any], chunks: list[tuple[int, int]]) -> list[Any]:
    statistic, plan = payload
    with single_threaded_blas():  # once for the batch (each chunk takes it again: a refcount, no switch)
        return [evaluate_chunk(statistic, plan, a, b, None) for a, b in chunks]


class DaskBackend:
    """Resampling-driver backend on a Dask client: the statistic and plan scattered once, chunks in batches."""

    def __init__(self, client: Any, workers: int) -> None:
        self.client = client
        self.workers = workers

    def map(self, statistic: Any, plan: Any, chunks: list[tuple[int, int]], out: np.ndarray) -> Iterator[Any]:
        from distributed import as_completed

        # Broadcast, so a worker that dies does not take the only copy with it.
        payload = self.client.scatter((statistic, plan), broadcast=True, hash=False)
        size = batch_size(len(chunks), self.workers, cap=16)
        groups = [chunks[a:b] for a, b in _batches(len(chunks), size)]
        futures = [self.client.submit(_evaluate_chunks, payload, g, pure=False) for g in groups]
        position = {f.key: i for i, f in enumerate(futures)}
        ready: dict[int, list[Any]] = {}
        nxt = 0
        try:
            for f in as_completed(futures, loop=self.client.loop):
                ready[position[f.key]] = f.result()
                while nxt in ready:
                    yield from ready.pop(nxt)
                    nxt += 1
        finally:
            self.client.cancel(futures)
            self.client.cancel(payload)


class DaskExecutor(Executor):
    """Tasks on a Dask cluster: a LocalCluster started here (closed on exit) or an existing scheduler."""

    name = "dask"

    def __init__(self, client: Any, cluster: Any = None, own_client: bool = True) -> None:
        self.client = client
        self.cluster = cluster
        self.own_client = own_client
        super().__init__(max(1, sum(client.nthreads().values())) if client.nthreads() else 1)

    @property
    def option(self) -> Any:
        return self.client

    def close(self) -> None:
        if self.own_client:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def _run(self, fn: Callable[[Any], Any], tasks: list[Any], batches: list[tuple[int, int]], catch: bool
             ) -> Iterator[tuple[tuple[int, int], list[Any]]]:  # fmt: skip
        from distributed import as_completed

        # One submission per batch: each batch's tasks (a cell's rows travel inside its task) are sent once and
        # held by the scheduler until done, so a batch whose worker died is rerun elsewhere.
        futures = [self.client.submit(run_batch, fn, tasks[a:b], catch, pure=False) for a, b in batches]
        where = {f.key: ab for f, ab in zip(futures, batches)}
        try:
            for f in as_completed(futures, loop=self.client.loop):
                a, b = where[f.key]
                if f.status == "error" and catch and not isinstance(f.exception(), CSIError):
                    # The batch itself failed (its worker was lost too often, or it could not be unpickled).
                    err = _error_of(f.exception())
                    yield (a, b), [err] * (b - a)
                else:
                    yield (a, b), f.result()
        finally:
            self.client.cancel(futures)

    def driver_backend(self) -> Any:
        return DaskBackend(self.client, self.workers)


NANNY_ENVIRON = ("MALLOC_TRIM_THRESHOLD_",)
"""Variables Dask's nanny sets in its workers that csi's LocalCluster leaves out (see :func:`local_cluster`)."""


def local_cluster(n_workers: int, **options: Any) -> Any:
    """A Dask ``LocalCluster`` of ``n_workers`` one-thread worker processes, set up for csi's work.

    One thread per worker process: cells and replications are Python-heavy and hold the GIL between kernels.
    The workers are started without the ``MALLOC_TRIM_THRESHOLD_=65536`` that Dask's nanny sets by default
    (``distributed.nanny.pre-spawn-environ``): returning freed memory to the system after every small array
    made the estimator study about a third slower than the same work in a local process pool.  The nanny's
    ``OMP_NUM_THREADS=1`` (and its MKL/OpenBLAS twins) stay: every task runs with one BLAS thread anyway
    (:func:`run_batch`), so they change no result, and they keep anything else in a worker from starting a
    thread per core.  ``options`` go to ``LocalCluster``.
    """
    import dask
    from distributed import LocalCluster

    environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
               if k not in NANNY_ENVIRON}  # fmt: skip
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, **options)


def _local_cluster(n_jobs: int | None) -> DaskExecutor:
    from distributed import Client

    workers = n_jobs or os.cpu_count() or 1
    cluster = local_cluster(workers, dashboard_address=":0")
    client = Client(cluster, set_as_default=False)
    print(f"csi: Dask LocalCluster with {workers} worker(s); dashboard: {cluster.dashboard_link}", file=sys.stderr)
    return DaskExecutor(client, cluster)


def _connect(address: str) -> DaskExecutor:
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise SchedulerError(f"scheduler={address!r}: cannot reach the Dask scheduler ({e}); start one with "
                             "'dask scheduler' and 'dask worker ADDRESS', or use scheduler='dask'") from None  # fmt: skip
    if not client.nthreads():
        client.wait_for_workers(1, timeout="60s")
    return DaskExecutor(client)


def check_scheduler(scheduler: Any) -> None:
    """Raise :class:`SchedulerError` unless ``scheduler`` is None, a name of :data:`SCHEDULERS`, a Dask address
    or a :class:`distributed.Client` (checked before any work)."""
    if scheduler is None or scheduler in SCHEDULERS:
        return
    if isinstance(scheduler, str) and scheduler.startswith(DASK_PROTOCOLS) and len(scheduler.split("://", 1)[1]):
        return
    if type(scheduler).__name__ == "Client" and type(scheduler).__module__.startswith("distributed"):
        return
    raise SchedulerError(f"unknown scheduler {scheduler!r}; accepted: {ACCEPTED}")


def resolve_scheduler(scheduler: Any = "processes", n_jobs: int | None = None) -> Executor:
    """The executor for a ``scheduler`` option (see the module docstring).

    Parameters
    ----------
    scheduler
        ``"serial"``, ``"threads"``, ``"processes"`` (None: the same), ``"dask"``, a Dask scheduler address
        such as ``"tcp://10.0.0.5:8786"``, or a connected :class:`distributed.Client`.
    n_jobs
        Threads or processes of the local pools, worker processes of a ``"dask"`` LocalCluster (None: every
        core); ignored for an existing Dask scheduler, whose workers are what they are.

    Raises
    ------
    SchedulerError
        For any other value, or when a scheduler address cannot be reached.
    """
    check_scheduler(scheduler)
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs < 1):
        raise SchedulerError(f"n_jobs must be a positive integer or None for every core, got {n_jobs!r}")
    workers = int(n_jobs) if n_jobs is not None else (os.cpu_count() or 1)
    if scheduler is None or scheduler == "processes":
        return ProcessExecutor(workers)
    if scheduler == "serial":
        return SerialExecutor(1)
    if scheduler == "threads":
        return ThreadExecutor(workers)
    if scheduler == "dask":
        return _local_cluster(n_jobs)
    if isinstance(scheduler, str):
        return _connect(scheduler)
    return DaskExecutor(scheduler, own_client=False)
