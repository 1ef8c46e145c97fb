"""One estimation cell of a panel: fit, index and bootstrap of one company in one wave.

A cell is self-contained (its rows, the model and the options travel with it),
so cells can run in worker processes in any order.  Its bootstrap seed is a
function of the run seed and the cell's identity only (:func:`cell_seed`), so
a panel's numbers do not depend on the order of the cells, on the number of
workers or on which other cells the panel holds.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from csi.errors import CSIError
from csi.estimators import fit as fit_model
from csi.index.bca import influence_moments
from csi.index.compute import compute_index
from csi.index.impacts import impacts
from csi.index.small_sample import ROBUST_INTERVALS, refill_mixed_signs, rubin_index_draws
from csi.index.status import INADMISSIBLE, NEGATIVE_WEIGHT, NOT_CONVERGED, cell_status
from csi.quality.reliability import reliability
from csi.resample.plans import ResamplingPlan
from csi.resample.run import bootstrap
from csi.results.fit import FitResult
from csi.spec.model import ModelSpec
from csi.spec.parameters import index_label

RECORDING = threading.RLock()
"""Held while a cell records its warnings.  ``warnings.catch_warnings`` swaps process-wide state, so two cells
recording at once in one process (a threaded pool, a Dask worker with several threads) would count each other's
warnings in the manifest; cells in one process therefore run one at a time (processes still run in parallel)."""

ESTIMATE_OPS = ("~", "=~", "<~", "r2")
"""Parameters reported per fit: paths, loadings, outer weights, R²."""

QUALITY_CRITERIA = ("cronbach_alpha", "rho_a", "rho_c", "ave", "r2")


def cell_seed(entropy: int, *identity: str) -> np.random.SeedSequence:
    """The seed of one cell: ``SeedSequence(entropy, spawn_key=k)``.

    ``k`` is four 32-bit words of the SHA-256 of the identity strings (e.g.
    ``("company", "Acme", "2024")``) joined by a unit separator, so it is stable
    across runs, machines and Python versions (unlike ``hash()``) and differs
    between cells.
    """
    digest = hashlib.sha256("\x1f".join(identity).encode("utf-8")).digest()
    words = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    return np.random.SeedSequence(entropy, spawn_key=words)


@dataclass(frozen=True)
class CellTask:
    """Everything one cell needs (picklable)."""

    level: str
    unit: str
    wave: str
    spec: ModelSpec
    data: pd.DataFrame
    weight: str | None
    min_n: int
    n_resamples: int
    entropy: int
    method: str
    fit_options: dict[str, Any]
    ci: str
    conf_level: float
    strata: np.ndarray | None = None
    negative: str = "force"
    plan: ResamplingPlan | None = None  # the cell's rows in its company's cluster plan (paired waves, csi.index.paired)


@dataclass
class CellResult:
    """What a cell hands back: status, point indices, index draws and tidy rows."""

    level: str
    unit: str
    wave: str
    status: str  # one of csi.index.status.STATUSES
    n: int
    index: np.ndarray | None = None  # (J,)
    draws: np.ndarray | None = None  # (B, J)
    estimates: pd.DataFrame | None = None
    quality: pd.DataFrame | None = None
    impacts: pd.DataFrame | None = None
    n_failed_replicates: int = 0
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    negative_weights: bool = False
    flags: list[str] = field(default_factory=list)  # every flag of csi.index.status.FLAGGED that applies
    influence: np.ndarray | None = None  # (2, J) influence moments for the BCa acceleration (csi.index.bca)
    rubin_df: np.ndarray | None = None  # (J,) missing='mi': Barnard-Rubin df of the indices (csi.index.panel._company)


def fit_flags(fit: FitResult, negative_weights: bool) -> list[str]:
    """The flags (:data:`csi.index.status.FLAGGED`) of a cell's fit, in order of precedence."""
    flags = [NOT_CONVERGED] if not fit.converged else []
    flags += [INADMISSIBLE] if not fit.admissible else []
    return flags + ([NEGATIVE_WEIGHT] if negative_weights else [])


def _quality(fit: FitResult) -> pd.DataFrame:
    """``construct, criterion, value`` (construct-major, :data:`QUALITY_CRITERIA` order, NaN rows left out)."""
    rel = reliability(fit)
    r2 = fit.r2.reindex(rel.index).to_numpy()
    values = np.column_stack([rel[c].to_numpy(dtype=float) for c in QUALITY_CRITERIA[:-1]] + [r2])
    keep = ~np.isnan(values)
    J, K = values.shape
    return pd.DataFrame(
        {
            "construct": np.repeat(np.asarray(rel.index, dtype=object), K)[keep.ravel()],
            "criterion": np.tile(np.asarray(QUALITY_CRITERIA, dtype=object), J)[keep.ravel()],
            "value": values[keep],
        }
    )


def estimates_ci(ci: str, pooled: bool) -> str:
    """Interval type of a fit's paths and loadings under the panel's index interval type ``ci``.

    ``logit``, ``logit_t`` and ``logit_tr`` are for 0-100 indices only: paths and loadings keep percentile
    intervals.  BCa needs a jackknife, ``n`` leave-one-out fits through an
    ``n x n`` count product: cheap for a company cell, too slow for a pooled
    (industry or national) fit, whose estimates then get percentile intervals.
    """
    return "percentile" if ci in ("logit", "logit_t", "logit_tr") or (ci == "bca" and pooled) else ci


def mi_options(task: CellTask) -> dict[str, Any]:
    """The cell's fit options; under ``missing="mi"`` the imputations' seed is the cell's own, drawn from the
    panel seed (or from ``mi_seed`` when the panel was given one) and the cell's identity, so a panel's
    imputations are reproducible and differ between cells."""
    opts = dict(task.fit_options)
    if opts.get("missing") == "mi":
        base = task.entropy if opts.get("mi_seed") is None else int(opts["mi_seed"])
        state = cell_seed(base, "mi", task.level, task.unit, task.wave).generate_state(4)
        opts["mi_seed"] = int.from_bytes(state.tobytes(), "little")
    return opts


def run_cell(task: CellTask) -> CellResult:
    """Fit, index and bootstrap one cell; never raises for bad cell data (status ``failed`` instead).

    A fitted cell whose fit did not converge, is inadmissible or has a
    negative outer weight keeps its index and bootstrap but gets that status
    (:mod:`csi.index.status`).
    """
    out = CellResult(task.level, task.unit, task.wave, "ok", len(task.data))
    if len(task.data) < task.min_n:
        out.status = "suppressed"
        return out
    # Row labels become positions so that the strata of the rows the fit kept
    # (missing answers may drop some) can be picked out by label.
    data = task.data if task.strata is None else task.data.reset_index(drop=True)
    with RECORDING, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = fit_model(task.spec, data, method=task.method, weights=task.weight, **mi_options(task))
        except CSIError as e:
            out.status, out.message = "failed", str(e)
            return out
        out.n = fit.n
        strata = None
        if task.strata is not None:
            strata = np.asarray(task.strata)[np.asarray(fit.data.row_labels, dtype=np.intp)]
        if fit.n < task.min_n:
            out.status = "suppressed"
            return out
        if task.plan is not None and task.plan.n != fit.n:  # the panel hands paired cells only rows the fit keeps
            out.status, out.message = "failed", f"the fit kept {fit.n} of the cell's {task.plan.n} paired rows"
            return out
        u_negative = False
        try:
            compute_index(fit)
        except CSIError:
            u_negative = True
        out.negative_weights = u_negative
        out.flags = fit_flags(fit, u_negative)
        out.status = cell_status(out.flags)
        out.index = compute_index(fit, negative="force").to_numpy() if u_negative else compute_index(fit).to_numpy()
        out.influence = influence_moments(fit)
        est = fit.estimates
        est = est[est["op"].isin(ESTIMATE_OPS)].reset_index(drop=True)
        if task.n_resamples > 0:
            # missing='mi': impute, then bootstrap every completed data set, Rubin's rules (csi.resample.mi_boot).
            mi = fit.missing_report is not None and bool(fit.missing_report.imputed)
            ci = "rubin" if mi else estimates_ci(task.ci, task.strata is not None)
            boot = bootstrap(
                fit, task.n_resamples, seed=cell_seed(task.entropy, task.level, task.unit, task.wave),
                strata=strata, indices=task.plan, ci=ci, level=task.conf_level, n_jobs=1, progress=False,
                **({"mi_interval": "rubin"} if mi else {}),
            )  # fmt: skip
            cols = [index_label(c) for c in task.spec.construct_names]
            refill = np.random.default_rng(cell_seed(task.entropy, "refill", task.level, task.unit, task.wave))
            robust = task.ci in ROBUST_INTERVALS  # replicates with mixed-sign weights do not count (small_sample)
            if mi and robust:  # refilled in every completed data set, then Rubin's rules
                out.draws, out.rubin_df = rubin_index_draws(
                    boot.draws, boot.imputation_estimates, cols, task.spec, refill, n_com=boot.fit.n - 1,
                    level=task.conf_level,
                )
            else:
                replicates = boot.replicate_draws
                out.draws = replicates[cols].to_numpy()
                if robust:
                    out.draws = refill_mixed_signs(out.draws, replicates, task.spec, refill)
                if mi:
                    df = boot.rubin["df"][[list(boot.draws.columns).index(c) for c in cols]]
                    out.rubin_df = np.where(np.isnan(df), np.inf, df)  # NaN: T = 0, an index nothing moves
            out.n_failed_replicates = boot.n_failed
            be = boot.estimates
            be = be[be["op"].isin(ESTIMATE_OPS)].reset_index(drop=True)
            est = be[["lhs", "op", "rhs", "estimate", "se", "ci_lower", "ci_upper"]]
        else:
            est = est.assign(se=np.nan, ci_lower=np.nan, ci_upper=np.nan)
        out.estimates = est
        out.quality = _quality(fit)
        out.impacts = impacts(fit, negative="force")
    out.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
    return out
