"""Multiple-group CB-SEM (ML with a mean structure) and the measurement-invariance sequence.

Every group has the model of the spec with its own parameters, item intercepts
``nu_g`` and latent means ``alpha_g`` (Joreskog 1971; Sörbom 1974); ``group_equal``
makes a class of parameters equal across groups, as lavaan's ``group.equal``:

=======================  =====================================================
``"loadings"``           free loadings (Lambda)
``"intercepts"``         item intercepts; the latent means of groups 2, 3, ...
                         are then free (group 1's stay 0), unless ``"means"``
``"means"``              latent means (all 0)
``"residuals"``          item residual variances
``"residual.covariances"`` item residual covariances
``"regressions"``        structural paths (Beta)
``"lv.variances"``       latent (residual) variances
``"lv.covariances"``     latent covariances
=======================  =====================================================

The discrepancy is the multi-group ML fit function with means,
``F = sum_g n_g/N (log|Sigma_g| + tr(Sigma_g^-1 (S_g + d_g d_g')) - log|S_g| - p)``,
``d_g = m_g - mu_g``, ``mu_g = nu_g + Lambda_g C_g alpha_g`` (S_g with divisor n_g),
minimised by Newton steps on its analytic gradient (Hessian by central
differences, refreshed when convergence slows).  Standard errors use the
expected information ``sum_g n_g (1/2 tr(Sigma^-1 dSigma_k Sigma^-1 dSigma_l) +
dmu_k' Sigma^-1 dmu_l)``, lavaan's default.  Fit measures follow lavaan's
``fitMeasures`` for several groups: ``chisq = N F``, ``df = G p(p+3)/2 - q``,
the baseline has free means and variances in every group, RMSEA carries the
factor ``sqrt(G)`` and SRMR is the group-size weighted mean of the groups'
SRMR with mean residuals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from csi.errors import DataError, EstimationError
from csi.estimators.cbsem_kernel import (
    BETA,
    LAMBDA,
    THETA,
    Structure,
    _indicator,
    factors,
    implied,
    location_information,
    normal_block,
)
from csi.estimators.cbsem_measures import ml_fit_measures
from csi.estimators.cbsem_newton import MemberProblem, minimise
from csi.estimators.cbsem_table import TableLayout
from csi.spec.model import ModelSpec

GROUP_EQUAL = (
    "loadings", "intercepts", "means", "residuals", "residual.covariances", "regressions", "lv.variances",
    "lv.covariances",
)  # fmt: skip
"""Accepted ``group_equal`` entries (lavaan's names)."""

INVARIANCE = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
"""The measurement-invariance sequence (Meredith 1993; Vandenberg & Lance 2000) as ``group_equal`` sets."""


def check_group_equal(group_equal: Any) -> tuple[str, ...]:
    """``group_equal`` as a tuple of accepted names; a bad entry raises :class:`EstimationError`."""
    if isinstance(group_equal, str):
        group_equal = (group_equal,)
    try:
        out = tuple(group_equal)
    except TypeError:
        raise EstimationError(f"group_equal must be a list of names, got {group_equal!r}") from None
    bad = [g for g in out if g not in GROUP_EQUAL]
    if bad:
        raise EstimationError(f"unknown group_equal {', '.join(map(repr, bad))}; accepted: {', '.join(GROUP_EQUAL)}")
    return out


def _category(code: int, row: int, col: int) -> str:
    if code == LAMBDA:
        return "loadings"
    if code == BETA:
        return "regressions"
    if code == THETA:
        return "residuals" if row == col else "residual.covariances"
    return "lv.variances" if row == col else "lv.covariances"


@dataclass(frozen=True)
class _Layout:
    """Where each group's local parameters (theta, nu, alpha) sit in the global vector ``z`` (-1: fixed 0)."""

    theta: list[NDArray[np.intp]]
    nu: list[NDArray[np.intp]]
    alpha: list[NDArray[np.intp]]
    size: int

    @classmethod
    def of(cls, st: Structure, n_groups: int, equal: tuple[str, ...], labelled: frozenset[int] = frozenset()) -> _Layout:
        keys: dict[tuple, int] = {}

        def key(k: tuple) -> int:
            return keys.setdefault(k, len(keys))

        first = {int(k): i for i, k in reversed(list(enumerate(st.param)))}
        cats = [_category(int(st.matrix[first[k]]), int(st.row[first[k]]), int(st.col[first[k]])) for k in range(st.n_params)]
        free_means = "intercepts" in equal and "means" not in equal
        theta, nu, alpha = [], [], []
        for g in range(n_groups):
            # A labelled parameter is one parameter in every group (lavaan applies a label to all groups).
            shared = [cats[k] in equal or k in labelled for k in range(st.n_params)]
            theta.append(np.array([key(("t", k) if shared[k] else ("t", g, k)) for k in range(st.n_params)]))
            nu.append(np.array([key(("n", i) if "intercepts" in equal else ("n", g, i)) for i in range(st.p)]))
            alpha.append(np.array([key(("a", g, j)) if g > 0 and free_means else -1 for j in range(st.m)]))
        return cls(theta, nu, alpha, len(keys))


@dataclass(frozen=True)
class _Group:
    n: int
    mean: NDArray[np.float64]
    cov: NDArray[np.float64]


def _unpack(z: NDArray[np.float64], lay: _Layout, g: int) -> tuple[NDArray[np.float64], ...]:
    a = np.where(lay.alpha[g] >= 0, z[np.maximum(lay.alpha[g], 0)], 0.0)
    return z[lay.theta[g]], z[lay.nu[g]], a


def _moments(theta: NDArray[np.float64], nu: NDArray[np.float64], alpha: NDArray[np.float64], st: Structure):
    """``Sigma``, the factors ``U``, ``V`` of :func:`csi.estimators.cbsem_kernel.factors`, ``mu = nu + M alpha``,
    ``M`` and ``C`` of one group, from one evaluation of the implied moments."""
    parts = implied(theta, st)
    Sigma, U, V = factors(theta, st, parts)
    _, _, M, _, C = parts
    return Sigma, U, V, nu + M @ alpha, M, C


def objective(z, st: Structure, lay: _Layout, groups: list[_Group]) -> tuple[float, NDArray[np.float64] | None]:
    """Multi-group ML discrepancy ``F`` (module docstring) and its gradient in ``z``; ``(inf, None)`` off the domain."""
    N = sum(gr.n for gr in groups)
    F = 0.0
    grad = np.zeros(lay.size)
    ind = _indicator(st)
    for g, gr in enumerate(groups):
        theta, nu, alpha = _unpack(z, lay, g)
        Sigma, U, V, mu, M, C = _moments(theta, nu, alpha, st)
        block = normal_block(Sigma, mu, gr.mean, gr.cov)
        if block is None:
            return np.inf, None
        logdet, tr, Sid, W = block
        w = gr.n / N
        _, logdet_s = np.linalg.slogdet(gr.cov)
        F += w * (logdet + tr - logdet_s - st.p)
        W = w * W
        gmu = -2.0 * w * Sid
        gl = 2.0 * np.einsum("lp,lp->l", U @ W, V)
        ca = C @ alpha
        if np.any(alpha != 0):
            # mu depends on loadings and paths through Lambda C alpha.
            lam = st.matrix == LAMBDA
            gl[lam] += gmu[st.row[lam]] * ca[st.col[lam]]
            bet = st.matrix == BETA
            gl[bet] += (M.T @ gmu)[st.row[bet]] * ca[st.col[bet]]
        np.add.at(grad, lay.theta[g], ind @ gl)
        np.add.at(grad, lay.nu[g], gmu)
        free = lay.alpha[g] >= 0
        np.add.at(grad, lay.alpha[g][free], (M.T @ gmu)[free])
    return float(F), grad


@dataclass(frozen=True)
class GroupsProblem(MemberProblem):
    """The multiple-group discrepancy of a batch of data sets (``members``: each one's group moments) for
    :func:`csi.estimators.cbsem_newton.minimise`: one fit is a batch of one, a bootstrap block its replicates.
    The expected Hessian is ``2/N`` times :func:`expected_information`."""

    st: Structure
    lay: _Layout
    members: list[list[_Group]]

    def objective(self, z, member):
        return objective(z, self.st, self.lay, member)

    def information(self, z, member):
        return expected_information(z, self.st, self.lay, member) * 2.0 / sum(gr.n for gr in member)


def expected_information(z, st: Structure, lay: _Layout, groups: list[_Group]) -> NDArray[np.float64]:
    """``sum_g n_g (1/2 tr(Sigma^-1 dSigma_k Sigma^-1 dSigma_l) + dmu_k' Sigma^-1 dmu_l)`` over ``z``."""
    info = np.zeros((lay.size, lay.size))
    ind = _indicator(st)
    q, p, m = st.n_params, st.p, st.m
    for g, gr in enumerate(groups):
        theta, nu, alpha = _unpack(z, lay, g)
        Sigma, U, V, mu, M, C = _moments(theta, nu, alpha, st)
        Si = np.linalg.inv(Sigma)
        Hs = ind @ (2.0 * location_information(U, V, Si)) @ ind.T  # tr(Si G_k Si G_l)
        # dmu/d(local): theta (through Lambda C alpha), nu (identity), alpha (M).
        J = np.zeros((q + p + m, p))
        ca = C @ alpha
        loc = np.zeros((st.param.size, p))
        lam = np.flatnonzero(st.matrix == LAMBDA)
        loc[lam, st.row[lam]] = ca[st.col[lam]]
        bet = np.flatnonzero(st.matrix == BETA)
        loc[bet] = M[:, st.row[bet]].T * ca[st.col[bet]][:, None]
        J[:q] = ind @ loc
        J[q : q + p] = np.eye(p)
        J[q + p :] = M.T
        local = J @ Si @ J.T
        local[:q, :q] += 0.5 * Hs
        idx = np.concatenate([lay.theta[g], lay.nu[g], lay.alpha[g]])
        keep = idx >= 0
        sub = gr.n * local[np.ix_(keep, keep)]
        np.add.at(info, (idx[keep][:, None], idx[keep][None, :]), sub)
    return info


@dataclass(frozen=True)
class GroupState:
    """The fitted rows and solution of a multiple-group fit: items ``X (n, p)``, the rows of each group (in
    ``GroupFit.groups`` order), parameter structure and layout, the estimates ``z`` and the stopping rule."""

    X: NDArray[np.float64]
    rows: tuple[NDArray[np.intp], ...]
    structure: Structure
    layout: _Layout
    table: TableLayout
    z: NDArray[np.float64]
    tol: float
    max_iter: int


@dataclass(frozen=True)
class GroupFit:
    """A multiple-group CB-SEM fit.

    Attributes
    ----------
    spec, group, groups, group_equal
        The model, the grouping column, its levels (in order of first
        appearance, lavaan's group 1, 2, ...) and the equality constraints.
    n
        Rows per group.
    estimates
        lavaan's parameter table with a ``group`` column: ``lhs, op, rhs,
        estimate, std_error, z_value, p_value, std_estimate, free`` for every
        group, item intercepts and latent means as ``~1`` rows.
    fit_measures
        As a single-group fit's, for the model over all groups.
    """

    spec: ModelSpec
    group: str
    groups: tuple[Any, ...]
    group_equal: tuple[str, ...]
    n: pd.Series
    estimates: pd.DataFrame = field(repr=False)
    fit_measures: pd.Series = field(repr=False)
    iterations: int
    converged: bool
    method: str = "cbsem"
    state: GroupState | None = field(default=None, repr=False)
    """What the bootstrap needs to refit (:mod:`csi.estimators.cbsem_groups_bootstrap`)."""

    def summary(self) -> str:
        """Plain-text report: fit measures and the parameter table by group."""
        f = self.fit_measures
        lines = [
            f"Model         {self.spec.name}",
            f"Method        cbsem, {len(self.groups)} groups by {self.group!r}; equal: "
            f"{', '.join(self.group_equal) or 'none (configural)'}",
            "Observations  " + ", ".join(f"{g}: {int(k)}" for g, k in self.n.items()),
            f"Iterations    {self.iterations} ({'converged' if self.converged else 'NOT converged'})",
            f"Chi-square    {f['chisq']:.3f} on {int(f['df'])} df (p = {f['pvalue']:.4f})",
            f"CFI / TLI     {f['cfi']:.4f} / {f['tli']:.4f}",
            f"RMSEA / SRMR  {f['rmsea']:.4f} / {f['srmr']:.4f}",
            f"AIC / BIC     {f['aic']:.3f} / {f['bic']:.3f}",
            "",
        ]
        cols = ["estimate", "std_error", "z_value", "p_value", "std_estimate"]
        for g in self.groups:
            t = self.estimates[self.estimates["group"] == g]
            t = t[t["op"].isin(["=~", "~", "~~", "~1"])].set_index(["lhs", "op", "rhs"])[cols]
            lines += [f"Group {g}", "-" * (6 + len(str(g))), t.to_string(float_format=lambda x: f"{x:.4f}"), ""]
        return "\n".join(lines)


def fit_groups(
    spec: ModelSpec, X: NDArray[np.float64], labels: Sequence[Any], group: str, st: Structure,
    start_values: Any, group_equal: tuple[str, ...], *, tol: float, max_iter: int,
    labelled: frozenset[int] = frozenset(),
) -> GroupFit:  # fmt: skip
    """Fit the multiple-group model (module docstring); ``labels`` gives each row's group, ``labelled`` the
    parameters (indices in ``st``) that carry a label in the model text and are therefore equal in all groups."""
    from scipy.stats import norm

    labels = pd.Series(list(labels))
    levels = tuple(pd.unique(labels))
    if len(levels) < 2:
        raise DataError(f"group column {group!r} has {len(levels)} level(s); a multiple-group model needs two or more")
    p = st.p
    groups, group_rows = [], []
    for lev in levels:
        rows = np.flatnonzero((labels == lev).to_numpy())
        Y = X[rows]
        if rows.size <= p:
            raise DataError(f"group {lev!r} of {group!r} has {rows.size} rows; its {p} items need more than {p}")
        m = Y.mean(axis=0)
        groups.append(_Group(rows.size, m, (Y - m).T @ (Y - m) / rows.size))
        group_rows.append(rows)
    lay = _Layout.of(st, len(groups), group_equal, labelled)
    z = np.zeros(lay.size)
    count = np.zeros(lay.size)
    for g, gr in enumerate(groups):
        np.add.at(z, lay.theta[g], start_values(gr.cov))
        np.add.at(count, lay.theta[g], 1.0)
        np.add.at(z, lay.nu[g], gr.mean)
        np.add.at(count, lay.nu[g], 1.0)
    z = z / np.maximum(count, 1.0)
    if objective(z, st, lay, groups)[1] is None:
        raise EstimationError("the multiple-group model could not start: a start covariance is not positive definite")
    # Fisher scoring from the start, Newton steps (exact Hessian) once convergence slows.
    res = minimise(z, GroupsProblem(st, lay, [groups]), (1,), tol=tol, max_iter=max_iter, newton_below=np.inf,
                   halvings=30)  # fmt: skip
    z, it, converged, F = res.theta[0], int(res.iterations[0]), bool(res.converged[0]), float(res.F[0])
    info = expected_information(z, st, lay, groups)
    se = np.sqrt(np.clip(np.diag(np.linalg.pinv(info)), 0, None))

    N = sum(gr.n for gr in groups)
    layout = TableLayout.of(spec, st)
    tables, logl, logl_u, base, srmr = [], 0.0, 0.0, 0.0, 0.0
    for g, (lev, gr) in enumerate(zip(levels, groups, strict=True)):
        theta, nu, alpha = _unpack(z, lay, g)
        est, std = layout.values(theta, st)
        free = layout.free
        gidx = np.where(free >= 0, lay.theta[g][np.maximum(free, 0)], -1)
        Sigma, Phi, M, _, _ = implied(theta, st)
        mu = nu + M @ alpha
        sd_y, sd_e = np.sqrt(np.diag(Sigma)), np.sqrt(np.diag(Phi))
        rows = pd.DataFrame({"lhs": layout.lhs, "op": layout.op, "rhs": layout.rhs, "estimate": est,
                             "std_estimate": std, "_idx": gidx})  # fmt: skip
        means = pd.DataFrame({
            "lhs": list(spec.item_names) + list(spec.construct_names), "op": "~1", "rhs": "",
            "estimate": np.concatenate([nu, alpha]), "std_estimate": np.concatenate([nu / sd_y, alpha / sd_e]),
            "_idx": np.concatenate([lay.nu[g], lay.alpha[g]]),
        })  # fmt: skip
        derived = rows["op"].isin(["r2", "ind", "total"]).to_numpy()
        t = pd.concat([rows[~derived], means, rows[derived]], ignore_index=True)
        t.insert(0, "group", lev)
        tables.append(t)
        d = gr.mean - mu
        _, logdet = np.linalg.slogdet(Sigma)
        _, logdet_s = np.linalg.slogdet(gr.cov)
        Si = np.linalg.inv(Sigma)
        logl += -0.5 * gr.n * (p * np.log(2 * np.pi) + logdet + np.sum(Si * (gr.cov + np.outer(d, d))))
        logl_u += -0.5 * gr.n * (p * np.log(2 * np.pi) + logdet_s + p)
        base += gr.n * (np.sum(np.log(np.diag(gr.cov))) - logdet_s)
        s = 1.0 / np.sqrt(np.diag(gr.cov))
        R = (gr.cov - Sigma) * s[:, None] * s[None, :]
        res = np.sum(R[np.tril_indices(p)] ** 2) + np.sum((d * s) ** 2)
        srmr += gr.n / N * np.sqrt(res / (p * (p + 1) / 2 + p))
    table = pd.concat(tables, ignore_index=True)
    idx = table.pop("_idx").to_numpy()
    table["std_error"] = np.where(idx >= 0, se[np.maximum(idx, 0)], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["z_value"] = table["estimate"] / table["std_error"]
    table["p_value"] = 2 * norm.sf(np.abs(table["z_value"]))
    table["free"] = idx >= 0
    table = table[["group", "lhs", "op", "rhs", "estimate", "std_error", "z_value", "p_value", "std_estimate", "free"]]
    G = len(groups)
    q = lay.size
    chisq = N * F
    df = G * p * (p + 3) // 2 - q
    df_b = G * p * (p - 1) // 2
    fm = ml_fit_measures(
        npar=q, fmin=F / 2, chisq=chisq, df=df, baseline_chisq=base, baseline_df=df_b, srmr=srmr, logl=logl,
        unrestricted_logl=logl_u, n=N, groups=G,
    )  # fmt: skip
    n = pd.Series([gr.n for gr in groups], index=pd.Index(levels, name=group), name="n")
    state = GroupState(X, tuple(group_rows), st, lay, layout, z, tol, max_iter)
    return GroupFit(spec, group, levels, group_equal, n, table, fm, it, converged, state=state)


def invariance_table(fits: dict[str, GroupFit]) -> pd.DataFrame:
    """The invariance sequence side by side, each model tested against the one before (lavaan's ``lavTestLRT``).

    ``chisq_diff = chisq - chisq_prev`` on ``df_diff`` degrees of freedom with its
    chi-square p-value; ``rmsea_diff = sqrt(G max(chisq_diff - df_diff, 0) / (df_diff N))``
    (the RMSEA of the difference test, lavaan's ``RMSEA`` column); ``cfi_diff`` and
    ``rmsea_change`` the changes of CFI and RMSEA (Cheung & Rensvold 2002: a drop of
    CFI by more than 0.01 flags non-invariance).
    """
    from scipy.stats import chi2

    rows, prev = [], None
    for name, fit in fits.items():
        f = fit.fit_measures
        row = {"model": name, "npar": f["npar"], "chisq": f["chisq"], "df": f["df"], "cfi": f["cfi"], "tli": f["tli"],
               "rmsea": f["rmsea"], "srmr": f["srmr"], "aic": f["aic"], "bic": f["bic"]}  # fmt: skip
        if prev is None:
            row.update(chisq_diff=np.nan, df_diff=np.nan, p_value=np.nan, rmsea_diff=np.nan, cfi_diff=np.nan,
                       rmsea_change=np.nan)  # fmt: skip
        else:
            g = prev.fit_measures
            dc, dd = f["chisq"] - g["chisq"], f["df"] - g["df"]
            G, N = len(fit.groups), f["ntotal"]
            row.update(
                chisq_diff=dc, df_diff=dd, p_value=float(chi2.sf(dc, dd)) if dd > 0 else np.nan,
                rmsea_diff=np.sqrt(G * max(dc - dd, 0.0) / (dd * N)) if dd > 0 else np.nan,
                cfi_diff=f["cfi"] - g["cfi"], rmsea_change=f["rmsea"] - g["rmsea"],
            )  # fmt: skip
        rows.append(row)
        prev = fit
    return pd.DataFrame(rows).set_index("model")


@dataclass(frozen=True)
class Invariance:
    """Result of :func:`invariance`: the comparison table and the fitted models, in sequence order."""

    table: pd.DataFrame
    fits: dict[str, GroupFit] = field(repr=False)

    def summary(self) -> str:
        cols = ["npar", "chisq", "df", "chisq_diff", "df_diff", "p_value", "cfi", "cfi_diff", "rmsea", "rmsea_change"]
        return "Measurement invariance\n\n" + self.table[cols].to_string(float_format=lambda x: f"{x:.4f}")


def invariance(
    spec: Any, data: pd.DataFrame, group: str, *, levels: Sequence[str] = tuple(INVARIANCE), **options: Any
) -> Invariance:
    """Fit the measurement-invariance sequence and test each step against the previous one.

    Parameters
    ----------
    spec
        The model (a :class:`~csi.spec.model.ModelSpec`, model text or a model name).
    data
        Survey data with the grouping column.
    group
        Column whose levels are the groups (waves, industries, segments).
    levels
        Steps of :data:`INVARIANCE` to fit, in order (default: configural,
        metric, scalar, strict).
    **options
        Further ``method="cbsem"`` options (``tol``, ``max_iter``, ``missing``).

    Returns
    -------
    Invariance
        ``table`` (:func:`invariance_table`: chi-square difference tests, delta
        CFI and RMSEA) and the fits.
    """
    from csi.estimators.cbsem import CBSEM
    from csi.spec.load import load_model

    levels = tuple(levels)
    bad = [lv for lv in levels if lv not in INVARIANCE]
    if bad or not levels:
        raise EstimationError(f"unknown invariance level(s) {bad or levels!r}; accepted: {', '.join(INVARIANCE)}")
    if "group_equal" in options or "group" in options:
        raise EstimationError("invariance sets group and group_equal itself; pass group= and levels= only")
    spec = load_model(spec) if not isinstance(spec, ModelSpec) else spec
    fits = {lv: CBSEM(group=group, group_equal=INVARIANCE[lv], **options).fit(spec, data) for lv in levels}
    return Invariance(invariance_table(fits), fits)


__all__ = [
    "GROUP_EQUAL", "INVARIANCE", "GroupFit", "Invariance", "check_group_equal", "fit_groups", "invariance",
    "invariance_table",
]  # fmt: skip
