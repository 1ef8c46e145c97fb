"""Timing of the bootstrap moment path: plan counts + one-GEMM replicate moments.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_resample_moments.py``.
Prints median wall times (ms) for B = 5000 replicates of n = 250 rows x p = 27
items (the ECSI shape), whole and in chunks of replicates.
"""

from __future__ import annotations

import time

import numpy as np

from csi.core.moments import cov_to_corr, resample_moments
from csi.resample.plans import OrdinaryPlan

N, P, B = 250, 27, 5000


def _median_ms(fn, repeat: int = 15) -> float:
    fn()  # warm-up: imports, BLAS thread start, allocator
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def main() -> None:
    rng = np.random.default_rng(0)
    X = np.clip(np.round(7 + 1.5 * rng.normal(size=(N, 1)) + rng.normal(size=(N, P))), 0, 10)
    plan = OrdinaryPlan(N, B, seed=1)
    F = plan.counts()
    print(f"plan.counts(0, {B}):            {_median_ms(plan.counts):6.1f} ms")
    print(f"resample_moments, one call:     {_median_ms(lambda: resample_moments(X, F)):6.1f} ms")
    for chunk in (128, 256, 512, 1024, 2560):

        def chunked(chunk: int = chunk) -> None:
            for s in range(0, B, chunk):
                resample_moments(X, F[s : s + chunk])

        def end_to_end(chunk: int = chunk) -> None:
            for s in range(0, B, chunk):
                cov_to_corr(resample_moments(X, plan.counts(s, min(s + chunk, B)))[1])

        print(
            f"chunk {chunk:5d}: moments {_median_ms(chunked):6.1f} ms; "
            f"counts + moments + corr {_median_ms(end_to_end):6.1f} ms"
        )


if __name__ == "__main__":
    main()
