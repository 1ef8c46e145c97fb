"""Pooled estimation: one model per industry x wave, company indices from the pooled weights.

Methodology §3.2 ("where the model is estimated", ``estimation_unit="industry"``)
and §3.4 (bootstrap stratified by company): the industry's respondents are
fitted together; company ``c``'s index is the Fornell formula with the pooled
unstandardised weights ``u`` and the company's own (weighted) item means.  A
replicate resamples respondents within each company (so every company keeps
its size), refits the pooled model on the replicate through
:func:`csi.bootstrap` with those fixed resamples, and recomputes every
company's index from the replicate's weights and the company's replicate means.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from csi.core.index import index_0_100, unstandardise
from csi.core.moments import cov_to_corr
from csi.errors import CSIError
from csi.estimators import fit as fit_model
from csi.estimators.missing import replicate_moments
from csi.index.cells import ESTIMATE_OPS, RECORDING, CellResult, CellTask, _quality, cell_seed, estimates_ci, fit_flags
from csi.index.compute import scale_bounds
from csi.index.impacts import impacts
from csi.index.status import cell_status
from csi.resample.plans import StratifiedPlan
from csi.resample.run import bootstrap
from csi.spec.parameters import parameter_label


@dataclass(frozen=True)
class PooledTask:
    """One industry x wave: the pooled rows plus each row's company."""

    cell: CellTask  # level "industry"; data = all rows of the industry in the wave
    companies: np.ndarray  # (rows,) company label of each row


def run_pooled(task: PooledTask) -> list[CellResult]:
    """The industry's pooled fit (first) and one result per company (sorted by company)."""
    t = task.cell
    labels = sorted(set(task.companies))
    sizes = {c: int((task.companies == c).sum()) for c in labels}
    data = t.data.reset_index(drop=True)  # row labels = positions, to map fitted rows back to companies
    head = CellResult("industry", t.unit, t.wave, "ok", len(data))
    companies = {c: CellResult("company", c, t.wave, "ok", sizes[c]) for c in labels}
    with RECORDING, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = fit_model(t.spec, data, method=t.method, weights=t.weight, **t.fit_options)
        except CSIError as e:
            head.status, head.message = "failed", str(e)
            for r in companies.values():
                r.status, r.message = "failed", f"pooled fit of industry {t.unit!r} failed: {e}"
            return [head, *companies.values()]
        head.n = fit.n
        prepared = fit.data
        rows_company = task.companies[np.asarray(prepared.row_labels, dtype=np.intp)]
        w = prepared.weights
        # Under em/pairwise/mi a company's item means come from the pooled fit's completed data (conditional
        # means of the missing answers), its replicate spreads from the method re-run in each replicate.
        report = fit.missing_report
        X = report.completed if report is not None and report.completed is not None else prepared.X
        spec, M = t.spec, t.spec.block_mask
        lo, hi = scale_bounds(spec)
        scaled = bool(fit.options.get("scaled", True))
        u = unstandardise(fit.weights.to_numpy(), fit.item_sds.to_numpy(), scaled)
        head.negative_weights = bool((u < 0).any())
        # Every company of the industry is indexed with the pooled weights, so it shares the pooled fit's flags.
        head.flags = fit_flags(fit, head.negative_weights)
        head.status = cell_status(head.flags)
        ok = []
        for c in labels:
            r = companies[c]
            sel = rows_company == c
            r.n = int(sel.sum())
            if r.n < t.min_n:
                r.status = "suppressed"
                continue
            ww = None if w is None else w[sel]
            mean = np.average(X[sel], axis=0, weights=ww)
            r.index = index_0_100(u, mean, lo, hi, M)
            r.negative_weights = head.negative_weights
            r.flags, r.status = list(head.flags), head.status
            ok.append(c)
        est = fit.estimates
        est = est[est["op"].isin(ESTIMATE_OPS)].reset_index(drop=True)
        if t.plan is not None and t.plan.n != fit.n:  # the panel hands paired cells only rows the fit keeps
            head.status, head.message = "failed", f"the fit kept {fit.n} of the industry's {t.plan.n} paired rows"
            for r in companies.values():
                r.status, r.message = "failed", head.message
            return [head, *companies.values()]
        if t.n_resamples > 0:
            plan = (StratifiedPlan(rows_company, t.n_resamples, cell_seed(t.entropy, "industry", t.unit, t.wave))
                    if t.plan is None else t.plan)  # fmt: skip
            boot = bootstrap(fit, indices=plan.indices(), ci=estimates_ci(t.ci, True), level=t.conf_level, n_jobs=1, progress=False)
            F = plan.counts()
            _, cov, _ = replicate_moments(fit, F)
            _, sd = cov_to_corr(cov)
            wcols = [parameter_label(spec.block_of(i), "<~", i) for i in spec.item_names]
            u_rep = unstandardise(boot.draws[wcols].to_numpy(), sd, scaled)
            failed = np.isnan(boot.draws.to_numpy()).all(axis=1)
            head.n_failed_replicates = int(failed.sum())
            for c in ok:
                sel = rows_company == c
                vw = F[:, sel] * (1.0 if w is None else w[sel])
                mean_rep = (vw @ X[sel]) / vw.sum(axis=1, keepdims=True)
                with np.errstate(invalid="ignore", divide="ignore"):
                    draws = index_0_100(u_rep, mean_rep, lo, hi, M)
                draws[failed] = np.nan
                companies[c].draws = draws
                companies[c].n_failed_replicates = head.n_failed_replicates
            be = boot.estimates
            est = be[be["op"].isin(ESTIMATE_OPS)].reset_index(drop=True)[
                ["lhs", "op", "rhs", "estimate", "se", "ci_lower", "ci_upper"]
            ]
        else:
            est = est.assign(se=np.nan, ci_lower=np.nan, ci_upper=np.nan)
        head.estimates = est
        head.quality = _quality(fit)
        head.impacts = impacts(fit, negative="force")
    head.warnings = [f"{x.category.__name__}: {x.message}" for x in caught]
    return [head, *companies.values()]


def pooled_tasks(
    items: pd.DataFrame,
    company: pd.Series,
    wave: pd.Series,
    industry: pd.Series,
    hierarchy: Any,
    common: dict[str, Any],
    paired: dict[tuple[str, str], Any] | None = None,
) -> list[PooledTask]:
    """One task per industry x wave, waves in order, industries sorted.

    ``paired``: ``(industry, wave) -> PairedCell`` (:mod:`csi.index.paired`) of industries with a recurring
    respondent; such a task holds the cell's kept rows and its part of the industry's cluster plan.
    """
    groups = pd.DataFrame({"w": wave, "i": industry}).groupby(["w", "i"], sort=False).indices
    companies = company.to_numpy()
    out = []
    for w in hierarchy.waves:
        for ind in hierarchy.units[("industry", w)]:
            cell = (paired or {}).get((ind, w))
            rows = groups[(w, ind)] if cell is None else cell.rows
            out.append(PooledTask(CellTask(level="industry", unit=ind, wave=w, data=items.iloc[rows],
                                           plan=None if cell is None else cell.plan, **common),
                                  companies[rows]))  # fmt: skip
    return out
