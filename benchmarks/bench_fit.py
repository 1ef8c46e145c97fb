"""Timing of single ECSI-7 PLS fits: a typical survey (n = 250) and a very large one.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_fit.py``
(``--quick`` for small sizes).  Data come from :func:`csi.demo.demo_data`; the
simulation time of the large sample is reported separately from its fit.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
from _common import median_seconds, once_seconds, peak_rss_mib, print_table  # noqa: E402

import csi  # noqa: E402
from csi.demo import demo_data  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--n-small", type=int, default=250, help="respondents of the typical survey")
    parser.add_argument("--n-large", type=int, default=1_000_000, help="respondents of the large survey")
    parser.add_argument("--repeat", type=int, default=200, help="repeats of the small fit (median reported)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_large, args.repeat = 20_000, 10

    spec = csi.load_model("ecsi")
    small = demo_data(args.n_small, seed=1).data
    t_small = median_seconds(lambda: csi.fit(spec, small), args.repeat)
    t_sim, sim = once_seconds(lambda: demo_data(args.n_large, seed=2))
    csi.fit(spec, sim.data.iloc[:1000])  # warm-up outside the timed call
    t_large, fit = once_seconds(lambda: csi.fit(spec, sim.data))

    print(f"csi {csi.__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, ECSI-7 (24 items, 7 constructs), path scheme")  # fmt: skip
    print_table(
        ["what", "n", "seconds", "note"],
        [
            ["fit", f"{args.n_small:,}", f"{t_small:.5f}", f"median of {args.repeat}"],
            ["simulate", f"{args.n_large:,}", f"{t_sim:.3f}", "csi.demo.demo_data, not part of the fit"],
            ["fit", f"{args.n_large:,}", f"{t_large:.3f}", f"one run, {fit.iterations} iterations"],
        ],
        text=("what", "note"),
    )
    print(f"peak memory (ru_maxrss): {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
