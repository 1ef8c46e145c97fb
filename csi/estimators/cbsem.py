"""Covariance-based SEM through semopy (Joreskog 1970; Bollen 1989), mapped into a FitResult.

Every construct is a common factor measured by its block (first loading fixed
to 1, lavaan's marker identification), the structural paths are regressions
among the factors, exogenous factors covary freely and the model's ``~~``
lines add residual covariances; the model text may fix, free or label
parameters (:class:`~csi.spec.model.Modifier`).  semopy
(:mod:`csi.estimators.cbsem_model`) parses the model into the parameter
structure.  For the normal-theory ML objective (``obj="MLW"``, the default)
csi's kernel (:func:`csi.estimators.cbsem_kernel.fisher_scoring`: Fisher
scoring turning into Newton steps) minimises the discrepancy from moment start
values (:func:`csi.estimators.cbsem_model.start_values`) to a step below
``tol``; semopy's optimiser, polished by the same kernel, is the fallback when
that fails.  Other objectives are semopy's.  The ML results reproduce lavaan's
defaults: ML with the N-divisor covariance, expected-information standard
errors, lavaan's ``fitMeasures``.  ``missing="fiml"``
(:mod:`csi.estimators.cbsem_fiml`) and ``group=``
(:mod:`csi.estimators.cbsem_groups`, which returns a ``GroupFit``) reproduce
lavaan's FIML and multiple-group fits.

What lands where in the :class:`~csi.results.fit.FitResult`
------------------------------------------------------------
``estimates``
    lavaan's parameter table: ``lhs, op, rhs, estimate`` (unstandardised),
    ``std_error, z_value, p_value``, ``std_estimate`` (lavaan's ``std.all``) and
    ``free``, plus ``r2``, ``ind`` and ``total`` rows.
``loadings, paths, construct_correlations, total_effects, cross_loadings``
    Standardised (std.all) and model-implied, comparable with PLS's.
``scores``
    Regression (Thurstone) factor scores ``Phi Lambda' Sigma^-1 (y - ybar)`` on
    every item, in the factors' own metric (lavaan's ``lavPredict`` default).
``weights``
    For the 0-100 index: each factor's regression weights on *its own block*,
    ``w_j ∝ Sigma_jj^-1 lambda_j`` (proportional to ``lambda_h / theta_h`` when the
    residuals are uncorrelated), expressed for standardised items and scaled to
    unit composite variance like PLS weights.  ``csi.compute_index`` is then the
    weighted mean of the block's items with these weights.  (The full factor
    scores also weight other blocks' items, which a per-construct index on the
    construct's own questions cannot.)
``fit_measures``
    chisq, df, pvalue, cfi, tli, rmsea, srmr, logl, unrestricted_logl, aic,
    bic, npar, fmin, ntotal, baseline_chisq, baseline_df, rmsea_ci_lower,
    rmsea_ci_upper (90 %), rmsea_pvalue (close fit, RMSEA <= 0.05),
    rmsea_notclose_pvalue (RMSEA >= 0.08).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from csi.core.moments import cov_to_corr
from csi.data.checks import check_full_rank
from csi.data.prepare import DEFAULT_MISSING, PreparedData, prepare_items
from csi.errors import AdmissibilityWarning, ConvergenceWarning, EstimationError
from csi.estimators.base import Capabilities, Estimator, Sample, reject_higher_order
from csi.estimators.cbsem_kernel import Structure, fisher_scoring, implied, regression_score_weights, standard_errors
from csi.estimators.cbsem_measures import ml_fit_measures
from csi.estimators.cbsem_model import fit_semopy, parse_semopy, start_values, structure
from csi.estimators.cbsem_table import TableLayout
from csi.estimators.missing import missing_report, reject_moment_methods, warn_discarded
from csi.estimators.pls import block_quality, structural_tables
from csi.results.fit import FitResult
from csi.spec.model import ModelSpec

OBJECTIVES = ("MLW", "ULS", "GLS", "WLS", "DWLS")
"""semopy objectives: ``MLW`` (normal-theory maximum likelihood, Wishart form, the
default and the only one polished and reproduced against lavaan), ``ULS``
(unweighted), ``GLS`` (generalised), ``WLS`` and ``DWLS`` (asymptotically
distribution-free and diagonally weighted least squares)."""


@dataclass(frozen=True)
class CBSEM(Estimator):
    """Covariance-based structural equation modelling (semopy back end).

    Parameters
    ----------
    obj
        Objective, one of :data:`OBJECTIVES`.
    solver
        scipy optimiser semopy runs (default ``"SLSQP"``, semopy's default).
    tol
        ML only: Fisher scoring stops when no parameter moves by ``tol`` or
        more; the estimates are then within about ``tol`` of the exact ML
        solution.
    max_iter
        Iteration limit of semopy's optimiser and of the Fisher scoring.
    missing
        Missing-data method (default ``"em"``, as every estimator).  On data
        with missing values CB-SEM accepts ``"listwise"``, ``"mean"``,
        ``"error"`` and ``"fiml"`` (full-information ML over the missingness
        patterns, :mod:`csi.estimators.cbsem_fiml`); ``"pairwise"``, ``"em"``
        and ``"mi"`` are refused with an error.
    group
        Column of the data whose levels are groups: a multiple-group fit
        (:func:`csi.estimators.cbsem_groups.fit_groups`), returned as a
        :class:`~csi.estimators.cbsem_groups.GroupFit`.
    group_equal
        With ``group``: parameter classes constrained equal across groups
        (:data:`~csi.estimators.cbsem_groups.GROUP_EQUAL`).
    """

    obj: str = "MLW"
    solver: str = "SLSQP"
    tol: float = 1e-9
    max_iter: int = 1000
    missing: str = DEFAULT_MISSING
    group: str | None = None
    group_equal: tuple[str, ...] = ()

    name: ClassVar[str] = "cbsem"
    titles: ClassVar[Mapping[str, str]] = {"en": "CB-SEM (maximum likelihood)", "zh": "CB-SEM（极大似然）"}
    capabilities: ClassVar[Capabilities] = Capabilities(block_batches=True)
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {"obj": OBJECTIVES}

    def validate(self) -> None:
        super().validate()
        if not isinstance(self.solver, str):
            raise EstimationError(f"solver must be a scipy.optimize.minimize method name, got {self.solver!r}")

    def prepare(self, spec: ModelSpec, data: pd.DataFrame, weights: Any) -> PreparedData:
        prepared = super().prepare(spec, data, weights)
        if prepared.raw is not None:
            reject_moment_methods(self.missing, "cbsem")
        return prepared

    def check_sample(self, spec: ModelSpec, sample: Sample) -> None:
        check_full_rank(
            sample.cov, sample.prepared.item_names, "CB-SEM fits and its fit measures need log|S|, so a positive-definite S"
        )

    def check_spec(self, spec: ModelSpec) -> None:
        reject_higher_order(spec, self.name)
        composites = [c.name for c in spec.constructs if c.mode == "B"]
        if composites:
            raise EstimationError(
                f"method 'cbsem' models every construct as a common factor; {', '.join(composites)} "
                "is a composite (mode B, <~): declare it with =~, or use method='pls'"
            )

    def fit(self, spec: ModelSpec, data: pd.DataFrame, *, weights: Any = None) -> CBSEMFitResult:
        """Fit the model to survey data.

        Parameters
        ----------
        spec
            The model; ``~~`` lines become free residual covariances.
        data
            One row per respondent, one column per item.
        weights
            Optional respondent weights (a column of ``data`` or an array): the
            covariance matrix is then the weighted one (divisor sum of weights)
            and N the number of rows.

        Returns
        -------
        CBSEMFitResult
            See the module docstring for what each field holds.
        """
        self.validate()
        self.check_spec(spec)
        if self.group is not None:
            return self._fit_groups(spec, data, weights)
        if self.group_equal:
            raise EstimationError("group_equal constrains parameters across groups; give group= as well")
        if self.missing == "fiml":
            return self._fit_fiml(spec, data, weights)
        prepared, X, mean, S, corr, sd = self.sample(spec, data, weights)
        n = X.shape[0]
        if self.obj == "MLW":
            model, st, theta, iterations, converged = self._ml(spec, X, S)
            se = standard_errors(theta, st, n)
        else:
            model, st, theta, iterations, converged = self._semopy(spec, X, S)
            se = _semopy_se(model, theta)
        if not converged:
            warnings.warn(
                f"CB-SEM ({self.obj}) did not converge; the estimates are flagged converged=False. "
                "Check the model's identification, or raise max_iter.",
                ConvergenceWarning,
                stacklevel=2,
            )
        fit = _result(self, spec, prepared, st, theta, se, S, mean, sd, corr, model, iterations, converged)
        report = missing_report(spec, prepared, self.missing)
        warn_discarded(report)
        return dataclasses.replace(fit, missing_report=report)

    def statistic(self, fit: Any, *, sign_change: str = "none", inner_resamples: int | None = None) -> Any:
        from csi.estimators.cbsem_bootstrap import cbsem_statistic

        return cbsem_statistic(fit, sign_change=sign_change, inner_resamples=inner_resamples)

    def paths_index(self, fit: Any, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from csi.estimators.cbsem_bootstrap import cbsem_paths_index

        return cbsem_paths_index(fit, means, covs)[:2]


    def _fit_groups(self, spec: ModelSpec, data: pd.DataFrame, weights: Any) -> Any:
        """Multiple-group ML (:mod:`csi.estimators.cbsem_groups`); returns a ``GroupFit``."""
        from csi.data.prepare import as_frame
        from csi.errors import DataError
        from csi.estimators.cbsem_groups import check_group_equal, fit_groups

        equal = check_group_equal(self.group_equal)
        if self.obj != "MLW" or self.missing == "fiml" or weights is not None:
            raise EstimationError(
                "multiple groups are fitted by complete-data ML: obj='MLW', no weights, missing 'error' or 'listwise'"
            )
        frame = as_frame(data)
        if self.group not in frame.columns:
            raise DataError(f"group column {self.group!r} is not in the data; columns: {', '.join(map(str, frame))}")
        prepared = prepare_items(spec, frame, missing=self.missing)
        labels = frame.loc[prepared.row_labels, self.group]
        if labels.isna().any():
            raise DataError(f"group column {self.group!r} is missing for row {labels[labels.isna()].index[0]!r}")
        model, aliases = parse_semopy(spec)
        st, _ = structure(model, spec, aliases)
        names = [name for name, par in model.parameters.items() if par.active]  # structure()'s parameter order
        labelled = frozenset(k for k, name in enumerate(names) if name.startswith("l_"))
        fit = fit_groups(spec, prepared.X, labels.to_numpy(), self.group, st, lambda S: start_values(st, S), equal,
                         tol=self.tol, max_iter=min(self.max_iter, 200), labelled=labelled)  # fmt: skip
        if not fit.converged:
            warnings.warn("multiple-group CB-SEM did not converge", ConvergenceWarning, stacklevel=3)
        return fit

    def _fit_fiml(self, spec: ModelSpec, data: pd.DataFrame, weights: Any) -> FitResult:
        """Full-information ML over the missingness patterns (:mod:`csi.estimators.cbsem_fiml`)."""
        from csi.estimators.cbsem_fiml import fiml_fit_measures, fit_fiml, raw_items, regression_scores

        if self.obj != "MLW":
            raise EstimationError(f"missing='fiml' is maximum likelihood; obj={self.obj!r} cannot use it (use 'MLW')")
        if weights is not None:
            raise EstimationError("missing='fiml' does not take respondent weights; use missing='listwise' with them")
        # Validation (columns, codes, scales, constant items) as for every fit; mean imputation is not used.
        prepared = prepare_items(spec, data, missing="mean")
        X = raw_items(spec, data)
        n, p = X.shape
        model, aliases = parse_semopy(spec)
        st, _ = structure(model, spec, aliases)
        sol = fit_fiml(X, st, lambda S: start_values(st, S), tol=self.tol, max_iter=min(self.max_iter, 200))
        if not sol.converged:
            warnings.warn(
                "CB-SEM (FIML) did not converge; the estimates are flagged converged=False.",
                ConvergenceWarning,
                stacklevel=3,
            )
        S = sol.cov_h1
        corr, sd = cov_to_corr(S)
        fit = _result(self, spec, prepared, st, sol.theta, sol.se, S, sol.mu, sd, corr, model, sol.iterations,
                      sol.converged)  # fmt: skip
        table = fit.parameter_table
        Sigma = implied(sol.theta, st)[0]
        items, lvs = list(spec.item_names), list(spec.construct_names)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = sol.mu / sol.se_mu
        from scipy.stats import norm

        means = pd.DataFrame({
            "lhs": items + lvs, "op": "~1", "rhs": "", "estimate": np.concatenate([sol.mu, np.zeros(len(lvs))]),
            "std_error": np.concatenate([sol.se_mu, np.full(len(lvs), np.nan)]),
            "z_value": np.concatenate([z, np.full(len(lvs), np.nan)]),
            "p_value": np.concatenate([2 * norm.sf(np.abs(z)), np.full(len(lvs), np.nan)]),
            "std_estimate": np.concatenate([sol.mu / np.sqrt(np.diag(Sigma)), np.zeros(len(lvs))]),
            "free": [True] * len(items) + [False] * len(lvs),
        })  # fmt: skip
        # Intercepts go before the r2 / ind / total rows, as lavaan lists them after the (co)variances.
        derived = table["op"].isin(["r2", "ind", "total"]).to_numpy()
        table = pd.concat([table[~derived], means, table[derived]], ignore_index=True)
        scores = pd.DataFrame(regression_scores(X, sol.mu, sol.theta, st), index=prepared.row_labels,
                              columns=fit.scores.columns)  # fmt: skip
        state = CBSEMState(st, sol.theta, fit.cbsem_state.layout, sol.mu, X)
        return replace(fit, parameter_table=table, fit_measures=fiml_fit_measures(sol, st, n, p), scores=scores,
                       cbsem_state=state)  # fmt: skip

    def _semopy(self, spec: ModelSpec, X: np.ndarray, S: np.ndarray) -> tuple[Any, Structure, np.ndarray, int, bool]:
        """semopy's own fit with this estimator's objective, solver and iteration limit: model, structure,
        estimates, iterations and convergence."""
        with warnings.catch_warnings():
            # semopy logs through warnings for benign start-value issues; failures are judged by the callers.
            warnings.simplefilter("ignore", RuntimeWarning)
            model, res, aliases = fit_semopy(spec, X, S, self.obj, self.solver, self.max_iter)
        st, theta = structure(model, spec, aliases)
        return model, st, theta, int(getattr(res, "n_it", 0) or 0), bool(res.success)

    def _ml(self, spec: ModelSpec, X: np.ndarray, S: np.ndarray) -> tuple[Any, Structure, np.ndarray, int, bool]:
        """ML estimates: csi's Newton/Fisher-scoring kernel from semopy's start rules; semopy's optimiser
        (then polished by the kernel) only when that fails, e.g. from start values far off on a hard model."""
        model, aliases = parse_semopy(spec)
        st, _ = structure(model, spec, aliases)
        start = start_values(st, S)
        direct = fisher_scoring(start, S, st, tol=self.tol, max_iter=min(self.max_iter, _DIRECT_ITER))
        if bool(direct.converged) and np.isfinite(direct.F) and _admissible_start(direct.theta, st):
            return model, st, direct.theta, int(direct.iterations), True
        model, st, theta, iterations, converged = self._semopy(spec, X, S)
        pol = fisher_scoring(theta, S, st, tol=self.tol, max_iter=self.max_iter)
        if np.isfinite(pol.F) and pol.F <= _ml_F(theta, S, st) + 1e-12:
            theta, converged = pol.theta, bool(pol.converged)
            iterations += int(pol.iterations)
        if bool(direct.converged) and np.isfinite(direct.F) and float(direct.F) < _ml_F(theta, S, st) - 1e-10:
            return model, st, direct.theta, int(direct.iterations), True  # the direct solution was the better one
        return model, st, theta, iterations, converged


_DIRECT_ITER = 200
"""Iterations the kernel gets from semopy's start values before semopy's optimiser takes over."""


def _admissible_start(theta: np.ndarray, st: Structure) -> bool:
    """No negative free variance: a solution the kernel reached from crude starts that semopy's bounded
    optimiser (variances >= 0) would not return; such fits take the semopy route for identical results."""
    from csi.estimators.cbsem_kernel import PSI, THETA

    diag = ((st.matrix == PSI) | (st.matrix == THETA)) & (st.row == st.col)
    return bool(np.all(theta[st.param[diag]] >= 0))


def _ml_F(theta: np.ndarray, S: np.ndarray, st: Structure) -> float:
    from csi.estimators.cbsem_kernel import ml_discrepancy

    return float(ml_discrepancy(implied(theta, st)[0], S))


def _semopy_se(model: Any, theta: np.ndarray) -> np.ndarray:
    from semopy.stats import calc_se

    model.param_vals = theta
    model.update_matrices(theta)
    return np.asarray(calc_se(model), dtype=float)


def block_weights(theta: np.ndarray, st: Structure, spec: ModelSpec, sd: np.ndarray, corr: np.ndarray) -> np.ndarray:
    """Per-block regression factor-score weights for standardised items, unit composite variance (..., p).

    ``u_j = Sigma_jj^-1 Sigma_j,eta_j`` is the regression of factor j on its own
    block (Thurstone 1935 restricted to the block), ``w = u * sd`` the weights of
    the standardised items, rescaled so that ``w_j' R_jj w_j = 1`` with ``R``
    the sample item correlations (as PLS weights).
    """
    Sigma, _, _, D, _ = implied(theta, st)
    block = spec.block_index
    w = np.zeros(theta.shape[:-1] + (st.p,))
    for j in range(st.m):
        idx = np.flatnonzero(block == j)
        u = np.linalg.solve(Sigma[..., idx[:, None], idx], D[..., j, idx][..., None])[..., 0]
        wj = u * sd[..., idx]
        var = np.einsum("...h,...hk,...k->...", wj, corr[..., idx[:, None], idx], wj)
        w[..., idx] = wj / np.sqrt(var)[..., None]
    return w


def fit_measures(theta: np.ndarray, st: Structure, S: np.ndarray, n: int, F_obj: float | None = None) -> pd.Series:
    """lavaan's ``fitMeasures`` of an ML fit (lavaan 0.6, ``lav_fit_measures.R`` definitions).

    With ``F`` the ML discrepancy, ``p`` items and ``q`` free parameters:
    ``chisq = N F``, ``df = p(p+1)/2 - q``; baseline (independence) model
    ``chisq_b = N (sum log S_ii - log|S|)``, ``df_b = p(p-1)/2``;
    ``cfi = 1 - max(chisq - df, 0) / max(chisq - df, chisq_b - df_b, 0)``;
    ``tli = (chisq_b/df_b - chisq/df) / (chisq_b/df_b - 1)``;
    ``rmsea = sqrt(max(chisq - df, 0) / (df N))`` with its 90 % interval and
    the p-values of close and not-close fit (:mod:`csi.estimators.rmsea`,
    lavaan's ``rmsea.ci.lower``, ``rmsea.ci.upper``, ``rmsea.pvalue``,
    ``rmsea.notclose.pvalue``); ``srmr`` is Bentler's: the
    root mean square over the lower triangle (diagonal included) of
    ``(S - Sigma) / sqrt(s_ii s_jj)``;
    ``logl = -N/2 (p log 2 pi + log|Sigma| + tr(S Sigma^-1))``,
    ``unrestricted_logl`` the same with ``Sigma = S``; ``aic = -2 logl + 2q``,
    ``bic = -2 logl + q log N`` (the table: :func:`csi.estimators.cbsem_measures.ml_fit_measures`).
    ``F_obj`` replaces ``F`` in the chi-square of a non-ML objective (N times semopy's objective).
    """
    Sigma = implied(theta, st)[0]
    p, q = S.shape[0], st.n_params
    _, logdet = np.linalg.slogdet(Sigma)
    _, logdet_s = np.linalg.slogdet(S)
    tr = float(np.trace(np.linalg.solve(Sigma, S)))
    F = logdet + tr - logdet_s - p
    d = 1.0 / np.sqrt(np.diag(S))
    R = (S - Sigma) * d[:, None] * d[None, :]
    logl = -n / 2 * (p * np.log(2 * np.pi) + logdet + tr)
    return ml_fit_measures(
        npar=q, fmin=F / 2, chisq=n * (F if F_obj is None else F_obj), df=p * (p + 1) // 2 - q,
        baseline_chisq=n * (float(np.sum(np.log(np.diag(S)))) - logdet_s), baseline_df=p * (p - 1) // 2,
        srmr=float(np.sqrt(np.mean(R[np.tril_indices(p)] ** 2))), logl=logl,
        unrestricted_logl=-n / 2 * (p * np.log(2 * np.pi) + logdet_s + p), n=n,
    )  # fmt: skip


def _result(
    est: CBSEM, spec: ModelSpec, prepared: Any, st: Structure, theta: np.ndarray, se: np.ndarray,
    S: np.ndarray, mean: np.ndarray, sd: np.ndarray, corr: np.ndarray, model: Any, iterations: int, converged: bool,
) -> CBSEMFitResult:  # fmt: skip
    from scipy.stats import norm  # imported here: scipy.stats is heavy and most fits never need it

    n = prepared.X.shape[0]
    layout = TableLayout.of(spec, st)
    value, std = layout.values(theta, st)
    free = layout.free
    std_error = np.where(free >= 0, se[np.maximum(free, 0)], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = value / std_error
    table = pd.DataFrame(
        {
            "lhs": layout.lhs, "op": layout.op, "rhs": layout.rhs, "estimate": value,
            "std_error": std_error, "z_value": z, "p_value": 2 * norm.sf(np.abs(z)),
            "std_estimate": std, "free": free >= 0,
        }
    )  # fmt: skip
    Sigma, Phi, _, D, C = implied(theta, st)
    ve, vy = np.diag(Phi), np.diag(Sigma)
    lvs = pd.Index(spec.construct_names, name="construct")
    items = pd.Index(spec.item_names, name="item")
    B = np.eye(st.m) - np.linalg.inv(C)
    B_std = B * np.sqrt(ve[None, :] / ve[:, None])
    R = Phi / np.sqrt(np.outer(ve, ve))
    cross = D.T / np.sqrt(np.outer(vy, ve))
    block = spec.block_index
    A = regression_score_weights(theta, st)
    scores = (prepared.X - mean) @ A.T
    F_obj = None if est.obj == "MLW" else float(model.last_result.fun)
    heywood = heywood_cases(table, R)
    if heywood:
        warnings.warn(
            f"CB-SEM returned an inadmissible solution (Heywood case: {'; '.join(heywood)}); the estimates are "
            "flagged admissible=False.",
            AdmissibilityWarning,
            stacklevel=4,
        )
    return CBSEMFitResult(
        spec=spec,
        method=est.name,
        options=est.options(),
        estimator=est,
        n=n,
        weights=pd.Series(block_weights(theta, st, spec, sd, corr), index=items, name="weight"),
        **structural_tables(
            spec, cross[np.arange(st.p), block], cross, B_std, R, np.linalg.inv(np.eye(st.m) - B_std) - np.eye(st.m)
        ),
        scores=pd.DataFrame(scores, index=prepared.row_labels, columns=lvs),
        iterations=iterations,
        converged=converged,
        item_means=pd.Series(mean, index=items, name="mean"),
        item_sds=pd.Series(sd, index=items, name="sd"),
        block_quality=block_quality(spec, corr),
        moments=S,
        data=prepared,
        parameter_table=table,
        fit_measures=fit_measures(theta, st, S, n, F_obj),
        cbsem_state=CBSEMState(st, theta, layout),
        admissible=not heywood,
    )


def heywood_cases(table: pd.DataFrame, latent_correlations: np.ndarray) -> list[str]:
    """Heywood-case findings of a CB-SEM solution; empty when it is admissible (Kolenikov & Bollen 2012).

    Flags a free variance (item residual or latent disturbance) below zero, a
    standardised loading with ``|std.all| > 1``, and a model-implied latent
    correlation matrix that is not positive definite.
    """
    out = []
    var = table[(table["op"] == "~~") & (table["lhs"] == table["rhs"]) & table["free"] & (table["estimate"] < 0)]
    out += [f"negative variance {a}" for a in var["lhs"]]
    load = table[(table["op"] == "=~") & (table["std_estimate"].abs() > 1)]
    out += [f"|std loading| > 1 {a} =~ {b}" for a, b in zip(load["lhs"], load["rhs"], strict=True)]
    R = np.asarray(latent_correlations)
    if not np.all(np.isfinite(R)) or np.linalg.eigvalsh(R).min() <= 0:
        out.append("latent correlation matrix not positive definite")
    return out


@dataclass(frozen=True, eq=False)
class CBSEMFitResult(FitResult):
    """A CB-SEM fit: the shared tables plus lavaan's parameter table, fit measures and the bootstrap state."""

    parameter_table: pd.DataFrame = field(repr=False, default=None)  # type: ignore[assignment]
    """lavaan's parameter table (estimate, std_error, z_value, p_value, std_estimate, free)."""
    fit_measures: pd.Series = None  # type: ignore[assignment]
    """lavaan's ``fitMeasures`` (chisq, df, pvalue, cfi, tli, rmsea, srmr, logl, aic, bic, ...)."""
    cbsem_state: CBSEMState = field(repr=False, default=None)  # type: ignore[assignment]
    """Parameter structure and estimates, for the warm-started bootstrap."""

    @cached_property
    def r2(self) -> pd.Series:
        """R² of each endogenous construct, from the parameter table's ``r2`` rows."""
        names = list(self.spec.endogenous)
        t = self.parameter_table
        r2 = t[t["op"] == "r2"].set_index("lhs")["estimate"].reindex(names)
        return pd.Series(r2.to_numpy(), index=pd.Index(names, name="construct"), name="r2")

    @cached_property
    def estimates(self) -> pd.DataFrame:
        """lavaan's parameter table: ``estimate`` unstandardised, ``std_estimate`` lavaan's ``std.all``, with
        the ``~~`` (co)variance rows (see :mod:`csi.estimators.cbsem`)."""
        return self.parameter_table.copy()

    def _fit_lines(self) -> list[tuple[str, str]]:
        fm = self.fit_measures
        return [
            ("Chi-square", f"{fm['chisq']:.3f} on {fm['df']:.0f} df (p = {fm['pvalue']:.4f})"),
            ("CFI / TLI", f"{fm['cfi']:.4f} / {fm['tli']:.4f}"),
            ("RMSEA / SRMR", f"{fm['rmsea']:.4f} / {fm['srmr']:.4f}"),
            ("RMSEA 90% CI", f"[{fm['rmsea_ci_lower']:.4f}, {fm['rmsea_ci_upper']:.4f}]; "
                             f"p (RMSEA <= 0.05) = {fm['rmsea_pvalue']:.4f}"),
            ("AIC / BIC", f"{fm['aic']:.3f} / {fm['bic']:.3f}"),
        ]

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        """lavaan-style sections of the parameter table: unstandardised estimates, SEs and std.all."""
        table = self.parameter_table
        cols = [c for c in ("estimate", "std_error", "z_value", "p_value", "std_estimate") if c in table.columns]
        out = []
        for title, mask in (
            ("Structural model (ML; unstandardised, std_estimate = std.all)", table["op"] == "~"),
            ("Measurement model (ML)", table["op"] == "=~"),
            ("Covariances and variances (ML)", table["op"] == "~~"),
        ):
            part = table[mask]
            if len(part):
                out.append((title, part.set_index(["lhs", "op", "rhs"])[cols]))
        return out


@dataclass(frozen=True)
class CBSEMState:
    """What a CB-SEM bootstrap needs to re-estimate: structure, estimates, table layout; for a FIML fit also
    the item intercepts and the items with their holes (NaN), one row per fitted row."""

    structure: Structure
    theta: np.ndarray
    layout: TableLayout
    mu: np.ndarray | None = None
    raw: np.ndarray | None = None

