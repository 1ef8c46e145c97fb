"""Monte-Carlo comparison of estimators on CSI population models (methodology section 7.2).

:func:`run_study` draws ``reps`` samples of every cell (model x population
type x sample size) from :func:`csi.simulate`, fits each method to each sample
with :func:`csi.fit`, and returns one tidy row per (replication, method,
parameter): the true value, the estimate, a percentile bootstrap interval and
the fit time.  :func:`summarise` turns those rows into the metrics of section
7.2 (bias, relative bias, empirical SD, RMSE, coverage, interval width,
admissibility, run time) with their Monte-Carlo standard errors (Morris, White
& Crowther 2019), and :func:`headline` condenses the satisfaction equation.

Design (documented choices)
---------------------------
* **Models**: the shipped ``ecsi`` (7 constructs, 12 paths) and ``acsi`` (6
  constructs, 9 paths) structures; population paths are :func:`csi.simulate`'s
  defaults (by expected sign, scaled by the number of drivers).
* **Loadings**: a mixed pattern in [0.6, 0.9], :data:`LOADING_PATTERN` cycled
  within each block (section 7.2 "mixed 0.5-0.9"), so that estimated and equal
  weights differ.
* **Populations**: ``common_factor`` (:func:`csi.simulate` ``population="factor"``)
  and ``composite`` (``population="composite"``: each construct is the
  composite of its items with weights proportional to the loadings).  Items
  are 10-point (ACSI: also 0/1 complaint and 0-50 price tolerance) with the
  left-skewed satisfaction marginal; true paths refer to the continuous
  latent items, true indices to the discretized items (both exact).
* **Seeds**: replication ``r`` of a cell uses
  ``SeedSequence(seed, spawn_key=(crc32(model), crc32(population), n, r))``;
  its first child draws the sample, its second the bootstrap rows, which all
  methods share (common random numbers).  Results are therefore identical for
  any ``n_jobs`` and any subset of cells or methods.
* **Intervals**: 95 % percentile intervals from ``bootstrap`` resamples per
  replication (:mod:`csi.bench.resample`); ``bootstrap=0`` skips them.
  For ``cbsem`` the scored paths are the standardised ones (``fit.paths``,
  lavaan's std.all), bootstrapped with the warm-started ML kernel of
  :func:`csi.bootstrap` (same replicates, see :mod:`csi.bench.resample`).
  Methods without a resampling kernel get no interval.
* **Failures**: every fit is recorded.  ``status`` is ``ok``,
  ``not_converged``, ``inadmissible`` or ``error`` (the estimator raised;
  estimates NaN, ``message`` says why).  Inadmissible means PLSc's own
  admissibility flag, or for CB-SEM a Heywood case (:func:`cbsem_heywood`):
  a negative free variance, a standardised loading above 1 in absolute value,
  or a latent covariance matrix that is not positive definite; ``message``
  names the offending rows.  Metrics use every finite estimate (inadmissible
  fits included); ``ok_rate`` reports the share ``ok``.
"""

from __future__ import annotations

import os
import time
import warnings
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

import csi
from csi.bench.resample import RESAMPLABLE, bootstrap_paths_index, percentile_interval
from csi.errors import CSIError
from csi.estimators import ESTIMATORS
from csi.resample.scheduler import check_scheduler, resolve_scheduler
from csi.spec.model import ModelSpec

MODELS = ("ecsi", "acsi")
POPULATIONS = {"common_factor": "factor", "composite": "composite"}
"""Study population names and the matching :func:`csi.simulate` ``population``."""
METHODS = ("pls", "plsc", "cbsem", "pca", "sumscore")
"""Methods of the study; those not registered in :data:`csi.estimators.ESTIMATORS` are skipped with a warning."""
NS = (100, 250, 1000)
LOADING_PATTERN = (0.9, 0.7, 0.8, 0.6, 0.85, 0.75, 0.65)
"""Population loadings, cycled within each block."""

COLUMNS = ["model", "population", "n", "rep", "method", "status", "message", "seconds", "boot_seconds",
           "kind", "parameter", "true", "estimate", "ci_lower", "ci_upper"]  # fmt: skip
"""Columns of :func:`run_study`'s table."""


def design_loadings(spec: ModelSpec) -> dict[str, float]:
    """Population loading of every item: :data:`LOADING_PATTERN` cycled within each block."""
    out = {}
    for c in spec.constructs:
        for k, item in enumerate(c.items):
            out[item.name] = LOADING_PATTERN[k % len(LOADING_PATTERN)]
    return out


def replication_seed(seed: int, model: str, population: str, n: int, rep: int) -> np.random.SeedSequence:
    """The seed of one replication, keyed by the cell's content and the replication number."""
    key = (zlib.crc32(model.encode()), zlib.crc32(population.encode()), int(n), int(rep))
    return np.random.SeedSequence(seed, spawn_key=key)


def cbsem_heywood(fit: csi.FitResult) -> list[str]:
    """Heywood-case findings of a CB-SEM fit (see :func:`csi.estimators.cbsem.heywood_cases`)."""
    from csi.estimators.cbsem import heywood_cases

    return heywood_cases(fit.parameter_table, fit.construct_correlations.to_numpy())


def _status(fit: csi.FitResult) -> tuple[str, str]:
    if not fit.converged:
        return "not_converged", ""
    if fit.parameter_table is not None:  # a CB-SEM fit
        heywood = cbsem_heywood(fit)
        if heywood:
            return "inadmissible", "Heywood case: " + "; ".join(heywood)
    if not fit.admissible:
        return "inadmissible", ""
    return "ok", ""


def run_replication(
    model: str, population: str, n: int, rep: int, methods: Sequence[str], seed: int, bootstrap: int, level: float
) -> list[tuple]:
    """Rows (see :data:`COLUMNS`) of one replication of one cell, every method on the same sample."""
    spec = csi.load_model(model)
    data_seed, boot_seed = replication_seed(seed, model, population, n, rep).spawn(2)
    sim = csi.simulate(spec, n, seed=data_seed, population=POPULATIONS[population], loadings=design_loadings(spec))
    labels = list(spec.path_labels())
    true_paths = sim.paths.reindex(labels).to_numpy()
    constructs = [c for c in spec.construct_names if np.isfinite(sim.population_index[c])]
    true_index = sim.population_index.reindex(constructs).to_numpy()
    rows: list[tuple] = []
    for method in methods:
        message = ""
        paths = np.full(len(labels), np.nan)
        index = np.full(len(constructs), np.nan)
        p_ci = (np.full(len(labels), np.nan), np.full(len(labels), np.nan))
        i_ci = (np.full(len(constructs), np.nan), np.full(len(constructs), np.nan))
        boot_seconds = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-convergence / inadmissibility are read from the fit's flags
            t0 = time.perf_counter()
            try:
                fit = csi.fit(spec, sim.data, method=method)
            except CSIError as e:
                fit, status, message = None, "error", str(e).splitlines()[0]
            seconds = time.perf_counter() - t0
            if fit is not None:
                status, message = _status(fit)
                paths = np.array([fit.paths.loc[p.target, p.source] for p in spec.paths], dtype=float)
                try:
                    index = csi.compute_index(fit, negative="force").reindex(constructs).to_numpy(dtype=float)
                except CSIError as e:
                    message = "; ".join(filter(None, [message, f"index: {str(e).splitlines()[0]}"]))
                if bootstrap and method in RESAMPLABLE:
                    t1 = time.perf_counter()
                    bp, bi = bootstrap_paths_index(fit, bootstrap, boot_seed)
                    boot_seconds = time.perf_counter() - t1
                    p_ci = percentile_interval(bp, level)
                    names = list(spec.construct_names)
                    i_ci = percentile_interval(bi[:, [names.index(c) for c in constructs]], level)
        head = (model, population, n, rep, method, status, message, seconds, boot_seconds)
        rows += quantity_rows(head, labels, true_paths, paths, p_ci, constructs, true_index, index, i_ci)
    return rows


def quantity_rows(
    head: tuple, labels: list[str], true_paths: Any, paths: Any, p_ci: Any, constructs: list[str], true_index: Any,
    index: Any, i_ci: Any,
) -> list[tuple]:
    """The :data:`COLUMNS` rows of one replication and method: ``head`` and then one row per path and index
    (true value, estimate, interval bounds)."""
    rows = [head + ("path", label, true_paths[k], paths[k], p_ci[0][k], p_ci[1][k]) for k, label in enumerate(labels)]
    rows += [head + ("index", f"{c} index", true_index[k], index[k], i_ci[0][k], i_ci[1][k])
             for k, c in enumerate(constructs)]  # fmt: skip
    return rows


def _run_batch(batch: list[tuple]) -> list[tuple]:
    out: list[tuple] = []
    for args in batch:
        out.extend(run_replication(*args))
    return out


def available_methods(methods: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split ``methods`` into those registered in this installation and the study methods that are not.

    Raises
    ------
    CSIError
        For a name that is neither registered nor one of :data:`METHODS`.
    """
    unknown = [m for m in methods if m not in ESTIMATORS and m not in METHODS]
    if unknown:
        raise CSIError(
            f"unknown method(s) {', '.join(map(repr, unknown))}; accepted: "
            f"{', '.join(map(repr, dict.fromkeys([*METHODS, *ESTIMATORS])))}"
        )
    return [m for m in methods if m in ESTIMATORS], [m for m in methods if m not in ESTIMATORS]


def run_study(
    models: Sequence[str] = MODELS,
    populations: Sequence[str] = tuple(POPULATIONS),
    ns: Sequence[int] = NS,
    reps: int = 500,
    methods: Sequence[str] = METHODS,
    seed: int = 20240601,
    n_jobs: int | None = 1,
    bootstrap: int = 200,
    level: float = 0.95,
    progress: bool = False,
    scheduler: object = "processes",
) -> pd.DataFrame:
    """Run the Monte-Carlo study; one row per (cell, replication, method, parameter).

    Parameters
    ----------
    models
        Shipped model names (or anything :func:`csi.load_model` accepts).
    populations
        Keys of :data:`POPULATIONS`.
    ns
        Sample sizes.
    reps
        Replications per cell.
    methods
        Estimators; study methods missing from this installation (e.g.
        ``"cbsem"`` without its adapter) are skipped with a ``UserWarning`` and
        listed in ``result.attrs["skipped_methods"]``.
    seed
        Master seed (see the module notes); results do not depend on ``n_jobs``.
    n_jobs
        Worker processes; ``None`` or ``-1``: all cores.
    bootstrap
        Resamples per replication for the percentile intervals (0: none).
    level
        Interval level.
    progress
        Show a progress bar.
    scheduler
        Where the batches of replications run: ``"processes"`` (default, ``n_jobs`` local processes),
        ``"serial"``, ``"dask"`` (a LocalCluster of ``n_jobs`` workers) or a Dask scheduler address
        (:func:`csi.resample.scheduler.resolve_scheduler`); results do not depend on it.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; ``attrs`` records the options.
    """
    unknown = [p for p in populations if p not in POPULATIONS]
    if unknown:
        raise CSIError(f"unknown population(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(POPULATIONS)}")
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise CSIError(f"reps must be a positive integer, got {reps!r}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise CSIError(f"bootstrap must be a non-negative integer, got {bootstrap!r}")
    bad_n = [n for n in ns if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 10]
    if bad_n:
        raise CSIError(f"sample sizes must be integers >= 10, got {bad_n}")
    for m in models:
        csi.load_model(m)  # fail early on a bad name
    use, skipped = available_methods(methods)
    if skipped:
        warnings.warn(
            f"method(s) {', '.join(skipped)} not available in this installation (registered: "
            f"{', '.join(ESTIMATORS)}); skipped",
            UserWarning,
            stacklevel=2,
        )
    tasks = [(m, pop, int(n), r, tuple(use), seed, bootstrap, level)
             for m in models for pop in populations for n in ns for r in range(reps)]  # fmt: skip
    check_scheduler(scheduler)
    jobs = None if n_jobs in (None, -1) else int(n_jobs)  # type: ignore[arg-type]
    with resolve_scheduler(scheduler, jobs) as executor:
        size = max(1, min(25, len(tasks) // (4 * max(executor.workers, 1)) or 1))
        parts = executor.map(_run_batch, [tasks[a : a + size] for a in range(0, len(tasks), size)], batch=1,
                             progress=progress, desc="monte carlo", unit="batch")  # fmt: skip
    rows = [row for part in parts for row in part]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.attrs.update(
        models=list(models), populations=list(populations), ns=[int(n) for n in ns], reps=reps, methods=use,
        skipped_methods=skipped, seed=seed, bootstrap=bootstrap, level=level, loading_pattern=list(LOADING_PATTERN),
    )  # fmt: skip
    return frame


CELL = ["model", "population", "n", "method"]


def summarise(raw: pd.DataFrame) -> pd.DataFrame:
    """Metrics per cell, method and parameter (methodology 7.2; Morris, White & Crowther 2019).

    Columns: ``reps``, ``ok_rate`` (share of fits with status ``ok``),
    ``n_est`` (finite estimates used), ``true``, ``bias`` and ``mcse_bias``
    (= empirical SD / sqrt(n_est)), ``rel_bias`` (bias / true), ``emp_sd``,
    ``rmse``, ``n_ci``, ``coverage`` and ``mcse_coverage`` (sqrt(p(1-p)/n_ci)),
    ``ci_width``, ``median_seconds`` (fit) and ``median_boot_seconds``.
    """
    df = raw.copy()
    df["err"] = df["estimate"] - df["true"]
    has_ci = np.isfinite(df["ci_lower"]) & np.isfinite(df["ci_upper"])
    df["covered"] = np.where(has_ci, (df["ci_lower"] <= df["true"]) & (df["true"] <= df["ci_upper"]), np.nan)
    df["width"] = np.where(has_ci, df["ci_upper"] - df["ci_lower"], np.nan)
    df["ok"] = df["status"] == "ok"
    g = df.groupby([*CELL, "kind", "parameter"], sort=False)
    out = pd.DataFrame(
        {
            "reps": g.size(),
            "ok_rate": g["ok"].mean(),
            "n_est": g["err"].count(),
            "true": g["true"].first(),
            "bias": g["err"].mean(),
            "emp_sd": g["estimate"].std(ddof=1),
            "rmse": g["err"].apply(lambda e: float(np.sqrt(np.nanmean(e**2))) if e.notna().any() else np.nan),
            "n_ci": g["covered"].count(),
            "coverage": g["covered"].mean(),
            "ci_width": g["width"].mean(),
            "median_seconds": g["seconds"].median(),
            "median_boot_seconds": g["boot_seconds"].median(),
        }
    )
    out["mcse_bias"] = out["emp_sd"] / np.sqrt(out["n_est"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rel_bias"] = np.where(out["true"] != 0, out["bias"] / out["true"], np.nan)
        out["mcse_coverage"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["n_ci"])
    order = ["reps", "ok_rate", "n_est", "true", "bias", "mcse_bias", "rel_bias", "emp_sd", "rmse", "n_ci",
             "coverage", "mcse_coverage", "ci_width", "median_seconds", "median_boot_seconds"]  # fmt: skip
    return out[order].reset_index()


def headline(summary: pd.DataFrame, n: int = 250, construct: str = "SAT") -> pd.DataFrame:
    """The satisfaction equation at one sample size, one row per model, population and method.

    ``path_abs_bias``, ``path_rmse`` and ``path_coverage`` average |bias|,
    RMSE and coverage over the paths *into* ``construct``; ``index_*`` are
    the metrics of its 0-100 index; ``ok_rate`` and ``median_ms`` (fit time)
    come from the same cells.
    """
    s = summary[summary["n"] == n]
    paths = s[(s["kind"] == "path") & s["parameter"].str.startswith(f"{construct} ~ ")]
    index = s[(s["kind"] == "index") & (s["parameter"] == f"{construct} index")]
    keys = ["model", "population", "method"]
    gp = paths.groupby(keys, sort=False)
    table = pd.DataFrame(
        {
            "path_abs_bias": gp["bias"].apply(lambda b: b.abs().mean()),
            "path_rmse": gp["rmse"].mean(),
            "path_coverage": gp["coverage"].mean(),
        }
    )
    table = table.join(index.set_index(keys)[["bias", "rmse", "coverage", "ok_rate", "median_seconds"]].rename(
        columns={"bias": "index_bias", "rmse": "index_rmse", "coverage": "index_coverage"}))  # fmt: skip
    table["median_ms"] = 1000 * table.pop("median_seconds")
    return table.reset_index()


QUICK = {"ns": (100,), "reps": 3, "bootstrap": 49}
"""Smoke size: every model, population and method, one small n, a handful of replications."""


def write_results(
    raw: pd.DataFrame, out: str | os.PathLike[str], plot: bool = True, *, overwrite: bool = False
) -> list[str]:
    """Write ``raw.csv``, ``summary.csv``, ``headline.csv``, ``study.json`` and (``plot``) ``summary.png``/``.svg``.

    The folder is written whole and sealed with a manifest (:func:`csi.results.files.write_folder`).
    Returns the names of the files written, in that order.
    """
    import json
    from pathlib import Path

    from csi.results.files import write_folder

    summary = summarise(raw)
    files = {"raw.csv": raw, "summary.csv": summary}
    ns = raw.attrs.get("ns") or sorted(raw["n"].unique())
    n_head = 250 if 250 in ns else ns[0]
    files["headline.csv"] = headline(summary, n=n_head)
    written = [*files, "study.json"] + ([f"summary.{suffix}" for suffix in ("png", "svg")] if plot else [])

    def fill(folder: Path) -> dict[str, str]:
        for name, table in files.items():
            table.to_csv(folder / name, index=False)
        (folder / "study.json").write_text(json.dumps(dict(raw.attrs, headline_n=n_head), indent=2) + "\n")
        if plot:
            from csi.bench.plot import plot_summary

            for suffix in ("png", "svg"):
                plot_summary(summary, folder / f"summary.{suffix}")
        return {"raw.csv": "one row per replication, method and quantity (CSV)",
                "summary.csv": "bias, RMSE and coverage per cell (CSV)", "headline.csv": "the headline table (CSV)",
                "study.json": "design, sizes, seed and versions (JSON)",
                **{f: "the summary figure" for f in written if f.startswith("summary.")}}  # fmt: skip

    write_folder(out, fill, {"kind": "csi estimator study"}, overwrite=overwrite)
    return written
