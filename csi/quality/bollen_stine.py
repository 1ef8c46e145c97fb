"""Bootstrap test of exact overall fit: HI95 / HI99 of SRMR, d_ULS and d_G from Bollen-Stine transformed data.

Dijkstra & Henseler (2015, MISQ 39(2):297-316, "Consistent and asymptotically
normal PLS estimators"; the test of exact fit of Dijkstra & Henseler 2015,
CSDA 81:10-23, §4) after Bollen & Stine (1992, Sociological Methods &
Research 21(2):205-229): rotate the standardised data ``Z`` so that their
correlation matrix is exactly the model-implied one,

``Z* = Z S^{-1/2} Σ^{1/2}``  (symmetric square roots),

so that ``corr(Z*) = Σ^{1/2} S^{-1/2} S S^{-1/2} Σ^{1/2} = Σ`` and the model
fits the transformed sample exactly.  Bootstrap resamples of ``Z*`` are draws
from a population in which the null hypothesis (the model holds) is true;
refitting the model to each and computing its discrepancy gives the null
distribution of the discrepancy.  HI95 and HI99 are its 95 % and 99 %
quantiles: the model's exact fit is rejected at 5 % when the observed
discrepancy exceeds HI95.  The p-value is the Monte Carlo ``(1 + #{d*_b >=
d}) / (1 + B)`` (Davison & Hinkley 1997, eq. 4.11).

The saturated and the estimated model each have their own ``Σ`` (and hence
their own transformed data); one plan draws the same resample rows for both.
Every replicate is a full PLS re-estimation (outer weights by Wold's
algorithm with the fit's options, composite correlations, OLS paths) on the
replicate's moments, batched over replicates through the one resampling
driver (:func:`csi.resample.driver.run_plan`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from csi.core.moments import cov_to_corr, moments, resample_moments
from csi.core.pls import pls_inner, pls_weights
from csi.core.quality import d_g, d_uls, implied_correlation, srmr, structural_implied
from csi.errors import EstimationError
from csi.estimators import estimator_of
from csi.quality._common import prepared_data
from csi.quality.implied import implied
from csi.resample.driver import Threads, run_plan
from csi.resample.intervals import quantiles
from csi.resample.options import check_workers
from csi.resample.plans import SeedLike
from csi.resample.run import default_chunk_size, make_plan
from csi.results.fit import FitResult
from csi.spec.model import topological_order

MODELS = ("saturated", "estimated")
CRITERIA = ("srmr", "d_uls", "d_g")


def _sym_power(A: np.ndarray, power: float) -> np.ndarray:
    """``A^power`` of a symmetric positive definite matrix through its eigendecomposition."""
    vals, vecs = np.linalg.eigh(A)
    if vals.min() <= 0:
        raise EstimationError("the item correlation matrix or the model-implied one is not positive definite, so "
                              "the Bollen-Stine transform does not exist; drop a redundant item")  # fmt: skip
    return (vecs * vals**power) @ vecs.T


def bollen_stine_data(fit: FitResult, model: str = "estimated") -> np.ndarray:
    """The fit's items rotated so that their (weighted) correlation matrix is the ``model``-implied one exactly.

    Returns the (n, p) array ``Z S^{-1/2} Σ^{1/2}``, ``Z`` the items
    standardised with the fit's respondent weights (module notes); for a
    ``scaled=False`` fit the columns are rescaled to the items' standard
    deviations (the refits then see covariances of the original metric).
    """
    if model not in MODELS:
        raise EstimationError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    data = prepared_data(fit, "the Bollen-Stine bootstrap")
    X, w = np.asarray(data.X, dtype=float), data.weights
    mean, cov = moments(X, w)
    sd = np.sqrt(np.diag(cov))
    Z = (X - mean) / sd
    S = cov / np.outer(sd, sd)
    Sigma = implied(fit, model)
    out = Z @ (_sym_power(S, -0.5) @ _sym_power(Sigma, 0.5))
    return out if estimator_of(fit).scaled else out * sd


class _FitStatistic:
    """SRMR, d_ULS, d_G of the saturated and estimated model refitted on each replicate (width 6)."""

    what = "Bollen-Stine"

    def __init__(self, fit: FitResult, data: dict[str, np.ndarray]) -> None:
        est = estimator_of(fit)
        spec = fit.spec
        self.data, self.w = data, fit.data.weights
        self.M, self.D = spec.block_mask, spec.adjacency
        self.mode_b = np.array([m == "B" for m in spec.modes])
        self.options = dict(scheme=est.scheme, tol=est.tol, max_iter=est.max_iter, stop=est.stop,
                            sign_rule=est.sign_rule, n_obs=fit.data.X.shape[0])  # fmt: skip
        self.scaled = bool(est.scaled)
        names = list(spec.construct_names)
        pos = {n: i for i, n in enumerate(names)}
        self.order = np.array([pos[n] for n in topological_order(names, [(p.source, p.target) for p in spec.paths])])
        self.width = len(MODELS) * len(CRITERIA)

    def prepare(self, plan: Any) -> None:
        pass

    def _criteria(self, X: np.ndarray, plan: Any, lo: int, hi: int, model: str) -> tuple[np.ndarray, np.ndarray]:
        parts = []
        # Frequency products over whole blocks, then sliced: replicates identical whatever the chunking.
        for s in range(lo // plan.block * plan.block, hi, plan.block):
            e = min(s + plan.block, plan.n_resamples)
            _, covs = resample_moments(X, plan.counts(s, e), self.w)
            parts.append(covs[max(lo, s) - s : min(hi, e) - s])
        C = np.concatenate(parts)
        with np.errstate(invalid="ignore", divide="ignore"):
            S, sd = cov_to_corr(C)
        ok = np.isfinite(S).all(axis=(-2, -1)) & (sd > 0).all(axis=-1)
        out = np.full((hi - lo, len(CRITERIA)), np.nan)
        conv = np.zeros(hi - lo, dtype=bool)
        if not ok.any():
            return out, conv
        S, sd = S[ok], sd[ok]
        res = pls_weights(S if self.scaled else C[ok], self.M, self.D, self.mode_b, **self.options)
        w = res.w if self.scaled else res.w * sd  # weights of the standardised items (same composites)
        inner = pls_inner(S, w, self.M, self.D)
        R = inner.R if model == "saturated" else structural_implied(inner.R, inner.B, self.D, self.order)
        Sigma = implied_correlation(S, w, self.M, R)
        out[ok] = np.column_stack([srmr(S, Sigma), d_uls(S, Sigma), d_g(S, Sigma)])
        conv[ok] = res.converged
        return out, conv

    def evaluate(self, plan: Any, lo: int, hi: int, out: np.ndarray | None = None) -> tuple[Any, Any, None]:
        got = [self._criteria(self.data[m], plan, lo, hi, m) for m in MODELS]
        stats = np.hstack([g[0] for g in got])
        return stats, got[0][1] & got[1][1], None


def bollen_stine(
    fit: FitResult,
    n_resamples: int,
    seed: SeedLike = None,
    *,
    indices: Any = None,
    chunk_size: int | None = None,
    n_jobs: int | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Bootstrap draws of SRMR, d_ULS and d_G under exact fit (module notes).

    Parameters
    ----------
    fit
        A PLS fit of complete item data (``missing`` ``"error"``,
        ``"listwise"`` or ``"mean"``).
    n_resamples, seed
        Replicates and seed (seeding contract of :mod:`csi.resample.plans`).
    indices
        Optional (B, n) 0-based row positions to replay.
    chunk_size
        Replicates per kernel call (memory only; results do not depend on it).
    n_jobs
        Threads (default: every core); results do not depend on it.

    Returns
    -------
    draws
        (B, 6) table, columns ``saturated_srmr, ..., estimated_d_g``; failed
        replicates (an item constant in the resample, or PLS not converged)
        are NaN and left out of the quantiles.
    plan
        The plan's provenance (:meth:`~csi.resample.plans.ResamplingPlan.describe`).
    """
    if not fit.capabilities.pls_refit:
        raise EstimationError(
            f"the Bollen-Stine bootstrap refits composite PLS in every replicate, which method {fit.method!r} fits "
            "do not allow (fit with method='pls', or ask for the fit criteria without the test)"
        )
    data = {m: bollen_stine_data(fit, m) for m in MODELS}
    n = fit.data.X.shape[0]
    plan = make_plan(fit, n_resamples, seed, indices, None)
    statistic = _FitStatistic(fit, data)
    workers = check_workers(n_jobs)
    size = default_chunk_size(n, plan.n_resamples, workers) if chunk_size is None else chunk_size
    reps = run_plan(plan, statistic, chunk_size=size, backend=Threads(workers), failed="drop", what="Bollen-Stine",
                    stacklevel=3)  # fmt: skip
    columns = pd.Index([f"{m}_{c}" for m in MODELS for c in CRITERIA], name="statistic")
    draws = pd.DataFrame(reps.stats, columns=columns)
    draws.index.name = "replicate"
    return draws, plan.describe()


def exact_fit_table(observed: pd.DataFrame, draws: pd.DataFrame) -> pd.DataFrame:
    """HI95, HI99 and p of every criterion, beside the observed values (``observed``: criterion x model)."""
    out = observed.copy()
    D = draws.to_numpy()
    hi95, hi99 = quantiles(D, [0.95, 0.99])
    finite = np.isfinite(D)
    for k, model in enumerate(MODELS):
        cols = slice(k * len(CRITERIA), (k + 1) * len(CRITERIA))
        value = observed[model].to_numpy()
        exceed = ((D[:, cols] >= value[None, :]) & finite[:, cols]).sum(axis=0)
        out[f"{model}_hi95"] = hi95[cols]
        out[f"{model}_hi99"] = hi99[cols]
        out[f"{model}_p"] = (1.0 + exceed) / (1.0 + finite[:, cols].sum(axis=0))
    return out
