"""Timing of the batched multi-group permutation test and MICOM against loops of single fits.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_mga.py`` (``--quick`` for small sizes).
Case: two groups of simulated ECSI-7 data (``--n`` = 250 respondents each), ``--permutations`` = 5,000.

* **compare_groups**: :func:`csi.compare_groups` (permutation test of every path, weight, loading, R² and
  0-100 index), the whole call (the three fits included), median of ``--repeat`` runs after one warm-up call
  (numba's cached kernel being loaded);
* **micom**: :func:`csi.micom` likewise (steps 1-3);
* **csi.fit loop**: two single ``csi.fit`` calls per permutation over the *same* permutations (the plans are
  public and seeded), timed on the first ``--loop-permutations`` and extrapolated linearly to all of them;
  MICOM's loop adds its step-2 correlations and step-3 moments, which cost far less than the fits.

The ratio printed is loop time / batched time.  Threads: ``--jobs`` (default 2).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import median_seconds, print_table  # noqa: E402

import csi  # noqa: E402
from csi.resample.groups import child_seed, root_seed  # noqa: E402
from csi.resample.permutation import PermutationPlan  # noqa: E402


def loop_seconds(data: pd.DataFrame, codes: np.ndarray, n_loop: int, seed: int) -> float:
    """Seconds for two ``csi.fit`` calls on each of the first ``n_loop`` permutations of the pair's plan."""
    labels = PermutationPlan(codes, n_loop, child_seed(root_seed(seed), 0)).labels()
    csi.fit("ecsi", data)  # warm-up: the first fit of a process pays for imports and caches
    t0 = time.perf_counter()
    for r in range(n_loop):
        csi.fit("ecsi", data[labels[r] == 0])
        csi.fit("ecsi", data[labels[r] == 1])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=250, help="respondents per group (default 250)")
    ap.add_argument("--permutations", type=int, default=5000)
    ap.add_argument("--loop-permutations", type=int, default=200, help="permutations of the timed loop")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.permutations, args.loop_permutations, args.repeat = 100, 256, 10, 1
    a = csi.simulate("ecsi", n=args.n, seed=1).data
    b = csi.simulate("ecsi", n=args.n, seed=2).data
    data = pd.concat([a.assign(group="a"), b.assign(group="b")], ignore_index=True)
    codes = (data["group"] == "b").to_numpy().astype(np.int64)
    B, seed = args.permutations, 1

    def run_mga() -> object:
        return csi.compare_groups("ecsi", data, "group", n_permutations=B, seed=seed, n_jobs=args.jobs)

    def run_micom() -> object:
        return csi.micom("ecsi", data, "group", n_permutations=B, seed=seed, n_jobs=args.jobs)

    t0 = time.perf_counter()
    res = run_mga()
    warm = time.perf_counter() - t0
    t_mga = median_seconds(run_mga, args.repeat)
    t_micom = median_seconds(run_micom, args.repeat)
    per = loop_seconds(data, codes, args.loop_permutations, seed) / args.loop_permutations
    loop = per * B
    print(f"ECSI-7, two groups of n = {args.n}, {B} permutations, {args.jobs} threads; warm-up call {warm:.2f} s")
    print(f"csi.fit loop: {per * 1e3:.2f} ms per permutation (two fits), timed over {args.loop_permutations}")
    print()
    rows = [
        ("compare_groups", f"{t_mga:.3f}", f"{loop:.2f}", f"{loop / t_mga:.0f}x", f"{res.n_failed} failed"),
        ("micom", f"{t_micom:.3f}", f"{loop:.2f}", f"{loop / t_micom:.0f}x", ""),
    ]
    print_table(["procedure", "seconds", "loop seconds", "speed-up", "permutations"], rows, text=["permutations"])


if __name__ == "__main__":
    main()
