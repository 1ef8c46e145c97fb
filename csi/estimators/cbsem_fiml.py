"""Full-information maximum likelihood (FIML) for CB-SEM with missing item values.

Each respondent contributes the normal log-likelihood of the items he answered
(Arbuckle 1996; Enders 2010, ch. 4).  Rows are grouped by missingness pattern;
a pattern ``g`` with ``n_g`` rows, observed items ``o``, mean ``ybar_g`` and
covariance ``S_g`` (divisor ``n_g``) adds

    ``-n_g/2 (p_o log 2 pi + log|Sigma_oo| + tr(Sigma_oo^-1 (S_g + d d')))``,  ``d = ybar_g - mu_o``

with the model-implied ``Sigma(theta)`` and free item intercepts ``mu`` (the
mean structure lavaan adds with ``missing = "fiml"``; latent means are 0).  The
discrepancy minimised is ``F = -2 logl / N`` up to a constant; its gradient in
``Sigma`` is ``sum_g n_g/N (Sigma_oo^-1 - Sigma_oo^-1 C_g Sigma_oo^-1)`` embedded in
p x p, which the kernel's rank-two factors (:func:`csi.estimators.cbsem_kernel.factors`)
turn into the gradient in ``theta``.  Newton steps use the Hessian from central
differences of that analytic gradient (refreshed only when convergence slows),
started from the ML fit to the saturated (EM) moments, which is already close.

What lavaan reports (``sem(..., missing = "fiml")``, lavaan 0.6): standard
errors from the observed information (the Hessian of ``-logl``); the
unrestricted model is the saturated normal model fitted by EM (Dempster, Laird &
Rubin 1977; Little & Rubin 2002, section 11.2); ``chisq = 2 (logl_h1 - logl)``,
``fmin = chisq / (2N)``, ``df = p(p+3)/2 - q`` (EM by :func:`csi.core.missing.em_moments`,
run to a step of 1e-11); the baseline model has free means
and variances and no covariances, whose likelihood factorises over items (each
item's mean and N-divisor variance over the rows that answered it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from csi.core.missing import em_moments
from csi.errors import DataError, EstimationError
from csi.estimators.cbsem_kernel import (
    Structure,
    _indicator,
    factors,
    fisher_scoring,
    implied,
    location_information,
    normal_block,
)
from csi.estimators.cbsem_measures import ml_fit_measures
from csi.estimators.cbsem_newton import MemberProblem, central_hessian, minimise
from csi.spec.model import ModelSpec

LOG2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class Pattern:
    """Rows sharing one missingness pattern: observed item indices, count, mean and covariance (divisor n_g)."""

    observed: NDArray[np.intp]
    rows: NDArray[np.intp]
    mean: NDArray[np.float64]
    cov: NDArray[np.float64]
    weight: float | None = None
    """Rows counted with frequencies (a bootstrap resample): their total; None: every row once."""

    @property
    def n(self) -> float:
        return int(self.rows.size) if self.weight is None else self.weight


class Patterns(list):
    """A list of :class:`Pattern` that keeps them stacked by number of observed items (built on first use), so
    the objective runs one batched Cholesky and inverse per size instead of one per pattern."""

    stacks: list[PatternStack] | None = None


@dataclass(frozen=True)
class PatternStack:
    """The patterns with ``k`` observed items: ``observed (P, k)``, ``n (P,)``, ``mean (P, k)``, ``cov (P, k, k)``."""

    observed: NDArray[np.intp]
    n: NDArray[np.float64]
    mean: NDArray[np.float64]
    cov: NDArray[np.float64]


def stacked(pats: list[Pattern]) -> list[PatternStack]:
    """The :class:`PatternStack` of every number of observed items among ``pats`` (kept on a :class:`Patterns`)."""
    if isinstance(pats, Patterns) and pats.stacks is not None:
        return pats.stacks
    sizes: dict[int, list[Pattern]] = {}
    for g in pats:
        sizes.setdefault(g.observed.size, []).append(g)
    out = [
        PatternStack(np.stack([g.observed for g in gs]), np.array([g.n for g in gs], dtype=np.float64),
                     np.stack([g.mean for g in gs]), np.stack([g.cov for g in gs]))
        for gs in sizes.values()
    ]  # fmt: skip
    if isinstance(pats, Patterns):
        pats.stacks = out
    return out


def patterns(X: NDArray[np.float64]) -> Patterns:
    """Group the rows of ``X (n, p)`` (NaN = missing) by missingness pattern; rows with nothing observed are dropped."""
    obs = ~np.isnan(X)
    keys, inverse = np.unique(obs, axis=0, return_inverse=True)
    out = Patterns()
    for k, key in enumerate(keys):
        if not key.any():
            continue
        rows = np.flatnonzero(inverse.ravel() == k)
        o = np.flatnonzero(key)
        Y = X[np.ix_(rows, o)]
        m = Y.mean(axis=0)
        out.append(Pattern(o, rows, m, (Y - m).T @ (Y - m) / rows.size))
    return out


def loglik(mu: NDArray[np.float64], Sigma: NDArray[np.float64], pats: list[Pattern]) -> float:
    """Observed-data normal log-likelihood (module docstring); ``-inf`` where a Sigma_oo is not positive definite."""
    total = 0.0
    for g in pats:
        o = g.observed
        So = Sigma[np.ix_(o, o)]
        try:
            chol = np.linalg.cholesky(So)
        except np.linalg.LinAlgError:
            return -np.inf
        d = g.mean - mu[o]
        C = g.cov + np.outer(d, d)
        logdet = 2.0 * np.sum(np.log(np.diag(chol)))
        tr = np.trace(np.linalg.solve(So, C))
        total += -0.5 * g.n * (o.size * LOG2PI + logdet + tr)
    return float(total)


def objective(
    z: NDArray[np.float64], st: Structure, pats: list[Pattern], n: float, with_gradient: bool = True
) -> tuple[float, NDArray[np.float64] | None]:
    """``F = -2 logl / N`` (without the 2 pi constant) and its gradient in ``z = (theta, mu)`` (None when not
    ``with_gradient``); ``(inf, None)`` where Sigma is not positive definite."""
    q = st.n_params
    theta, mu = z[:q], z[q:]
    if with_gradient:
        Sigma, U, V = factors(theta, st)
    else:
        Sigma = implied(theta, st)[0]
    p = Sigma.shape[0]
    Wf = np.zeros((p, p))
    gmu = np.zeros(p)
    F = 0.0
    for s in stacked(pats):
        o = s.observed
        block = normal_block(Sigma[o[:, :, None], o[:, None, :]], mu[o], s.mean, s.cov, with_gradient)
        if block is None:
            return np.inf, None
        logdet, tr, Sid, W = block
        w = s.n / n
        F += float(np.sum(w * (logdet + tr)))
        if with_gradient:
            np.add.at(Wf, (o[:, :, None], o[:, None, :]), w[:, None, None] * W)
            np.add.at(gmu, o, -2.0 * w[:, None] * Sid)
    if not with_gradient:
        return float(F), None
    gtheta = 2.0 * np.einsum("lp,lp->l", U @ Wf, V) @ _indicator(st).T
    return float(F), np.concatenate([gtheta, gmu])


def hessian(z: NDArray[np.float64], st: Structure, pats: list[Pattern], n: int, h: float = 1e-5) -> NDArray[np.float64]:
    """Hessian of :func:`objective` by central differences of its analytic gradient (relative step ``h``)."""
    H = central_hessian(z, lambda x: objective(x, st, pats, n)[1], h)
    if H is None:
        raise EstimationError("the FIML Hessian could not be evaluated: the model-implied covariance is singular")
    return H


def expected_information(z: NDArray[np.float64], st: Structure, pats: list[Pattern], n: int) -> NDArray[np.float64]:
    """Expected Hessian of :func:`objective` in ``z = (theta, mu)`` (Fisher scoring's metric).

    Per pattern, as for complete data but on the observed items (Savalei 2010):
    ``sum_g n_g/N tr(S_oo^-1 G_k,oo S_oo^-1 G_l,oo)`` for the covariance parameters (through the rank-two
    factors, :func:`csi.estimators.cbsem_kernel.score_information`), ``2 sum_g n_g/N E_o' S_oo^-1 E_o`` for the
    intercepts, and no cross terms (the expected mean residual is zero).
    """
    q = st.n_params
    theta = z[:q]
    Sigma, U, V = factors(theta, st)
    p = Sigma.shape[0]
    ind = _indicator(st)
    Hl = np.zeros((st.param.size, st.param.size))
    Hmu = np.zeros((p, p))
    for s in stacked(pats):
        o = s.observed
        Si = np.linalg.inv(Sigma[o[:, :, None], o[:, None, :]])
        w = s.n / n
        Hl += np.einsum("k,kab->ab", 2.0 * w, location_information(np.moveaxis(U[:, o], 1, 0), np.moveaxis(V[:, o], 1, 0), Si))
        np.add.at(Hmu, (o[:, :, None], o[:, None, :]), 2.0 * w[:, None, None] * Si)
    H = np.zeros((q + p, q + p))
    H[:q, :q] = ind @ Hl @ ind.T
    H[q:, q:] = Hmu
    return H


@dataclass(frozen=True)
class FIMLProblem(MemberProblem):
    """The FIML discrepancy of a batch of data sets (``members``: each one's patterns and row count) for
    :func:`csi.estimators.cbsem_newton.minimise`: one fit is a batch of one, a bootstrap block its replicates."""

    st: Structure
    members: list[tuple[list[Pattern], float]]

    def objective(self, z, member):
        return objective(z, self.st, *member)

    def value(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return self._each(z, idx, lambda x, m: objective(x, self.st, *m, with_gradient=False)[0]).reshape(len(idx))

    def information(self, z, member):
        return expected_information(z, self.st, *member)


def weighted_patterns(X: NDArray[np.float64], pats: list[Pattern], counts: NDArray[np.float64]) -> Patterns:
    """The patterns of a resample that draws row i ``counts[i]`` times (patterns it never draws are left out)."""
    out = Patterns()
    for g in pats:
        c = counts[g.rows]
        total = c.sum()
        if total <= 0:
            continue
        Y = X[np.ix_(g.rows, g.observed)]
        m = c @ Y / total
        R = Y - m
        out.append(Pattern(g.observed, g.rows[c > 0], m, (R * c[:, None]).T @ R / total, float(total)))
    return out


@dataclass(frozen=True)
class FIMLSolution:
    theta: NDArray[np.float64]
    mu: NDArray[np.float64]
    se: NDArray[np.float64]
    se_mu: NDArray[np.float64]
    logl: float
    logl_h1: float
    logl_baseline: float
    mean_h1: NDArray[np.float64]
    cov_h1: NDArray[np.float64]
    iterations: int
    converged: bool


def fit_fiml(
    X: NDArray[np.float64],
    st: Structure,
    start: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    *,
    tol: float,
    max_iter: int,
) -> FIMLSolution:
    """FIML estimates, observed-information standard errors and the log-likelihoods lavaan reports.

    ``start(S)`` gives start values for ``theta`` from a covariance matrix; the
    ML fit to the EM moments from there starts the FIML Newton steps.
    """
    n, p = X.shape
    pats = patterns(X)
    # The saturated model to a step far below lavaan's (1e-5): chisq is a difference of log-likelihoods.
    h1 = em_moments(X, tol=1e-11, max_iter=100000)
    mean_h1, cov_h1 = h1.mean, (h1.cov + h1.cov.T) / 2
    start = start(cov_h1)
    warm = fisher_scoring(start, cov_h1, st, tol=1e-8, max_iter=max_iter)
    theta0 = warm.theta if np.isfinite(warm.F) else start
    z = np.concatenate([theta0, mean_h1])
    _, g = objective(z, st, pats, n)
    if g is None:
        raise EstimationError("FIML could not start: the model-implied covariance of the start values is singular")
    # Newton steps from the exact Hessian at the start (refreshed when convergence slows, however far off),
    # Fisher scoring where a Newton step is no descent direction.
    res = minimise(
        z, FIMLProblem(st, [(pats, n)]), (1,), tol=tol, max_iter=max_iter, metric0=hessian(z, st, pats, n),
        newton_below=np.inf, halvings=30,
    )  # fmt: skip
    z, it, converged = res.theta[0], int(res.iterations[0]), bool(res.converged[0])
    H = hessian(z, st, pats, n)
    # -logl = N/2 F + const, so the observed information is N/2 H and the covariance of the estimates 2/(N) H^-1.
    cov = 2.0 / n * np.linalg.pinv(H)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    q = st.n_params
    theta, mu = z[:q], z[q:]
    Sigma = implied(theta, st)[0]
    obs = ~np.isnan(X)
    base = 0.0
    for j in range(p):
        x = X[obs[:, j], j]
        base += -0.5 * x.size * (LOG2PI + np.log(np.var(x)) + 1.0)
    return FIMLSolution(
        theta, mu, se[:q], se[q:], loglik(mu, Sigma, pats), loglik(mean_h1, cov_h1, pats), float(base),
        mean_h1, cov_h1, it, converged,
    )  # fmt: skip


def fiml_fit_measures(sol: FIMLSolution, st: Structure, n: int, p: int) -> pd.Series:
    """lavaan's ``fitMeasures`` of a FIML fit (module docstring; RMSEA interval by :mod:`csi.estimators.rmsea`).

    ``srmr`` compares the model-implied moments with the EM moments, means included (lavaan's
    ``srmr_bentler`` with a mean structure): the root mean square of the standardised covariance residuals
    (lower triangle with diagonal) and the mean residuals ``(m_i - mu_i) / sqrt(s_ii)``.
    """
    q = st.n_params + p
    chisq = max(2.0 * (sol.logl_h1 - sol.logl), 0.0)
    Sigma = implied(sol.theta, st)[0]
    d = 1.0 / np.sqrt(np.diag(sol.cov_h1))
    R = (sol.cov_h1 - Sigma) * d[:, None] * d[None, :]
    mres = (sol.mean_h1 - sol.mu) * d
    return ml_fit_measures(
        npar=q, fmin=chisq / (2 * n), chisq=chisq, df=p * (p + 3) // 2 - q,
        baseline_chisq=2.0 * (sol.logl_h1 - sol.logl_baseline), baseline_df=p * (p - 1) // 2,
        srmr=float(np.sqrt((np.sum(R[np.tril_indices(p)] ** 2) + np.sum(mres**2)) / (p * (p + 1) / 2 + p))),
        logl=sol.logl, unrestricted_logl=sol.logl_h1, n=n,
    )  # fmt: skip


def regression_scores(
    X: NDArray[np.float64], mu: NDArray[np.float64], theta: NDArray[np.float64], st: Structure
) -> NDArray[np.float64]:
    """Regression factor scores of incomplete rows: ``Phi Lambda_o' Sigma_oo^-1 (y_o - mu_o)`` over each row's
    answered items (lavaan's ``lavPredict`` for missing data); NaN for a row with nothing observed."""
    Sigma, _, _, D, _ = implied(theta, st)
    out = np.full((X.shape[0], st.m), np.nan)
    for g in patterns(X):
        o = g.observed
        A = np.linalg.solve(Sigma[np.ix_(o, o)], D[:, o].T).T  # (m, |o|)
        out[g.rows] = (X[np.ix_(g.rows, o)] - mu[o]) @ A.T
    return out


def raw_items(spec: ModelSpec, data: pd.DataFrame) -> NDArray[np.float64]:
    """The items as floats with NaN where missing (missing codes applied, reverse items recoded), data rows kept.

    ``csi.data.prepare`` validates the same columns first; this only keeps the holes it would fill or drop.
    """
    from csi.data.prepare import _item_column, as_frame

    frame = as_frame(data)
    X = np.column_stack([_item_column(item, frame[item.name], frame.index) for item in spec.items])
    empty = [spec.item_names[h] for h in np.flatnonzero(np.isnan(X).all(axis=0))]
    if empty:
        raise DataError(f"item column(s) {', '.join(map(repr, empty))} have no observed values; FIML needs some")
    return X


__all__ = ["FIMLSolution", "Pattern", "fiml_fit_measures", "fit_fiml", "loglik", "patterns", "raw_items", "regression_scores"]
