"""Modification indices of a CB-SEM fit: score tests of freeing one fixed-at-zero parameter at a time.

Sörbom (1989), "Model modification", Psychometrika 54(3):371-384; the
definitions are lavaan's ``modindices()`` (expected information).  With the ML
discrepancy ``F``, its gradient ``g_k = tr(Sigma^-1 (Sigma - S) Sigma^-1 G_k)``
and expected Hessian ``H_kl = tr(Sigma^-1 G_k Sigma^-1 G_l)`` (``G_k = dSigma /
dtheta_k``, :mod:`csi.estimators.cbsem_kernel`) evaluated at the estimates of
the model extended by the candidate parameters (at value 0), and ``x`` the
model's free parameters:

``V_f = H_ff - H_fx H_xx^-1 H_xf``, ``mi_f = N g_f^2 / (2 V_f)`` (a 1-df
chi-square), ``epc_f = -g_f / V_f`` (the expected value of the parameter once
freed).  ``sepc_lv`` scales the loading change by the latent SD; ``sepc_all``
also divides by the item SD (loadings), or gives the change as a residual
correlation (item covariances), as lavaan's ``std.all`` does.

Candidates: every cross-loading (an item on a construct it does not measure)
and every residual covariance between two items that the model fixes at 0.
Structural candidates (a path or a disturbance covariance between
constructs) are left out: they are often not identified beside the existing
paths, and lavaan drops those as NA.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csi.errors import EstimationError
from csi.estimators.cbsem_kernel import LAMBDA, THETA, Structure, implied, information, jacobian, matrices
from csi.results.fit import FitResult


def _candidates(st: Structure) -> list[tuple[int, int, int]]:
    """``(matrix, row, col)`` of every fixed-at-zero cross-loading and item residual covariance."""
    free = {(int(m), int(min(r, c)), int(max(r, c))) if m == THETA else (int(m), int(r), int(c))
            for m, r, c in zip(st.matrix, st.row, st.col, strict=True)}  # fmt: skip
    out = []
    for j in range(st.m):
        for i in range(st.p):
            if st.base[LAMBDA][i, j] == 0 and (LAMBDA, i, j) not in free:
                out.append((LAMBDA, i, j))
    for i in range(st.p):
        for k in range(i + 1, st.p):
            if st.base[THETA][i, k] == 0 and (THETA, i, k) not in free:
                out.append((THETA, i, k))
    return out


def modification_indices(fit: FitResult, sort: bool = True) -> pd.DataFrame:
    """Modification indices of a CB-SEM fit (module docstring).

    Parameters
    ----------
    fit
        A fit of ``method="cbsem"``.
    sort
        Largest ``mi`` first (lavaan's ``sort. = TRUE``); otherwise loadings
        then covariances in model order.

    Returns
    -------
    pandas.DataFrame
        ``lhs, op, rhs, mi, epc, sepc_lv, sepc_all`` — one row per candidate.
    """
    state = getattr(fit, "cbsem_state", None)
    if state is None:
        raise EstimationError("modification indices need a CB-SEM fit (csi.fit(..., method='cbsem'))")
    if fit.options.get("missing") == "fiml":
        raise EstimationError(
            "modification indices are computed from the complete-data information; a missing='fiml' fit has none "
            "(refit with missing='listwise' to screen the model)"
        )
    st, theta, S, n = state.structure, state.theta, np.asarray(fit.moments, dtype=float), fit.n
    cand = _candidates(st)
    q, r = st.n_params, len(cand)
    if r == 0:
        return pd.DataFrame(columns=["lhs", "op", "rhs", "mi", "epc", "sepc_lv", "sepc_all"])
    mat, row, col = (np.array(v, dtype=np.intp) for v in zip(*cand, strict=True))
    ext = Structure(
        base=st.base, param=np.concatenate([st.param, q + np.arange(r)]), matrix=np.concatenate([st.matrix, mat]),
        row=np.concatenate([st.row, row]), col=np.concatenate([st.col, col]), n_params=q + r,
    )  # fmt: skip
    Sigma, G = jacobian(np.concatenate([theta, np.zeros(r)]), ext)
    Sinv = np.linalg.inv(Sigma)
    g = np.einsum("ij,kji->k", Sinv @ (Sigma - S) @ Sinv, G)
    H = information(Sigma, G)
    Hxx, Hxf = H[:q, :q], H[:q, q:]
    V = np.diag(H[q:, q:]) - np.einsum("kf,kf->f", Hxf, np.linalg.solve(Hxx, Hxf))
    gf = g[q:]
    with np.errstate(divide="ignore", invalid="ignore"):
        mi = n * gf**2 / (2.0 * V)
        epc = -gf / V
    _, Phi, _, _, _ = implied(theta, st)
    Theta = matrices(theta, st)[THETA]
    sd_lv, sd_item = np.sqrt(np.diag(Phi)), np.sqrt(np.diag(Sigma))
    is_load = mat == LAMBDA
    sepc_lv = np.where(is_load, epc * sd_lv[np.where(is_load, col, 0)], epc)
    res_sd = np.sqrt(np.diag(Theta))
    sepc_all = np.where(is_load, sepc_lv / sd_item[row], epc / (res_sd[row] * res_sd[np.where(is_load, row, col)]))
    items, lvs = fit.spec.item_names, fit.spec.construct_names
    out = pd.DataFrame(
        {
            "lhs": [lvs[c] if m == LAMBDA else items[i] for m, i, c in cand],
            "op": ["=~" if m == LAMBDA else "~~" for m, _, _ in cand],
            "rhs": [items[i] if m == LAMBDA else items[c] for m, i, c in cand],
            "mi": mi, "epc": epc, "sepc_lv": sepc_lv, "sepc_all": sepc_all,
        }
    )  # fmt: skip
    if sort:
        out = out.sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
    return out

