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
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

try:  # numba is a runtime dependency, but the NumPy kernels remain a complete fallback.
    from numba import njit
except ImportError:  # pragma: no cover - exercised only where numba is missing
    njit = None

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
    """Whether numba is importable (else callers use the NumPy kernels)."""
    return njit is not None


def _solve(A: np.ndarray, b: np.ndarray, m: int) -> None:  # pragma: no cover - compiled
    """Solve ``A x = b`` in place (``b`` becomes ``x``; ``A`` is overwritten).

    Gaussian elimination without pivoting on the leading m x m block.  Every
    system here has a symmetric positive definite matrix (a correlation matrix
    of predecessors, a Mode B block of ``S``, or ``I - B`` of a recursive model
    in topological order), for which elimination without pivoting is stable
    (Golub & Van Loan 2013, §4.2); the systems are small, where a LAPACK call
    would cost more in setup than the arithmetic.
    """
    if m == 1:
        b[0] = b[0] / A[0, 0]
        return
    for k in range(m):
        inv = 1.0 / A[k, k]
        for i in range(k + 1, m):
            f = A[i, k] * inv
            for c in range(k + 1, m):
                A[i, c] -= f * A[k, c]
            b[i] -= f * b[k]
    for k in range(m - 1, -1, -1):
        acc = b[k]
        for c in range(k + 1, m):
            acc -= A[k, c] * b[c]
        b[k] = acc / A[k, k]


def _normalise(S, v, w, SW, bstart):  # pragma: no cover - compiled
    """``w = v`` scaled to unit composite variance per block; ``SW = W' S`` (J x p) for that ``w``.

    Items are in block order, so block k is the range ``bstart[k] .. bstart[k + 1] - 1``.
    ``SW`` is stored construct by construct (row k = ``w_k' S_k.``) so that the
    innermost loop runs over a contiguous row of ``S`` and vectorises; each
    entry is still the sum over the block's items in ascending order.
    """
    p = S.shape[0]
    J = bstart.shape[0] - 1
    for k in range(J):
        for h in range(p):
            SW[k, h] = 0.0
        for i in range(bstart[k], bstart[k + 1]):
            vi = v[i]
            for h in range(p):
                SW[k, h] += S[i, h] * vi
        var = 0.0
        for h in range(bstart[k], bstart[k + 1]):
            var += SW[k, h] * v[h]
        scale = 1.0 / np.sqrt(var)
        for h in range(bstart[k], bstart[k + 1]):
            w[h] = v[h] * scale
        for h in range(p):
            SW[k, h] *= scale


def _composite(SW, w, C, bstart):  # pragma: no cover - compiled
    """``C = W' S W`` from ``W' S``."""
    J = bstart.shape[0] - 1
    for k in range(J):
        for m in range(J):
            acc = 0.0
            for h in range(bstart[k], bstart[k + 1]):
                acc += w[h] * SW[m, h]
            C[k, m] = acc


def _regress(R, pred, pstart, j, A, b):  # pragma: no cover - compiled
    """``b[:m] = R_PP^-1 R_Pj`` for the m predecessors P = ``pred[pstart[j]:pstart[j + 1]]`` of j; returns m."""
    p0 = pstart[j]
    m = pstart[j + 1] - p0
    for t in range(m):
        k = pred[p0 + t]
        for t2 in range(m):
            A[t, t2] = R[k, pred[p0 + t2]]
        b[t] = R[k, j]
    if m > 0:
        _solve(A, b, m)
    return m


def _ols(R, pred, pstart, topo, Bm, r2, total, A, b):  # pragma: no cover - compiled
    """OLS paths, R² and total effects ``(I - B)^-1 - I`` from construct correlations.

    Each construct is regressed on its predecessors by :func:`_solve`'s
    elimination, written out here: a call per regression costs more than the
    arithmetic (numba passes arrays with reference counting).  The model is
    recursive, so ``X = (I - B)^-1`` follows from ``X = I + B X`` row by row in
    topological order (``topo``), without a general inverse.
    """
    J = R.shape[0]
    for j in range(J):
        r2[j] = 0.0
        for k in range(J):
            Bm[j, k] = 0.0
    for j in range(J):
        p0 = pstart[j]
        m = pstart[j + 1] - p0
        if m == 0:
            continue
        for t in range(m):
            k = pred[p0 + t]
            for t2 in range(m):
                A[t, t2] = R[k, pred[p0 + t2]]
            b[t] = R[k, j]
        for kk in range(m):  # _solve, inline
            inv = 1.0 / A[kk, kk]
            for i in range(kk + 1, m):
                f = A[i, kk] * inv
                for c in range(kk + 1, m):
                    A[i, c] -= f * A[kk, c]
                b[i] -= f * b[kk]
        for kk in range(m - 1, -1, -1):
            acc = b[kk]
            for c in range(kk + 1, m):
                acc -= A[kk, c] * b[c]
            b[kk] = acc / A[kk, kk]
        acc = 0.0
        for t in range(m):
            k = pred[p0 + t]
            Bm[j, k] = b[t]
            acc += b[t] * R[k, j]
        r2[j] = acc
    for t in range(J):
        j = topo[t]
        for c in range(J):
            total[j, c] = 0.0
        for t2 in range(pstart[j], pstart[j + 1]):
            k = pred[t2]
            for c in range(J):
                total[j, c] += Bm[j, k] * (total[k, c] + (1.0 if k == c else 0.0))


def _inner_weights(C, D, pred, pstart, nbr, nstart, scheme, E, A, b):  # pragma: no cover - compiled
    """Inner weights ``E`` of a scheme (see :mod:`csi.core.schemes`).

    Only the entries ``E[k, j]`` of neighbours k of j (``nbr[nstart[j]:nstart[j + 1]]``)
    are set; every other inner weight is zero and never read.
    """
    J = C.shape[0]
    for j in range(J):
        for t in range(nstart[j], nstart[j + 1]):
            k = nbr[t]
            if scheme == 0:
                E[k, j] = np.sign(C[k, j]) * (D[j, k] + D[k, j])
            elif scheme == 1:
                E[k, j] = C[k, j] * (D[j, k] + D[k, j])
            else:
                E[k, j] = C[k, j] * D[k, j]
    if scheme == 2:
        for j in range(J):
            m = _regress(C, pred, pstart, j, A, b)
            for t in range(m):
                E[pred[pstart[j] + t], j] = b[t]


def _inner_model(SW, w, isdS, R, lam, Bm, r2, total, A, b, bstart, block, pred, pstart, topo):  # pragma: no cover
    """Composite correlations, loadings and paths of the weights ``w`` (:func:`csi.core.pls.pls_inner`).

    ``SW`` must be ``W' S`` for these weights.
    """
    p = w.shape[0]
    _composite(SW, w, R, bstart)
    for h in range(p):
        lam[h] = SW[block[h], h] * isdS[h]
    _ols(R, pred, pstart, topo, Bm, r2, total, A, b)


def _flip(SW, w, flipb, bstart):  # pragma: no cover - compiled
    """Change the sign of the blocks with ``flipb[k] < 0`` in ``w`` and ``SW`` (exact)."""
    J = bstart.shape[0] - 1
    p = w.shape[0]
    for k in range(J):
        if flipb[k] < 0:
            for h in range(bstart[k], bstart[k + 1]):
                w[h] = -w[h]
            for h in range(p):
                SW[k, h] = -SW[k, h]


def _replicates(G, lo_b, hi_b, exact, x0, q, bstart, block, D, pred, pstart, nbr, nstart, topo, mode_b, pos, scheme,
                scaled, tol, max_iter, stop, raw_factor, majority, construct_flip, lam0, with_index, lo, hi, out, conv,
                finite, iters):  # pragma: no cover - compiled  # fmt: skip
    """Statistics of replicates ``lo_b .. hi_b - 1`` of ``G`` into rows of ``out``.

    Works in block order: position h is item ``q[h]``; ``pos``, ``x0``,
    ``lam0``, ``lo`` and ``hi`` are given in that order, and outputs are
    written back in the model's item order.
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
    nb = out.shape[1]
    T0 = 1 + p
    for r in range(lo_b, hi_b):
        s = G[r, 0]
        ok = s > 0
        inv_s = 1.0 / s
        inv_s2 = 1.0 / (s * s)
        for j in range(p):
            a[j] = G[r, 1 + q[j]]
            mean[j] = x0[j] + a[j] * inv_s
        # Variances first (divisor s); the exact numerator s C - a a' is an integer here.
        for j in range(p):
            c = G[r, T0 + pos[j, j]]
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
            for k in range(nb):
                out[r, k] = np.nan
            conv[r] = False
            finite[r] = False
            iters[r] = 0
            continue
        finite[r] = True
        for j in range(p):
            for m in range(j + 1, p):
                c = G[r, T0 + pos[j, m]]
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
        # Mode B: w_j = S_jj^-1 c_j; invert each Mode B block once per replicate.
        for k in range(J):
            if mode_b[k]:
                k0 = bstart[k]
                nk = bstart[k + 1] - k0
                for col in range(nk):
                    for t in range(nk):
                        for t2 in range(nk):
                            A[t, t2] = S[k0 + t, k0 + t2]
                        b[t] = 1.0 if t == col else 0.0
                    _solve(A, b, nk)
                    for t in range(nk):
                        P[k0 + t, k0 + col] = b[t]

        # PLS iterations (pls_weights): unit start, scaled to unit composite variance.
        # The steps are written out here rather than called (as _normalise,
        # _composite, _inner_weights): numba passes arrays to a call with
        # reference counting, which costs more than these small loops.  The
        # current weights are Wb[cur] with SWb[cur] = W' S; the new ones go to
        # the other slot, so no arrays are swapped.
        for j in range(p):
            v[j] = 1.0
        cur = 0
        it = 0
        converged = False
        while True:
            nxt = 1 - cur
            for k in range(J):  # _normalise(S, v, Wb[nxt], SWb[nxt], bstart)
                for h in range(p):
                    SWb[nxt, k, h] = 0.0
                for i in range(bstart[k], bstart[k + 1]):
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
            for k in range(J):  # _composite: C = W' S W
                for m in range(J):
                    acc = 0.0
                    for h in range(bstart[k], bstart[k + 1]):
                        acc += Wb[cur, h] * SWb[cur, m, h]
                    C[k, m] = acc
            for j in range(J):  # _inner_weights, neighbours only
                for t in range(nstart[j], nstart[j + 1]):
                    k = nbr[t]
                    if scheme == 0:
                        E[k, j] = np.sign(C[k, j]) * (D[j, k] + D[k, j])
                    elif scheme == 1:
                        E[k, j] = C[k, j] * (D[j, k] + D[k, j])
                    else:
                        E[k, j] = C[k, j] * D[k, j]
            if scheme == 2:  # path: predecessors get their regression coefficients (_regress, _solve)
                for j in range(J):
                    p0 = pstart[j]
                    m = pstart[j + 1] - p0
                    if m == 0:
                        continue
                    for t in range(m):
                        k = pred[p0 + t]
                        for t2 in range(m):
                            A[t, t2] = C[k, pred[p0 + t2]]
                        b[t] = C[k, j]
                    for kk in range(m):
                        inv = 1.0 / A[kk, kk]
                        for i in range(kk + 1, m):
                            f = A[i, kk] * inv
                            for c in range(kk + 1, m):
                                A[i, c] -= f * A[kk, c]
                            b[i] -= f * b[kk]
                    for kk in range(m - 1, -1, -1):
                        acc = b[kk]
                        for c in range(kk + 1, m):
                            acc -= A[kk, c] * b[c]
                        b[kk] = acc / A[kk, kk]
                    for t in range(m):
                        E[pred[p0 + t], j] = b[t]
            # Outer proxy v = S W E, block by block over the neighbours (ascending, as the full sum).
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
        for h in range(p):
            w[h] = Wb[cur, h]
        for k in range(J):
            for h in range(p):
                SW[k, h] = SWb[cur, k, h]
        conv[r] = converged
        iters[r] = it

        # Sign of every block (sign_rule): loadings' sum, or R plspm's majority vote.
        for k in range(J):
            vote = 0.0
            for h in range(bstart[k], bstart[k + 1]):
                val = SW[k, h] * isdS[h]
                vote += np.sign(val) if majority else val
            flipb[k] = -1.0 if vote < 0 else 1.0
        _flip(SW, w, flipb, bstart)

        _inner_model(SW, w, isdS, C, lam, Bm, r2, total, A, b, bstart, block, pred, pstart, topo)
        if construct_flip:
            anyflip = False
            for k in range(J):
                dif = 0.0
                sm = 0.0
                for h in range(bstart[k], bstart[k + 1]):
                    dif += lam0[h] - lam[h]
                    sm += lam0[h] + lam[h]
                flipb[k] = -1.0 if abs(dif) > abs(sm) else 1.0
                anyflip = anyflip or flipb[k] < 0
            if anyflip:
                _flip(SW, w, flipb, bstart)
                _inner_model(SW, w, isdS, C, lam, Bm, r2, total, A, b, bstart, block, pred, pstart, topo)

        for h in range(p):
            out[r, q[h]] = w[h]
            out[r, p + q[h]] = lam[h]
        base = 2 * p
        for j in range(J):
            for k in range(J):
                out[r, base + j * J + k] = Bm[j, k]
                out[r, base + J * J + J + j * J + k] = total[j, k]
            out[r, base + J * J + j] = r2[j]
        base = 2 * p + 2 * J * J + J
        for k in range(J):
            if with_index:
                num = 0.0
                den = 0.0
                for h in range(bstart[k], bstart[k + 1]):
                    u = w[h] * isd[h] if scaled else w[h]
                    num += u * (mean[h] - lo[h])
                    den += u * (hi[h] - lo[h])
                out[r, base + k] = 100.0 * num / den
            else:
                out[r, base + k] = np.nan


if njit is not None:
    _solve = njit(cache=True, nogil=True, error_model="numpy")(_solve)
    _normalise = njit(cache=True, nogil=True, error_model="numpy")(_normalise)
    _composite = njit(cache=True, nogil=True, error_model="numpy")(_composite)
    _regress = njit(cache=True, nogil=True, error_model="numpy")(_regress)
    _ols = njit(cache=True, nogil=True, error_model="numpy")(_ols)
    _inner_weights = njit(cache=True, nogil=True, error_model="numpy")(_inner_weights)
    _inner_model = njit(cache=True, nogil=True, error_model="numpy")(_inner_model)
    _flip = njit(cache=True, nogil=True, error_model="numpy")(_flip)
    _replicates = njit(cache=True, nogil=True, error_model="numpy")(_replicates)


def fused_statistics(
    G: np.ndarray, exact: bool, x0: np.ndarray, mdl: FusedModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the compiled kernel on every row of the moment sums ``G``.

    Parameters
    ----------
    G
        (B, 1 + p + T) moment sums (:func:`csi.core.moments.moment_sums`).
    exact, x0
        Whether the sums are exact integer sums about the origin ``x0`` = 0, or
        sums about ``x0`` = the full-sample mean; ``x0`` in the model's item order.
    mdl
        :class:`FusedModel`.

    Returns
    -------
    out : (B, K) ndarray
        Per replicate ``w | loadings | B | r2 | total | index`` (see
        :func:`output_offsets`); NaN rows for replicates with singular moments.
    converged, finite : (B,) bool ndarrays
    iterations : (B,) int64 ndarray
    """
    if njit is None:  # pragma: no cover
        raise RuntimeError("numba is not installed")
    B = G.shape[0]
    p, J = x0.shape[0], mdl.bstart.shape[0] - 1
    out = np.empty((B, output_width(p, J)))
    conv = np.zeros(B, dtype=np.bool_)
    finite = np.zeros(B, dtype=np.bool_)
    iters = np.zeros(B, dtype=np.int64)
    x0 = np.ascontiguousarray(np.asarray(x0, dtype=np.float64)[mdl.q])
    _replicates(np.ascontiguousarray(G, dtype=np.float64), 0, B, exact, x0,
                mdl.q, mdl.bstart, mdl.block, mdl.D, mdl.pred, mdl.pstart, mdl.nbr, mdl.nstart, mdl.topo, mdl.mode_b, mdl.pos, mdl.scheme, mdl.scaled, mdl.tol,
                mdl.max_iter, mdl.stop, mdl.raw_factor, mdl.majority, mdl.construct_flip, mdl.lam0, mdl.with_index,
                mdl.lo, mdl.hi, out, conv, finite, iters)  # fmt: skip
    return out, conv, finite, iters
