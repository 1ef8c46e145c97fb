"""Timing of the batched bootstrap (csi.bootstrap) against per-resample loops.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_bootstrap.py``
(``--quick`` for small sizes).  For each case (ECSI-7, demo data):

* **csi.bootstrap**: the batched bootstrap, timed over all B resamples;
* **csi.fit loop**: csi's own single fits over the same resamples (rows drawn
  with the same kind of plan), timed on a subset of ``--loop-resamples`` and
  extrapolated linearly to B;
* **plspm-python** (PyPI ``plspm``, which needs pandas < 3, so it lives in a
  separate virtual environment): with ``--plspm-python PYTHON`` its
  ``Plspm(..., bootstrap=True, bootstrap_iterations=k)`` is timed in that
  interpreter and extrapolated per resample to B; without it the row says
  "skipped".

Each case runs in its own child process, so its peak memory (ru_maxrss of
the child, which also runs the csi.fit loop) is per case.  The first
``csi.bootstrap`` call of a child (numba's cached kernel being loaded, or
compiled on a fresh install) is reported as warm-up, outside the timing; the
csi.bootstrap time is the median of ``--repeat`` runs.

``--phases`` instead prints the CPU time (``time.thread_time``, one thread,
median of ``--repeat`` runs) of each phase of the n = 250, B = 5,000
bootstrap: drawing the counts, the moment product, the compiled kernel, the
draws frame and the percentile summaries.  CPU time per phase is what to
compare on a shared machine, where wall-clock times are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
from _common import once_seconds, peak_rss_mib, print_table  # noqa: E402

import csi  # noqa: E402
from csi.demo import demo_data  # noqa: E402

PLSPM_SCRIPT = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.filterwarnings("ignore")
    import pandas as pd
    import plspm.config as c
    from plspm.mode import Mode
    from plspm.plspm import Plspm
    from plspm.scheme import Scheme

    job = json.loads(sys.argv[1])
    data = pd.read_csv(job["data"])
    names = job["constructs"]
    paths = pd.DataFrame(0, index=names, columns=names)
    for source, target in job["paths"]:
        paths.loc[target, source] = 1
    config = c.Config(paths, scaled=True)
    for name, items in job["blocks"].items():
        config.add_lv(name, Mode.A, *[c.MV(i) for i in items])
    Plspm(data, config, Scheme.PATH)  # warm-up
    t0 = time.perf_counter()
    Plspm(data, config, Scheme.PATH, bootstrap=True, bootstrap_iterations=job["iterations"])
    print(json.dumps({"seconds": time.perf_counter() - t0}))
    """
)


def csi_loop_seconds(fit: csi.FitResult, data, n_resamples: int, seed: int) -> float:
    """Seconds for ``n_resamples`` single ``csi.fit`` calls on bootstrap resamples of ``data``."""
    rng = np.random.default_rng(seed)
    n = len(data)
    rows = [rng.integers(0, n, n) for _ in range(n_resamples)]
    opts = dict(fit.options)

    def loop() -> None:
        for r in rows:
            csi.fit(fit.spec, data.iloc[r], **opts)

    seconds, _ = once_seconds(loop)
    return seconds


def plspm_seconds(python: str, spec: csi.ModelSpec, data, iterations: int) -> tuple[float | None, str]:
    """Seconds of a plspm-python bootstrap of ``iterations`` resamples, or (None, reason)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.csv")
        data.to_csv(path, index=False)
        job = {
            "data": path,
            "constructs": list(spec.construct_names),
            "paths": [[p.source, p.target] for p in spec.paths],
            "blocks": {c.name: [i.name for i in c.items] for c in spec.constructs},
            "iterations": iterations,
        }
        try:
            proc = subprocess.run([python, "-c", PLSPM_SCRIPT, json.dumps(job)], capture_output=True, text=True,
                                  timeout=3600)  # fmt: skip
        except OSError as e:
            return None, f"skipped: cannot run {python!r} ({e})"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"skipped: plspm-python failed ({last})"
    return json.loads(proc.stdout.strip().splitlines()[-1])["seconds"], ""


def run_case(n: int, B: int, args: argparse.Namespace) -> dict:
    """Time one case in this process (called in a child process by :func:`main`)."""
    import time

    data = demo_data(n, seed=args.seed).data
    fit = csi.fit("ecsi", data)
    t0 = time.perf_counter()
    csi.bootstrap(fit, 64, seed=0, progress=False)  # warm-up: kernel load/compile, thread pool, BLAS
    warmup = time.perf_counter() - t0
    times = []
    for _ in range(args.repeat):
        t_csi, boot = once_seconds(lambda: csi.bootstrap(fit, B, seed=args.seed, progress=False))
        times.append(t_csi)
    rss = peak_rss_mib()
    k = min(args.loop_resamples, B)
    t_loop = csi_loop_seconds(fit, data, k, args.seed) * B / k
    return {"n": n, "B": B, "csi": float(np.median(times)), "warmup": warmup, "failed": boot.n_failed,
            "loop": t_loop, "loop_k": k, "rss": rss, "rss_after_loop": peak_rss_mib()}  # fmt: skip


def phases(args: argparse.Namespace, n: int = 250, B: int = 5000) -> None:
    """Print the CPU time of every phase of one bootstrap (see the module notes)."""
    import contextlib
    import time
    from collections.abc import Iterator

    import pandas as pd

    from csi.core.moments import moment_basis, moment_sums
    from csi.resample.plans import OrdinaryPlan
    from csi.resample.run import default_chunk_size, single_threaded_blas
    from csi.resample.statistics import StatisticLayout, fused_model, fused_statistics_of, gather_columns

    fit = csi.fit("ecsi", demo_data(n, seed=args.seed).data)
    boot = csi.bootstrap(fit, B, seed=args.seed, progress=False)  # warm-up: kernel load
    totals: dict[str, np.ndarray] = {}

    @contextlib.contextmanager
    def timed(name: str, rep: int) -> Iterator[None]:
        t0 = time.thread_time()
        yield
        totals.setdefault(name, np.zeros(args.repeat))[rep] += time.thread_time() - t0

    size = default_chunk_size(n, B, 2)
    with single_threaded_blas():
        for rep in range(args.repeat):
            with timed("setup (layout, basis, model)", rep):
                layout = StatisticLayout.of(fit)
                basis = moment_basis(fit.data.X, None, n)
                mdl = fused_model(fit, layout)
                gather = gather_columns(fit, layout)
            plan = OrdinaryPlan(n, B, args.seed)
            stats = np.empty((B, len(layout.labels)))
            for a in range(0, B, size):
                b = min(a + size, B)
                with timed("counts (seeded draws)", rep):
                    F = plan.counts(a, b, basis.dtype)
                with timed("moment product F R", rep):
                    G = moment_sums(basis, F, float64=False)
                with timed("compiled kernel", rep):
                    fused_statistics_of(fit, G, basis, layout, "none", mdl, gather, stats[a:b])
            with timed("draws frame", rep):
                pd.DataFrame(stats, columns=pd.Index(layout.labels, name="parameter"), copy=False)
            with timed("estimates (percentile)", rep):
                _ = boot.with_ci().estimates
    print(f"ECSI, n = {n}, B = {B}: CPU ms per phase, one thread, median of {args.repeat}")
    rows = [[name, f"{1e3 * float(np.median(v)):.2f}"] for name, v in totals.items()]
    print_table(["phase", "CPU ms"], rows, text=("phase",))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--loop-resamples", type=int, default=200, help="resamples timed for the csi.fit loop")
    parser.add_argument("--plspm-python", metavar="PYTHON", help="interpreter of a venv with plspm and pandas<3")
    parser.add_argument("--plspm-resamples", type=int, default=100, help="bootstrap_iterations timed in plspm")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="csi.bootstrap runs per case (median reported)")
    parser.add_argument("--phases", action="store_true", help="CPU time per phase of the n=250, B=5000 case")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: "n,B", run one case and print JSON
    args = parser.parse_args(argv)
    if args.phases:
        phases(args)
        return 0
    if args.case:
        n, B = (int(v) for v in args.case.split(","))
        print(json.dumps(run_case(n, B, args)))
        return 0
    cases = [(250, 5000), (25_000, 1000)]
    if args.quick:
        cases = [(250, 200), (2_000, 100)]
        args.loop_resamples = min(args.loop_resamples, 20)
        args.plspm_resamples = min(args.plspm_resamples, 5)
        args.repeat = min(args.repeat, 2)

    print(f"csi {csi.__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs; ECSI-7 (24 items, 7 constructs), path scheme, percentile intervals")  # fmt: skip
    rows = []
    for n, B in cases:
        child = [sys.executable, os.path.abspath(__file__), "--case", f"{n},{B}", "--seed", str(args.seed),
                 "--repeat", str(args.repeat), "--loop-resamples", str(args.loop_resamples)]  # fmt: skip
        proc = subprocess.run(child, capture_output=True, text=True, env=os.environ.copy())
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            return proc.returncode
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        t_csi, t_loop = res["csi"], res["loop"]
        rows.append([f"{n:,}", f"{B:,}", "csi.bootstrap (batched)", f"{t_csi:.3f}", f"{B / t_csi:,.0f}", "1.0",
                     f"{res['rss']:.0f}", f"median of {args.repeat}, {res['failed']} failed, "
                     f"warm-up {res['warmup']:.2f} s"])  # fmt: skip
        rows.append([f"{n:,}", f"{B:,}", "csi.fit loop", f"{t_loop:.2f}", f"{B / t_loop:,.0f}",
                     f"{t_loop / t_csi:.1f}", f"{res['rss_after_loop']:.0f}",
                     f"extrapolated from {res['loop_k']} resamples"])  # fmt: skip
        data = demo_data(n, seed=args.seed).data
        fit = csi.fit("ecsi", data)
        if args.plspm_python:
            k = min(args.plspm_resamples, B)
            seconds, why = plspm_seconds(args.plspm_python, fit.spec, data, k)
        else:
            seconds, why = None, "skipped: no --plspm-python interpreter given"
        if seconds is None:
            rows.append([f"{n:,}", f"{B:,}", "plspm-python", "-", "-", "-", "-", why])
        else:
            t_pl = seconds * B / k
            rows.append([f"{n:,}", f"{B:,}", "plspm-python", f"{t_pl:.2f}", f"{B / t_pl:,.1f}",
                         f"{t_pl / t_csi:.1f}", "-", f"extrapolated from {k} resamples"])  # fmt: skip
    header = ["n", "B", "method", "seconds", "resamples/s", "x csi", "peak MiB", "note"]
    print_table(header, rows, text=("method", "note"))
    print("x csi: seconds relative to csi.bootstrap on the same case. peak MiB: ru_maxrss of the case's own process")
    print("(after the csi.bootstrap runs; for the loop row, after the loop too).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
