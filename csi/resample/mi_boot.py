"""Impute, then bootstrap: intervals of a ``missing="mi"`` fit by Rubin's rules ("MI Boot").

Schomaker & Heumann (2018, Stat. Med. 37:2252-2266) compare four ways to
combine the bootstrap with multiple imputation.  csi offers two of them as
``csi.bootstrap(mi_fit, mi_interval=...)``:

``"boot-mi"`` (bootstrap, then impute; their "Boot MI")
    Every bootstrap replicate is imputed ``m`` times afresh and the
    replicate's statistic is the mean of its imputations' fits; percentile
    (or other) intervals of those means.  Costs ``m`` EM-with-bootstrapping
    imputations per replicate, and each imputation's EM runs on a resample of
    a resample (about 40 % distinct rows), where EM often drifts to a singular
    covariance.

``"rubin"`` (impute, then bootstrap; their "MI Boot", which they found to
cover well)
    Each of the fit's ``m`` completed data sets is bootstrapped as complete
    data (the compiled PLS replicates, about a millisecond each) with the same
    resampling plan; the bootstrap variance of imputation ``k`` is its
    within-imputation variance ``W_k``.  Rubin's (1987) rules combine them:
    ``Q̄ = mean_k Q̂_k``, ``W̄ = mean_k W_k``, ``B = var_k Q̂_k`` (divisor
    ``m - 1``), ``T = W̄ + (1 + 1/m) B``, and the interval is
    ``Q̄ ± t_ν √T`` with Barnard & Rubin's (1999, Biometrika 86:948-955)
    degrees of freedom ``ν = (1/ν_old + 1/ν_obs)⁻¹``, ``ν_old = (m - 1) / γ²``,
    ``ν_obs = (ν_com + 1) / (ν_com + 3) ν_com (1 - γ)``, ``γ = (1 + 1/m) B / T``
    and ``ν_com = n - 1`` (a PLS path model has no residual degrees of freedom
    of its own; with ``n`` in the hundreds the choice hardly matters).

Panels (:func:`csi.index_panel`) need one row of draws per resample, aligned
across cells, for their change tests and aggregates:
:func:`calibrated_draws` gives, per quantity, the mean over the imputations
of replicate ``r`` (each imputation used the same resample ``r``), centred at
its bootstrap mean and scaled so that its variance is Rubin's ``T``, around
``Q̄``.  Their percentile interval is Rubin's normal-theory interval up to
the shape of the bootstrap distribution (a documented approximation: it uses
the normal, not the Barnard-Rubin t, quantile).

The replicates of all imputations run through :func:`csi.resample.driver.run_plan`
as one statistic of width ``m q`` (imputation-major), so they are seeded and
chunked like every other bootstrap and do not depend on ``chunk_size``,
``n_jobs`` or the scheduler.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from csi.errors import EstimationError
from csi.estimators.replicates import composite_statistic
from csi.results.fit import FitResult
from csi.results.frozen import replace

MI_INTERVALS = ("boot-mi", "rubin")
"""Interval methods of a ``missing="mi"`` fit (see the module notes)."""
DEFAULT_MI_INTERVAL = "rubin"
"""Impute, then bootstrap: it costs m complete-data bootstraps (milliseconds each) where bootstrap-then-impute
costs m imputations per replicate, whose EM runs often stop at their step cap inside resamples; Schomaker &
Heumann (2018) found both to cover well."""


def check_mi_interval(mi_interval: str | None) -> str:
    """The interval method named by ``mi_interval`` (``None``: :data:`DEFAULT_MI_INTERVAL`), or an error."""
    if mi_interval is None:
        return DEFAULT_MI_INTERVAL
    if mi_interval not in MI_INTERVALS:
        raise EstimationError(f"unknown mi_interval {mi_interval!r}; accepted: {', '.join(MI_INTERVALS)}")
    return mi_interval


def completed_fits(fit: FitResult) -> list[FitResult]:
    """The fit of every completed data set of a ``missing="mi"`` fit, as a fit of complete data (its ``data``
    holds the completed item matrix), so that its bootstrap resamples complete rows."""
    report = fit.missing_report
    if report is None or not report.imputed:
        raise EstimationError("mi_interval='rubin' needs a missing='mi' fit of data with missing values")
    out = []
    for part, Xk in zip(report.imputations, report.imputed, strict=True):
        data = dataclasses.replace(part.data, X=Xk, raw=None)
        out.append(replace(part, data=data))  # keeps the imputation's deferred tables unbuilt
    return out


class ImputedStatistic:
    """The replicate statistic of every completed data set of an ``mi`` fit, side by side (width ``m q``).

    Replicate ``r`` of imputation ``k`` uses the plan's rows of replicate ``r`` (the same resamples for
    every imputation), so chunking cannot change any value: each part is a complete-data
    :class:`~csi.estimators.replicates.CompositeStatistic`.
    """

    what = ""

    def __init__(self, fit: FitResult, *, sign_change: str = "none") -> None:
        self.parts = [composite_statistic(f, sign_change=sign_change) for f in completed_fits(fit)]
        self.m = len(self.parts)
        self.q = self.parts[0].width
        self.width = self.m * self.q
        # Rubin's point estimate (the mean of the imputations' estimates), as a missing='mi' fit's bootstrap has.
        self.layout = composite_statistic(fit, sign_change=sign_change).layout
        self.estimates = np.stack([p.layout.original for p in self.parts])
        self.inner_root = None

    def prepare(self, plan: Any) -> None:
        for part in self.parts:
            part.prepare(plan)

    def evaluate(self, plan: Any, a: int, b: int, out: np.ndarray | None = None) -> tuple[np.ndarray, Any, None]:
        """Statistics (b - a, m q), convergence (b - a,): a replicate converged when every imputation's did."""
        results = [part.evaluate(plan, a, b) for part in self.parts]
        stats = np.concatenate([r[0] for r in results], axis=1)
        conv = np.logical_and.reduce([np.asarray(r[1], dtype=bool) for r in results])
        if out is not None:
            out[...] = stats
            return out, conv, None
        return stats, conv, None


def split_draws(stats: np.ndarray, m: int) -> np.ndarray:
    """(B, m q) replicate rows of :class:`ImputedStatistic` as (m, B, q) draws per imputation."""
    B = stats.shape[0]
    return stats.reshape(B, m, -1).transpose(1, 0, 2)


def rubin_interval(
    draws: np.ndarray, estimates: np.ndarray, level: float = 0.95, n_com: float = np.inf
) -> dict[str, np.ndarray]:
    """Rubin's rules over bootstrap within-imputation variances, with Barnard & Rubin's degrees of freedom.

    Parameters
    ----------
    draws : ndarray, shape (m, B, q)
        Bootstrap replicates of each completed data set (NaN rows: failed replicates, left out).
    estimates : ndarray, shape (m, q)
        Each completed data set's estimate ``Q̂_k``.
    level : float
    n_com : float
        Complete-data degrees of freedom ``ν_com``.

    Returns
    -------
    dict
        ``estimate`` (Q̄), ``within`` (W̄), ``between`` (B), ``se`` (√T), ``df`` (ν), ``ci_lower``,
        ``ci_upper`` and ``p_value`` (two-sided t test of ``Q = 0``), each of shape (q,).
    """
    from scipy.stats import t as student_t

    draws = np.asarray(draws, dtype=np.float64)
    Q = np.asarray(estimates, dtype=np.float64)
    m = Q.shape[0]
    ok = ~np.isnan(draws)
    k = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.where(ok, draws, 0.0).sum(axis=1) / k
        dev = np.where(ok, draws - centre[:, None, :], 0.0)
        within = np.where(k > 1, (dev * dev).sum(axis=1) / (k - 1), np.nan).mean(axis=0)
        qbar = Q.mean(axis=0)
        between = Q.var(axis=0, ddof=1)
        total = within + (1 + 1 / m) * between
        gamma = (1 + 1 / m) * between / total
        nu_old = (m - 1) / gamma**2
        nu_obs = (n_com + 1) / (n_com + 3) * n_com * (1 - gamma) if np.isfinite(n_com) else np.inf
        nu = 1 / (1 / nu_old + 1 / nu_obs)
        se = np.sqrt(total)
        # A quantity no imputation or replicate moves (a fixed loading, an indirect effect along no path) has
        # T = 0: its interval is the point itself, as the percentile interval of such a quantity is.
        half = np.where(total == 0, 0.0, student_t.ppf((1 + level) / 2, nu) * se)
        tval = qbar / se
    return {"estimate": qbar, "within": within, "between": between, "se": se, "df": nu,
            "ci_lower": qbar - half, "ci_upper": qbar + half, "p_value": 2 * student_t.sf(np.abs(tval), nu)}  # fmt: skip


def calibrated_draws(draws: np.ndarray, rubin: dict[str, np.ndarray]) -> np.ndarray:
    """One (B, q) row per resample with Rubin's total variance (see the module notes).

    Parameters
    ----------
    draws : ndarray, shape (m, B, q)
        Replicates of every completed data set, the same resamples for every imputation.
    rubin : dict
        :func:`rubin_interval` of those draws.
    """
    draws = np.asarray(draws, dtype=np.float64)
    mean = draws.mean(axis=0)  # NaN where any imputation's replicate failed
    ok = ~np.isnan(mean)
    k = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.where(ok, mean, 0.0).sum(axis=0) / k
        dev = np.where(ok, mean - centre, 0.0)
        sd = np.sqrt((dev * dev).sum(axis=0) / (k - 1))
        factor = np.where(sd > 0, rubin["se"] / sd, 0.0)
    return rubin["estimate"] + (mean - centre) * factor
