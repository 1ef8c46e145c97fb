"""Missing-data methods at the moment step of every composite estimator, and their diagnostics.

Every composite estimator (PLS, PLSc, sum scores, PCA) needs only the item
means and covariance matrix, plus a complete item matrix for the construct
scores.  This module gives both for each method of
:data:`csi.data.prepare.MISSING_POLICIES`:

==========  ====================================================  ==============================================
method      means and covariances                                 data for the scores
==========  ====================================================  ==============================================
error,      weighted moments of the prepared (complete) rows      the prepared rows
listwise,
mean
pairwise    available-case means, pairwise-complete covariances   conditional means under those moments
            (divisor: weight sum of the pair's rows)
em          saturated normal ML by EM (Little & Rubin 2002, 11.2)  conditional means ``E[x_m | x_o]`` under the EM
                                                                  estimates (the observed answers are kept)
mi          m completed data sets, each fitted; estimates and     each completed data set; scores averaged
            0-100 indices averaged (Rubin 1987, eq. 3.1.2)
==========  ====================================================  ==============================================

With no missing value every method returns the complete-data moments
unchanged, so its fit equals the complete-data fit exactly.

Multiple imputation draws each completed data set as Honaker & King's (2010)
EM-with-bootstrapping (EMB, the method of R's Amelia II): the rows are
resampled, EM is run on the resample (warm-started from the full-sample EM
estimates) and every missing value is drawn from its conditional normal
distribution under those estimates.  The bootstrap supplies the
parameter uncertainty that "proper" imputations need (Rubin 1987, 4.2;
Little & Rubin 2002, 10.2.3) without a Markov chain to monitor.  Imputed
values are not rounded to the response scale (rounding biases means and
variances; Horton, Lipsitz & Parzen 2003).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from csi.core.missing import (
    EMResult,
    conditional_draws,
    conditional_means,
    em_moments,
    little_mcar,
    pairwise_moments,
    patterns,
    replicate_em_moments,
)
from csi.core.moments import counts_from_indices, moments
from csi.data.prepare import MOMENT_METHODS, PreparedData
from csi.errors import EstimationError, MissingDataWarning
from csi.results.fit import FitResult
from csi.results.frozen import replace
from csi.spec.model import ModelSpec

DISCARD_WARNING = 0.05
"""A method that leaves out more than this share of the respondents warns."""

DEFAULT_IMPUTATIONS = 20
"""Imputations of ``missing="mi"`` when none are given (Graham, Olchowski & Gilreath 2007 recommend 20 or more)."""


class LittleTest(NamedTuple):
    """Little's (1988) test that the data are missing completely at random."""

    chi2: float
    df: int
    p_value: float


@dataclass(frozen=True, eq=False)
class MissingReport:
    """What was missing and what the missing-data method did; attached to every fit as ``fit.missing_report``.

    Attributes
    ----------
    method
        The missing-data method (``fit.options["missing"]``).
    n_input
        Rows of the input data.
    n_used
        Respondents whose answers enter the estimates.
    spec
        The fitted model (item and construct names).
    n_missing
        Missing values per item in the input (missing codes included).

    The per-item and per-construct rates, the number of patterns and Little's
    test are computed when first asked for (a fit in a hot loop pays nothing).
    """

    method: str
    n_input: int
    n_used: int
    spec: ModelSpec = field(repr=False)
    n_missing: tuple[int, ...] = field(repr=False)
    raw: np.ndarray | None = field(repr=False, default=None)
    """Item matrix before the method (rows with an answer, NaN for missing), None when nothing was missing."""
    completed: np.ndarray | None = field(repr=False, default=None)
    """Moment methods: the complete item matrix the scores come from (rows of ``fit.data``): conditional
    means under the method's moments (``pairwise``, ``em``), the average imputed data set (``mi``)."""
    em: EMResult | None = field(repr=False, default=None)
    """Full-sample EM estimates (``em`` and ``mi``; on the rows of ``raw``)."""
    imputations: tuple[FitResult, ...] = field(repr=False, default=())
    """``mi``: the fit of every completed data set."""
    mi_seed: int | None = None
    """``mi``: the entropy of the seed the imputations were drawn from (reproduces them)."""
    imputed: tuple[np.ndarray, ...] = field(repr=False, default=())
    """``mi``: the completed item matrices (rows of ``fit.data``), one per imputation, read-only."""
    weighted: bool = False
    """Whether the fit used respondent weights (then ``em`` holds weighted estimates)."""

    @cached_property
    def item_missing(self) -> pd.Series:
        """Share of the input rows missing each item (missing codes included)."""
        rate = np.asarray(self.n_missing, dtype=float) / max(self.n_input, 1)
        return pd.Series(rate, index=pd.Index(self.spec.item_names, name="item"), name="missing_rate")

    @cached_property
    def construct_missing(self) -> pd.Series:
        """Share of the cells of each construct's block that are missing."""
        block = self.spec.block_index
        J = len(self.spec.constructs)
        share = np.bincount(block, weights=self.item_missing.to_numpy(), minlength=J) / np.bincount(block, minlength=J)
        return pd.Series(share, index=pd.Index(self.spec.construct_names, name="construct"), name="missing_rate")

    @cached_property
    def n_patterns(self) -> int:
        """Distinct missingness patterns among the rows with at least one answer."""
        return 1 if self.raw is None else len(patterns(self.raw).rows)

    @property
    def n_dropped(self) -> int:
        """Input rows that do not enter the estimates."""
        return self.n_input - self.n_used

    @property
    def rate(self) -> float:
        """Share of all item cells that are missing."""
        return float(self.item_missing.mean())

    @cached_property
    def little(self) -> LittleTest:
        """Little's MCAR test on the rows with an answer (unweighted EM estimates; NaN when nothing is missing)."""
        if self.raw is None:
            return LittleTest(np.nan, 0, np.nan)
        # Little's statistic is defined for an unweighted sample, so a weighted fit's EM is not reused.
        em = self.em if self.em is not None and not self.weighted else em_moments(self.raw)
        chi2, df = little_mcar(self.raw, em.mean, em.cov)
        from scipy.special import chdtrc  # only when a summary asks: scipy.special is light, scipy.stats is not

        return LittleTest(chi2, df, float(chdtrc(df, chi2)) if df > 0 else np.nan)

    def pooled_inner_model(self) -> pd.DataFrame:
        """``mi``: the imputations' ``inner_model`` tables combined by Rubin's (1987) rules.

        Estimate ``Q̄`` = mean over the m imputations; within variance ``W̄`` =
        mean squared standard error; between variance ``B`` = variance of the
        estimates (divisor m − 1); total ``T = W̄ + (1 + 1/m) B``; standard
        error ``√T``; t with Rubin's degrees of freedom
        ``ν = (m − 1) (1 + W̄ / ((1 + 1/m) B))²`` (Rubin 1987, eq. 3.1.6;
        Little & Rubin 2002, eq. 10.17).  Tables without standard errors
        (PLSc) are averaged only.
        """
        tables = [f.inner_model for f in self.imputations]
        m = len(tables)
        first = tables[0]
        est = np.stack([t["estimate"].to_numpy() for t in tables])
        out = first[["lhs", "rhs"]].copy()
        out["estimate"] = est.mean(axis=0)
        if "std_error" not in first.columns:
            return out
        from scipy.stats import t as student_t

        W = np.mean([t["std_error"].to_numpy() ** 2 for t in tables], axis=0)
        B = est.var(axis=0, ddof=1)
        T = W + (1 + 1 / m) * B
        with np.errstate(divide="ignore", invalid="ignore"):
            nu = (m - 1) * (1 + W / ((1 + 1 / m) * B)) ** 2
            tval = out["estimate"].to_numpy() / np.sqrt(T)
        nu = np.where(np.isfinite(nu), nu, 1e12)  # no between-imputation spread: the complete-data reference
        out["std_error"] = np.sqrt(T)
        out["t_value"] = tval
        out["p_value"] = 2 * student_t.sf(np.abs(tval), nu)
        out["df_rubin"] = nu
        return out

    def lines(self) -> list[tuple[str, str]]:
        """Header lines of a fit summary."""
        cells = self.item_missing.size * self.n_input
        out = [
            (
                "Missing",
                f"{self.method}: {self.rate:.1%} of {cells} item cells, {self.n_patterns} pattern(s); "
                f"{self.n_used} of {self.n_input} respondents used",
            )
        ]
        if self.raw is not None:
            lt = self.little
            out.append(("Little MCAR", f"chi2 = {lt.chi2:.2f} on {lt.df} df, p = {lt.p_value:.4f}"))
        if self.imputations:
            out.append(("Imputations", f"{len(self.imputations)} (EM with bootstrapping; seed {self.mi_seed})"))
        return out

    def table(self) -> pd.DataFrame:
        """Per item: its construct and the share of respondents missing it."""
        block = [self.spec.block_of(i) for i in self.spec.item_names]
        return pd.DataFrame({"construct": block, "missing_rate": self.item_missing})


def missing_report(spec: ModelSpec, prepared: PreparedData, method: str, **extra: Any) -> MissingReport:
    """The diagnostics of ``prepared`` (see :class:`MissingReport`)."""
    return MissingReport(
        method=method,
        n_input=prepared.n_input,
        n_used=prepared.n_used,
        spec=spec,
        n_missing=prepared.n_missing,
        raw=prepared.raw,
        weighted=prepared.weights is not None,
        **extra,
    )


def warn_discarded(report: MissingReport) -> None:
    """Warn when more than :data:`DISCARD_WARNING` of the respondents do not enter the estimates."""
    if report.n_dropped > DISCARD_WARNING * report.n_input:
        reason = "a missing answer" if report.method == "listwise" else "no answer to any item"
        warnings.warn(
            f"missing={report.method!r} left out {report.n_dropped} of {report.n_input} respondents "
            f"({report.n_dropped / report.n_input:.1%}) for {reason}; the estimates describe the rest only. "
            "missing='em' or 'mi' use every answer (valid when data are missing at random)",
            MissingDataWarning,
            stacklevel=4,
        )


def fit_with_missing(estimator: Any, spec: ModelSpec, prepared: PreparedData) -> FitResult:
    """Fit ``prepared`` with ``estimator.fit_moments`` under the estimator's missing-data method.

    ``estimator.fit_moments(spec, prepared, mean, cov, X)`` fits one set of
    moments, with ``X`` a complete item matrix (rows of ``prepared``) for the
    construct scores.
    """
    method = prepared.missing
    X, w = prepared.X, prepared.weights
    if method not in MOMENT_METHODS or prepared.raw is None:
        mean, cov = moments(X, w)
        report = missing_report(spec, prepared, method)
        fit = estimator.fit_moments(spec, prepared, mean, cov, X)
    elif method == "pairwise":
        mean, cov, _ = pairwise_moments(X, w)
        if np.linalg.eigvalsh(cov)[0] <= 0:
            warnings.warn(
                "the pairwise covariance matrix is not positive definite (pairs rest on different respondents); "
                "estimates may be inadmissible. missing='em' always gives a positive definite matrix",
                MissingDataWarning,
                stacklevel=3,
            )
        Xc = conditional_means(X, mean, cov)
        report = missing_report(spec, prepared, method, completed=Xc)
        fit = estimator.fit_moments(spec, prepared, mean, cov, Xc)
    elif method == "em":
        em = _em(X, w)
        Xc = conditional_means(X, em.mean, em.cov)
        report = missing_report(spec, prepared, method, em=em, completed=Xc)
        fit = estimator.fit_moments(spec, prepared, em.mean, em.cov, Xc)
    else:  # mi
        fit, report = _multiple_imputation(estimator, spec, prepared)
    warn_discarded(report)
    return replace(fit, missing_report=report)  # keeps the fit's deferred tables unbuilt


def _em(X: np.ndarray, w: np.ndarray | None) -> EMResult:
    em = em_moments(X, w)
    if not bool(em.converged):
        raise EstimationError(
            f"EM did not converge in {int(em.iterations)} iterations (too little information on some pair of "
            "items); use missing='pairwise' or 'listwise'"
        )
    return em


def _multiple_imputation(estimator: Any, spec: ModelSpec, prepared: PreparedData) -> tuple[FitResult, MissingReport]:
    X, w = prepared.X, prepared.weights
    m = estimator.imputations
    seed = estimator.mi_seed
    ss = np.random.SeedSequence(seed)
    rng = np.random.Generator(np.random.PCG64(ss))
    em = _em(X, w)
    fits = []
    total = np.zeros_like(X)
    completed = imputed_data(X, w, (em.mean, em.cov), m, rng)
    for Xk in completed:
        total += Xk
        mean, cov = moments(Xk, w)
        fits.append(estimator.fit_moments(spec, prepared, mean, cov, Xk))
        Xk.flags.writeable = False
    report = missing_report(
        spec, prepared, "mi", em=em, imputations=tuple(fits), mi_seed=int(ss.entropy), completed=total / m,
        imputed=tuple(completed),
    )  # fmt: skip
    return pool_fits(fits), report


def imputed_data(
    X: np.ndarray, w: np.ndarray | None, start: tuple[np.ndarray, np.ndarray], m: int, rng: np.random.Generator,
    rows: np.ndarray | None = None,
) -> list[np.ndarray]:  # fmt: skip
    """``m`` completed copies of the data ``X[rows]`` (all rows when None) by proper multiple imputation.

    Each imputation draws its normal parameters as the EM estimates of a bootstrap resample of those rows
    (the bootstrap approximation of the posterior draw, Little & Rubin 2002, section 10.2.3; EM warm-started at
    ``start``), then draws every missing cell from its conditional normal given the row's answers
    (:func:`csi.core.missing.conditional_draws`).  ``rng`` supplies every random number, in a fixed order.
    """
    n = X.shape[0] if rows is None else rows.size
    Xr = X if rows is None else X[rows]
    draws: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(20):  # a resample without EM estimate (an item unanswered or constant, EM not converging): again
        # (as many resamples as are still missing: each costs an EM run)
        pick = rng.integers(0, n, size=(m - len(draws), n))
        F = counts_from_indices(pick if rows is None else rows[pick], X.shape[0])
        res = replicate_em_moments(X, F, w, start=start, max_iter=REPLICATE_EM_MAX_ITER, compiled=True)
        usable = res.converged & np.isfinite(res.mean).all(axis=1) & np.isfinite(res.cov).all(axis=(1, 2))
        draws += [(res.mean[k], res.cov[k]) for k in np.flatnonzero(usable)]
        if len(draws) >= m:
            break
    else:  # pragma: no cover - needs an item answered by a handful of respondents
        raise EstimationError("could not draw EM estimates for the imputations: an item has too few answers")
    return [conditional_draws(Xr, mu, S, rng.standard_normal(Xr.shape)) for mu, S in draws[:m]]


_POOLED = (
    "weights", "loadings", "cross_loadings", "paths", "construct_correlations", "total_effects", "scores",
    "item_means", "item_sds", "block_quality", "rho_a",
)  # fmt: skip


def pool_fits(fits: list[FitResult]) -> FitResult:
    """Rubin's (1987) point estimate: every estimate averaged over the imputations' fits.

    The moment matrix is the average too; ``iterations`` the largest,
    ``converged`` and ``admissible`` only when every fit is.
    """
    first = fits[0]
    pooled: dict[str, Any] = {}
    for name in _POOLED:
        parts = [getattr(f, name) for f in fits]
        if parts[0] is not None:
            pooled[name] = sum(parts[1:], parts[0]) / len(parts)
    return dataclasses.replace(
        first,
        **pooled,
        moments=np.mean([f.moments for f in fits], axis=0),
        iterations=max(f.iterations for f in fits),
        converged=all(f.converged for f in fits),
        admissible=all(f.admissible for f in fits),
    )


REPLICATE_EM_TOL = 1e-8
"""EM stopping rule inside bootstrap replicates: far below any replicate-to-replicate spread."""
REPLICATE_EM_MAX_ITER = 1000
"""EM steps inside one bootstrap replicate at most.  Warm-started replicates converge in 10-100 steps; one
that does not by 1000 is drifting to a singular covariance (an item that the resample predicts exactly),
where EM creeps for ever and the full-sample limit of 10,000 steps made one replicate cost seconds."""


def replicate_moments(fit: FitResult, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means (B, p), covariances (B, p, p) and convergence (B,) of bootstrap replicates under the fit's
    missing-data method.

    ``converged`` is False only for an ``em`` replicate whose EM stopped at
    :data:`REPLICATE_EM_MAX_ITER` steps: its moments are not the replicate's
    maximum-likelihood estimates, so the bootstrap counts it as not converged
    (and its failure policy drops it by default).

    Complete data (and ``listwise`` / ``mean``, whose rows are complete):
    the weighted moments of each replicate
    (:func:`csi.core.moments.resample_moments`).  ``em`` and ``pairwise``:
    the method re-run inside every replicate on the replicate's rows (EM
    warm-started from the full-sample EM estimates), never the full-sample
    moments resampled.  ``mi`` fits have m moment sets per replicate
    (:func:`imputed_replicate_moments`, the bootstrap's own path); here they are refused.
    """
    from csi.core.missing import replicate_em_moments, replicate_pairwise_moments
    from csi.core.moments import resample_moments

    data = fit.data
    X, w = data.X, data.weights
    if not resamples_missing(fit):
        means, covs = resample_moments(X, counts, w)
        return means, covs, np.ones(len(means), dtype=bool)
    counts = np.asarray(counts, dtype=np.float64)  # long data arrive as compact integer counts
    if data.missing == "pairwise":
        means, covs, _ = replicate_pairwise_moments(X, counts, w)
        return means, covs, np.ones(len(means), dtype=bool)
    if data.missing == "em":
        em = fit.missing_report.em
        res = replicate_em_moments(X, counts, w, start=(em.mean, em.cov), tol=REPLICATE_EM_TOL,
                                   max_iter=REPLICATE_EM_MAX_ITER, compiled=True)  # fmt: skip
        return res.mean, res.cov, np.asarray(res.converged, dtype=bool)
    raise EstimationError(
        "a missing='mi' fit is bootstrapped by imputing afresh in every replicate, which the jackknife of BCa "
        "intervals does not do: use ci='percentile', 'basic', 'normal' or 'bc', or bootstrap a missing='em' fit"
    )


def imputed_replicate_moments(fit: FitResult, rows: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Means (m, p) and covariances (m, p, p) of the ``m`` imputations of one bootstrap replicate of a
    ``missing="mi"`` fit: the replicate's rows ``rows`` imputed afresh (:func:`imputed_data`, EM warm-started at
    the full-sample EM estimates) with the replicate's own generator ``rng``: bootstrap, then impute
    (Schomaker & Heumann 2018, "Boot MI")."""
    data = fit.data
    X, w = data.X, data.weights
    em = fit.missing_report.em
    m = len(fit.missing_report.imputations)
    wr = None if w is None else w[rows]
    pairs = [moments(Xk, wr) for Xk in imputed_data(X, w, (em.mean, em.cov), m, rng, rows)]
    return np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs])


def imputes_in_replicates(fit: FitResult) -> bool:
    """Whether the fit's bootstrap replicates impute afresh (a ``missing="mi"`` fit of data with missing cells)."""
    data = fit.data
    return getattr(data, "raw", None) is not None and data.missing == "mi"


def resamples_missing(fit: FitResult) -> bool:
    """Whether the fit's replicates need :func:`replicate_moments` (a moment method on data with missing cells)."""
    data = fit.data
    return getattr(data, "raw", None) is not None and data.missing in MOMENT_METHODS


def reject_moment_methods(method: str, estimator: str) -> None:
    """Raise for the moment methods an estimator cannot use."""
    if method in MOMENT_METHODS:
        raise EstimationError(
            f"method {estimator!r} does not support missing={method!r} on data with missing values yet "
            "(full-information ML is planned); pass missing='listwise' or 'mean', or fit with method='pls' or 'plsc'"
        )
