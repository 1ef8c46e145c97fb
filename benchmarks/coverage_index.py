"""Coverage of the panel bootstrap intervals against known population indices.

Run from the repository root: ``PYTHONPATH=. python benchmarks/coverage_index.py``
(``--quick`` for a smoke run).  Each repetition draws a whole simulated panel
(:func:`csi.simulate_panel`: companies with different latent levels, exact
population index for every unit) with its own seed, runs
:func:`csi.index_panel` and records whether each 95 % interval contains the
population value.  Printed: the empirical coverage per level, for the target
construct (SAT) and for all constructs (``coverage``: the intervals csi
reports, by default ``logit_tr`` of :mod:`csi.index.small_sample`; ``normal_cov``: estimate ± 1.96 bootstrap SE from the
same runs, for comparison), with the Monte-Carlo standard error
``sqrt(c (1 - c) / k)`` (k intervals; company intervals within a repetition are
independent, so for company rows this SE is right, for national rows k = reps),
the mean interval width, the mean error ``index - population`` (bias), the SD
of the errors and the median bootstrap SE (median, because a block whose
replicate weights come close to cancelling gives a few huge index draws).

``csi bench coverage`` (:mod:`csi.bench.coverage`) is the full study: two-wave
panels, every level, interval types side by side, change-test size and power.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import csi  # noqa: E402


def coverage(
    reps: int,
    companies: int,
    respondents: int,
    waves: int = 1,
    n_resamples: int = 200,
    seed: int = 0,
    industries: int | None = 2,
    sectors: int | None = None,
    n_jobs: int = 1,
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per interval: ``rep, level, unit, wave, construct, index, ci_lower, ci_upper, population, covered``."""
    rows = []
    for r in range(reps):
        p = csi.simulate_panel("acsi", companies=companies, respondents=respondents, waves=waves, seed=seed * 100_003 + r,
                               industries=industries, sectors=sectors)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = csi.index_panel(p.data, "acsi", company="company", wave="wave",
                                  industry="industry" if industries else None, sector="sector" if sectors else None,
                                  unit_weights=p.unit_weights, min_n=1, n_resamples=n_resamples, seed=r, level=level,
                                  national_fit=False, n_jobs=n_jobs)  # fmt: skip
        pop = p.population.assign(wave=p.population["wave"].astype(str)).rename(columns={"index": "population"})
        m = res.index.merge(pop, on=["level", "unit", "wave", "construct"], how="inner", validate="one_to_one")
        m["covered"] = (m["ci_lower"] <= m["population"]) & (m["population"] <= m["ci_upper"])
        rows.append(m.assign(rep=r))
    return pd.concat(rows, ignore_index=True)


def summarise(cov: pd.DataFrame, target: str = "SAT") -> pd.DataFrame:
    """Coverage, its Monte-Carlo SE, interval count and mean width, per level, for the target and all constructs."""
    parts = []
    for label, sub in (("target " + target, cov[cov["construct"] == target]), ("all constructs", cov)):
        g = sub.groupby("level", sort=False)
        normal = (sub["index"] - sub["population"]).abs() <= 1.959963984540054 * sub["se"]
        t = pd.DataFrame({"coverage": g["covered"].mean(), "normal_cov": normal.groupby(sub["level"]).mean(),
                          "intervals": g.size(),
                          "mean_width": g.apply(lambda d: (d["ci_upper"] - d["ci_lower"]).mean(), include_groups=False),
                          "mean_bias": g.apply(lambda d: (d["index"] - d["population"]).mean(), include_groups=False),
                          "sd_error": g.apply(lambda d: (d["index"] - d["population"]).std(), include_groups=False),
                          "median_se": g["se"].median()})  # fmt: skip
        t["mc_se"] = np.sqrt(t["coverage"] * (1 - t["coverage"]) / t["intervals"])
        parts.append(t.assign(constructs=label).reset_index())
    return pd.concat(parts, ignore_index=True)[["constructs", "level", "coverage", "mc_se", "normal_cov", "intervals", "mean_width",
                                                "mean_bias", "sd_error", "median_se"]]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few repetitions of a tiny panel (smoke test)")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--companies", type=int, default=8)
    ap.add_argument("--respondents", type=int, default=150)
    ap.add_argument("--resamples", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    if args.quick:
        args.reps, args.companies, args.respondents, args.resamples = 3, 3, 80, 60
    t0 = time.perf_counter()
    cov = coverage(args.reps, args.companies, args.respondents, n_resamples=args.resamples, n_jobs=args.jobs)
    seconds = time.perf_counter() - t0
    print(f"Coverage of 95% intervals: {args.reps} panels x {args.companies} companies x "
          f"{args.respondents} respondents, ACSI, {args.resamples} resamples per company, in {seconds:.1f} seconds")  # fmt: skip
    print(summarise(cov).to_string(index=False, float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
