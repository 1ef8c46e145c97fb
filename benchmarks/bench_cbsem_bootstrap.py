"""Timing of csi's CB-SEM fit and bootstrap against fresh and warm-started semopy loops on the same resamples.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_cbsem_bootstrap.py``
(``--quick`` for a smoke run: political democracy only, one process).  Models, side by side in one run:

* **ECSI-7** and **ACSI** (``csi.load_model``; data simulated by ``csi.simulate``,
  n = 250, seed 1);
* **political democracy** (Bollen; semopy's example data, 75 rows, 11 items,
  31 parameters), the model of ``tests/test_cbsem.py``.

For each model:

* **single fit**: ``csi.fit(method="cbsem")`` against a bare ``semopy.Model(...).fit``
  (median of ``--fit-repeats``);
* **csi.bootstrap**: the batched, warm-started Newton bootstrap of the fit, all B
  resamples, once in this process (wall and CPU time per replicate; the ratios against the semopy
  loops use this run, which like them uses one core) and once on ``--jobs`` worker processes (wall
  time per replicate from the call to its result, pool start included: the "ms per replicate on N
  cores" figure; its draws must equal the first run's byte for byte);
* **fresh semopy loop**: for each resample a new ``semopy.Model`` fitted with its
  defaults (``obj="MLW"``), timed on the first ``--loop-resamples`` resamples of
  the same plan and extrapolated linearly to B;
* **warm semopy loop**: one ``semopy.Model`` refitted on each resample, starting
  from the previous solution (semopy's default ``clean_slate=False``), timed the
  same way.

csi's bootstrap keeps inadmissible (Heywood) replicates here (``failed="keep"``, counted in the
``inadmissible`` column) so that every replicate is compared with semopy's fit, and is timed after a two-resample
warm-up that loads the compiled kernel.  Per-replicate milliseconds, the ratios loop / csi and the load average are printed.  The mean
absolute difference of the loadings and paths between csi and the fresh semopy
fits shows both solve the same problem (semopy's SLSQP stops about 1e-4 short
of the optimum, so expect differences of that size).
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
from csi.estimators.cbsem_model import Aliases, semopy_syntax
from csi.resample.plans import OrdinaryPlan

PD_MODEL = """
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


def _cases() -> list[tuple[str, csi.ModelSpec, pd.DataFrame]]:
    from semopy.examples import political_democracy

    out = []
    for name in ("ecsi", "acsi"):
        spec = csi.load_model(name)
        out.append((f"{spec.name} (n=250)", spec, csi.simulate(spec, 250, seed=1).data))
    out.append(("political democracy (n=75)", csi.load_model(PD_MODEL), political_democracy.get_data()))
    return out


def _semopy_fit(model, frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(frame)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small B for a smoke run")
    ap.add_argument("--resamples", type=int, default=1000, help="B (default 1000)")
    ap.add_argument("--loop-resamples", type=int, default=40, help="semopy fits actually timed (default 40)")
    ap.add_argument("--fit-repeats", type=int, default=7, help="single fits timed (default 7, median)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count(), help="worker processes for csi (default: all cores)")
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()
    if args.quick:  # smoke run: the small model only, in this process
        B, n_loop, reps, args.jobs = 64, 3, 1, 1
    else:
        B, n_loop, reps = args.resamples, min(args.loop_resamples, args.resamples), args.fit_repeats

    import semopy

    t_start = time.perf_counter()
    load = os.getloadavg()
    rows = []
    for label, spec, data in _cases()[-1:] if args.quick else _cases():
        a = Aliases.of(spec)
        text = semopy_syntax(spec, a)
        items = list(spec.item_names)
        frame = data[items].set_axis([a(i) for i in items], axis=1)

        t_fit, t_sem = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            fit = csi.fit(spec, data, method="cbsem")
            t_fit.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _semopy_fit(semopy.Model(text), frame)
            t_sem.append(time.perf_counter() - t0)

        with warnings.catch_warnings():  # load (or compile) the numba kernel outside the timing
            warnings.simplefilter("ignore")
            csi.bootstrap(fit, 2, seed=0, n_jobs=1)
        # One process (the semopy loops' conditions): wall and CPU time; then --jobs worker processes, wall time
        # from the call to its result (pool start included), the "per replicate on N cores" figure.
        t0, c0 = time.perf_counter(), time.process_time()
        boot = csi.bootstrap(fit, B, seed=args.seed, n_jobs=1, failed="keep", scheduler="serial")
        t_csi, c_csi = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        par = csi.bootstrap(fit, B, seed=args.seed, n_jobs=args.jobs, failed="keep", scheduler="processes")
        t_par = time.perf_counter() - t0
        if par.draws.to_numpy().tobytes() != boot.draws.to_numpy().tobytes():
            raise SystemExit(f"{label}: the draws of {args.jobs} processes differ from one process's")

        idx = OrdinaryPlan(len(data), B, args.seed).indices(0, n_loop)
        fresh = []
        t0 = time.perf_counter()
        for r in idx:
            fresh.append(_semopy_fit(semopy.Model(text), frame.iloc[r].reset_index(drop=True)).inspect())
        t_fresh = (time.perf_counter() - t0) / n_loop
        warm = semopy.Model(text)
        t0 = time.perf_counter()
        for r in idx:
            _semopy_fit(warm, frame.iloc[r].reset_index(drop=True))
        t_warm = (time.perf_counter() - t0) / n_loop

        diffs = []
        inv = {v: k for k, v in {**a.items, **a.constructs}.items()}
        for b, ins in enumerate(fresh):
            for r in ins[ins["op"] == "~"].itertuples(index=False):
                lv, rv = inv[r.lval], inv[r.rval]
                # semopy writes a loading as "item ~ factor".
                name = f"{rv} =~ {lv}" if lv in items else f"{lv} ~ {rv}"
                if name in boot.draws.columns:
                    diffs.append(abs(boot.draws[name].iloc[b] - r.Estimate))
        per = t_csi / B
        rows.append((
            label, f"{np.median(t_fit) * 1e3:.1f}", f"{np.median(t_sem) * 1e3:.1f}", B, f"{per * 1e3:.3f}",
            f"{c_csi / B * 1e3:.3f}", f"{t_par / B * 1e3:.3f}", f"{t_fresh * 1e3:.1f}", f"{t_warm * 1e3:.1f}",
            f"{t_fresh / per:.0f}x", f"{t_warm / per:.0f}x", boot.n_failed, boot.n_inadmissible,
            f"{np.mean(diffs):.1e}",
        ))  # fmt: skip
    print_table(
        ["model", "csi fit ms", "semopy fit ms", "B", "csi ms/rep", "csi CPU ms/rep", f"csi ms/rep {args.jobs} proc",
         "fresh ms/rep", "warm ms/rep", "fresh/csi", "warm/csi", "failed", "inadmissible", "mean|csi-semopy|"],
        rows,
        text=["model"],
    )  # fmt: skip
    print(
        f"\ncsi ms/rep, CPU ms/rep, fresh/csi, warm/csi: csi.bootstrap in this process (scheduler='serial'), like the "
        f"semopy loops (timed on {n_loop} resamples); csi ms/rep {args.jobs} proc: wall time of "
        f"csi.bootstrap(n_jobs={args.jobs}, scheduler='processes') per replicate, pool start included; "
        f"load average before the run {load[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    print(f"whole run: {time.perf_counter() - t_start:.1f} seconds")
    print(pd.Series({"cpu_count": os.cpu_count(), "semopy": semopy.__version__}).to_string())


if __name__ == "__main__":
    main()
