"""Monte-Carlo study of the missing-data methods (``csi bench missing``), in the estimator-study harness.

Every replication draws one complete sample from a population model exactly
as :mod:`csi.bench.montecarlo` does (same models, loadings, seeds and true
values), deletes answers by one missingness scenario, and fits PLS with each
method of :data:`METHODS`.  Rows have :data:`csi.bench.montecarlo.COLUMNS`;
the ``population`` column holds the scenario (``"MCAR 5%"``, ``"MAR 20%"``,
...) and ``method`` the missing-data method, so
:func:`csi.bench.montecarlo.summarise` and ``headline`` apply unchanged.

Design (documented choices)
---------------------------
* **Population**: common-factor (:func:`csi.simulate` ``population="factor"``);
  true paths and indices are those of the complete population.
* **MCAR**: every item cell is deleted independently with probability
  ``rate``.
* **MAR**: the first item of the first block (the driver) is always observed;
  every other cell of row ``i`` is deleted with probability
  ``2 rate (1 - r_i)`` with ``r_i`` the driver's mid-rank in ``(0, 1)``: low
  drivers lose more answers, the expected rate of those cells is ``rate``,
  and the mechanism depends only on observed values (MAR, Rubin 1976).
* **Intervals**: percentile intervals from ``bootstrap`` resamples of
  :func:`csi.bootstrap`, which re-runs ``em`` (compiled EM, warm-started at
  the full-sample estimates) and ``pairwise`` inside every replicate.  For
  ``mi`` the default ``mi_interval="rubin"`` imputes, then bootstraps: each of
  the m completed data sets gets the same B resamples as complete data, the
  bootstrap variances are the within-imputation variances, and Rubin's rules
  give a t interval with Barnard-Rubin degrees of freedom ("MI Boot",
  Schomaker & Heumann 2018, Stat. Med. 37:2252-2266, who found it to cover
  well; :mod:`csi.resample.mi_boot`).  ``mi_interval="boot-mi"`` (bootstrap,
  then impute every replicate m times) is the alternative; it costs about
  m EM runs on resamples of resamples per replicate (tens of seconds per
  replication at B = 100) and is not affordable at this study's size.  Rows
  without any answer are not possible here (the driver is always answered
  under MAR; under MCAR they are dropped by every method).
* **Seeds**: as the estimator study, plus a third child of the replication's
  seed for the deletions and a fourth for the imputations.  Replication
  ``r`` of a cell depends only on (seed, model, n, r), so runs over disjoint
  replication ranges (``first_rep``) can be concatenated (:func:`combine`).
* **Cost** (one CPU, n = 250, MAR 20 %, B = 200, m = 20, measured on a
  shared machine): listwise, mean and pairwise with their intervals about
  0.05 s each, em about 1.5 s (EM re-run in 200 replicates), mi about 1.6 s
  (20 imputations and 20 x 200 complete-data replicates).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

import csi
from csi.bench.montecarlo import COLUMNS, design_loadings, quantity_rows, replication_seed
from csi.errors import CSIError
from csi.resample.scheduler import check_scheduler, resolve_scheduler

METHODS = ("listwise", "mean", "pairwise", "em", "mi")
SCENARIOS = ("MCAR 5%", "MAR 5%", "MCAR 20%", "MAR 20%")
"""Missingness scenarios: mechanism and share of item cells deleted."""
MODELS = ("ecsi", "acsi")


def scenario(name: str) -> tuple[str, float]:
    """``("MCAR" | "MAR", rate)`` of a scenario name such as ``"MAR 20%"``."""
    try:
        mech, pct = name.split()
        rate = float(pct.rstrip("%")) / 100
    except ValueError:
        raise CSIError(f"scenario {name!r} is not 'MCAR r%' or 'MAR r%'") from None
    if mech not in ("MCAR", "MAR") or not 0 < rate < 0.5:
        raise CSIError(f"scenario {name!r}: mechanism MCAR or MAR and a rate in (0 %, 50 %), e.g. 'MAR 20%'")
    return mech, rate


def delete_answers(data: pd.DataFrame, items: Sequence[str], name: str, rng: np.random.Generator) -> pd.DataFrame:
    """A copy of ``data`` with answers deleted by scenario ``name`` (see the module notes)."""
    mech, rate = scenario(name)
    out = data.copy()
    X = out[list(items)].to_numpy(dtype=float, copy=True)
    n, p = X.shape
    if mech == "MCAR":
        drop = rng.random((n, p)) < rate
    else:
        driver = X[:, 0]
        r = (pd.Series(driver).rank(method="average").to_numpy() - 0.5) / n
        drop = rng.random((n, p)) < (2 * rate * (1 - r))[:, None]
        drop[:, 0] = False
    X[drop] = np.nan
    out[list(items)] = X
    return out


def run_replication(
    model: str, name: str, n: int, rep: int, methods: Sequence[str], seed: int, bootstrap: int, level: float,
    imputations: int, mi_interval: str = "rubin",
) -> list[tuple]:  # fmt: skip
    """Rows (:data:`csi.bench.montecarlo.COLUMNS`) of one replication: every method on the same incomplete sample."""
    spec = csi.load_model(model)
    data_seed, boot_seed, del_seed, mi_seed = replication_seed(seed, model, "common_factor", n, rep).spawn(4)
    sim = csi.simulate(spec, n, seed=data_seed, population="factor", loadings=design_loadings(spec))
    data = delete_answers(sim.data, spec.item_names, name, np.random.default_rng(del_seed))
    labels = list(spec.path_labels())
    true_paths = sim.paths.reindex(labels).to_numpy()
    constructs = [c for c in spec.construct_names if np.isfinite(sim.population_index[c])]
    true_index = sim.population_index.reindex(constructs).to_numpy()
    path_cols = [f"{p.target} ~ {p.source}" for p in spec.paths]
    index_cols = [f"{c} index {c}" for c in constructs]
    rows: list[tuple] = []
    for method in methods:
        status, message = "ok", ""
        paths = np.full(len(labels), np.nan)
        index = np.full(len(constructs), np.nan)
        p_ci = [np.full(len(labels), np.nan)] * 2
        i_ci = [np.full(len(constructs), np.nan)] * 2
        boot_seconds = np.nan
        extra = {"imputations": imputations, "mi_seed": int(mi_seed.generate_state(1)[0])} if method == "mi" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            try:
                fit = csi.fit(spec, data, missing=method, **extra)
            except CSIError as e:
                fit, status, message = None, "error", str(e).splitlines()[0]
            seconds = time.perf_counter() - t0
            if fit is not None:
                status = "ok" if fit.converged else "not_converged"
                paths = np.array([fit.paths.loc[p.target, p.source] for p in spec.paths], dtype=float)
                index = csi.compute_index(fit, negative="force").reindex(constructs).to_numpy(dtype=float)
                if bootstrap:
                    t1 = time.perf_counter()
                    opts = {"mi_interval": mi_interval} if method == "mi" else {}
                    boot = csi.bootstrap(fit, bootstrap, seed=boot_seed, n_jobs=1, progress=False, **opts)
                    boot_seconds = time.perf_counter() - t1
                    if boot.ci == "rubin":
                        est = boot.with_ci(level=level).estimates
                        est.index = [f"{a} {o} {b}" for a, o, b in zip(est["lhs"], est["op"], est["rhs"], strict=True)]
                        p_ci = [est.loc[path_cols, k].to_numpy(dtype=float) for k in ("ci_lower", "ci_upper")]
                        i_ci = [est.loc[index_cols, k].to_numpy(dtype=float) for k in ("ci_lower", "ci_upper")]
                    else:
                        draws = boot.draws
                        q = [(1 - level) / 2, (1 + level) / 2]
                        p_ci = list(np.nanquantile(draws[path_cols].to_numpy(), q, axis=0))
                        i_ci = list(np.nanquantile(draws[index_cols].to_numpy(), q, axis=0))
        head = (model, name, n, rep, method, status, message, seconds, boot_seconds)
        rows += quantity_rows(head, labels, true_paths, paths, p_ci, constructs, true_index, index, i_ci)
    return rows


def _run_batch(batch: list[tuple]) -> list[tuple]:
    out: list[tuple] = []
    for args in batch:
        out.extend(run_replication(*args))
    return out


def run_study(
    models: Sequence[str] = MODELS,
    scenarios: Sequence[str] = SCENARIOS,
    n: int = 250,
    reps: int = 200,
    methods: Sequence[str] = METHODS,
    seed: int = 20240601,
    n_jobs: int = 1,
    bootstrap: int = 100,
    level: float = 0.95,
    imputations: int = 20,
    scheduler: object = "processes",
    mi_interval: str = "rubin",
    first_rep: int = 0,
) -> pd.DataFrame:
    """Run the study; one row per (model, scenario, replication, method, parameter); ``attrs`` hold the options.

    Replications ``first_rep .. first_rep + reps - 1`` of every cell run; ``mi_interval`` is the interval
    method of ``mi`` fits (:data:`csi.resample.mi_boot.MI_INTERVALS`).

    ``scheduler`` says where the batches of replications run (``"processes"``: ``n_jobs`` local processes;
    ``"serial"``, ``"dask"`` or a Dask scheduler address, :func:`csi.resample.scheduler.resolve_scheduler`);
    results do not depend on it or on ``n_jobs``.
    """
    for s in scenarios:
        scenario(s)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise CSIError(f"unknown missing-data method(s) {bad}; accepted: {', '.join(METHODS)}")
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise CSIError(f"reps must be a positive integer, got {reps!r}")
    if isinstance(first_rep, bool) or not isinstance(first_rep, int) or first_rep < 0:
        raise CSIError(f"first_rep must be a non-negative integer, got {first_rep!r}")
    from csi.resample.mi_boot import check_mi_interval

    check_mi_interval(mi_interval)
    # The slowest methods' replications first would not help: every task runs all methods of one replication.
    tasks = [(m, s, int(n), r, tuple(methods), seed, bootstrap, level, imputations, mi_interval)
             for m in models for s in scenarios for r in range(first_rep, first_rep + reps)]  # fmt: skip
    check_scheduler(scheduler)
    with resolve_scheduler(scheduler, max(1, int(n_jobs))) as executor:
        size = max(1, min(10, len(tasks) // (4 * max(executor.workers, 1)) or 1))
        parts = executor.map(_run_batch, [tasks[a : a + size] for a in range(0, len(tasks), size)], batch=1)
    rows = [row for part in parts for row in part]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.attrs.update(models=list(models), scenarios=list(scenarios), ns=[int(n)], reps=reps, methods=list(methods),
                       seed=seed, bootstrap=bootstrap, level=level, imputations=imputations,
                       mi_interval=mi_interval, first_rep=first_rep, cpu_count=os.cpu_count())  # fmt: skip
    return frame


KEY = ["model", "population", "n", "rep", "method", "parameter"]
"""Columns that identify a row of the raw table (a replication's quantity under one method)."""


def combine(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Raw tables of several runs (e.g. disjoint ``first_rep`` ranges, same seed and options) as one.

    A replication present in more than one run must have the same rows in each (same seed), else an error;
    duplicates are kept once.
    """
    if not frames:
        raise CSIError("no raw tables to combine")
    frame = pd.concat(list(frames), ignore_index=True)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise CSIError(f"a raw table lacks the column(s) {missing}; expected the raw.csv of 'csi bench missing'")
    dup = frame.duplicated(KEY, keep=False)
    if dup.any():
        values = ["estimate", "ci_lower", "ci_upper"]
        first = frame[dup].groupby(KEY, sort=False)[values].nunique(dropna=False)
        if (first > 1).any(axis=None):
            raise CSIError("the runs disagree on a replication they share: combine runs of one seed and options")
        frame = frame.drop_duplicates(KEY)
    return frame.reset_index(drop=True)  # the first run's order of models, scenarios and methods


def table(summary: pd.DataFrame, construct: str = "SAT") -> pd.DataFrame:
    """Per model, scenario and method: mean |bias|, RMSE and coverage of the paths into ``construct``, and of its index."""
    from csi.bench.montecarlo import headline

    n = int(summary["n"].iloc[0])
    out = headline(summary, n=n, construct=construct).rename(columns={"population": "scenario"})
    return out.drop(columns=["ok_rate"]).round(4)
