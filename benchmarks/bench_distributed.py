"""Dask against the local process pool: panel index production and the estimator study, plus a 40,000-cell projection.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_distributed.py`` (``--quick``: a small panel,
a small study and a 4,000-cell graph, about a minute).  Side by side in one run, on the same cores:

* ``csi.index_panel`` on the 400-company panel (250 respondents x 2 waves, ACSI, B = 1,000 per cell, national
  fits included) with ``scheduler="processes"`` (``--jobs`` processes) and on a LocalCluster of ``--jobs``
  worker processes (one thread each), and on a one-worker LocalCluster; cluster start-up is timed apart;
* the estimator study (:func:`csi.bench.montecarlo.run_study`) on the same three.

Printed: wall seconds, the Dask overhead (``dask / processes - 1`` at the same number of workers; target at most
15 %) and the scaling from one worker to ``--jobs`` (target at least 1.8 at two); the bytes of both runs are
checked equal.  Then the projection for a 40,000-cell run (100 countries x 400 companies): a graph of that many
trivial tasks, one per cell and batched as csi batches cells (:func:`csi.resample.scheduler.batch_size`), built
and run on the cluster: task count, pickled graph size, and the time from submission to the last result.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import platform
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))

import pandas as pd
from _common import print_table  # noqa: E402

import csi  # noqa: E402
from csi.bench import montecarlo  # noqa: E402
from csi.resample.scheduler import batch_size, run_batch  # noqa: E402


def _cluster(workers: int):  # noqa: ANN202 - distributed types stay out of the signature
    from distributed import Client

    from csi.resample.scheduler import local_cluster

    t0 = time.perf_counter()
    cluster = local_cluster(workers, dashboard_address=":0", silence_logs=logging.ERROR)  # as scheduler="dask" starts it
    client = Client(cluster)
    return cluster, client, time.perf_counter() - t0


def _timed(fn, *args) -> tuple[float, object]:  # noqa: ANN001
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def _panel_run(data, scheduler, jobs: int, resamples: int):  # noqa: ANN001, ANN202
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return csi.index_panel(data.data, "acsi", company="company", wave="wave", industry="industry",
                               sector="sector", unit_weights=data.unit_weights, min_n=30, n_resamples=resamples,
                               seed=1, n_jobs=jobs, scheduler=scheduler, progress=False)  # fmt: skip


def _same(a: csi.PanelIndexResult, b: csi.PanelIndexResult) -> bool:
    return all(getattr(a, t).equals(getattr(b, t)) for t in ("index", "changes", "units", "estimates"))


def _same_study(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """The study's tables without the wall-time columns, which differ from run to run."""
    timing = [c for c in a.columns if "seconds" in c or c.endswith("_ms")]
    return a.drop(columns=timing).equals(b.drop(columns=timing))


def _study(scheduler, jobs: int, quick: bool):  # noqa: ANN001, ANN202
    size = dict(models=("acsi",), populations=("common_factor",), ns=(100,), reps=4, bootstrap=49,
                methods=("pls", "plsc", "sumscore")) if quick else dict(
                models=("ecsi", "acsi"), ns=(250,), reps=25, bootstrap=200, methods=("pls", "plsc", "sumscore"))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = montecarlo.run_study(**size, seed=1, n_jobs=jobs, scheduler=scheduler)
    return raw.drop(columns=["seconds", "boot_seconds"])


def _trivial(task: int) -> int:
    return task


def projection(client, cells: int, workers_assumed: int) -> list[list[object]]:  # noqa: ANN001
    """Build and run graphs of ``cells`` trivial tasks: one per cell, and csi's batches."""
    rows = []
    size = batch_size(cells, workers_assumed)
    for label, tasks in (("one task per cell", [(_trivial, i) for i in range(cells)]),
                         (f"batches of {size} cells", [(run_batch, _trivial, list(range(a, min(a + size, cells))), True)
                                                       for a in range(0, cells, size)])):  # fmt: skip
        graph_bytes = len(pickle.dumps(tasks))
        t0 = time.perf_counter()
        futures = [client.submit(*t, pure=False) for t in tasks]
        t_submit = time.perf_counter() - t0
        client.gather(futures)
        t_done = time.perf_counter() - t0
        del futures
        rows.append([label, f"{len(tasks):,}", f"{graph_bytes / 1e6:.2f}", f"{t_submit:.2f}", f"{t_done:.2f}",
                     f"{1e6 * t_done / len(tasks):.0f}"])  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small panel and study, a 4,000-cell graph (~1 minute)")
    ap.add_argument("--companies", type=int, default=400)
    ap.add_argument("--respondents", type=int, default=250)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2, help="local processes and Dask workers (default 2)")
    ap.add_argument("--cells", type=int, help="cells of the projection (default 40,000; --quick 4,000)")
    args = ap.parse_args()
    for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.core", "distributed.worker"):
        logging.getLogger(name).setLevel(logging.ERROR)  # the cluster's start and close chatter
    if args.quick:
        args.companies, args.respondents, args.resamples = 20, 60, 50
    args.cells = args.cells or (4_000 if args.quick else 40_000)
    print(f"csi {csi.__version__}, Python {platform.python_version()}, {os.cpu_count()} cores, {args.jobs} workers; "
          f"panel {args.companies} companies x {args.respondents} respondents x 2 waves, B = {args.resamples}")  # fmt: skip
    panel = csi.simulate_panel("acsi", companies=args.companies, respondents=args.respondents, waves=2, seed=1,
                               industries=max(1, args.companies // 10), sectors=max(1, args.companies // 50))  # fmt: skip
    cluster_n, client_n, start_n = _cluster(args.jobs)
    cluster_1, client_1, start_1 = _cluster(1)
    print(f"LocalCluster start-up: {start_n:.1f} s ({args.jobs} workers), {start_1:.1f} s (1 worker)")
    rows = []
    try:
        for what, run in (
            ("index_panel", lambda s, j: _panel_run(panel, s, j, args.resamples)),
            ("estimator study", lambda s, j: _study(s, j, args.quick)),
        ):
            _timed(run, client_n, args.jobs)  # warm-up: workers import csi and load compiled kernels
            _timed(run, client_1, 1)
            t_proc, a = _timed(run, "processes", args.jobs)
            t_dask, b = _timed(run, client_n, args.jobs)
            t_one, _ = _timed(run, client_1, 1)
            same = _same(a, b) if what == "index_panel" else _same_study(a, b)
            rows.append([what, f"{t_proc:.1f}", f"{t_dask:.1f}", f"{t_one:.1f}", f"{100 * (t_dask / t_proc - 1):+.1f}",
                         f"{t_one / t_dask:.2f}", "yes" if same else "NO"])  # fmt: skip
        print()
        print_table(["run", f"processes ({args.jobs}) s", f"dask ({args.jobs}) s", "dask (1) s", "overhead %",
                     f"scaling 1->{args.jobs}", "same bytes"], rows, text=["same bytes"])  # fmt: skip
        print()
        print(f"Projection: {args.cells:,} cells on {args.jobs} workers (trivial tasks; csi's batches sized for 100 "
              "workers)")  # fmt: skip
        print_table(["graph", "tasks", "pickled MB", "submit s", "all done s", "us per task"],
                    projection(client_n, args.cells, 100), text=["graph"])  # fmt: skip
    finally:
        for c in (client_n, client_1, cluster_n, cluster_1):
            c.close()
    print(f"\nseconds: wall times above; {len(panel.data):,} respondents in the panel")


if __name__ == "__main__":
    main()
