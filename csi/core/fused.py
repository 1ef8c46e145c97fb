"""One compiled pass per bootstrap replicate: moments -> PLS weights -> inner model -> index.

:mod:`csi.core.pls` runs Wold's algorithm on a whole stack of moment matrices
with NumPy; every iteration then streams the (B, p, p) stack through memory
several times.  This module does the same arithmetic replicate by replicate in
one function compiled by numba, so a replicate's p x p matrix stays in cache
from its moment sums to its 0-100 indices.  It is the bootstrap's fast path;
the NumPy kernels stay the reference (tests compare both to 1e-12).

The input of replicate ``b`` is one row of the moment-sum matrix ``G = F R``
(:func:`csi.core.moments.moment_sums`): ``s = G[b, 0]`` (sum of weights), the
first-moment sums ``a = G[b, 1:1+p]`` and the packed second-moment sums ``C``
about an origin ``x0``.  Then

* ``exact`` sums (integer items, unit weights; every sum an exact integer):
  ``cov_jl = (s C_jl - a_j a_l) / s²`` -- the numerator is an exact integer;
* centred sums (origin = full-sample mean): ``cov_jl = C_jl / s - d_j d_l``
  with ``d = a / s``.

and ``mean = x0 + a / s``.  The PLS steps and their order are those of
:func:`csi.core.pls.pls_weights` and :func:`csi.core.pls.pls_inner`
(Tenenhaus, Esposito Vinzi, Chatelin & Lauro 2005, CSDA 48:159-205, §2.2-2.3;
Lohmöller 1989), including the ``plspm`` stopping rule and both sign rules,
so a replicate gets the same estimates as a single fit on its rows.

Each replicate is computed by one thread from start to end, so its result
does not depend on how replicates are split between chunks or threads.

The kernel is one function without calls: numba passes arrays to a compiled
call with reference counting, which costs more than these small loops, so
the steps of :func:`csi.core.pls.pls_weights` (normalise, composite
correlations, inner weights, outer proxies) and the small eliminations are
written out where they are used.  numba itself is imported on first use
(:func:`kernel`), so ``import csi`` does not pay for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

SCHEME_CODES = {"centroid": 0, "factorial": 1, "path": 2}
STOP_CODES = {"max_abs": 0, "plspm": 1}


class FusedModel(NamedTuple):
    """Model structure and options, as plain arrays for the compiled kernel."""

    q: np.ndarray  # (p,) item of every position in block order
    bstart: np.ndarray  # (J + 1,) block j holds positions bstart[j] .. bstart[j + 1] - 1
    block: np.ndarray  # (p,) block of every position
    D: np.ndarray  # (J, J) int64 adjacency, D[j, k] = 1 for k -> j
    pred: np.ndarray  # predecessors of every construct, concatenated
    pstart: np.ndarray  # (J + 1,) construct j's are pred[pstart[j]:pstart[j + 1]]
    nbr: np.ndarray  # neighbours (predecessors and successors, ascending) of every construct, concatenated
    nstart: np.ndarray  # (J + 1,) construct j's are nbr[nstart[j]:nstart[j + 1]]
    cneed: np.ndarray  # (J, J) bool: composite correlations C[k, m] some step reads (neighbours, regressions)
    topo: np.ndarray  # (J,) constructs in topological order (causes first)
    mode_b: np.ndarray  # (J,) bool
    pos: np.ndarray  # (p, p) packed position of entry (q[j], q[l]) of the moment sums
    scheme: int
    scaled: bool
    tol: float
    max_iter: int
    stop: int
    raw_factor: float
    majority: bool
    construct_flip: bool
    lam0: np.ndarray  # (p,) original loadings (construct sign change), block order
    with_index: bool
    lo: np.ndarray  # (p,) scale minimum, block order
    hi: np.ndarray  # (p,) scale maximum, block order


def output_width(p: int, J: int) -> int:
    """Width of a replicate's output row: ``w | loadings | B | r2 | total | index``."""
    return 2 * p + 2 * J * J + 2 * J


def output_offsets(p: int, J: int) -> dict[str, int]:
    """Start of every block of a replicate's output row."""
    return {"w": 0, "loadings": p, "B": 2 * p, "r2": 2 * p + J * J, "total": 2 * p + J * J + J,
            "index": 2 * p + 2 * J * J + J}  # fmt: skip


def available() -> bool:
    """Whether numba can be imported (else callers use the NumPy kernels); imports it on the first call."""
    if not _AVAILABLE:
        try:
            import numba  # noqa: F401
        except ImportError:  # pragma: no cover - exercised only where numba is missing or broken
            _AVAILABLE.append(False)
        else:
            _AVAILABLE.append(True)
    return _AVAILABLE[0]


_AVAILABLE: list[bool] = []


_COMPILED: list[Callable[..., None]] = []
_COMPILE_LOCK = threading.Lock()


def kernel() -> Callable[..., None]:
    """The compiled :func:`_replicates` (numba is imported, and the cached machine code loaded, on first use)."""
    with _COMPILE_LOCK:
        if not _COMPILED:
            from numba import njit

            # The helpers are inlined into the kernel at numba's IR level (inline="always"), so splitting
            # them out costs no call and changes no floating-point operation.
            global _gauss_solve, _solve_on_predecessors
            _gauss_solve = njit(inline="always", error_model="numpy")(_gauss_solve)
            _solve_on_predecessors = njit(inline="always", error_model="numpy")(_solve_on_predecessors)
            _COMPILED.append(njit(cache=True, nogil=True, error_model="numpy")(_replicates))
    return _COMPILED[0]


def _solve_on_predecessors(C, pred, p0, m, j, A, b):  # pragma: no cover - compiled by numba
    """Regression of construct ``j`` on its ``m`` predecessors ``pred[p0:p0+m]`` from correlations ``C``.

    Fills ``A`` (m, m) and ``b`` (m,) with the normal equations ``C_PP x = C_Pj`` and solves them in place
    (:func:`_gauss_solve`); the solution is left in ``b[:m]``.
    """
    for t in range(m):
        k = pred[p0 + t]
        for t2 in range(m):
            A[t, t2] = C[k, pred[p0 + t2]]
        b[t] = C[k, j]
    _gauss_solve(A, b, m)


def _gauss_solve(A, b, m):  # pragma: no cover - compiled by numba
    """Solve ``A[:m, :m] x = b[:m]`` in place: Gaussian elimination without pivoting (``A`` is positive
    definite) and back substitution; ``A`` is overwritten and ``x`` left in ``b[:m]``."""
    for kk in range(m):
        inv = 1.0 / A[kk, kk]
        for i in range(kk + 1, m):
            f = A[i, kk] * inv
            for c2 in range(kk + 1, m):
                A[i, c2] -= f * A[kk, c2]
            b[i] -= f * b[kk]
    for kk in range(m - 1, -1, -1):
        acc = b[kk]
        for c2 in range(kk + 1, m):
            acc -= A[kk, c2] * b[c2]
        b[kk] = acc / A[kk, kk]


def _replicates(G, lo_b, hi_b, exact, x0, q, bstart, block, D, pred, pstart, nbr, nstart, cneed, topo, mode_b, pos, scheme,
                scaled, tol, max_iter, stop, raw_factor, majority, construct_flip, lam0, with_index, lo, hi, take, minus,
                out, conv, finite, iters):  # pragma: no cover - compiled  # fmt: skip
    """Statistics of replicates ``lo_b .. hi_b - 1`` of ``G`` into rows of ``out``.

    Works in block order: position h is item ``q[h]``; ``pos``, ``x0``,
    ``lam0``, ``lo`` and ``hi`` are given in that order.  A replicate's full
    row ``w | loadings | B | r2 | total | index`` (model item order, see
    :func:`output_offsets`) is built in a buffer, and ``out[r, c]`` receives
    ``row[take[c]]``, minus ``row[minus[c]]`` where ``minus[c] >= 0``.

    Every small linear system (a construct on its predecessors, a Mode B
    block) is solved by Gaussian elimination without pivoting: the matrices
    are symmetric positive definite (Golub & Van Loan 2013, §4.2), and the
    systems are small, where a LAPACK call would cost more in setup than the
    arithmetic.
    """
    p = x0.shape[0]
    J = bstart.shape[0] - 1
    S = np.empty((p, p))
    P = np.zeros((p, p))
    a = np.empty(p)
    mean = np.empty(p)
    isd = np.empty(p)
    isdS = np.empty(p)
    w = np.empty(p)
    Wb = np.empty((2, p))
    v = np.empty(p)
    raw = np.empty(p)
    lam = np.empty(p)
    SW = np.empty((J, p))
    SWb = np.empty((2, J, p))
    C = np.empty((J, J))
    E = np.zeros((J, J))
    Bm = np.empty((J, J))
    total = np.empty((J, J))
    r2 = np.empty(J)
    A = np.empty((max(p, J), max(p, J)))
    b = np.empty(max(p, J))
    flipb = np.empty(J)
    row = np.empty(2 * p + 2 * J * J + 2 * J)
    nout = take.shape[0]
    T0 = 1 + p
    for r in range(lo_b, hi_b):
        s = np.float64(G[r, 0])
        ok = s > 0
        inv_s = 1.0 / s
        inv_s2 = 1.0 / (s * s)
        for j in range(p):
            a[j] = G[r, 1 + q[j]]
            mean[j] = x0[j] + a[j] * inv_s
        # Variances first (divisor s); the exact numerator s C - a a' is an integer here.
        for j in range(p):
            c = np.float64(G[r, T0 + pos[j, j]])
            if exact:
                val = (s * c - a[j] * a[j]) * inv_s2
            else:
                val = c * inv_s - (a[j] * inv_s) * (a[j] * inv_s)
            S[j, j] = val
            sd = np.sqrt(val)
            if not (sd > 0) or not np.isfinite(sd):
                ok = False
            isd[j] = 1.0 / sd
        if not ok:
            for k in range(nout):
                out[r, k] = np.nan
            conv[r] = False
            finite[r] = False
            iters[r] = 0
            continue
        finite[r] = True
        for j in range(p):
            for m in range(j + 1, p):
                c = np.float64(G[r, T0 + pos[j, m]])
                if exact:
                    val = (s * c - a[j] * a[m]) * inv_s2
                else:
                    val = c * inv_s - (a[j] * inv_s) * (a[m] * inv_s)
                if scaled:
                    val *= isd[j] * isd[m]
                S[j, m] = val
                S[m, j] = val
        if scaled:
            for j in range(p):
                S[j, j] = 1.0
                isdS[j] = 1.0
        else:
            for j in range(p):
                isdS[j] = isd[j]
        # Mode B: w_j = S_jj^-1 c_j; invert each Mode B block once per replicate, column by column.
        for k in range(J):
            if mode_b[k]:
                k0 = bstart[k]
                nk = bstart[k + 1] - k0
                for col in range(nk):
                    for t in range(nk):
                        for t2 in range(nk):
                            A[t, t2] = S[k0 + t, k0 + t2]
                        b[t] = 1.0 if t == col else 0.0
                    _gauss_solve(A, b, nk)
                    for t in range(nk):
                        P[k0 + t, k0 + col] = b[t]

        # PLS iterations (pls_weights): unit start, scaled to unit composite variance.
        # The current weights are Wb[cur] with SWb[cur] = W' S (J x p, one row per
        # construct, so the innermost loops run over contiguous rows of S); new
        # weights go to the other slot.
        for j in range(p):
            v[j] = 1.0
        cur = 0
        it = 0
        converged = False
        while True:
            nxt = 1 - cur
            for k in range(J):  # normalise v per block into Wb[nxt], SWb[nxt]
                i0 = bstart[k]
                vi = v[i0]
                for h in range(p):
                    SWb[nxt, k, h] = S[i0, h] * vi
                for i in range(i0 + 1, bstart[k + 1]):
                    vi = v[i]
                    for h in range(p):
                        SWb[nxt, k, h] += S[i, h] * vi
                var = 0.0
                for h in range(bstart[k], bstart[k + 1]):
                    var += SWb[nxt, k, h] * v[h]
                scale = 1.0 / np.sqrt(var)
                for h in range(bstart[k], bstart[k + 1]):
                    Wb[nxt, h] = v[h] * scale
                for h in range(p):
                    SWb[nxt, k, h] *= scale
            change = np.inf
            if it == 0:
                for h in range(p):
                    raw[h] = Wb[nxt, h]
            elif stop == 1:
                change = 0.0
                for h in range(p):
                    d = abs(raw[h]) - abs(raw_factor * v[h])
                    change += d * d
                    raw[h] = raw_factor * v[h]
            else:
                change = 0.0
                for h in range(p):
                    d = abs(Wb[cur, h] - Wb[nxt, h])
                    if d > change:
                        change = d
            cur = nxt
            if change < tol:
                converged = True
                break
            if it == max_iter:
                break
            it += 1
            for k in range(J):  # composite correlations C = W' S W, the entries ever read
                for m in range(J):
                    if not cneed[k, m]:
                        continue
                    acc = 0.0
                    for h in range(bstart[k], bstart[k + 1]):
                        acc += Wb[cur, h] * SWb[cur, m, h]
                    C[k, m] = acc
            for j in range(J):  # inner weights (csi.core.schemes); only neighbours' are ever read
                for t in range(nstart[j], nstart[j + 1]):
                    k = nbr[t]
                    if scheme == 0:
                        E[k, j] = np.sign(C[k, j]) * (D[j, k] + D[k, j])
                    elif scheme == 1:
                        E[k, j] = C[k, j] * (D[j, k] + D[k, j])
                    else:
                        E[k, j] = C[k, j] * D[k, j]
            if scheme == 2:  # path: predecessors get the coefficients of j's regression on them
                for j in range(J):
                    p0 = pstart[j]
                    m = pstart[j + 1] - p0
                    if m == 0:
                        continue
                    # One to four predecessors: the same elimination in scalars (bit-identical, and
                    # kept in registers); more: the general loops below.
                    if m == 1:
                        k = pred[p0]
                        E[k, j] = C[k, j] / C[k, k]
                        continue
                    if m == 2:
                        k0, k1 = pred[p0], pred[p0 + 1]
                        a00, a01, b0 = C[k0, k0], C[k0, k1], C[k0, j]
                        f = C[k1, k0] * (1.0 / a00)
                        a11 = C[k1, k1] - f * a01
                        b1 = C[k1, j] - f * b0
                        x1 = b1 / a11
                        E[k1, j] = x1
                        E[k0, j] = (b0 - a01 * x1) / a00
                        continue
                    if m == 3:
                        k0, k1, k2 = pred[p0], pred[p0 + 1], pred[p0 + 2]
                        a00, a01, a02, b0 = C[k0, k0], C[k0, k1], C[k0, k2], C[k0, j]
                        inv = 1.0 / a00
                        f = C[k1, k0] * inv
                        a11 = C[k1, k1] - f * a01
                        a12 = C[k1, k2] - f * a02
                        b1 = C[k1, j] - f * b0
                        f = C[k2, k0] * inv
                        a21 = C[k2, k1] - f * a01
                        a22 = C[k2, k2] - f * a02
                        b2 = C[k2, j] - f * b0
                        f = a21 * (1.0 / a11)
                        a22 -= f * a12
                        b2 -= f * b1
                        x2 = b2 / a22
                        x1 = (b1 - a12 * x2) / a11
                        E[k2, j] = x2
                        E[k1, j] = x1
                        E[k0, j] = (b0 - a01 * x1 - a02 * x2) / a00
                        continue
                    if m == 4:
                        k0, k1, k2, k3 = pred[p0], pred[p0 + 1], pred[p0 + 2], pred[p0 + 3]
                        a00, a01, a02, a03, b0 = C[k0, k0], C[k0, k1], C[k0, k2], C[k0, k3], C[k0, j]
                        inv = 1.0 / a00
                        f = C[k1, k0] * inv
                        a11 = C[k1, k1] - f * a01
                        a12 = C[k1, k2] - f * a02
                        a13 = C[k1, k3] - f * a03
                        b1 = C[k1, j] - f * b0
                        f = C[k2, k0] * inv
                        a21 = C[k2, k1] - f * a01
                        a22 = C[k2, k2] - f * a02
                        a23 = C[k2, k3] - f * a03
                        b2 = C[k2, j] - f * b0
                        f = C[k3, k0] * inv
                        a31 = C[k3, k1] - f * a01
                        a32 = C[k3, k2] - f * a02
                        a33 = C[k3, k3] - f * a03
                        b3 = C[k3, j] - f * b0
                        inv = 1.0 / a11
                        f = a21 * inv
                        a22 -= f * a12
                        a23 -= f * a13
                        b2 -= f * b1
                        f = a31 * inv
                        a32 -= f * a12
                        a33 -= f * a13
                        b3 -= f * b1
                        f = a32 * (1.0 / a22)
                        a33 -= f * a23
                        b3 -= f * b2
                        x3 = b3 / a33
                        x2 = (b2 - a23 * x3) / a22
                        x1 = (b1 - a12 * x2 - a13 * x3) / a11
                        E[k3, j] = x3
                        E[k2, j] = x2
                        E[k1, j] = x1
                        E[k0, j] = (b0 - a01 * x1 - a02 * x2 - a03 * x3) / a00
                        continue
                    _solve_on_predecessors(C, pred, p0, m, j, A, b)
                    for t in range(m):
                        E[pred[p0 + t], j] = b[t]
            # Outer proxies v = S W E, block by block over the neighbours (ascending, as the full sum).
            for j in range(J):
                for h in range(bstart[j], bstart[j + 1]):
                    v[h] = 0.0
                for t in range(nstart[j], nstart[j + 1]):
                    k = nbr[t]
                    e = E[k, j]
                    for h in range(bstart[j], bstart[j + 1]):
                        v[h] += SWb[cur, k, h] * e
            for k in range(J):
                if mode_b[k]:
                    for h in range(bstart[k], bstart[k + 1]):
                        acc = 0.0
                        for i in range(bstart[k], bstart[k + 1]):
                            acc += P[h, i] * v[i]
                        b[h - bstart[k]] = acc
                    for h in range(bstart[k], bstart[k + 1]):
                        v[h] = b[h - bstart[k]]
        conv[r] = converged
        iters[r] = it

        # Sign of every block (sign_rule): loadings' sum, or R plspm's majority vote.
        # Changing a block's sign negates its weights and its row of W' S exactly.
        for k in range(J):
            vote = 0.0
            for h in range(bstart[k], bstart[k + 1]):
                val = SWb[cur, k, h] * isdS[h]
                vote += np.sign(val) if majority else val
            flipb[k] = -1.0 if vote < 0 else 1.0
        for k in range(J):
            for h in range(bstart[k], bstart[k + 1]):
                w[h] = Wb[cur, h] * flipb[k]
            for h in range(p):
                SW[k, h] = SWb[cur, k, h] * flipb[k]

        # Inner model (pls_inner): composite correlations, loadings, OLS paths, R², total
        # effects; a second pass after a construct-level sign change (sign_change="construct").
        for attempt in range(2):
            for k in range(J):
                for m in range(J):
                    if not cneed[k, m]:
                        continue
                    acc = 0.0
                    for h in range(bstart[k], bstart[k + 1]):
                        acc += w[h] * SW[m, h]
                    C[k, m] = acc
            for h in range(p):
                lam[h] = SW[block[h], h] * isdS[h]
            for j in range(J):
                r2[j] = 0.0
                for k in range(J):
                    Bm[j, k] = 0.0
            for j in range(J):
                p0 = pstart[j]
                m = pstart[j + 1] - p0
                if m == 0:
                    continue
                _solve_on_predecessors(C, pred, p0, m, j, A, b)
                acc = 0.0
                for t in range(m):
                    k = pred[p0 + t]
                    Bm[j, k] = b[t]
                    acc += b[t] * C[k, j]
                r2[j] = acc
            # Total effects X = (I - B)^-1 - I from X = B (I + X), row by row in topological order.
            for t in range(J):
                j = topo[t]
                for c2 in range(J):
                    total[j, c2] = 0.0
                for t2 in range(pstart[j], pstart[j + 1]):
                    k = pred[t2]
                    for c2 in range(J):
                        total[j, c2] += Bm[j, k] * (total[k, c2] + (1.0 if k == c2 else 0.0))
            if attempt == 1 or not construct_flip:
                break
            anyflip = False
            for k in range(J):
                dif = 0.0
                sm = 0.0
                for h in range(bstart[k], bstart[k + 1]):
                    dif += lam0[h] - lam[h]
                    sm += lam0[h] + lam[h]
                flipb[k] = -1.0 if abs(dif) > abs(sm) else 1.0
                anyflip = anyflip or flipb[k] < 0
            if not anyflip:
                break
            for k in range(J):
                if flipb[k] < 0:
                    for h in range(bstart[k], bstart[k + 1]):
                        w[h] = -w[h]
                    for h in range(p):
                        SW[k, h] = -SW[k, h]

        for h in range(p):
            row[q[h]] = w[h]
            row[p + q[h]] = lam[h]
        base = 2 * p
        for j in range(J):
            for k in range(J):
                row[base + j * J + k] = Bm[j, k]
                row[base + J * J + J + j * J + k] = total[j, k]
            row[base + J * J + j] = r2[j]
        base = 2 * p + 2 * J * J + J
        for k in range(J):
            if with_index:
                num = 0.0
                den = 0.0
                for h in range(bstart[k], bstart[k + 1]):
                    u = w[h] * isd[h] if scaled else w[h]
                    num += u * (mean[h] - lo[h])
                    den += u * (hi[h] - lo[h])
                row[base + k] = 100.0 * num / den
            else:
                row[base + k] = np.nan
        for c2 in range(nout):
            val = row[take[c2]]
            if minus[c2] >= 0:
                val -= row[minus[c2]]
            out[r, c2] = val


def fused_statistics(
    G: np.ndarray,
    exact: bool,
    x0: np.ndarray,
    mdl: FusedModel,
    take: np.ndarray | None = None,
    minus: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the compiled kernel on every row of the moment sums ``G``.

    Parameters
    ----------
    G
        (B, 1 + p + T) moment sums (:func:`csi.core.moments.moment_sums`),
        float64, or float32 holding exact integer sums.
    exact, x0
        Whether the sums are exact integer sums about the origin ``x0`` = 0, or
        sums about ``x0`` = the full-sample mean; ``x0`` in the model's item order.
    mdl
        :class:`FusedModel`.
    take, minus
        Optional (K,) int64 columns of the full output row to return, and for
        each a column to subtract from it (or -1); default: the full row.
    out
        Optional (B, K) float64 array to write into (C-contiguous rows).

    Returns
    -------
    out : (B, K) ndarray
        Per replicate the chosen columns of ``w | loadings | B | r2 | total |
        index`` (see :func:`output_offsets`); NaN rows for replicates with
        singular moments.
    converged, finite : (B,) bool ndarrays
    iterations : (B,) int64 ndarray
    """
    B = G.shape[0]
    p, J = x0.shape[0], mdl.bstart.shape[0] - 1
    if take is None:
        take = np.arange(output_width(p, J), dtype=np.int64)
        minus = np.full(take.shape[0], -1, dtype=np.int64)
    if out is None:
        out = np.empty((B, take.shape[0]))
    conv = np.zeros(B, dtype=np.bool_)
    finite = np.zeros(B, dtype=np.bool_)
    iters = np.zeros(B, dtype=np.int64)
    x0 = np.ascontiguousarray(np.asarray(x0, dtype=np.float64)[mdl.q])
    G = np.ascontiguousarray(G, dtype=np.float32 if G.dtype == np.float32 and exact else np.float64)
    kernel()(G, 0, B, exact, x0,
             mdl.q, mdl.bstart, mdl.block, mdl.D, mdl.pred, mdl.pstart, mdl.nbr, mdl.nstart, mdl.cneed, mdl.topo, mdl.mode_b,
             mdl.pos, mdl.scheme, mdl.scaled, mdl.tol, mdl.max_iter, mdl.stop, mdl.raw_factor, mdl.majority,
             mdl.construct_flip, mdl.lam0, mdl.with_index, mdl.lo, mdl.hi, take, minus, out, conv, finite,
             iters)  # fmt: skip
    return out, conv, finite, iters
