"""The ML discrepancy and its gradient for a stack of replicates, compiled by numba (the CB-SEM bootstrap's
inner loop).

The same quantities as :func:`csi.estimators.cbsem_kernel.ml_discrepancy` and
:func:`csi.estimators.cbsem_kernel.gradient` (Joreskog 1969; Neudecker & Satorra 1991), computed replicate
by replicate in one compiled function so that a replicate's p x p matrices stay in cache: the NumPy kernels
pay a batched-LAPACK call and a temporary per operation, which on the 24-item ECSI-7 model is most of an
iteration.  With ``W = Sigma^-1 (Sigma - S) Sigma^-1``, ``M = Lambda C`` and ``D = Phi Lambda'`` the
gradient of a location is ``2 (W D')[r, c]`` (loading), ``2 M[:, r]' (W D')[:, c]`` (regression),
``2 h M[:, r]' W M[:, c]`` (latent covariance) and ``2 h W[r, c]`` (item covariance), ``h = 1/2`` on a
diagonal.  Results agree with the NumPy kernels to rounding (about 1e-15 relative), not bit for bit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from csi.estimators.cbsem_kernel import LAMBDA, PSI, THETA, Structure, _MLProblem

_COMPILED: list[Callable[..., None]] = []
_LOCK = threading.Lock()


def available() -> bool:
    """Whether the compiled kernel is used: numba importable and ``CSI_BOOTSTRAP_ENGINE`` not ``numpy``."""
    if os.environ.get("CSI_BOOTSTRAP_ENGINE", "").lower() == "numpy":
        return False
    from csi.core import fused

    return fused.available()


def _kernel() -> Callable[..., None]:
    with _LOCK:
        if not _COMPILED:
            from numba import njit

            _COMPILED.append(njit(cache=True, nogil=True, error_model="numpy")(_value_gradient))
    return _COMPILED[0]


def value_gradient(
    theta: NDArray[np.float64], S: NDArray[np.float64], logdet_s: NDArray[np.float64], st: Structure,
    with_gradient: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:  # fmt: skip
    """``F (B,)`` (``inf`` where Sigma is not positive definite) and, when ``with_gradient``, ``g (B, q)``
    of the ML discrepancy for ``theta (B, q)`` and ``S (B, p, p)`` with ``logdet_s = log|S| (B,)``."""
    B = theta.shape[0]
    F = np.empty(B)
    g = np.zeros((B, st.n_params) if with_gradient else (0, st.n_params))
    Bt, L, Ps, Th = (np.ascontiguousarray(x, dtype=np.float64) for x in st.base)
    _kernel()(
        np.ascontiguousarray(theta, dtype=np.float64), np.ascontiguousarray(S, dtype=np.float64),
        np.ascontiguousarray(logdet_s, dtype=np.float64), Bt, L, Ps, Th, st.param.astype(np.int64),
        st.matrix.astype(np.int64), st.row.astype(np.int64), st.col.astype(np.int64), with_gradient, F, g,
    )  # fmt: skip
    return F, g


def _value_gradient(theta, S, logdet_s, Bb, Lb, Pb, Tb, param, matrix, row, col, with_gradient, F, g):  # pragma: no cover - compiled by numba
    B = theta.shape[0]
    p, m = Lb.shape
    n_loc = param.size
    for b in range(B):
        Bt, Lm, Ps, Th = Bb.copy(), Lb.copy(), Pb.copy(), Tb.copy()
        for loc in range(n_loc):
            x, r, c = theta[b, param[loc]], row[loc], col[loc]
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
        ok = True
        for k in range(m):
            piv = k
            for i in range(k + 1, m):
                if abs(A[i, k]) > abs(A[piv, k]):
                    piv = i
            if A[piv, k] == 0.0:
                ok = False
                break
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
        if not ok:
            F[b] = np.inf
            continue
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
                ok = False
                break
            Lc[j, j] = np.sqrt(s)
            for i in range(j + 1, p):
                s = Sigma[i, j]
                for k in range(j):
                    s -= Lc[i, k] * Lc[j, k]
                Lc[i, j] = s / Lc[j, j]
        if not ok:
            F[b] = np.inf
            continue
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
        Sb = S[b]
        tr = 0.0
        for i in range(p):
            for j in range(p):
                tr += Si[i, j] * Sb[i, j]
        value = logdet + tr - logdet_s[b] - p
        F[b] = value if np.isfinite(value) else np.inf
        if not with_gradient:
            continue
        W = Si - (Si @ Sb) @ Si
        D = (C @ Ps @ C.T) @ Lm.T  # (m, p)
        WD = W @ D.T  # (p, m)
        WM = W @ M  # (p, m)
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
            g[b, param[loc]] += 2.0 * v


class CompiledMLProblem(_MLProblem):
    """:class:`csi.estimators.cbsem_kernel._MLProblem` with value and gradient from the compiled kernel (the
    curvature matrices, needed only now and then, stay NumPy's)."""

    def __init__(self, S: NDArray[np.float64], st: Structure) -> None:
        super().__init__(S, st)
        object.__setattr__(self, "logdet_s", np.linalg.slogdet(S)[1])

    def value(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return value_gradient(z, self.S[idx], self.logdet_s[idx], self.st, False)[0]

    def gradient(self, z: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        return value_gradient(z, self.S[idx], self.logdet_s[idx], self.st, True)[1]


__all__ = ["CompiledMLProblem", "available", "value_gradient"]
