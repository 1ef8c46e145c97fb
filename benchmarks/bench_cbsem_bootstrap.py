"""Timing of csi's CB-SEM bootstrap against a naive loop of fresh semopy fits on the same resamples.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_cbsem_bootstrap.py``
(``--quick`` for a smoke run).  Data: Bollen's political democracy model (semopy's
example data, 75 rows, 11 items, 31 parameters), shipped inside semopy.

* **csi.bootstrap**: the batched, warm-started Fisher-scoring bootstrap of a
  ``method="cbsem"`` fit, all B resamples, ``--jobs`` worker processes;
* **naive semopy loop**: for each resample, a fresh ``semopy.Model`` fitted with
  ``obj="MLW"`` (its defaults) on the resampled rows, timed on the first
  ``--loop-resamples`` resamples of the same plan and extrapolated linearly to B.

The ratio is naive time / csi time.  The mean absolute difference of the
loadings and paths between the two on the timed resamples is printed as a check
that both solve the same problem (semopy's SLSQP stops about 1e-4 short of the
optimum, so expect differences of that size).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd
from _common import print_table

import csi
from csi.resample.plans import OrdinaryPlan

MODEL = """
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small B for a smoke run")
    ap.add_argument("--resamples", type=int, default=200, help="B (default 200)")
    ap.add_argument("--loop-resamples", type=int, default=50, help="naive fits actually timed (default 50)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count(), help="worker processes for csi (default: all cores)")
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()
    B, n_loop = (64, 5) if args.quick else (args.resamples, min(args.loop_resamples, args.resamples))

    import semopy
    from semopy.examples import political_democracy

    data = political_democracy.get_data()
    fit = csi.fit(MODEL, data, method="cbsem")

    t0 = time.perf_counter()
    boot = csi.bootstrap(fit, B, seed=args.seed, n_jobs=args.jobs)
    t_csi = time.perf_counter() - t0

    idx = OrdinaryPlan(len(data), B, args.seed).indices(0, n_loop)
    items = list(fit.spec.item_names)
    naive = []
    t0 = time.perf_counter()
    for rows in idx:
        model = semopy.Model(MODEL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(data.iloc[rows][items].reset_index(drop=True))
        naive.append(model.inspect())
    t_loop = (time.perf_counter() - t0) * B / n_loop

    # Same problem: compare the loadings and regressions of the timed resamples.
    diffs = []
    for b, ins in enumerate(naive):
        ins = ins[ins["op"].isin(["~"])]
        for r in ins.itertuples(index=False):
            # semopy writes a loading as "item ~ factor".
            label = f"{r.rval} =~ {r.lval}" if r.lval in items else f"{r.lval} ~ {r.rval}"
            if label in boot.draws.columns:
                diffs.append(abs(boot.draws[label].iloc[b] - r.Estimate))
    rows = [
        ("csi.bootstrap (cbsem)", B, f"{t_csi:.2f}", "measured", f"{args.jobs} processes"),
        ("naive semopy loop", B, f"{t_loop:.2f}", f"extrapolated from {n_loop}", "1 process"),
    ]
    print_table(["method", "B", "seconds", "how", "parallel"], rows, text=["method", "how", "parallel"])
    print(f"\nspeed-up (naive / csi): {t_loop / t_csi:.1f}x")
    print(f"failed replicates: {boot.n_failed}; mean |csi - semopy| of loadings/paths: {np.mean(diffs):.2e}")
    print(pd.Series({"cpu_count": os.cpu_count(), "semopy": semopy.__version__}).to_string())


if __name__ == "__main__":
    main()
