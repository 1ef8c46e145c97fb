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
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from csi.estimators.cbsem_newton import ScoringResult, minimise

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

    @cached_property
    def selections(self) -> tuple[tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]], ...]:
        """Per matrix code: its locations and their rows, columns and parameters (computed once; the kernels
        fill the matrices of every evaluation from them)."""
        out = []
        for code in range(4):
            sel = np.flatnonzero(self.matrix == code)
            out.append((sel, self.row[sel], self.col[sel], self.param[sel]))
        return tuple(out)

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
        sel, r, c, k = st.selections[code]
        if sel.size:
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


def factors(
    theta: NDArray[np.float64], st: Structure, parts: tuple[NDArray[np.float64], ...] | None = None
) -> tuple[NDArray[np.float64], ...]:
    """``Sigma (..., p, p)`` and the rank-two factors of every location's derivative.

    Each location ``l`` adds ``u_l v_l' + v_l u_l'`` to ``dSigma/dtheta`` (Neudecker &
    Satorra 1991): a loading ``Lambda[i, j]``: ``u = e_i``, ``v = D[j]``; a regression
    ``Beta[i, j]``: ``u = M[:, i]``, ``v = D[j]``; a latent covariance ``Psi[i, j]``:
    ``u = M[:, i]``, ``v = M[:, j]``; an item covariance ``Theta[i, j]``: ``u = e_i``,
    ``v = e_j``.  Diagonal entries of Psi and Theta count half (``u`` is halved), so
    ``u u'`` results.

    Returns
    -------
    Sigma : (..., p, p)
    U, V : (..., L, p)
        One row per location, ``U`` already halved where needed.

    ``parts``, when given, is :func:`implied` of ``theta`` (a caller that needs it too computes it once).
    """
    Sigma, _, M, D, _ = implied(theta, st) if parts is None else parts
    batch = theta.shape[:-1]
    p = st.p
    eye = np.eye(p)
    n_loc = st.param.size
    U = np.empty(batch + (n_loc, p))
    V = np.empty(batch + (n_loc, p))
    half = np.ones(n_loc)
    for code in range(4):
        sel, r, c, _ = st.selections[code]
        if not sel.size:
            continue
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
    U *= half[:, None]
    return Sigma, U, V


def _indicator(st: Structure) -> NDArray[np.float64]:
    """``(q, L)``: 1 where location l belongs to parameter k (equality-constrained parameters share one theta)."""
    ind = np.zeros((st.n_params, st.param.size))
    ind[st.param, np.arange(st.param.size)] = 1.0
    return ind


def jacobian(theta: NDArray[np.float64], st: Structure) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``Sigma (..., p, p)`` and ``G = dSigma/dtheta (..., q, p, p)`` from the factors of :func:`factors`."""
    Sigma, U, V = factors(theta, st)
    outer = U[..., :, None] * V[..., None, :]
    outer = outer + np.swapaxes(outer, -1, -2)
    G = np.einsum("kl,...lij->...kij", _indicator(st), outer)
    return Sigma, G


def location_information(U: NDArray[np.float64], V: NDArray[np.float64], Si: NDArray[np.float64]) -> NDArray[np.float64]:
    """``A o C + B o B'`` (..., L, L) with ``A = U Si U'``, ``B = U Si V'``, ``C = V Si V'``: half the expected
    Hessian ``tr(Si G_k Si G_l)`` of every pair of locations with ``G = u v' + v u'`` (rank-two factors ``U``,
    ``V`` of :func:`factors`; :func:`score_information` derives it)."""
    US, VS = U @ Si, V @ Si
    Vt = np.swapaxes(V, -1, -2)
    B = US @ Vt
    return (US @ np.swapaxes(U, -1, -2)) * (VS @ Vt) + B * np.swapaxes(B, -1, -2)


def score_information(
    theta: NDArray[np.float64], S: NDArray[np.float64], st: Structure
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Gradient and expected Hessian of the ML discrepancy without forming ``dSigma/dtheta``.

    With ``G_k = sum_l (u_l v_l' + v_l u_l')`` and ``W = Sigma^-1 (Sigma - S) Sigma^-1``,
    ``g_k = tr(W G_k) = 2 sum_l v_l' W u_l`` and, using ``tr(A a b' A c d') = (b'Ac)(d'Aa)``,
    ``H_kl = tr(Sigma^-1 G_k Sigma^-1 G_l) = 2 sum (A o C + B o B')`` over the
    locations of k and l, with ``A = U Sigma^-1 U'``, ``B = U Sigma^-1 V'``,
    ``C = V Sigma^-1 V'``.  This costs ``O(L^2 p)`` per replicate instead of the
    ``O(q p^3 + q^2 p^2)`` of the dense ``G``, which is what keeps a bootstrap
    replicate of a 24-item model near a millisecond.

    Returns
    -------
    Sigma : (..., p, p)
    g : (..., q)
    H : (..., q, q)
    """
    Sigma, U, V = factors(theta, st)
    Si = np.linalg.inv(Sigma)
    W = Si @ (Sigma - S) @ Si
    Hl = 2.0 * location_information(U, V, Si)
    gl = 2.0 * np.einsum("...lp,...lp->...l", U @ W, V)
    ind = _indicator(st)
    return Sigma, gl @ ind.T, ind @ Hl @ ind.T


def _pair_traces(U: NDArray[np.float64], V: NDArray[np.float64], X: NDArray[np.float64], Y: NDArray[np.float64]):
    """``tr(X G_k Y G_l)`` for every pair of locations with ``G = u v' + v u'`` (..., L, L).

    Uses ``tr(X a b' Y c d') = (b'Yc)(d'Xa)`` on the four terms of the product.
    """
    Ut, Vt = np.swapaxes(U, -1, -2), np.swapaxes(V, -1, -2)
    UX, VX, UY, VY = U @ X, V @ X, U @ Y, V @ Y
    AX, BX, CX = UX @ Ut, UX @ Vt, VX @ Vt
    AY, BY, CY = UY @ Ut, UY @ Vt, VY @ Vt
    return np.swapaxes(BY, -1, -2) * BX + CY * AX + AY * CX + BY * np.swapaxes(BX, -1, -2)


def observed_hessian(
    theta: NDArray[np.float64], S: NDArray[np.float64], st: Structure
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Gradient and the exact (observed) Hessian of the ML discrepancy.

    ``d2F/dk dl = H_kl - 2 tr(Sigma^-1 G_k W G_l) + tr(W d2Sigma/dk dl)`` with ``H``
    the expected Hessian of :func:`score_information` and ``W = Sigma^-1 (Sigma - S)
    Sigma^-1``.  The second derivatives of ``Sigma = M Psi M' + Theta``, ``M = Lambda C``,
    ``C = (I - Beta)^-1`` come from ``dM/dlambda_ab = e_a C_b.``, ``dM/dbeta_ab = M_.a C_b.``
    and ``d2M/dbeta_cd dx = x C_bc C_d.`` (``x`` the first-order factor of ``x``'s
    derivative), so for ``f = tr(W Sigma)`` with ``Q = Psi M' W``:
    ``2 tr(Q d2M) + 2 Phi_bb' (x' W y) + 2 tr(W dM dPsi M')`` over the pairs.
    Near the optimum ``W`` is small and Newton steps with this Hessian converge
    quadratically where Fisher scoring converges only linearly at a rate set by the
    misfit.

    Returns
    -------
    Sigma : (..., p, p)
    g : (..., q)
    H_expected : (..., q, q)
        As :func:`score_information`.
    H_observed : (..., q, q)
        The exact Hessian (symmetric, not necessarily positive definite).
    """
    Sigma, _, M, D, C = implied(theta, st)
    _, U, V = factors(theta, st)
    Si = np.linalg.inv(Sigma)
    W = Si @ (Sigma - S) @ Si
    gl = 2.0 * np.einsum("...lp,...lp->...l", U @ W, V)
    # Second derivatives of Sigma: only loadings, regressions and latent covariances enter.
    _, L, Ps, _ = matrices(theta, st)
    Phi = C @ Ps @ np.swapaxes(C, -1, -2)
    N = W @ M  # (..., p, m)
    Q = Ps @ np.swapaxes(N, -1, -2)  # (..., m, p)
    mt = np.flatnonzero((st.matrix == LAMBDA) | (st.matrix == BETA))
    pt = np.flatnonzero(st.matrix == PSI)
    p = st.p
    a, b = st.row[mt], st.col[mt]
    is_beta = st.matrix[mt] == BETA
    # x: the vector factor of dM for each M-type location: e_a (loading) or M[:, a] (regression).
    Xv = np.broadcast_to(np.eye(p)[np.where(is_beta, 0, a)], theta.shape[:-1] + (mt.size, p)).copy()
    Xv[..., is_beta, :] = np.swapaxes(M[..., :, a[is_beta]], -1, -2)
    Xt = np.swapaxes(Xv, -1, -2)
    He = 2.0 * location_information(U, V, Si)
    H2 = He - 2.0 * _pair_traces(U, V, Si, W)
    if mt.size:
        # 2 Phi[b_k, b_l] (x_l' W x_k)
        hb = 2.0 * Phi[..., b[:, None], b[None, :]] * (Xv @ W @ Xt)
        # T[k, l] = C[b_k, c_l] (C Q x_k)[d_l] for regression locations l = beta_cd (c = row, d = col).
        CQX = C @ Q @ Xt  # (..., m, Lm): column k is C Q x_k
        T = np.zeros_like(hb)
        if is_beta.any():
            c, d = a[is_beta], b[is_beta]
            T[..., :, is_beta] = C[..., b[:, None], c[None, :]] * np.swapaxes(CQX[..., d, :], -1, -2)
        H2[..., mt[:, None], mt[None, :]] += hb + 2.0 * (T + np.swapaxes(T, -1, -2))
    if mt.size and pt.size:
        # 2 tr(W dM_x dPsi_cd M') = 2 (C[b_x, c] (N' x)[d] + C[b_x, d] (N' x)[c]); a variance counts once.
        c, d = st.row[pt], st.col[pt]
        NX = np.swapaxes(N, -1, -2) @ Xt  # (..., m, Lm)
        tc = C[..., b[:, None], c[None, :]] * np.swapaxes(NX[..., d, :], -1, -2)
        off = c != d
        tc[..., :, off] += (C[..., b[:, None], d[None, :]] * np.swapaxes(NX[..., c, :], -1, -2))[..., :, off]
        H2[..., mt[:, None], pt[None, :]] += 2.0 * tc
        H2[..., pt[:, None], mt[None, :]] += 2.0 * np.swapaxes(tc, -1, -2)
    ind = _indicator(st)
    return Sigma, gl @ ind.T, ind @ He @ ind.T, ind @ H2 @ ind.T


def ml_discrepancy(Sigma: NDArray[np.float64], S: NDArray[np.float64]) -> NDArray[np.float64]:
    """``F = log|Sigma| + tr(S Sigma^-1) - log|S| - p``; ``inf`` where Sigma is not positive definite."""
    p = S.shape[-1]
    Sigma = np.asarray(Sigma, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        finite = np.all(np.isfinite(Sigma), axis=(-2, -1))
        ok = finite.copy()
        safe = np.where(finite[..., None, None], Sigma, np.eye(p))
        try:
            chol = np.linalg.cholesky(safe)
        except np.linalg.LinAlgError:
            # Batched cholesky fails as a whole: find the indefinite ones by their eigenvalues, put I in their place.
            ok &= np.linalg.eigvalsh(safe)[..., 0] > 0
            safe = np.where(ok[..., None, None], safe, np.eye(p))
            try:
                chol = np.linalg.cholesky(safe)
            except np.linalg.LinAlgError:  # eigenvalues at rounding level: judge each one
                ok &= np.array([_is_pd(x) for x in safe.reshape(-1, p, p)]).reshape(ok.shape)
                safe = np.where(ok[..., None, None], safe, np.eye(p))
                chol = np.linalg.cholesky(safe)
        logdet = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
        _, logdet_s = np.linalg.slogdet(S)
        tr = np.trace(np.linalg.solve(safe, S), axis1=-2, axis2=-1)
        F = logdet + tr - logdet_s - p
    return np.where(ok & np.isfinite(F), F, np.inf)


def _is_pd(x: NDArray[np.float64]) -> bool:
    try:
        np.linalg.cholesky(x)
    except np.linalg.LinAlgError:
        return False
    return True


def normal_block(
    Sigma: NDArray[np.float64], mu: NDArray[np.float64], mean: NDArray[np.float64], cov: NDArray[np.float64],
    with_gradient: bool = True,
) -> tuple[float, float, NDArray[np.float64], NDArray[np.float64] | None] | None:
    """One normal block of a likelihood with a mean structure (a FIML missingness pattern, a group), or a stack
    of them (leading axes of every argument; None where any is not positive definite).

    With ``d = mean - mu`` and ``C = cov + d d'`` (the block's moments about the model mean), ``-2/n`` times
    the block's log-likelihood is ``log|Sigma| + tr(Sigma^-1 C)`` plus a constant (Anderson 1958, ch. 3);
    its derivatives are ``W = Sigma^-1 - Sigma^-1 C Sigma^-1`` against Sigma (contracted with the rank-two
    factors of :func:`factors` into the gradient in theta) and ``-2 Sigma^-1 d`` against mu.

    Returns
    -------
    None where Sigma is not positive definite, else ``(log|Sigma|, tr(Sigma^-1 C), Sigma^-1 d, W)``, ``W`` None
    unless ``with_gradient``.
    """
    try:
        chol = np.linalg.cholesky(Sigma)
    except np.linalg.LinAlgError:
        return None
    Si = np.linalg.inv(Sigma)
    d = mean - mu
    C = cov + d[..., :, None] * d[..., None, :]
    W = Si - Si @ C @ Si if with_gradient else None
    logdet = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    return logdet, np.sum(Si * C, axis=(-2, -1)), (Si @ d[..., None])[..., 0], W


def information(Sigma: NDArray[np.float64], G: NDArray[np.float64]) -> NDArray[np.float64]:
    """Expected Hessian of F, ``H_kl = tr(Sigma^-1 G_k Sigma^-1 G_l)`` (..., q, q)."""
    V = np.linalg.solve(Sigma[..., None, :, :], G)
    return np.einsum("...kij,...lji->...kl", V, V)


def gradient(theta: NDArray[np.float64], S: NDArray[np.float64], st: Structure) -> NDArray[np.float64]:
    """Gradient of the ML discrepancy alone, ``g_k = 2 sum_l v_l' W u_l`` (..., q): the cheap part of an iteration."""
    Sigma, U, V = factors(theta, st)
    Si = np.linalg.inv(Sigma)
    W = Si @ (Sigma - S) @ Si
    return 2.0 * np.einsum("...lp,...lp->...l", U @ W, V) @ _indicator(st).T


def fisher_scoring(
    theta0: NDArray[np.float64],
    S: NDArray[np.float64],
    st: Structure,
    *,
    tol: float = 1e-9,
    max_iter: int = 100,
    hessian0: NDArray[np.float64] | None = None,
    refresh_rate: float = 0.25,
    newton_below: float = 1.0,
    compiled: bool = False,
) -> ScoringResult:
    """Minimise the ML discrepancy by Fisher scoring and (quasi-)Newton steps, with step halving.

    The loop is :func:`csi.estimators.cbsem_newton.minimise` (the one every CB-SEM objective uses): steps
    ``H^-1 g`` with the metric ``H`` starting as ``hessian0`` (the bootstrap passes the exact Hessian of the
    full-sample fit, which every replicate shares to O(n^-1/2)) or the expected Hessian (Fisher scoring, Lee &
    Jennrich 1979), the Fisher step wherever a step is not a descent direction, and the exact Hessian
    (:func:`observed_hessian`) once convergence slows.  Each replicate follows its own path, so its result
    does not depend on the others.

    Parameters
    ----------
    theta0 : (..., q)
        Starting values (broadcast against the batch of ``S``).
    S : (..., p, p)
        Sample covariances, divisor N.
    st
        Parameter structure.
    hessian0 : (q, q), optional
        Starting metric shared by the batch (``metric0`` of the loop).
    tol, max_iter, refresh_rate, newton_below
        As :func:`csi.estimators.cbsem_newton.minimise`: stop at a step below ``tol`` (the estimates are then
        within about ``tol`` of the exact minimiser), replicates that hit ``max_iter`` are flagged not
        converged.
    compiled
        The whole loop per replicate in the numba kernel of :mod:`csi.estimators.cbsem_compiled` (the
        bootstrap's replicates; the same step rules, equal to the NumPy loop to rounding of the result).

    Returns
    -------
    ScoringResult
    """
    S = np.asarray(S, dtype=np.float64)
    if compiled:
        from csi.estimators.cbsem_compiled import minimise_ml

        return minimise_ml(
            theta0, S, st, tol=tol, max_iter=max_iter, metric0=hessian0, refresh_rate=refresh_rate,
            newton_below=newton_below,
        )  # fmt: skip
    return minimise(
        theta0, _MLProblem(S.reshape((-1,) + S.shape[-2:]), st), S.shape[:-2], tol=tol, max_iter=max_iter,
        metric0=hessian0, refresh_rate=refresh_rate, newton_below=newton_below,
    )  # fmt: skip


@dataclass(frozen=True)
class _MLProblem:
    """The complete-data ML discrepancy of a stack of covariances ``S (B, p, p)`` as a
    :class:`csi.estimators.cbsem_newton.Problem`."""

    S: NDArray[np.float64]
    st: Structure

    def value(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return ml_discrepancy(implied(z, self.st)[0], self.S[idx])

    def gradient(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return gradient(z, self.S[idx], self.st)

    def expected(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return score_information(z, self.S[idx], self.st)[2]

    def observed(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return observed_hessian(z, self.S[idx], self.st)[3]


def standard_errors(theta: NDArray[np.float64], st: Structure, n: int) -> NDArray[np.float64]:
    """Expected-information standard errors ``sqrt(diag(2 H^-1 / N))`` (lavaan's default for ML)."""
    _, _, H = score_information(theta, implied(theta, st)[0], st)
    return np.sqrt(np.diag(2.0 * np.linalg.pinv(H) / n))


def regression_score_weights(theta: NDArray[np.float64], st: Structure) -> NDArray[np.float64]:
    """Regression (Thurstone 1935) factor-score weights ``A = Phi Lambda' Sigma^-1`` (..., m, p).

    ``eta_hat = A (y - mean)`` is lavaan's ``lavPredict(method = "regression")``.
    """
    Sigma, _, _, D, _ = implied(theta, st)
    return np.swapaxes(np.linalg.solve(Sigma, np.swapaxes(D, -1, -2)), -1, -2)
