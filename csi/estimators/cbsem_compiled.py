"""The ML discrepancy, its gradient, expected and exact Hessian of one replicate, compiled by numba (the
CB-SEM bootstrap's inner loop).

The same quantities as :func:`csi.estimators.cbsem_kernel.ml_discrepancy`,
:func:`csi.estimators.cbsem_kernel.gradient`, :func:`csi.estimators.cbsem_kernel.score_information` and
:func:`csi.estimators.cbsem_kernel.observed_hessian` (Joreskog 1969; Neudecker & Satorra 1991), computed
replicate by replicate in compiled code so that a replicate's p x p matrices stay in cache: the NumPy
kernels pay a batched-LAPACK call and a temporary per operation, which on the 24-item ECSI-7 model is most
of an iteration.  With ``W = Sigma^-1 (Sigma - S) Sigma^-1``, ``M = Lambda C`` and ``D = Phi Lambda'`` the
gradient of a location is ``2 (W D')[r, c]`` (loading), ``2 M[:, r]' (W D')[:, c]`` (regression),
``2 h M[:, r]' W M[:, c]`` (latent covariance) and ``2 h W[r, c]`` (item covariance), ``h = 1/2`` on a
diagonal; the Hessians use the rank-two factors ``u v' + v u'`` of :func:`csi.estimators.cbsem_kernel.factors`
and the second-derivative terms of :func:`csi.estimators.cbsem_kernel.observed_hessian`.  Results agree
with the NumPy kernels to rounding (about 1e-15 relative), not bit for bit.

:func:`minimise_ml` runs the Newton / Fisher-scoring loop of complete-data ML on it, one replicate from
start to end in one compiled call.  Its step rules are those of :func:`csi.estimators.cbsem_newton.minimise`
(the loop every CB-SEM objective uses, and the reference here): the metric starts as the full-sample exact
Hessian, a step that is not a descent direction is replaced by the Fisher step (expected Hessian; Lee &
Jennrich 1979), a step is halved until the discrepancy does not increase, and the exact Hessian is
recomputed at the new point when a step shrinks by less than ``refresh_rate``.  What the NumPy loop does
batch-wide with a Python call and stacked temporaries per stage (value, gradient, metric, solve), this does
per replicate: value and gradient come from one evaluation of Sigma at each trial point, and the metric is
factored once when it changes (the shared start metric once per call) instead of solved at every
iteration.  Results equal the NumPy loop's to rounding of the converged estimates (both stop at a step
below ``tol``).  :func:`value_gradient` and :func:`derivatives` evaluate a stack (the tests compare them with
the NumPy kernels).  numba is imported, and the cached machine code loaded, on first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from csi.estimators.cbsem_kernel import BETA, LAMBDA, PSI, THETA, Structure
from csi.estimators.cbsem_newton import ScoringResult

_COMPILED: dict[str, Callable[..., None]] = {}
_LOCK = threading.Lock()

VALUE, GRADIENT, EXPECTED, OBSERVED = range(4)
"""How much :func:`_evaluate` computes: each level adds one quantity to the previous ones."""

CHOLESKY, LU, PINV = range(3)
"""How :func:`_set_metric` factored a metric."""


def available() -> bool:
    """Whether the compiled kernel is used: numba importable and ``CSI_BOOTSTRAP_ENGINE`` not ``numpy``."""
    if os.environ.get("CSI_BOOTSTRAP_ENGINE", "").lower() == "numpy":
        return False
    from csi.core import fused

    return fused.available()


def kernels() -> dict[str, Callable[..., None]]:
    """The compiled entry points (``value_gradient``, ``derivatives``, ``minimise``), compiled or loaded once."""
    with _LOCK:
        if not _COMPILED:
            from numba import njit

            # The entry points call the helpers as globals of this module (one file, so numba's cache, keyed
            # by the file, is renewed whenever any of them changes).
            global _evaluate, _gram, _set_metric, _step
            opts = {"cache": True, "nogil": True, "error_model": "numpy"}
            _gram = njit(**opts)(_gram)
            _evaluate = njit(**opts)(_evaluate)
            _set_metric = njit(**opts)(_set_metric)
            _step = njit(**opts)(_step)
            _COMPILED["value_gradient"] = njit(**opts)(_value_gradient)
            _COMPILED["derivatives"] = njit(**opts)(_derivatives)
            _COMPILED["minimise"] = njit(**opts)(_minimise)
    return _COMPILED


def structure_arrays(st: Structure) -> tuple[NDArray, ...]:
    """``(Beta, Lambda, Psi, Theta, param, matrix, row, col)`` as contiguous arrays for the kernels."""
    mats = tuple(np.ascontiguousarray(x, dtype=np.float64) for x in st.base)
    locs = tuple(x.astype(np.int64) for x in (st.param, st.matrix, st.row, st.col))
    return mats + locs


def value_gradient(
    theta: NDArray[np.float64], S: NDArray[np.float64], logdet_s: NDArray[np.float64], st: Structure,
    with_gradient: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:  # fmt: skip
    """``F (B,)`` (``inf`` where Sigma is not positive definite) and, when ``with_gradient``, ``g (B, q)``
    of the ML discrepancy for ``theta (B, q)`` and ``S (B, p, p)`` with ``logdet_s = log|S| (B,)``."""
    B = theta.shape[0]
    F = np.empty(B)
    g = np.zeros((B, st.n_params))
    kernels()["value_gradient"](
        np.ascontiguousarray(theta, dtype=np.float64), np.ascontiguousarray(S, dtype=np.float64),
        np.ascontiguousarray(logdet_s, dtype=np.float64), *structure_arrays(st),
        GRADIENT if with_gradient else VALUE, F, g,
    )  # fmt: skip
    return F, (g if with_gradient else g[:0])


def derivatives(
    theta: NDArray[np.float64], S: NDArray[np.float64], st: Structure
) -> tuple[NDArray[np.float64], ...]:
    """``F (B,)``, ``g (B, q)``, the expected Hessian ``(B, q, q)`` and the exact Hessian ``(B, q, q)`` of the ML
    discrepancy for ``theta (B, q)`` and ``S (B, p, p)``."""
    B, q = theta.shape[0], st.n_params
    F, g, He, Ho = np.empty(B), np.zeros((B, q)), np.zeros((B, q, q)), np.zeros((B, q, q))
    S = np.ascontiguousarray(S, dtype=np.float64)
    kernels()["derivatives"](
        np.ascontiguousarray(theta, dtype=np.float64), S, np.linalg.slogdet(S)[1], *structure_arrays(st), F, g,
        He, Ho,
    )  # fmt: skip
    return F, g, He, Ho


def _value_gradient(theta, S, logdet_s, Bb, Lb, Pb, Tb, param, matrix, row, col, level, F, g):  # pragma: no cover - compiled by numba
    He = np.empty((0, 0))
    for b in range(theta.shape[0]):
        F[b] = _evaluate(theta[b], S[b], logdet_s[b], Bb, Lb, Pb, Tb, param, matrix, row, col, level, g[b], He, He)


def _derivatives(theta, S, logdet_s, Bb, Lb, Pb, Tb, param, matrix, row, col, F, g, He, Ho):  # pragma: no cover - compiled by numba
    for b in range(theta.shape[0]):
        F[b] = _evaluate(theta[b], S[b], logdet_s[b], Bb, Lb, Pb, Tb, param, matrix, row, col, OBSERVED, g[b],
                        He[b], Ho[b])  # fmt: skip


def _gram(X, K, Kt, nz):  # pragma: no cover - compiled by numba
    """``Z X Z'`` for ``Z = [I; K']`` without multiplying by the identity block."""
    p = X.shape[0]
    XK = X @ K
    out = np.empty((nz, nz))
    out[:p, :p] = X
    out[:p, p:] = XK
    out[p:, :p] = XK.T
    out[p:, p:] = Kt @ XK
    return out


def _evaluate(th, Sb, logdet_s, Bb, Lb, Pb, Tb, param, matrix, row, col, level, g, He, Ho):  # pragma: no cover - compiled by numba
    """The ML discrepancy of one replicate at ``th`` (returned; ``inf`` where ``I - Beta`` is singular or Sigma
    not positive definite) and, by ``level``, its gradient into ``g (q,)``, expected Hessian into ``He (q, q)``
    and exact Hessian into ``Ho (q, q)`` (left untouched where the value is ``inf``)."""
    p, m = Lb.shape
    n_loc = param.size
    Bt, Lm, Ps, Th = Bb.copy(), Lb.copy(), Pb.copy(), Tb.copy()
    for loc in range(n_loc):
        x, r, c = th[param[loc]], row[loc], col[loc]
        code = matrix[loc]
        if code == LAMBDA:
            Lm[r, c] = x
        elif code == PSI:
            Ps[r, c] = x
            Ps[c, r] = x
        elif code == THETA:
            Th[r, c] = x
            Th[c, r] = x
        else:
            Bt[r, c] = x
    # C = (I - Beta)^-1 by Gauss-Jordan with partial pivoting (m is small).
    A = -Bt
    for i in range(m):
        A[i, i] += 1.0
    C = np.eye(m)
    for k in range(m):
        piv = k
        for i in range(k + 1, m):
            if abs(A[i, k]) > abs(A[piv, k]):
                piv = i
        if A[piv, k] == 0.0:
            return np.inf
        if piv != k:
            for j in range(m):
                A[k, j], A[piv, j] = A[piv, j], A[k, j]
                C[k, j], C[piv, j] = C[piv, j], C[k, j]
        d = A[k, k]
        for j in range(m):
            A[k, j] /= d
            C[k, j] /= d
        for i in range(m):
            if i != k and A[i, k] != 0.0:
                f = A[i, k]
                for j in range(m):
                    A[i, j] -= f * A[k, j]
                    C[i, j] -= f * C[k, j]
    M = Lm @ C
    MP = M @ Ps
    Sigma = MP @ M.T + Th
    # Cholesky of Sigma; not positive definite: F = inf.
    Lc = np.zeros((p, p))
    for j in range(p):
        s = Sigma[j, j]
        for k in range(j):
            s -= Lc[j, k] * Lc[j, k]
        if not s > 0.0:
            return np.inf
        Lc[j, j] = np.sqrt(s)
        for i in range(j + 1, p):
            s = Sigma[i, j]
            for k in range(j):
                s -= Lc[i, k] * Lc[j, k]
            Lc[i, j] = s / Lc[j, j]
    logdet = 0.0
    for j in range(p):
        logdet += 2.0 * np.log(Lc[j, j])
    # Sigma^-1 = Linv' Linv with Linv the inverse of the Cholesky factor (forward substitution).
    Linv = np.zeros((p, p))
    for j in range(p):
        Linv[j, j] = 1.0 / Lc[j, j]
        for i in range(j + 1, p):
            s = 0.0
            for k in range(j, i):
                s -= Lc[i, k] * Linv[k, j]
            Linv[i, j] = s / Lc[i, i]
    Si = Linv.T @ Linv
    tr = 0.0
    for i in range(p):
        for j in range(p):
            tr += Si[i, j] * Sb[i, j]
    value = logdet + tr - logdet_s - p
    if not np.isfinite(value):
        return np.inf
    if level == VALUE:
        return value
    W = Si - (Si @ Sb) @ Si
    Phi = C @ Ps @ C.T
    D = Phi @ Lm.T  # (m, p)
    WD = W @ D.T  # (p, m)
    WM = W @ M  # (p, m)
    g[:] = 0.0
    for loc in range(n_loc):
        r, c = row[loc], col[loc]
        code = matrix[loc]
        if code == LAMBDA:
            v = WD[r, c]
        elif code == PSI:
            v = 0.0
            for j in range(p):
                v += M[j, r] * WM[j, c]
            if r == c:
                v *= 0.5
        elif code == THETA:
            v = W[r, c] * (0.5 if r == c else 1.0)
        else:
            v = 0.0
            for j in range(p):
                v += M[j, r] * WD[j, c]
        g[param[loc]] += 2.0 * v
    if level == GRADIENT:
        return value
    # Every factor of a location's dSigma = h (u v' + v u') (csi.estimators.cbsem_kernel.factors) is a row of
    # Z = [I_p; M'; D] ((p + 2m) x p): a loading has u = e_r, v = D[c]; a regression u = M[:, r], v = D[c]; a
    # latent covariance u = M[:, r], v = M[:, c]; an item covariance u = e_r, v = e_c (h = 1/2 on a diagonal
    # of Psi or Theta).  So every u' X v the Hessians need is an entry of Z X Z' (X = Sigma^-1 or W), an
    # O((p + 2m)^2 p) product instead of the O(L^2 p) of the stacked factors.
    nz = p + 2 * m
    K = np.empty((p, 2 * m))  # Z' without its identity block: [M, D']
    K[:, :m] = M
    K[:, m:] = D.T
    Kt = np.ascontiguousarray(K.T)
    iu = np.empty(n_loc, dtype=np.int64)
    iv = np.empty(n_loc, dtype=np.int64)
    hu = np.ones(n_loc)
    for loc in range(n_loc):
        r, c = row[loc], col[loc]
        code = matrix[loc]
        if code == LAMBDA:
            iu[loc], iv[loc] = r, p + m + c
        elif code == BETA:
            iu[loc], iv[loc] = p + r, p + m + c
        elif code == PSI:
            iu[loc], iv[loc] = p + r, p + c
        else:
            iu[loc], iv[loc] = r, c
        if r == c and (code == PSI or code == THETA):
            hu[loc] = 0.5
    ZS = _gram(Si, K, Kt, nz)
    # H_kl = 2 (A o C + B o B') with A = U Sigma^-1 U', B = U Sigma^-1 V', C = V Sigma^-1 V'.
    # Both Hessians are symmetric: each pair of locations is computed once.
    Hl = np.empty((n_loc, n_loc))
    for k in range(n_loc):
        for j in range(k + 1):
            h = 2.0 * hu[k] * hu[j] * (ZS[iu[k], iu[j]] * ZS[iv[k], iv[j]] + ZS[iu[k], iv[j]] * ZS[iu[j], iv[k]])
            Hl[k, j] = h
            Hl[j, k] = h
    He[:, :] = 0.0
    for k in range(n_loc):
        for j in range(n_loc):
            He[param[k], param[j]] += Hl[k, j]
    if level == EXPECTED:
        return value
    # Exact Hessian: H - 2 tr(Sigma^-1 G_k W G_l) (the four terms of csi.estimators.cbsem_kernel._pair_traces
    # with X = Sigma^-1, Y = W), then the second derivatives of Sigma.  The vector factor x of dM is u (e_r or
    # M[:, r]) for loadings and regressions.
    ZW = _gram(W, K, Kt, nz)
    H2 = Hl
    for k in range(n_loc):
        uk, vk = iu[k], iv[k]
        for j in range(k + 1):
            uj, vj = iu[j], iv[j]
            bx_kj, bx_jk = ZS[uk, vj], ZS[uj, vk]
            by_kj, by_jk = ZW[uk, vj], ZW[uj, vk]
            h = 2.0 * hu[k] * hu[j] * (by_jk * bx_kj + ZW[vk, vj] * ZS[uk, uj] + ZW[uk, uj] * ZS[vk, vj] + by_kj * bx_jk)
            H2[k, j] -= h
            if j != k:
                H2[j, k] -= h
    CP = C @ Ps
    for k in range(n_loc):
        if matrix[k] != LAMBDA and matrix[k] != BETA:
            continue
        bk, xk = col[k], iu[k]
        for j in range(n_loc):
            code = matrix[j]
            if code == LAMBDA or code == BETA:
                H2[k, j] += 2.0 * Phi[bk, col[j]] * ZW[iu[j], xk]
                if code == BETA:  # d2M/dbeta_cd dx = x C_bc C_d., with (C Psi M' W x)[d]
                    cq = 0.0
                    for f in range(m):
                        cq += CP[col[j], f] * ZW[p + f, xk]
                    t = 2.0 * C[bk, row[j]] * cq
                    H2[k, j] += t
                    H2[j, k] += t
            elif code == PSI:  # 2 tr(W dM_x dPsi_cd M') with (M' W x)[d]; a variance counts once
                c, d = row[j], col[j]
                t = C[bk, c] * ZW[p + d, xk]
                if c != d:
                    t += C[bk, d] * ZW[p + c, xk]
                H2[k, j] += 2.0 * t
                H2[j, k] += 2.0 * t
    Ho[:, :] = 0.0
    for k in range(n_loc):
        for j in range(n_loc):
            Ho[param[k], param[j]] += H2[k, j]
    return value


def minimise_ml(
    theta0: NDArray[np.float64],
    S: NDArray[np.float64],
    st: Structure,
    *,
    tol: float = 1e-9,
    max_iter: int = 100,
    metric0: NDArray[np.float64] | None = None,
    refresh_rate: float = 0.25,
    newton_below: float = 1.0,
    halvings: int = 20,
) -> ScoringResult:
    """Minimise the ML discrepancy of every ``S (..., p, p)`` from ``theta0 (q,) or (..., q)``.

    Parameters and result as :func:`csi.estimators.cbsem_newton.minimise` with the problem of
    :func:`csi.estimators.cbsem_kernel.fisher_scoring`; ``metric0`` is one ``(q, q)`` matrix shared by the
    batch (the full-sample exact Hessian in a bootstrap) or None (start from the expected Hessian).
    """
    S = np.asarray(S, dtype=np.float64)
    batch = S.shape[:-2]
    q = st.n_params
    Sf = np.ascontiguousarray(S.reshape((-1,) + S.shape[-2:]))
    nb = Sf.shape[0]
    theta = np.ascontiguousarray(np.broadcast_to(theta0, batch + (q,)).reshape(nb, q), dtype=np.float64)
    have = metric0 is not None
    H0 = np.ascontiguousarray(metric0, dtype=np.float64) if have else np.zeros((q, q))
    out, F = theta.copy(), np.empty(nb)
    iters, converged = np.zeros(nb, dtype=np.int64), np.zeros(nb, dtype=np.bool_)
    kernels()["minimise"](
        theta, Sf, np.linalg.slogdet(Sf)[1], *structure_arrays(st), H0, have, float(tol), int(max_iter),
        float(refresh_rate), float(newton_below), int(halvings), out, F, iters, converged,
    )  # fmt: skip
    return ScoringResult(
        out.reshape(batch + (q,)), F.reshape(batch), iters.astype(np.intp).reshape(batch), converged.reshape(batch)
    )


def _set_metric(H, lu, piv, P):  # pragma: no cover - compiled by numba
    """Factor the metric ``H`` for :func:`_step` and return how: ``CHOLESKY`` (``lu`` lower triangle; the
    usual case, half an LU's work), ``LU`` with partial pivoting (``lu``, ``piv``) where ``H`` is not positive
    definite, or ``PINV`` (its pseudo-inverse in ``P``) where it is singular, as
    :func:`csi.estimators.cbsem_newton._solve`."""
    n = H.shape[0]
    for j in range(n):
        s = H[j, j]
        for k in range(j):
            s -= lu[j, k] * lu[j, k]
        if not s > 0.0:
            break
        d = np.sqrt(s)
        lu[j, j] = d
        for i in range(j + 1, n):
            s = H[i, j]
            for k in range(j):
                s -= lu[i, k] * lu[j, k]
            lu[i, j] = s / d
    else:
        return CHOLESKY
    lu[:, :] = H
    for k in range(n):
        p = k
        big = abs(lu[k, k])
        for i in range(k + 1, n):
            if abs(lu[i, k]) > big:
                big = abs(lu[i, k])
                p = i
        piv[k] = p
        if big == 0.0:
            P[:, :] = np.linalg.pinv(H)
            return PINV
        if p != k:
            for j in range(n):
                lu[k, j], lu[p, j] = lu[p, j], lu[k, j]
        inv = 1.0 / lu[k, k]
        for i in range(k + 1, n):
            f = lu[i, k] * inv
            lu[i, k] = f
            if f != 0.0:
                for j in range(k + 1, n):
                    lu[i, j] -= f * lu[k, j]
    return LU


def _step(lu, piv, kind, P, g, d):  # pragma: no cover - compiled by numba
    """``d = H^-1 g`` from the factors of :func:`_set_metric`."""
    if kind == PINV:
        d[:] = P @ g
        return
    n = g.size
    d[:] = g
    if kind == LU:
        for k in range(n):
            if piv[k] != k:
                d[k], d[piv[k]] = d[piv[k]], d[k]
    for i in range(n):  # L y = g (unit diagonal for LU)
        s = d[i]
        for j in range(i):
            s -= lu[i, j] * d[j]
        d[i] = s if kind == LU else s / lu[i, i]
    for i in range(n - 1, -1, -1):  # U d = y, or L' d = y
        s = d[i]
        if kind == LU:
            for j in range(i + 1, n):
                s -= lu[i, j] * d[j]
        else:
            for j in range(i + 1, n):
                s -= lu[j, i] * d[j]
        d[i] = s / lu[i, i]


def _minimise(theta0, S, logdet_s, Bb, Lb, Pb, Tb, param, matrix, row, col, H0, have0, tol, max_iter,
              refresh_rate, newton_below, halvings, out, F_out, iters, converged):  # pragma: no cover - compiled by numba  # fmt: skip
    q = theta0.shape[1]
    g, gn, step = np.zeros(q), np.zeros(q), np.zeros(q)
    He, Ho = np.zeros((q, q)), np.zeros((q, q))
    # The shared start metric is factored once; a replicate works on its own copy once it changes the metric.
    lu0, piv0, P0 = np.zeros((q, q)), np.zeros(q, dtype=np.int64), np.zeros((q, q))
    kind0 = _set_metric(H0, lu0, piv0, P0) if have0 else CHOLESKY
    lu, piv, P = np.zeros((q, q)), np.zeros(q, dtype=np.int64), np.zeros((q, q))
    for b in range(theta0.shape[0]):
        Sb, ld = S[b], logdet_s[b]
        th = theta0[b].copy()
        # The gradient comes with the value at every accepted point (GRADIENT level), so an iteration costs one
        # evaluation of Sigma when its first step is accepted.
        F = _evaluate(th, Sb, ld, Bb, Lb, Pb, Tb, param, matrix, row, col, GRADIENT, g, He, Ho)
        active = np.isfinite(F)
        lu[:, :], piv[:], P[:, :] = lu0, piv0, P0
        kind = kind0
        have = have0
        last = np.inf
        n_it = 0
        conv = False
        for _ in range(max_iter):
            if not active:
                break
            fresh = not have
            if fresh:
                _evaluate(th, Sb, ld, Bb, Lb, Pb, Tb, param, matrix, row, col, EXPECTED, g, He, Ho)
                kind = _set_metric(He, lu, piv, P)
                have = True
            _step(lu, piv, kind, P, g, step)
            fisher_now = fresh
            if not (np.all(np.isfinite(step)) and step @ g > 0.0):
                fisher_now = True
                _evaluate(th, Sb, ld, Bb, Lb, Pb, Tb, param, matrix, row, col, EXPECTED, g, He, Ho)
                kind = _set_metric(He, lu, piv, P)
                _step(lu, piv, kind, P, g, step)
            # Step halving: accept the first of d, d/2, d/4, ... that does not increase F.
            scale = 1.0
            new = th - step
            Fn = _evaluate(new, Sb, ld, Bb, Lb, Pb, Tb, param, matrix, row, col, GRADIENT, gn, He, Ho)
            for _h in range(halvings):
                if Fn <= F + 1e-12 * abs(F):
                    break
                scale /= 2
                new = th - scale * step
                Fn = _evaluate(new, Sb, ld, Bb, Lb, Pb, Tb, param, matrix, row, col, GRADIENT, gn, He, Ho)
            worse = not (Fn <= F + 1e-12 * abs(F))
            if not worse:
                th, F = new, Fn
                g[:] = gn
            n_it += 1
            size = np.max(np.abs(scale * step))
            done = size < tol and not worse
            slow = not done and not worse and size > refresh_rate * last and size < newton_below
            last = size
            if slow:
                _evaluate(th, Sb, ld, Bb, Lb, Pb, Tb, param, matrix, row, col, OBSERVED, gn, He, Ho)
                kind = _set_metric(Ho, lu, piv, P)
            # No descent even when halved: retry from the Fisher metric; if that was the Fisher step, stop.
            if worse:
                have = False
            if done:
                conv = True
                active = False
            elif worse and fisher_now:
                active = False
        out[b] = th
        F_out[b] = F
        iters[b] = n_it
        converged[b] = conv


__all__ = ["EXPECTED", "GRADIENT", "OBSERVED", "VALUE", "available", "derivatives", "kernels", "minimise_ml",
           "structure_arrays", "value_gradient"]
