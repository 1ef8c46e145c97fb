"""Pure NumPy kernels of covariance-based SEM (LISREL/RAM form), batched over a leading axis.

The model-implied covariance matrix of the p observed items is (Bollen 1989, ch. 8;
the "all-y" LISREL form semopy uses)::

    Sigma(theta) = Lambda C Psi C' Lambda' + Theta,    C = (I - Beta)^-1

with the arrays

==========  ==========  ==============================================================
symbol      shape       meaning
==========  ==========  ==============================================================
Beta        (m, m)      regressions among the m latent variables, ``Beta[i, j]``: j -> i
Lambda      (p, m)      loadings
Psi         (m, m)      (residual) covariances of the latent variables
Theta       (p, p)      residual covariances of the items
theta       (..., q)    the q free parameters
S           (..., p, p) sample covariance, divisor N
==========  ==========  ==============================================================

Where each free parameter sits in those matrices is a :class:`Structure`
(built once from a semopy model by :mod:`csi.estimators.cbsem`); everything here
is free of names, pandas and I/O, so one fit and a stack of bootstrap replicates
run the same code.

The ML discrepancy is ``F = log|Sigma| + tr(S Sigma^-1) - log|S| - p`` (Joreskog 1969;
lavaan reports ``fmin = F / 2`` and ``chisq = N F``).  :func:`fisher_scoring`
minimises it by Fisher scoring (Lee & Jennrich 1979): the step solves
``H d = g`` with the gradient ``g_k = tr(Sigma^-1 (Sigma - S) Sigma^-1 G_k)`` and the
expected Hessian ``H_kl = tr(Sigma^-1 G_k Sigma^-1 G_l)``, ``G_k = dSigma/dtheta_k``.
From a good start (semopy's solution, or the original estimates in a bootstrap)
it converges in a handful of steps, which is what makes the warm-started
bootstrap cheap.  The expected information of one observation is ``H / 2``, so the
standard errors are ``sqrt(diag(2 H^-1 / N))`` (lavaan's default
``information="expected"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

BETA, LAMBDA, PSI, THETA = range(4)
"""Matrix codes of a parameter location."""


@dataclass(frozen=True)
class Structure:
    """Where the free parameters live.

    Attributes
    ----------
    base
        ``(Beta, Lambda, Psi, Theta)`` with every fixed value in place (e.g. the
        marker loadings 1) and zeros at free positions.
    param, matrix, row, col
        One entry per location ``l`` (a parameter may sit in several places):
        free parameter index, matrix code, row, column.  Symmetric matrices
        (Psi, Theta) list each off-diagonal location once, row != col.
    """

    base: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
    param: NDArray[np.intp]
    matrix: NDArray[np.intp]
    row: NDArray[np.intp]
    col: NDArray[np.intp]
    n_params: int

    @property
    def p(self) -> int:
        return self.base[LAMBDA].shape[0]

    @property
    def m(self) -> int:
        return self.base[LAMBDA].shape[1]


def matrices(theta: NDArray[np.float64], st: Structure) -> list[NDArray[np.float64]]:
    """``[Beta, Lambda, Psi, Theta]``, each ``(..., r, c)``, filled from ``theta (..., q)``."""
    batch = theta.shape[:-1]
    out = []
    for code, base in enumerate(st.base):
        mx = np.broadcast_to(base, batch + base.shape).copy()
        sel = st.matrix == code
        if sel.any():
            r, c, k = st.row[sel], st.col[sel], st.param[sel]
            mx[..., r, c] = theta[..., k]
            if code in (PSI, THETA):
                mx[..., c, r] = theta[..., k]
        out.append(mx)
    return out


def implied(theta: NDArray[np.float64], st: Structure) -> tuple[NDArray[np.float64], ...]:
    """Model-implied moments.

    Returns
    -------
    Sigma : (..., p, p)
        Item covariance.
    Phi : (..., m, m)
        Latent covariance ``C Psi C'``.
    M : (..., p, m)
        ``Lambda C``.
    D : (..., m, p)
        ``C Psi C' Lambda'`` = Cov(eta, y).
    C : (..., m, m)
        ``(I - Beta)^-1``.
    """
    Bt, L, Ps, Th = matrices(theta, st)
    C = np.linalg.inv(np.eye(st.m) - Bt)
    M = L @ C
    Phi = C @ Ps @ np.swapaxes(C, -1, -2)
    D = Phi @ np.swapaxes(L, -1, -2)
    Sigma = M @ Ps @ np.swapaxes(M, -1, -2) + Th
    return Sigma, Phi, M, D, C


def jacobian(theta: NDArray[np.float64], st: Structure) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``Sigma (..., p, p)`` and ``G = dSigma/dtheta (..., q, p, p)``.

    Each location adds ``u v' + v u'`` (Neudecker & Satorra 1991): a loading
    ``Lambda[i, j]``: ``u = e_i``, ``v = D[j]``; a regression ``Beta[i, j]``:
    ``u = M[:, i]``, ``v = D[j]``; a latent covariance ``Psi[i, j]``: ``u = M[:, i]``,
    ``v = M[:, j]``; an item covariance ``Theta[i, j]``: ``u = e_i``, ``v = e_j``.
    Diagonal entries of Psi and Theta count half, so ``u u'`` results.
    """
    Sigma, _, M, D, _ = implied(theta, st)
    batch = theta.shape[:-1]
    p = st.p
    eye = np.eye(p)
    n_loc = st.param.size
    U = np.empty(batch + (n_loc, p))
    V = np.empty(batch + (n_loc, p))
    half = np.ones(n_loc)
    for code in range(4):
        sel = np.flatnonzero(st.matrix == code)
        if not sel.size:
            continue
        r, c = st.row[sel], st.col[sel]
        if code == LAMBDA:
            U[..., sel, :], V[..., sel, :] = eye[r], D[..., c, :]
        elif code == BETA:
            U[..., sel, :], V[..., sel, :] = np.swapaxes(M[..., :, r], -1, -2), D[..., c, :]
        elif code == PSI:
            U[..., sel, :], V[..., sel, :] = np.swapaxes(M[..., :, r], -1, -2), np.swapaxes(M[..., :, c], -1, -2)
            half[sel[r == c]] = 0.5
        else:
            U[..., sel, :], V[..., sel, :] = eye[r], eye[c]
            half[sel[r == c]] = 0.5
    outer = U[..., :, None] * V[..., None, :] * half[:, None, None]
    outer = outer + np.swapaxes(outer, -1, -2)
    # Sum the locations of each parameter (equality-constrained parameters share one theta).
    ind = np.zeros((st.n_params, n_loc))
    ind[st.param, np.arange(n_loc)] = 1.0
    G = np.einsum("kl,...lij->...kij", ind, outer)
    return Sigma, G


def ml_discrepancy(Sigma: NDArray[np.float64], S: NDArray[np.float64]) -> NDArray[np.float64]:
    """``F = log|Sigma| + tr(S Sigma^-1) - log|S| - p``; ``inf`` where Sigma is not positive definite."""
    p = S.shape[-1]
    sign, logdet = np.linalg.slogdet(Sigma)
    _, logdet_s = np.linalg.slogdet(S)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        tr = np.trace(np.linalg.solve(Sigma, S), axis1=-2, axis2=-1)
        F = logdet + tr - logdet_s - p
    eig_ok = sign > 0
    try:
        np.linalg.cholesky(Sigma)
    except np.linalg.LinAlgError:
        # Batched cholesky fails as a whole; fall back to eigenvalues to find the bad ones.
        eig_ok = eig_ok & (np.linalg.eigvalsh(Sigma)[..., 0] > 0)
    return np.where(eig_ok & np.isfinite(F), F, np.inf)


def information(Sigma: NDArray[np.float64], G: NDArray[np.float64]) -> NDArray[np.float64]:
    """Expected Hessian of F, ``H_kl = tr(Sigma^-1 G_k Sigma^-1 G_l)`` (..., q, q)."""
    V = np.linalg.solve(Sigma[..., None, :, :], G)
    return np.einsum("...kij,...lji->...kl", V, V)


@dataclass(frozen=True)
class ScoringResult:
    """Output of :func:`fisher_scoring` (all batched like ``theta``)."""

    theta: NDArray[np.float64]
    F: NDArray[np.float64]
    iterations: NDArray[np.intp]
    converged: NDArray[np.bool_]


def fisher_scoring(
    theta0: NDArray[np.float64], S: NDArray[np.float64], st: Structure, *, tol: float = 1e-9, max_iter: int = 100
) -> ScoringResult:
    """Minimise the ML discrepancy by Fisher scoring with step halving.

    Parameters
    ----------
    theta0 : (..., q)
        Starting values (broadcast against the batch of ``S``).
    S : (..., p, p)
        Sample covariances, divisor N.
    st
        Parameter structure.
    tol
        Convergence when the largest absolute step ``max |d|`` falls below
        ``tol``.  Fisher scoring converges at least linearly near the optimum
        with a rate given by how far S is from the model; the final estimates
        are then within about ``tol`` of the exact minimiser.
    max_iter
        Iteration limit; replicates that hit it are flagged not converged.

    Returns
    -------
    ScoringResult
    """
    S = np.asarray(S, dtype=np.float64)
    batch = S.shape[:-2]
    theta = np.broadcast_to(theta0, batch + theta0.shape[-1:]).copy()
    F = ml_discrepancy(implied(theta, st)[0], S)
    active = np.isfinite(F)
    converged = np.zeros(batch, dtype=bool)
    iters = np.zeros(batch, dtype=np.intp)
    for _ in range(max_iter):
        if not active.any():
            break
        idx = np.flatnonzero(active.ravel())
        th = theta.reshape(-1, theta.shape[-1])[idx]
        Sa = S.reshape((-1,) + S.shape[-2:])[idx]
        Fa = F.ravel()[idx]
        Sigma, G = jacobian(th, st)
        Si = np.linalg.inv(Sigma)
        W = Si @ (Sigma - Sa) @ Si
        g = np.einsum("bkij,bij->bk", G, W)
        H = information(Sigma, G)
        try:
            step = np.linalg.solve(H, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.einsum("bkl,bl->bk", np.linalg.pinv(H), g)
        # Step halving: accept the first of d, d/2, d/4, ... that does not increase F.
        scale = np.ones(len(idx))
        new = th - step
        Fn = ml_discrepancy(implied(new, st)[0], Sa)
        for _ in range(20):
            worse = ~(Fn <= Fa + 1e-12 * np.abs(Fa))
            if not worse.any():
                break
            scale[worse] /= 2
            new[worse] = th[worse] - scale[worse, None] * step[worse]
            Fn[worse] = ml_discrepancy(implied(new[worse], st)[0], Sa[worse])
        worse = ~(Fn <= Fa + 1e-12 * np.abs(Fa))
        new[worse], Fn[worse] = th[worse], Fa[worse]
        flat_theta = theta.reshape(-1, theta.shape[-1])
        flat_theta[idx] = new
        F.ravel()[idx] = Fn
        iters.ravel()[idx] += 1
        done = np.max(np.abs(scale[:, None] * step), axis=-1) < tol
        stuck = worse  # no descent along the scoring direction: stop, judged below
        conv_flat = converged.ravel()
        conv_flat[idx[done]] = True
        act_flat = active.ravel()
        act_flat[idx[done | stuck]] = False
        converged = conv_flat.reshape(batch)
        active = act_flat.reshape(batch)
    return ScoringResult(theta, F, iters, converged)


def standard_errors(theta: NDArray[np.float64], st: Structure, n: int) -> NDArray[np.float64]:
    """Expected-information standard errors ``sqrt(diag(2 H^-1 / N))`` (lavaan's default for ML)."""
    Sigma, G = jacobian(theta, st)
    H = information(Sigma, G)
    return np.sqrt(np.diag(2.0 * np.linalg.pinv(H) / n))


def regression_score_weights(theta: NDArray[np.float64], st: Structure) -> NDArray[np.float64]:
    """Regression (Thurstone 1935) factor-score weights ``A = Phi Lambda' Sigma^-1`` (..., m, p).

    ``eta_hat = A (y - mean)`` is lavaan's ``lavPredict(method = "regression")``.
    """
    Sigma, _, _, D, _ = implied(theta, st)
    return np.swapaxes(np.linalg.solve(Sigma, np.swapaxes(D, -1, -2)), -1, -2)
