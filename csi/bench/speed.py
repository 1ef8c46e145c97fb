"""Timing of csi's fits and bootstrap on demo data (medians; no assertion on speed anywhere)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

import csi
from csi.demo import demo_data
from csi.estimators import ESTIMATORS


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` over ``repeat`` calls, after one warm-up call."""
    fn()  # warm-up: imports, BLAS threads, caches
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def speed_table(
    model: str = "ecsi",
    n: int = 250,
    methods: Sequence[str] | None = None,
    repeat: int = 20,
    bootstrap: int = 1000,
    seed: int = 1,
) -> pd.DataFrame:
    """Median seconds of one fit per method, and of one PLS bootstrap, on demo data.

    Parameters
    ----------
    model
        Model name; the data come from :func:`csi.demo.demo_data` for ECSI and
        :func:`csi.simulate` otherwise.
    n
        Respondents.
    methods
        Estimators to time (default: every registered one).
    repeat
        Timed repeats of each fit (median reported; the bootstrap runs twice).
    bootstrap
        Resamples of the timed :func:`csi.bootstrap` (0: skip).
    seed
        Data and bootstrap seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``what, method, n, B, seconds, per_second`` (fits or resamples per second).
    """
    spec = csi.load_model(model)
    data = demo_data(n, seed=seed).data if spec.name == "ecsi" else csi.simulate(spec, n, seed=seed).data
    rows = []
    for m in methods or list(ESTIMATORS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = median_seconds(lambda m=m: csi.fit(spec, data, method=m), repeat)
        rows.append(("fit", m, n, 0, t, 1 / t))
    if bootstrap:
        fit = csi.fit(spec, data)
        t = median_seconds(lambda: csi.bootstrap(fit, bootstrap, seed=seed, progress=False), 1)
        rows.append(("bootstrap", "pls", n, bootstrap, t, bootstrap / t))
    return pd.DataFrame(rows, columns=["what", "method", "n", "B", "seconds", "per_second"])
