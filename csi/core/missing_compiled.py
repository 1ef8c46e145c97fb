"""EM of incomplete normal data, one bootstrap replicate at a time, compiled by numba.

The same algorithm as the NumPy reference :func:`csi.core.missing._em_slab`
(EM with SQUAREM steps, the E step through the precision matrix, per-replicate
stopping), but written for one replicate per call of the inner loop, row by
row: with ``n`` respondents and mostly distinct missingness patterns (20 % of
cells missing gives nearly one pattern per respondent) the NumPy version
builds a ``p x p`` cross-product per pattern and replicate and streams these
stacks through memory on every step; here a step costs
``O(p³ + Σ_g r_g³ + Σ_i r_i p)`` (``r``: missing items of a pattern or row)
and stays in cache.  It is about 10-30 times faster on the bootstrap
replicates of a survey of 250 respondents, which makes ``em`` intervals
affordable in a Monte-Carlo study (:mod:`csi.bench.missing_study`).

Differences to the reference are rounding only (tests compare both to 1e-9 at
``tol=1e-12``).  The positive-definiteness check of a SQUAREM jump is a
Cholesky factorisation instead of the smallest eigenvalue.  Each replicate is
computed start to end by one call, so its result does not depend on how
replicates are split into chunks or threads.  numba is imported on first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np

from csi.core import fused

ENGINE_VARIABLE = "CSI_BOOTSTRAP_ENGINE"
"""``numpy`` forces the NumPy reference (the variable of :mod:`csi.estimators.replicates`)."""


def use_compiled() -> bool:
    """Whether the compiled EM runs (numba importable and ``CSI_BOOTSTRAP_ENGINE`` not ``numpy``)."""
    return os.environ.get(ENGINE_VARIABLE, "").lower() != "numpy" and fused.available()


_COMPILED: list[Callable[..., None]] = []
_LOCK = threading.Lock()


def kernel() -> Callable[..., None]:
    """The compiled :func:`_em_replicates` (numba imported and cached machine code loaded on first use)."""
    with _LOCK:
        if not _COMPILED:
            from numba import njit

            global _chol_inverse, _step
            _chol_inverse = njit(nogil=True, error_model="numpy")(_chol_inverse)
            _step = njit(nogil=True, error_model="numpy")(_step)
            _COMPILED.append(njit(cache=True, nogil=True, error_model="numpy")(_em_replicates))
    return _COMPILED[0]


def em_replicates(F, Z, prow, pstart, miss, nmiss, mu, S, skip, tol, max_iter, accelerate):
    """EM of every replicate (row of ``F``) on the shifted, zero-filled data ``Z``; see :func:`_em_replicates`.

    Returns ``(mu, S, iterations, converged)`` as new arrays.
    """
    B, p = F.shape[0], Z.shape[1]
    mu_out = np.ascontiguousarray(mu, dtype=np.float64).copy()
    S_out = np.ascontiguousarray(S, dtype=np.float64).copy()
    iterations = np.zeros(B, dtype=np.int64)
    converged = np.zeros(B, dtype=np.bool_)
    if B:
        kernel()(
            np.ascontiguousarray(F, dtype=np.float64), np.ascontiguousarray(Z, dtype=np.float64),
            prow.astype(np.int64), pstart.astype(np.int64), miss.astype(np.int64), nmiss.astype(np.int64),
            mu_out, S_out, skip.astype(np.bool_), float(tol), int(max_iter), bool(accelerate), iterations, converged,
        )  # fmt: skip
    return mu_out, S_out.reshape(B, p, p), iterations, converged


def _chol_inverse(A, out, L):  # pragma: no cover - compiled by numba
    """``out = A⁻¹`` of a symmetric positive-definite ``A`` via Cholesky; False (``out`` undefined) when not PD."""
    k = A.shape[0]
    for j in range(k):
        d = A[j, j]
        for t in range(j):
            d -= L[j, t] * L[j, t]
        if not d > 0.0:
            return False
        d = np.sqrt(d)
        L[j, j] = d
        for i in range(j + 1, k):
            s = A[i, j]
            for t in range(j):
                s -= L[i, t] * L[j, t]
            L[i, j] = s / d
    # L⁻¹ in place of the strict lower part's complement: solve L Y = I column by column into out (lower).
    for c in range(k):
        for i in range(k):
            if i < c:
                out[i, c] = 0.0
                continue
            s = 1.0 if i == c else 0.0
            for t in range(c, i):
                s -= L[i, t] * out[t, c]
            out[i, c] = s / L[i, i]
    # A⁻¹ = L⁻ᵀ L⁻¹ (symmetric): entry (i, j) = Σ_t Y[t, i] Y[t, j], t ≥ max(i, j).
    for i in range(k):
        for j in range(i, k):
            s = 0.0
            for t in range(j, k):
                s += out[t, i] * out[t, j]
            L[i, j] = s
    for i in range(k):
        for j in range(i, k):
            out[i, j] = L[i, j]
            out[j, i] = L[i, j]
    return True


def _step(mu, S, v, W, T1f, T2f, Z, prow, pstart, miss, nmiss, sg, P, L, Cm, Bf, c, xm, Pmm, Lm, nmu, nS
          ):  # pragma: no cover - compiled by numba  # fmt: skip
    """One EM step of one replicate: ``(mu, S)`` to ``(nmu, nS)``; False when ``S`` is not positive definite."""
    p = mu.shape[0]
    if not _chol_inverse(S, P, L):
        return False
    T1 = nmu
    T2 = nS
    for j in range(p):
        T1[j] = T1f[j]
        for k in range(p):
            T2[j, k] = T2f[j, k]
    G = nmiss.shape[0]
    for g in range(G):
        if sg[g] <= 0.0:
            continue
        r = nmiss[g]
        for a in range(r):
            for b in range(r):
                Pmm[a, b] = P[miss[g, a], miss[g, b]]
        if not _chol_inverse(Pmm[:r, :r], Cm[:r, :r], Lm[:r, :r]):
            return False
        # Regression of the missing items on all items (zero at the missing columns): Bf = -P_mm⁻¹ P_m·.
        for a in range(r):
            for j in range(p):
                s = 0.0
                for b in range(r):
                    s -= Cm[a, b] * P[miss[g, b], j]
                Bf[a, j] = s
            for b in range(r):
                Bf[a, miss[g, b]] = 0.0
        for a in range(r):
            s = mu[miss[g, a]]
            for j in range(p):
                s -= Bf[a, j] * mu[j]
            c[a] = s
        for t in range(pstart[g], pstart[g + 1]):
            i = prow[t]
            w = v[i]
            if w == 0.0:
                continue
            for a in range(r):
                s = c[a]
                for j in range(p):
                    s += Bf[a, j] * Z[i, j]
                xm[a] = s
            for a in range(r):
                ma = miss[g, a]
                T1[ma] += w * xm[a]
                wx = w * xm[a]
                for j in range(p):
                    zij = Z[i, j]  # zero at the row's missing items
                    T2[ma, j] += wx * zij
                    T2[j, ma] += wx * zij
                for b in range(r):
                    T2[ma, miss[g, b]] += wx * xm[b]
        for a in range(r):
            for b in range(r):
                T2[miss[g, a], miss[g, b]] += sg[g] * Cm[a, b]
    for j in range(p):
        T1[j] = T1[j] / W
    for j in range(p):
        for k in range(j, p):
            val = 0.5 * (T2[j, k] + T2[k, j]) / W - T1[j] * T1[k]
            T2[j, k] = val
            T2[k, j] = val
    return True


def _em_replicates(F, Z, prow, pstart, miss, nmiss, mu, S, skip, tol, max_iter, accelerate, iterations, converged
                   ):  # pragma: no cover - compiled by numba  # fmt: skip
    """EM with SQUAREM (Varadhan & Roland 2008, scheme S3) of each replicate ``b`` not in ``skip``, in place.

    ``F`` (B, n) row weights; ``Z`` (n, p) data shifted and zero-filled at the missing cells; the rows of
    incomplete pattern ``g`` are ``prow[pstart[g]:pstart[g + 1]]``, its missing items ``miss[g, :nmiss[g]]``;
    ``mu`` (B, p) and ``S`` (B, p, p) hold the starting values and receive the estimates.  The steps, the
    step-length rule, the fallback to the second EM step and the stopping rule are those of
    :func:`csi.core.missing._em_slab`.
    """
    B, n = F.shape
    p = Z.shape[1]
    G = nmiss.shape[0]
    rmax = 1
    for g in range(G):
        rmax = max(rmax, nmiss[g])
    T1f = np.empty(p)
    T2f = np.empty((p, p))
    sg = np.empty(G)
    P = np.empty((p, p))
    L = np.empty((p, p))
    Cm = np.empty((rmax, rmax))
    Lm = np.empty((rmax, rmax))
    Pmm = np.empty((rmax, rmax))
    Bf = np.empty((rmax, p))
    c = np.empty(rmax)
    xm = np.empty(rmax)
    m0 = np.empty(p)
    m1 = np.empty(p)
    m2 = np.empty(p)
    m3 = np.empty(p)
    mj = np.empty(p)
    S0 = np.empty((p, p))
    S1 = np.empty((p, p))
    S2 = np.empty((p, p))
    S3 = np.empty((p, p))
    Sj = np.empty((p, p))
    for bb in range(B):
        if skip[bb]:
            continue
        v = F[bb]
        W = 0.0
        for j in range(p):
            T1f[j] = 0.0
            for k in range(p):
                T2f[j, k] = 0.0
        for i in range(n):
            w = v[i]
            if w == 0.0:
                continue
            W += w
            for j in range(p):
                wz = w * Z[i, j]
                T1f[j] += wz
                for k in range(j, p):
                    T2f[j, k] += wz * Z[i, k]
        for j in range(p):
            for k in range(j + 1, p):
                T2f[k, j] = T2f[j, k]
        if W <= 0.0:
            W = 1.0
        for g in range(G):
            s = 0.0
            for t in range(pstart[g], pstart[g + 1]):
                s += v[prow[t]]
            sg[g] = s
        for j in range(p):
            m0[j] = mu[bb, j]
            for k in range(p):
                S0[j, k] = S[bb, j, k]
        its = 0
        done = False
        while True:
            ok = _step(m0, S0, v, W, T1f, T2f, Z, prow, pstart, miss, nmiss, sg, P, L, Cm, Bf, c, xm, Pmm, Lm, m1, S1)
            if not ok:  # a singular covariance: the replicate fails (NaN moments), as in the reference
                m0[:] = np.nan
                S0[:, :] = np.nan
                its += 1
                break
            if not accelerate:
                change = 0.0
                for j in range(p):
                    change = max(change, abs(m1[j] - m0[j]))
                    for k in range(p):
                        change = max(change, abs(S1[j, k] - S0[j, k]))
                m0[:] = m1
                S0[:, :] = S1
                its += 1
            else:
                ok = _step(m1, S1, v, W, T1f, T2f, Z, prow, pstart, miss, nmiss, sg, P, L, Cm, Bf, c, xm, Pmm, Lm,
                           m2, S2)  # fmt: skip
                if not ok:
                    m0[:] = np.nan
                    S0[:, :] = np.nan
                    its += 2
                    break
                rr = 0.0
                vv = 0.0
                for j in range(p):
                    d1 = m1[j] - m0[j]
                    d2 = m2[j] - 2.0 * m1[j] + m0[j]
                    rr += d1 * d1
                    vv += d2 * d2
                for j in range(p):
                    for k in range(p):
                        d1 = S1[j, k] - S0[j, k]
                        d2 = S2[j, k] - 2.0 * S1[j, k] + S0[j, k]
                        rr += d1 * d1
                        vv += d2 * d2
                alpha = -np.sqrt(rr / vv)
                if not np.isfinite(alpha):
                    alpha = -1.0
                alpha = min(max(alpha, -100.0), -1.0)
                finite = True
                for j in range(p):
                    mj[j] = m0[j] - 2.0 * alpha * (m1[j] - m0[j]) + alpha * alpha * (m2[j] - 2.0 * m1[j] + m0[j])
                    finite = finite and np.isfinite(mj[j])
                    for k in range(p):
                        Sj[j, k] = (S0[j, k] - 2.0 * alpha * (S1[j, k] - S0[j, k])
                                    + alpha * alpha * (S2[j, k] - 2.0 * S1[j, k] + S0[j, k]))  # fmt: skip
                        finite = finite and np.isfinite(Sj[j, k])
                if not (finite and _chol_inverse(Sj, P, L)):
                    mj[:] = m2
                    Sj[:, :] = S2
                ok = _step(mj, Sj, v, W, T1f, T2f, Z, prow, pstart, miss, nmiss, sg, P, L, Cm, Bf, c, xm, Pmm, Lm,
                           m3, S3)  # fmt: skip
                if not ok:
                    m0[:] = np.nan
                    S0[:, :] = np.nan
                    its += 3
                    break
                change = 0.0
                for j in range(p):
                    change = max(change, abs(m3[j] - mj[j]))
                    for k in range(p):
                        change = max(change, abs(S3[j, k] - Sj[j, k]))
                m0[:] = m3
                S0[:, :] = S3
                its += 3
            if change <= tol:
                done = True
                break
            if not np.isfinite(change) or its >= max_iter:
                break
        iterations[bb] = its
        converged[bb] = done
        for j in range(p):
            mu[bb, j] = m0[j]
            for k in range(p):
                S[bb, j, k] = S0[j, k]
