"""Timing of the bootstrap of higher-order fits against a loop of single fits over the same resamples.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_hoc.py`` (``--quick`` for small sizes).
The model is ECSI-7 with a second-order construct OFFER measured by QUAL and VAL (the README's example), on
simulated ECSI data (n = 500).  For each approach (repeated indicators, embedded and disjoint two stages), on
complete data and on data with 5 % of the answers removed at random (``missing="em"``):

* **csi.bootstrap**: the batched statistic of :mod:`csi.estimators.hoc` through the resampling driver, one
  thread, after a warm-up call;
* **csi.fit loop**: ``csi.fit`` on the resampled rows of the same plan, timed on ``--loop-resamples``
  replicates and extrapolated linearly to B.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import csi
from csi.resample.plans import OrdinaryPlan

MODEL = """
IMAG =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
EXPE =~ CUEX1 + CUEX2 + CUEX3
QUAL =~ PERQ1 + PERQ2 + PERQ3 + PERQ4 + PERQ5 + PERQ6 + PERQ7
VAL =~ PERV1 + PERV2
OFFER =~ QUAL + VAL
SAT =~ CUSA1 + CUSA2 + CUSA3
LOY =~ CUSL1 + CUSL2 + CUSL3
EXPE ~ IMAG
OFFER ~ EXPE
SAT ~ IMAG + EXPE + OFFER
LOY ~ IMAG + SAT
#: scale 1 10
#: target SAT
"""
APPROACHES = ("repeated", "two-stage-embedded", "two-stage-disjoint")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--resamples", type=int, default=2000, help="B on complete data (B / 10 with missing answers)")
    parser.add_argument("--loop-resamples", type=int, default=20)
    args = parser.parse_args()
    n, B, L = (150, 100, 3) if args.quick else (args.n, args.resamples, args.loop_resamples)
    spec = csi.load_model(MODEL)
    complete = csi.simulate("ecsi", n, seed=1).data
    gaps = complete.mask(np.random.default_rng(2).random(complete.shape) < 0.05)
    head = f"{'data':<9} {'approach':<20} {'B':>6} {'bootstrap seconds':>18} {'ms/replicate':>13} " \
           f"{'fit loop seconds':>17} {'loop/batched':>13}"  # fmt: skip
    print(head)
    print("-" * len(head))
    for label, data, b in (("complete", complete, B), ("missing", gaps, max(B // 10, 10))):
        for approach in APPROACHES:
            fit = csi.fit(spec, data, hoc=approach)
            csi.bootstrap(fit, 10, seed=0, n_jobs=1)  # warm-up
            t0 = time.perf_counter()
            csi.bootstrap(fit, b, seed=1, n_jobs=1)
            boot = time.perf_counter() - t0
            plan = OrdinaryPlan(fit.data.X.shape[0], L, 1)
            rows = fit.scores.index
            t0 = time.perf_counter()
            for r in range(L):
                csi.fit(spec, data.loc[rows[plan.indices(r, r + 1)[0]]].reset_index(drop=True), hoc=approach)
            loop = (time.perf_counter() - t0) / L * b
            print(f"{label:<9} {approach:<20} {b:>6} {boot:>18.2f} {1000 * boot / b:>13.2f} {loop:>17.2f} "
                  f"{loop / boot:>13.1f}")  # fmt: skip
    print(f"\nn = {n}; seconds are wall-clock on one thread; the loop is extrapolated from {L} replicates.")


if __name__ == "__main__":
    main()
