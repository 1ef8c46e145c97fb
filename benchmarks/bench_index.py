"""Timing of panel index production (csi.index_panel) on a simulated national panel.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_index.py``
(``--quick`` for a smoke run).  The case of the issue: 400 companies x 250
respondents x 2 waves, ACSI model, 1,000 bootstrap resamples per company x
wave, aggregation company -> industry -> sector -> national with unit weights,
and wave-over-wave change tests; worker processes over cells (``--jobs``,
default 2).  ``--companies 50 100 200 400`` times each size so the scaling
with the number of companies shows; ``--no-national`` leaves out the pooled
national fits (one stratified bootstrap of every respondent of a wave).

Printed per size: wall seconds for simulating and for ``index_panel``,
seconds per company x wave cell, and peak resident memory (this process and
its largest worker, ``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))

from _common import peak_rss_mib, print_table  # noqa: E402

import csi  # noqa: E402


def children_peak_mib() -> float:
    """Largest peak resident memory of a finished worker process, MiB."""
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def run_case(companies: int, respondents: int, waves: int, resamples: int, jobs: int, national: bool) -> list[object]:
    t0 = time.perf_counter()
    p = csi.simulate_panel("acsi", companies=companies, respondents=respondents, waves=waves, seed=1,
                           industries=max(1, companies // 10), sectors=max(1, companies // 50))  # fmt: skip
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = csi.index_panel(p.data, "acsi", company="company", wave="wave", industry="industry", sector="sector",
                              unit_weights=p.unit_weights, min_n=30, n_resamples=resamples, seed=1, n_jobs=jobs,
                              national_fit=national, progress=False)  # fmt: skip
    t_index = time.perf_counter() - t0
    cells = companies * waves
    nat = res.index.query("level == 'national' and construct == 'SAT'")
    ch = res.changes.query("level == 'national' and construct == 'SAT'").iloc[0]
    return [
        companies,
        len(p.data),
        f"{t_sim:.1f}",
        f"{t_index:.1f}",
        f"{1000 * t_index / cells:.0f}",
        f"{peak_rss_mib():.0f}",
        f"{children_peak_mib():.0f}",
        f"{nat['index'].iloc[-1]:.2f} [{nat['ci_lower'].iloc[-1]:.2f}, {nat['ci_upper'].iloc[-1]:.2f}]",
        f"{ch['change']:+.2f} (p={ch['p_value']:.3f})",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tiny panel (smoke test)")
    ap.add_argument("--companies", type=int, nargs="+", default=[400])
    ap.add_argument("--respondents", type=int, default=250)
    ap.add_argument("--waves", type=int, default=2)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-national", action="store_true", help="skip the pooled national fits")
    args = ap.parse_args()
    if args.quick:
        args.companies, args.respondents, args.resamples = [4], 60, 40
    print(f"csi {csi.__version__}, Python {platform.python_version()}, {os.cpu_count()} cores, {args.jobs} worker(s); "
          f"ACSI, {args.respondents} respondents x {args.waves} waves, {args.resamples} resamples per cell, "
          f"national fits {'off' if args.no_national else 'on'}")  # fmt: skip
    rows = [run_case(c, args.respondents, args.waves, args.resamples, args.jobs, not args.no_national)
            for c in args.companies]  # fmt: skip
    header = ["companies", "respondents", "simulate s", "index_panel seconds", "ms/cell", "peak MiB", "worker MiB",
              f"national SAT wave {args.waves}", "national change"]  # fmt: skip
    print_table(header, rows, text=[f"national SAT wave {args.waves}", "national change"])


if __name__ == "__main__":
    main()
