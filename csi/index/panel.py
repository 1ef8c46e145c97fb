"""Index production for a panel: companies x waves, aggregated to industries, sectors and the nation.

The pipeline (methodology §3.2-3.5, §5.3):

1. validate the long respondent table, the hierarchy and the unit weights
   (:mod:`csi.index.hierarchy`);
2. fit the model per company x wave (ACSI practice: Johnson et al. 2001), or
   one pooled model per industry x wave with company indices from the pooled
   weights and each company's item means (``pooled=True``); cells with fewer
   than ``min_n`` respondents are suppressed (reported, not dropped);
3. bootstrap every cell through the batched :func:`csi.bootstrap`, each with
   its own seed derived from the run seed and the cell's identity
   (:func:`csi.index.cells.cell_seed`);
4. aggregate point estimates and every replicate up the hierarchy
   (:mod:`csi.index.aggregate`), so industry, sector and national intervals
   carry all the sampling error; cells whose fit did not converge, is
   inadmissible or has a negative outer weight are flagged and, by default,
   left out (:mod:`csi.index.status`);
5. wave-over-wave changes for every unit (:mod:`csi.index.change`);
6. one pooled national fit per wave for the structural estimates, impacts and
   quality criteria the report shows.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from csi._version import __version__
from csi.data.prepare import DEFAULT_MISSING, MISSING_POLICIES, as_frame, prepare_items
from csi.errors import DataError, EstimationError
from csi.estimators import estimator_for
from csi.index.aggregate import UnitEstimate, aggregate
from csi.index.bca import bca_change, bca_interval
from csi.index.cells import CellResult
from csi.index.change import change
from csi.index.compute import scale_bounds
from csi.index.hierarchy import NATIONAL, build_hierarchy, check_column, keys, unit_weight_table
from csi.index.logit import logit_interval
from csi.index.matched import CHANGE_BASES, matched_units
from csi.index.paired import PairedCell, paired_cells, recurring, respondent_keys
from csi.index.partitioned import PartitionedPanel
from csi.index.result import COLUMNS, PanelIndexResult, flagged_line, typed
from csi.index.rows import FrameRows, failed_cell
from csi.index.small_sample import (
    ROBUST_INTERVALS,
    SMALL_SAMPLE_INTERVALS,
    cell_df,
    monte_carlo_df,
    replicate_se,
    stretch,
    t_change,
    t_quantile,
)
from csi.index.status import FLAGGED, FLAGGED_POLICIES, usable
from csi.resample.intervals import INTERVALS, confidence_interval
from csi.resample.plans import seed_sequence
from csi.resample.scheduler import Executor, check_scheduler, resolve_scheduler
from csi.spec.load import load_model
from csi.spec.model import ModelSpec
from csi.spec.toml_io import to_toml

PANEL_INTERVALS = ("logit", "logit_t", "logit_tr", "percentile", "basic", "normal", "bc", "bca")
"""Interval types available at every level.  ``logit``: normal interval on the log-odds scale of the 0-100 index
(:mod:`csi.index.logit`), its changes get the normal interval and z-test; ``logit_t``: the same with the
small-sample correction (bootstrap variance times ``n/(n-1)`` per cell, t quantiles with
Welch-Satterthwaite degrees of freedom and a term for the ``B`` resamples, :mod:`csi.index.small_sample`), its
changes get the t interval and t-test; ``logit_tr`` (default):
``logit_t`` whose replicates with mixed-sign outer weights in a block do not count for its index and whose SEs leave
out runaway replicates (beyond 6 robust SDs); ``bca``: acceleration from
each cell's influence values, combined up the hierarchy and across waves (:mod:`csi.index.bca`)."""

DEFAULT_INTERVAL = "logit_tr"
CHANGE_INTERVAL = {"logit": "normal"}
"""Interval type of the changes where it differs from the indices'."""
"""The interval type of :func:`index_panel` by default: chosen by the coverage study (:mod:`csi.bench.coverage`,
:mod:`csi.index.logit` says why); the others stay available through ``ci``."""


def _spec(model: ModelSpec | str | os.PathLike[str]) -> ModelSpec:
    spec = model if isinstance(model, ModelSpec) else load_model(model)
    scale_bounds(spec)  # every item needs a scale for the 0-100 index; raises naming the items
    return spec


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise EstimationError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def data_hash(frame: pd.DataFrame, columns: Iterable[str]) -> str:
    """SHA-256 of a canonical serialisation of the columns used: names, then pandas' per-row hashes."""
    cols = list(dict.fromkeys(columns))
    h = hashlib.sha256("\x1f".join(cols).encode("utf-8"))
    h.update(pd.util.hash_pandas_object(frame[cols], index=False).to_numpy().tobytes())
    return h.hexdigest()


def _versions() -> dict[str, str]:
    import scipy

    return {
        "csi": __version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
    }


def _run_tasks(executor: Executor, work: tuple[Callable[[Any], Any], list[Any]], progress: bool | None, desc: str
               ) -> list[Any]:  # fmt: skip
    fn, tasks = work
    show = progress if progress is not None else (sys.stderr.isatty() and len(tasks) > 20)
    # Results come back in task order, so they are assembled identically whatever finishes first.
    return executor.map(fn, tasks, on_error=failed_cell, progress=show, desc=desc, unit="cell")


def _paired_plans(
    frame: pd.DataFrame,
    spec: ModelSpec,
    prepared: Any,
    respondent_id: str,
    company_key: pd.Series,
    wave_key: pd.Series,
    industry_key: pd.Series | None,
    *,
    missing: str,
    weight: str | None,
    n_resamples: int,
    entropy: int,
    pooled: bool,
) -> tuple[dict[str, int], dict[tuple[str, str], PairedCell]]:
    """Respondents re-interviewed across waves per company, and the joint resampling plans of their cells.

    Returns the count of recurring respondents per company and, when there are any and the panel is
    bootstrapped, the :class:`~csi.index.paired.PairedCell` of every company (or pooled industry) and wave.
    """
    ids = respondent_keys(frame, respondent_id, company_key, wave_key)
    kept = np.zeros(len(frame), dtype=bool)
    if not frame.index.is_unique:  # rows known by position only: prepare again with positional labels
        prepared = prepare_items(spec, frame.set_axis(pd.RangeIndex(len(frame))), missing=missing, weights=weight)
    kept[frame.index.get_indexer(prepared.row_labels) if frame.index.is_unique
         else np.asarray(prepared.row_labels, dtype=np.intp)] = True  # fmt: skip
    companies, waves = company_key.to_numpy(dtype=object), wave_key.to_numpy(dtype=object)
    counts = recurring(ids, companies, kept)
    if not (counts and n_resamples):
        return counts, {}
    if pooled:
        assert industry_key is not None
        return counts, paired_cells(ids, industry_key.to_numpy(dtype=object), waves, kept, n_resamples, entropy,
                                    "industry", companies)  # fmt: skip
    return counts, paired_cells(ids, companies, waves, kept, n_resamples, entropy)


def index_panel(
    data: pd.DataFrame,
    model: ModelSpec | str | os.PathLike[str],
    *,
    company: str,
    wave: str,
    wave_order: Sequence[object] | None = None,
    industry: str | None = None,
    sector: str | None = None,
    respondent_weight: str | None = None,
    respondent_id: str | None = None,
    unit_weights: pd.DataFrame | None = None,
    min_n: int = 50,
    n_resamples: int = 1000,
    seed: int | None = None,
    method: str = "pls",
    pooled: bool = False,
    level: float = 0.95,
    ci: str = DEFAULT_INTERVAL,
    missing: str = DEFAULT_MISSING,
    national_fit: bool = True,
    national_resamples: int | None = None,
    flagged: str = "exclude",
    change_basis: str = "matched",
    n_jobs: int | None = 1,
    scheduler: Any = "processes",
    progress: bool | None = None,
    **fit_options: Any,
) -> PanelIndexResult:
    """0-100 indices of every company, industry, sector and the nation, per wave, with CIs and changes.

    Parameters
    ----------
    data
        Long respondent table: one row per respondent, with the company, wave
        (and optionally industry, sector, respondent-weight) columns and the
        model's item columns.  Item metadata of the model apply (scale bounds,
        reverse-coded items, missing codes such as 98/99).  Never modified.
        Or a :class:`~csi.index.partitioned.PartitionedPanel`: a Parquet
        dataset partitioned by wave and company whose rows only the workers
        read, cell by cell (same results as the panel as one table in the
        dataset's cell order).
    model
        A :class:`~csi.spec.model.ModelSpec` or a shipped model name / file /
        text (:func:`csi.load_model`); every item needs a scale.
    company, wave, industry, sector, respondent_weight
        Column names.  Without ``industry`` and ``sector`` companies aggregate
        straight to the nation; either may be left out.
    respondent_id
        Column of respondent ids, for panels in which some respondents answer
        in more than one wave (paired or mixed panels).  In every company in
        which an id recurs across waves the bootstrap resamples respondents
        jointly across all the company's waves (a respondent's rows stay
        together; fresh respondents are resampled on their own within their
        wave), so company, industry, sector and national changes carry the
        within-respondent correlation (:mod:`csi.index.paired`); with
        ``pooled=True`` each industry's respondents are resampled jointly
        across its waves, within their company.  Units without a recurring
        id, and panels without this column, keep the independent-samples
        bootstrap.  An id may appear once per company and wave.
    wave_order
        The waves, earliest first, for labels whose order csi cannot tell
        (numbers, years, quarters, months, ISO dates and ``w1, w2, ...`` are
        ordered without it); it must list every wave of the data once
        (:func:`csi.index.waves.order_waves`).  Changes run from each wave to
        the next in this order.
    unit_weights
        Table ``level, unit, wave, weight``: company revenue (level
        ``company``), industry revenue (``industry``), sector GDP share
        (``sector``), for every unit and wave of the panel; a missing or
        duplicated row is an error naming the unit.  ``None``: equal weights
        at every level (recorded in the manifest).
    min_n
        Company cells with fewer usable respondents are suppressed: listed
        with NaN index and their n, left out of the aggregates (whose weights
        are renormalised over the companies with a score).
    n_resamples
        Bootstrap resamples per cell (0: no intervals).
    seed
        Run seed (int >= 0); ``None`` draws fresh entropy and records it.
        Cell ``(company, wave)`` bootstraps with
        ``SeedSequence(seed, spawn_key=sha256(company, wave))``, so results are
        byte-identical whatever ``n_jobs``, the order in which cells run, or
        which other companies the panel holds.  (A cell's respondents are
        resampled by position in the data's row order, so reordering the rows
        *within* a cell draws other resamples.)
    method
        Estimator (``"pls"``; the bootstrap runs PLS fits).
    pooled
        ``False`` (default, ACSI practice): one model per company x wave.
        ``True``: one model per industry x wave (needs ``industry``), company
        indices from the pooled weights and the company's item means,
        bootstrapped within company.
    level, ci
        Confidence level and interval type (:data:`PANEL_INTERVALS`) at every
        level; default ``"logit_tr"`` (:data:`DEFAULT_INTERVAL`: the interval
        on the log-odds scale of the 0-100 index, :mod:`csi.index.logit`, with
        the small-sample correction and without runaway replicates,
        :mod:`csi.index.small_sample`; the type that came closest to its
        stated coverage at every level and for every construct in the
        coverage study), whose changes get the t interval and t-test;
        ``"logit"`` changes get the normal interval and z-test
        (:data:`CHANGE_INTERVAL`); a change is significant when its interval
        excludes 0.
    missing
        Missing-data method, run within each company x wave cell, in each
        pooled industry fit and in the national fit (default ``"em"``,
        :data:`csi.data.prepare.DEFAULT_MISSING`); see
        :data:`csi.data.MISSING_POLICIES`.  ``"mi"`` bootstraps by imputing, then
        bootstrapping every completed data set, combined by Rubin's rules
        (:mod:`csi.resample.mi_boot`; not with ``pooled=True``).
    national_fit
        Also fit the model on all respondents of each wave for the national
        structural estimates, impacts and quality (the national *index* is
        always the aggregate of the company indices).
    national_resamples
        Bootstrap resamples (within company) of each national pooled fit, for
        intervals of its paths, loadings and impacts; default ``None``: as
        many as ``n_resamples`` (0 gives point estimates only).  It resamples
        every respondent of a wave through the batched core: about 1.3 s for
        1,000 resamples of 100,000 respondents on 2 cores.
    flagged
        What the aggregates do with *flagged* company cells, whose fit did not
        converge, is inadmissible or has a negative outer weight (so the
        index is not a weighted mean): ``"exclude"`` (default) leaves them out
        like suppressed cells, ``"include"`` lets them in and marks every
        parent that received one ``includes_flagged``.  Either way the cell
        keeps its index, with its status, in ``index`` and ``units``
        (:mod:`csi.index.status`).
    change_basis
        ``"matched"`` (default): the change of an industry, sector or the
        nation is computed over the companies usable in both waves (a
        like-for-like change; with every company usable in both waves it is
        the difference of the published indices); ``"published"``: the
        difference of the published aggregates, whose company sets may differ
        (:mod:`csi.index.matched` says why the default).
    n_jobs
        Worker processes over cells (``None``: all cores); with
        ``scheduler="dask"`` the LocalCluster's workers.  Results do not
        depend on it.
    scheduler
        Where the cells, pooled industries and national fits run:
        ``"processes"`` (default: a local pool of ``n_jobs`` processes, one
        meaning this process), ``"serial"``, ``"threads"``, ``"dask"`` (a
        Dask LocalCluster started for the run) or the address of a running
        Dask scheduler (``"tcp://host:8786"``) or a ``distributed.Client``
        (:func:`csi.resample.scheduler.resolve_scheduler`).  Cells are sent
        in batches, each with its own rows; a cell whose task raises is
        reported ``failed`` with the reason and the others finish.  Results
        are byte-identical whatever the scheduler.
    progress
        Progress bar; default only on a terminal for more than 20 cells.
    **fit_options
        Passed to :func:`csi.fit` (``scheme``, ``scaled``, ``tol``, ...).

    Returns
    -------
    PanelIndexResult
    """
    partitioned = isinstance(data, PartitionedPanel)
    # A partitioned dataset shows its columns (schema) here; its rows stay on the workers.
    frame = data.schema_frame() if partitioned else as_frame(data, "panel data")
    if partitioned and respondent_id is not None:
        raise DataError(
            "respondent_id pairs rows of one company across waves, which a dataset partitioned by wave keeps "
            "apart; index this panel from one file (or a frame) to use respondent ids"
        )
    spec = _spec(model)
    roles = {"company": company, "wave": wave, "industry": industry, "sector": sector,
             "respondent weight": respondent_weight, "respondent id": respondent_id}  # fmt: skip
    for role, col in roles.items():
        if col is not None:
            check_column(frame, col, role)
    used = [c for c in roles.values() if c is not None]
    if len(set(used)) != len(used):
        raise DataError(f"one column is given for two roles: {roles}")
    clash = [c for c in used if c in spec.item_names]
    if clash:
        raise DataError(f"column(s) {', '.join(map(repr, clash))} are items of model {spec.name!r}, not unit columns")
    # Every estimator option is checked here, before any cell runs (a typo would otherwise fail every cell).
    panel_bootstrap = estimator_for(method, **{"missing": missing, **fit_options}).capabilities.panel_bootstrap
    min_n = _check_int(min_n, "min_n", 1)
    n_resamples = _check_int(n_resamples, "n_resamples", 0)
    if national_resamples is None:
        national_resamples = n_resamples if panel_bootstrap else 0
    national_resamples = _check_int(national_resamples, "national_resamples", 0)
    if national_resamples and not panel_bootstrap:
        raise EstimationError(f"the bootstrap runs PLS fits; method {method!r} needs national_resamples=0")
    if n_resamples and not panel_bootstrap:
        raise EstimationError(f"the panel bootstrap runs PLS fits; method {method!r} needs n_resamples=0")
    if ci not in PANEL_INTERVALS:
        raise EstimationError(f"unknown interval type {ci!r} for panels; accepted: {', '.join(PANEL_INTERVALS)}")
    assert set(PANEL_INTERVALS) - {"logit", *SMALL_SAMPLE_INTERVALS} <= set(INTERVALS)
    if not (isinstance(level, float | int) and not isinstance(level, bool) and 0 < level < 1):
        raise EstimationError(f"level must lie strictly between 0 and 1, got {level!r}")
    if missing not in MISSING_POLICIES:
        raise DataError(f"unknown missing-data policy {missing!r}; accepted: {', '.join(map(repr, MISSING_POLICIES))}")
    if change_basis not in CHANGE_BASES:
        raise EstimationError(f"unknown change_basis {change_basis!r}; accepted: {', '.join(CHANGE_BASES)}")
    if flagged not in FLAGGED_POLICIES:
        raise EstimationError(f"unknown flagged-cell policy {flagged!r}; accepted: {', '.join(FLAGGED_POLICIES)}")
    if missing == "mi" and pooled and (n_resamples or national_resamples):
        raise EstimationError(
            "missing='mi' with pooled=True cannot be bootstrapped (the pooled fit's company indices have no "
            "per-imputation replicates yet); use missing='em', which re-runs EM inside every replicate, or "
            "pooled=False (every company x wave cell and the national fit then impute, bootstrap each completed "
            "data set and combine by Rubin's rules)"
        )
    if pooled and industry is None:
        raise EstimationError("pooled=True fits one model per industry x wave and needs the industry column")
    n_jobs = None if n_jobs is None else _check_int(n_jobs, "n_jobs", 1)
    check_scheduler(scheduler)
    entropy = int(seed_sequence(seed).entropy)  # type: ignore[arg-type]
    fit_options = {"missing": missing, **fit_options}

    common = dict(spec=spec, weight=respondent_weight, n_resamples=n_resamples, entropy=entropy, method=method,
                  fit_options=fit_options, ci=ci, conf_level=float(level))  # fmt: skip
    keep = list(spec.item_names) + ([respondent_weight] if respondent_weight else [])

    paired_counts: dict[str, int] = {}
    paired: dict[tuple[str, str], PairedCell] = {}
    with resolve_scheduler(scheduler, n_jobs) as executor:
        if partitioned:
            # Workers validate their cells and hash their rows; the client sees one row per distinct unit key.
            rows: Any = data.scan(executor, spec, roles, missing, keep, progress)
            n_rows, digest = rows.n_rows, rows.data_hash(used + keep)
            hierarchy = build_hierarchy(rows.keys, company, wave, industry, sector, wave_order)
        else:
            # Validate every item value once at the edge (scale range, codes, weights), so a bad value is one
            # clear error naming its column and row rather than a failed cell; cell-level problems (a constant
            # item in one company) still mark just that cell failed.
            prepared = prepare_items(spec, frame, missing=missing, weights=respondent_weight)
            hierarchy = build_hierarchy(frame, company, wave, industry, sector, wave_order)
            company_key, wave_key = keys(frame[company]), keys(frame[wave])
            industry_key = keys(frame[industry]) if industry else None
            if respondent_id is not None:
                paired_counts, paired = _paired_plans(
                    frame, spec, prepared, respondent_id, company_key, wave_key, industry_key,
                    missing=missing, weight=respondent_weight, n_resamples=n_resamples, entropy=entropy,
                    pooled=pooled,
                )  # fmt: skip
            rows = FrameRows(frame[keep], company_key, wave_key, industry_key, paired)
            n_rows, digest = len(frame), data_hash(frame, used + keep)
        weights = unit_weight_table(unit_weights, hierarchy)

        fit_cells: list[CellResult] = []  # fits reported beside the company fits (pooled industries, nation)
        if pooled:
            found = {}
            for head, *comps in _run_tasks(executor, rows.pooled_tasks(hierarchy, {**common, "min_n": min_n}),
                                           progress, "industries"):  # fmt: skip
                fit_cells.append(head)
                found.update({(c.unit, c.wave): c for c in comps})
            cells = [found[(u, w)] for w in hierarchy.waves for u in hierarchy.units[("company", w)]]
        else:
            cells = _run_tasks(executor, rows.company_tasks(hierarchy, {**common, "min_n": min_n}), progress,
                               "companies")  # fmt: skip
        if national_fit:
            ntasks = rows.national_tasks(hierarchy, {**common, "n_resamples": national_resamples, "min_n": 1})
            fit_cells += _run_tasks(executor, ntasks, False, "national")

    companies = {(c.unit, c.wave): _company(c, ci in SMALL_SAMPLE_INTERVALS, ci in ROBUST_INTERVALS) for c in cells}
    units = aggregate(hierarchy, weights, companies, flagged)
    pairs = None
    if change_basis == "matched":
        pairs = {(w0, w1): matched_units(hierarchy, weights, companies, flagged, w0, w1)
                 for w0, w1 in zip(hierarchy.waves[:-1], hierarchy.waves[1:])}  # fmt: skip
    result_tables = _tables(spec, hierarchy, units, cells, fit_cells, ci, float(level), flagged, pairs)

    status = Counter(c.status for c in cells)
    failed_reps = {lv: 0 for lv in hierarchy.levels}
    for (lv, _, _), e in units.items():
        if e.draws is not None:
            failed_reps[lv] += int(np.isnan(e.draws).any(axis=1).sum())
    cell_warnings = Counter(w for c in cells + fit_cells for w in c.warnings)
    negative = [f"{c.unit} / {c.wave}" for c in cells if c.negative_weights]
    flagged_cells = {f"{c.unit} / {c.wave}": c.flags for c in cells if c.status in FLAGGED}
    if flagged_cells:
        warnings.warn(
            f"{flagged_line(status, flagged)}: {', '.join(list(flagged_cells)[:5])}"
            f"{', ...' if len(flagged_cells) > 5 else ''} (every flag is listed in the manifest)",
            UserWarning,
            stacklevel=2,
        )
    for w in hierarchy.waves:
        if len(hierarchy.units[("company", w)]) == 1:
            warnings.warn(
                f"wave {w!r} has one company ({hierarchy.units[('company', w)][0]!r}), so its 'national' index is "
                "that company's index",
                UserWarning,
                stacklevel=2,
            )
    manifest = {
        "model": {"name": spec.name, "target": spec.target, "text": to_toml(spec)},
        "options": {
            "company": company,
            "wave": wave,
            "industry": industry,
            "sector": sector,
            "respondent_weight": respondent_weight,
            "respondent_id": respondent_id,
            "min_n": min_n,
            "n_resamples": n_resamples,
            "method": method,
            "pooled": bool(pooled),
            "level": float(level),
            "ci": ci,
            "national_fit": bool(national_fit),
            "national_resamples": national_resamples,
            "flagged": flagged,
            "change_basis": change_basis,
            "fit_options": {k: v for k, v in fit_options.items()},
            "unit_weights": "equal" if unit_weights is None else "table",
            "change_test": ("independent waves" if not paired else
                            f"respondents resampled jointly across waves in the {'industries' if pooled else 'companies'}"
                            f" with recurring ids ({len({u for u, _ in paired})}), independent waves elsewhere")
            + "; difference of replicate draws; significant when the interval "
            "excludes 0; p-value inverting the same interval type"
            + ("; BCa acceleration from the waves' influence values" if ci == "bca" else "")
            + ("; changes of logit-interval indices use the normal interval and z-test" if ci == "logit" else "")
            + ("; small-sample correction: cell replicates stretched by sqrt(n/(n-1)), t interval and t-test with "
               "Welch-Satterthwaite degrees of freedom nu and the resampling term 1/nu + 1/(B-1) of the B replicates"
               if ci in SMALL_SAMPLE_INTERVALS else "")
            + ("; a company replicate whose block has mixed-sign outer weights is replaced by a random one of the "
               "block's other replicates; SEs are the SD of the replicates within 6 robust SDs of their median"
               if ci in ROBUST_INTERVALS else ""),
            "seed_rule": "cell seed = SeedSequence(seed, spawn_key = 4 x uint32 of sha256(level, unit, wave))"
            + (f"; a {'pooled industry' if pooled else 'company'} with recurring respondent ids draws its cluster "
               f"plan from sha256('{'industry' if pooled else 'company'}', unit, 'respondents')" if paired else ""),
        },  # fmt: skip
        "seed": entropy,
        "data_hash": digest,
        "versions": _versions(),
        "hierarchy": list(hierarchy.levels),
        "waves": hierarchy.waves,
        "counts": {
            "respondents": n_rows,
            "cells": len(cells),
            "ok": status.get("ok", 0),
            "suppressed": status.get("suppressed", 0),
            "failed": status.get("failed", 0),
            "flagged": sum(status.get(f, 0) for f in FLAGGED),
            **{f: status.get(f, 0) for f in FLAGGED},
            "failed_replicates": failed_reps,
            "failed_replicates_company_total": int(sum(c.n_failed_replicates for c in cells)),
        },
        "failures": {f"{c.unit} / {c.wave}": c.message for c in cells if c.status == "failed"},
        "fit_failures": {f"{c.level} {c.unit} / {c.wave}": c.message for c in fit_cells if c.status == "failed"},
        "paired_respondents": dict(sorted(paired_counts.items())),
        "negative_weights": negative,
        "flagged_cells": flagged_cells,
        "warnings": dict(sorted(cell_warnings.items())),
    }
    return PanelIndexResult(manifest=manifest, **result_tables)


def _company(cell: CellResult, small_sample: bool, robust: bool = False) -> UnitEstimate:
    """A company cell as the aggregation sees it; with the small-sample correction its replicates are stretched
    by ``sqrt(n/(n-1))`` and carry ``n - 1`` degrees of freedom (:mod:`csi.index.small_sample`); ``robust``: its
    SE is the SD of its replicates within :data:`~csi.index.small_sample.FENCE` robust SDs of their median.

    A ``missing="mi"`` cell (``cell.rubin_df`` set) is not stretched and carries the Barnard & Rubin (1999)
    degrees of freedom of its indices instead of ``n - 1``.  Its replicates are Rubin-calibrated
    (:func:`csi.resample.mi_boot.calibrated_draws`): their variance is Rubin's ``T = W̄ + (1 + 1/m) B``.  The
    stretch corrects a bootstrap variance for its small-sample bias, which at most ``W̄`` has, by ``n/(n-1)``;
    ``B`` is the imputations' unbiased (divisor ``m - 1``) variance, which stretching ``T`` would inflate too.
    The small sample is already in the degrees of freedom: ``ν`` combines ``ν_com = n - 1`` with the
    imputations' ``(m - 1)/γ²`` and is at most ``n - 1`` (often far fewer, about 24 with m = 5 and n = 200), so
    the logit-t interval is Rubin's t interval on the logit scale (with the resampling term of
    :func:`~csi.index.small_sample.monte_carlo_df` in its degrees of freedom).  ``W̄`` is left without the
    ``n/(n-1)`` factor (0.5 % of its variance at n = 200): the bootstrap within variance as Rubin's rules use it.
    """
    if not small_sample or cell.draws is None:
        return UnitEstimate(cell.status, cell.n, cell.index, cell.draws, influence=cell.influence)
    if cell.rubin_df is not None:
        return UnitEstimate(cell.status, cell.n, cell.index, cell.draws, influence=cell.influence, df=cell.rubin_df,
                            robust=robust)  # fmt: skip
    return UnitEstimate(cell.status, cell.n, cell.index, stretch(cell.draws, cell.n), influence=cell.influence,
                        df=cell_df(cell.n, cell.draws.shape[1]), robust=robust)  # fmt: skip


def _tables(
    spec: ModelSpec,
    hierarchy: Any,
    units: dict[tuple[str, str, str], UnitEstimate],
    cells: list[CellResult],
    fit_cells: list[CellResult],
    ci: str,
    level: float,
    flagged: str,
    pairs: dict[tuple[str, str], dict[tuple[str, str, str], UnitEstimate]] | None = None,
) -> dict[str, pd.DataFrame]:
    constructs = list(spec.construct_names)
    J = len(constructs)
    index_rows, unit_rows = [], []
    for lv_pos, lv in enumerate(hierarchy.levels):
        parent_level = hierarchy.levels[lv_pos + 1] if lv != NATIONAL else None
        for w in hierarchy.waves:
            for u in hierarchy.units[(lv, w)]:
                e = units[(lv, u, w)]
                parent = hierarchy.parent[(lv, u, w)] if parent_level else None
                unit_rows.append((lv, u, parent_level, parent, w, e.share if parent else np.nan, e.n, e.status))
                if e.index is not None:  # flagged cells keep their index, shown with their status
                    est = e.index
                    if e.draws is not None:
                        se = replicate_se(e.draws, ci in ROBUST_INTERVALS)
                        if ci == "logit":
                            lo, hi = logit_interval(est, se, level)
                        elif ci in SMALL_SAMPLE_INTERVALS:
                            lo, hi = logit_interval(est, se, level, t_quantile(monte_carlo_df(e.df, e.draws), level, J))
                        elif ci == "bca":
                            lo, hi = bca_interval(e.draws, est, e.influence, level)
                        else:
                            lo, hi = confidence_interval(ci, e.draws, est, level)
                    else:
                        se = lo = hi = np.full(J, np.nan)
                else:
                    est = se = lo = hi = np.full(J, np.nan)
                for j, c in enumerate(constructs):
                    index_rows.append((lv, u, w, c, est[j], se[j], lo[j], hi[j], e.n))
    index = pd.DataFrame(index_rows, columns=["level", "unit", "wave", "construct", "index", "se", "ci_lower",
                                              "ci_upper", "n"])  # fmt: skip
    units_df = pd.DataFrame(unit_rows, columns=["level", "unit", "parent_level", "parent", "wave", "weight", "n",
                                                "status"])  # fmt: skip

    change_rows = []
    for lv in hierarchy.levels:
        for w0, w1 in zip(hierarchy.waves[:-1], hierarchy.waves[1:]):
            for u in sorted(set(hierarchy.units[(lv, w0)]) & set(hierarchy.units[(lv, w1)])):
                src = units if pairs is None else pairs[(w0, w1)]
                a, b = src[(lv, u, w0)], src[(lv, u, w1)]
                if usable(a.status, flagged) and usable(b.status, flagged) and ci == "bca":
                    d, lo, hi, p, sig = bca_change(a.index, b.index, a.draws, b.draws, a.influence, b.influence, level)
                elif usable(a.status, flagged) and usable(b.status, flagged) and ci in SMALL_SAMPLE_INTERVALS:
                    d, lo, hi, p, sig = t_change(a.index, b.index, a.draws, b.draws, a.df, b.df, level,
                                                 ci in ROBUST_INTERVALS)  # fmt: skip
                elif usable(a.status, flagged) and usable(b.status, flagged):
                    # A change is not bounded like an index: the logit default tests it with the normal interval.
                    d, lo, hi, p, sig = change(a.index, b.index, a.draws, b.draws, CHANGE_INTERVAL.get(ci, ci), level)
                else:
                    d = lo = hi = p = np.full(J, np.nan)
                    sig = np.zeros(J, dtype=bool)
                for j, c in enumerate(constructs):
                    change_rows.append((lv, u, c, w0, w1, d[j], lo[j], hi[j], p[j], bool(sig[j])))
    changes = pd.DataFrame(change_rows, columns=["level", "unit", "construct", "wave_from", "wave_to", "change",
                                                 "ci_lower", "ci_upper", "p_value", "significant"])  # fmt: skip

    def stack(attr: str, name: str) -> pd.DataFrame:
        found = [(c, getattr(c, attr)) for c in cells + fit_cells if getattr(c, attr) is not None]
        if not found:
            return pd.DataFrame({col: [] for col in COLUMNS[name]})
        body = pd.concat([df for _, df in found], ignore_index=True)
        sizes = [len(df) for _, df in found]
        for col in ("level", "unit", "wave"):
            body[col] = np.repeat(np.array([getattr(c, col) for c, _ in found], dtype=object), sizes)
        return body

    return {
        "index": typed("index", index),
        "changes": typed("changes", changes),
        "units": typed("units", units_df),
        "estimates": typed("estimates", stack("estimates", "estimates")),
        "impacts": typed("impacts", stack("impacts", "impacts")),
        "quality": typed("quality", stack("quality", "quality")),
    }
