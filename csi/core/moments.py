"""Weighted first and second moments, for one sample or a batch of resamples.

PLS path modelling works on the indicator covariance (or correlation) matrix
``S`` alone (architecture principle 3), so a bootstrap replicate costs one
moment matrix plus a few small batched products.  This module computes those
moment matrices.  It is pure NumPy: no pandas, no names, no randomness, no
input validation (callers validate at the edge, principle 2).

Notation (shapes in brackets)
-----------------------------
``n``  respondents, ``p`` items, ``B`` replicates, ``T = p (p + 1) / 2`` packed
upper-triangle entries.

``X`` (n, p)
    Item data, one row per respondent.
``w`` (n,)
    Respondent (survey) weights; unit weights when ``None``.
``F`` (B, n)
    Draw frequencies: ``F[b, i]`` is how often row ``i`` is drawn in
    replicate ``b`` (Efron & Tibshirani 1993, section 6.2, "resampling
    vector"; Davison & Hinkley 1997, section 2.4, frequency array ``f*``).
``x̄`` (p,)
    Full-sample weighted mean; ``Z = X - x̄`` is the centred data.
``Q`` (n, T)
    Row-wise products ``Q[i, k] = Z[i, j_k] Z[i, l_k]`` over the upper
    triangle ``j_k <= l_k``.

Moment conventions
------------------
Means and covariances use the divisor ``sum(weights)`` (``N`` for unit
weights): the population convention of R plspm, which standardises with
divisor ``N``.  A replicate's weight for row ``i`` is ``F[b, i] * w[i]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

_COUNT_SLAB = 256
"""Replicates per bincount call in :func:`counts_from_indices` (speed only)."""

__all__ = [
    "MomentBasis",
    "counts_from_indices",
    "cov_to_corr",
    "moment_basis",
    "moment_sums",
    "moments",
    "resample_moments",
]


def moments(X: ArrayLike, weights: ArrayLike | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted mean and covariance with divisor ``sum(weights)``.

    Parameters
    ----------
    X : array_like, shape (..., n, p)
        Data; leading axes are batch axes.
    weights : array_like, shape (..., n), optional
        Non-negative respondent weights (not validated).  ``None`` means unit
        weights, i.e. divisor ``n`` (population covariance, as R plspm).

    Returns
    -------
    mean : ndarray, shape (..., p)
        ``x̄ = Σ_i w_i x_i / Σ_i w_i``.
    cov : ndarray, shape (..., p, p)
        ``S = Σ_i w_i (x_i - x̄)(x_i - x̄)ᵀ / Σ_i w_i``, computed by two passes
        (centre first) for numerical stability.

    Notes
    -----
    The weighted moment formulas are the plug-in (empirical distribution)
    estimates of Efron & Tibshirani (1993, section 4.3) with probability mass
    ``w_i / Σ w`` on row ``i``.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 2 and X.shape[0] > row_chunk(X.shape[1]):
        return _streamed_moments(X, weights)
    if weights is None:
        mean = X.mean(axis=-2)
        Z = X - mean[..., None, :]
        cov = np.matmul(np.swapaxes(Z, -1, -2), Z) / X.shape[-2]
        return mean, cov
    w = np.asarray(weights, dtype=np.float64)
    total = w.sum(axis=-1)
    mean = np.matmul(w[..., None, :], X)[..., 0, :] / total[..., None]
    Z = X - mean[..., None, :]
    cov = np.matmul(np.swapaxes(Z * w[..., :, None], -1, -2), Z) / total[..., None, None]
    return mean, cov


ROW_CHUNK_BYTES = 2**25
"""Bytes of float64 per chunk of rows of a temporary (centred data, moment basis): 32 MiB.

Moments of long data are sums over fixed chunks of rows, so memory beyond the
data is a few chunks whatever ``n``.  Rows per chunk depend only on the number
of columns (:func:`row_chunk`), never on options such as ``chunk_size`` or
``n_jobs``, so results do not depend on those; data of at most one chunk of
rows (every survey of ordinary size) are summed exactly as before chunking
existed, and integer moment sums (:func:`moment_basis`) are exact whatever the
chunking."""


def row_chunk(width: int) -> int:
    """Rows per chunk of a temporary of ``width`` float64 columns: a power of two, at least 1024.

    See :data:`ROW_CHUNK_BYTES`.
    """
    rows = max(1, ROW_CHUNK_BYTES // (8 * max(width, 1)))
    return max(1024, 1 << (rows.bit_length() - 1))


def _streamed_moments(
    X: NDArray[np.float64], weights: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`moments` of a long (n, p) matrix, summed over chunks of rows (no (n, p) temporary)."""
    n, p = X.shape
    step = row_chunk(p)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    # Column reductions allocate no (n, p) temporary.
    total = float(n) if w is None else float(w.sum())
    mean = X.mean(axis=0) if w is None else (w @ X) / total
    cross = np.zeros((p, p))
    for a in range(0, n, step):
        Z = X[a : a + step] - mean
        cross += (Z.T @ Z) if w is None else (Z * w[a : a + step, None]).T @ Z
    return mean, cross / total


def standardised_product(
    X: NDArray[np.float64], centre: NDArray[np.float64], scale: NDArray[np.float64] | float, W: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``((X - centre) / scale) @ W`` (e.g. construct scores), a chunk of rows at a time for long data.

    Rows of at most one chunk (:func:`row_chunk`) are computed in one
    expression, as before chunking existed; longer data need no (n, p)
    temporaries.
    """
    n, p = X.shape
    step = row_chunk(p)
    if n <= step:
        return ((X - centre) / scale) @ W
    out = np.empty((n, W.shape[1]))
    for a in range(0, n, step):
        out[a : a + step] = ((X[a : a + step] - centre) / scale) @ W
    return out


def _packed_layout(p: int) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Upper-triangle index pairs and the map from (j, l) to the packed position.

    Returns ``(rows, cols, full)`` where ``rows[k] <= cols[k]`` enumerate the
    ``T`` packed entries and ``full`` (p * p,) gives, for entry ``j * p + l`` of
    the full matrix, its packed position; so ``packed[..., full]`` unpacks to a
    symmetric matrix in one gather.
    """
    rows, cols = np.triu_indices(p)
    pos = np.empty((p, p), dtype=np.intp)
    pos[rows, cols] = np.arange(rows.size)
    pos[cols, rows] = pos[rows, cols]
    return rows, cols, pos.ravel()


def resample_moments(
    X: ArrayLike, counts: ArrayLike, weights: ArrayLike | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted mean and covariance of every bootstrap replicate, via one GEMM.

    Replicate ``b`` gives row ``i`` the weight ``v_bi = F[b, i] * w[i]`` and has
    total ``s_b = Σ_i v_bi``.  With the centred data ``Z = X - x̄`` and its
    row-wise products ``Q`` (see the module notes), the single matrix product

    ``G = F @ [w, w Z, w Q]``   shape (B, 1 + p + T)

    holds ``s_b``, the first moments ``Σ_i v_bi z_i`` and the packed second
    moments ``C_b = Σ_i v_bi z_i z_iᵀ`` of every replicate.  Then

    ``d_b = Σ_i v_bi z_i / s_b``  (replicate mean minus full-sample mean),
    ``mean_b = x̄ + d_b``,
    ``cov_b = C_b / s_b - d_b d_bᵀ``.

    Centring on ``x̄`` first keeps the subtraction in the last line small
    (the classical one-pass formula ``E[xxᵀ] - E[x]E[x]ᵀ`` loses digits when
    means are large relative to spreads, e.g. 0-10 scales).

    Parameters
    ----------
    X : array_like, shape (n, p)
        Data (full sample).
    counts : array_like, shape (B, n)
        Draw frequencies ``F`` (integer or float).  Any non-negative values are
        accepted, so fractional (Bayesian/weighted) bootstraps and the
        jackknife (:func:`csi.resample.plans.jackknife_counts`) use the same
        path.  A replicate with ``s_b = 0`` yields NaN moments.
    weights : array_like, shape (n,), optional
        Respondent weights ``w``; unit weights when ``None``.

    Returns
    -------
    means : ndarray, shape (B, p)
    covs : ndarray, shape (B, p, p)
        Divisor ``s_b`` (population convention); exactly symmetric.  Equal to
        ``moments(X[idx_b], w[idx_b])`` for a replicate drawn as row indices
        ``idx_b`` (up to rounding, about 1e-15 relative).

    Notes
    -----
    The resampling-vector representation of a bootstrap replicate is from
    Efron & Tibshirani (1993, section 6.2) and Davison & Hinkley (1997,
    section 2.4).  About 95 % of the work is the GEMM; memory is
    ``8 B (1 + p + T + p²)`` bytes, so callers bound it by passing counts in
    chunks of replicates.
    """
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    rows, cols, full = _packed_layout(p)
    basis = _basis(X, weights, False, np.float64)
    G = moment_sums(basis, counts)
    mean = basis.origin
    F_rows = G.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_s = 1.0 / G[:, :1]
        d = G[:, 1 : 1 + p] * inv_s
        packed = G[:, 1 + p :] * inv_s
    # Correct the second moments about x̄ to moments about the replicate mean,
    # in packed form (half the work of doing it on the full matrices).
    # np.take rather than fancy indexing: same result, several times faster
    # on (B, T) arrays.
    packed -= np.take(d, rows, axis=1) * np.take(d, cols, axis=1)
    covs = np.take(packed, full, axis=1).reshape(F_rows, p, p)
    return mean + d, covs


@dataclass(frozen=True, eq=False)
class MomentBasis:
    """Right-hand side ``R = [w, w Z, w Q]`` of the moment GEMM ``G = F R``, defined once per data set.

    The (n, 1 + p + T) matrix is never held whole: :func:`moment_sums` builds
    it a chunk of rows at a time (:meth:`rows`), so memory stays at the data
    plus one chunk.  See :func:`moment_basis`.
    """

    X: NDArray[np.float64] = field(repr=False)
    """(n, p) data."""
    weights: NDArray[np.float64] | None = field(repr=False)
    """(n,) respondent weights, or None for unit weights."""
    exact: bool
    """True when every moment sum ``F R`` is an exact integer in :attr:`dtype`."""
    origin: NDArray[np.float64]
    """(p,) point the sums are taken about: 0 when exact, else the weighted mean."""
    dtype: type
    """float32 or float64: the type the product is taken in."""

    @property
    def width(self) -> int:
        """Columns ``1 + p + T`` of the basis."""
        p = self.X.shape[1]
        return 1 + p + p * (p + 1) // 2

    def rows(self, start: int, stop: int) -> NDArray[np.floating]:
        """Rows ``[start, stop)`` of ``R``, in :attr:`dtype`."""
        X = self.X[start:stop]
        p = X.shape[1]
        rows, cols, _ = _packed_layout(p)
        R = np.empty((X.shape[0], self.width), dtype=self.dtype)
        if self.exact:
            R[:, 0] = 1.0
            R[:, 1 : 1 + p] = X
            R[:, 1 + p :] = np.take(X, rows, axis=1) * np.take(X, cols, axis=1)
            return R
        w = np.ones(X.shape[0]) if self.weights is None else self.weights[start:stop]
        Z = X - self.origin
        R[:, 0] = w
        np.multiply(Z, w[:, None], out=R[:, 1 : 1 + p])
        np.multiply(np.take(R, 1 + rows, axis=1), np.take(Z, cols, axis=1), out=R[:, 1 + p :])
        return R

    @property
    def R(self) -> NDArray[np.floating]:
        """The whole (n, 1 + p + T) basis (for checks on small data; the product never builds it)."""
        return self.rows(0, self.X.shape[0])


_F32_EXACT = 2**24
_F64_EXACT = 2**53


def moment_basis(X: ArrayLike, weights: ArrayLike | None = None, n_draw: int | None = None) -> MomentBasis:
    """The fixed factor of the moment GEMM ``G = F R``, exact where the data allow it.

    Survey items are small integers.  With unit weights, ``Z = X`` (no
    centring) and the products ``Q`` of integers, every entry of ``G = F R``
    is a sum of integers bounded by ``n_draw * m`` (``m`` = the largest
    ``|R_ik|``); while that bound is below 2**24 (float32) or 2**53 (float64)
    every partial sum is exact, so ``G`` is exact whatever the summation order
    of the BLAS (so any chunking of replicates or of rows gives identical sums)
    and float32 halves the cost of the product.  Otherwise (weights, non-integer
    items, huge sums) the sums are taken in float64 about the weighted mean, as
    in :func:`resample_moments`.

    Parameters
    ----------
    X : array_like, shape (n, p)
    weights : array_like, shape (n,), optional
    n_draw : int, optional
        Rows drawn per replicate (the row sums of ``F``); default ``n``.

    Returns
    -------
    MomentBasis
    """
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    n_draw = n if n_draw is None else int(n_draw)
    # Column reductions rather than np.round(X) == X: no (n, p) temporary.
    if weights is None and X.size and np.isfinite(X.min()) and np.isfinite(X.max()) and _whole(X):
        m = max(1.0, max(-float(X.min()), float(X.max())) ** 2)
        # The exact covariance numerator s * C - a a' needs n_draw**2 * m below 2**53 too.
        if n_draw * n_draw * m < _F64_EXACT:
            return _basis(X, None, True, np.float32 if n_draw * m < _F32_EXACT else np.float64)
    return _basis(X, weights, False, np.float64)


def _whole(X: NDArray[np.float64]) -> bool:
    """Whether every entry of X is a whole number, checked a chunk of rows at a time."""
    step = row_chunk(X.shape[1])
    return all(np.array_equal(c, np.round(c)) for c in (X[a : a + step] for a in range(0, X.shape[0], step)))


def _basis(X: NDArray[np.float64], weights: ArrayLike | None, exact: bool, dtype: type) -> MomentBasis:
    """A :class:`MomentBasis`; inexact bases are centred on the weighted mean ``x̄`` (Z = X - x̄)."""
    p = X.shape[1]
    if exact:
        return MomentBasis(X, None, True, np.zeros(p), dtype)
    # Folding w into this side keeps the (B, n) counts untouched, so the GEMM F R is the only pass over them.
    if weights is None:
        return MomentBasis(X, None, False, X.mean(axis=0), dtype)
    w = np.asarray(weights, dtype=np.float64)
    return MomentBasis(X, w, False, (w @ X) / w.sum(), dtype)


def moment_sums(basis: MomentBasis, counts: ArrayLike, float64: bool = True) -> NDArray[np.floating]:
    """``G = F R``: (B, 1 + p + T) weight sums, first- and packed second-moment sums of every replicate.

    The product is summed over fixed chunks of rows (:func:`row_chunk`), the
    basis built one chunk at a time, so memory is the counts plus one chunk;
    counts may come in any numeric dtype (e.g. the compact integer counts of
    :func:`csi.resample.stream.block_counts`) and are converted a chunk at a
    time.  Exact bases are multiplied in their own dtype (exact, see
    :func:`moment_basis`); the result is float64, or with ``float64=False``
    left in the basis's dtype (float32 sums of an exact basis are exact
    integers, so converting them later gives the same numbers).
    """
    F = np.asarray(counts)
    n = basis.X.shape[0]
    step = row_chunk(basis.width)
    if n <= step:
        G = F.astype(basis.dtype, copy=False) @ basis.rows(0, n)
    else:
        G = np.zeros((F.shape[0], basis.width), dtype=basis.dtype)
        for a in range(0, n, step):
            G += F[:, a : a + step].astype(basis.dtype) @ basis.rows(a, a + step)
    return G if G.dtype == np.float64 or not float64 else G.astype(np.float64)


def cov_to_corr(covs: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Correlation matrices and standard deviations of a batch of covariances.

    Parameters
    ----------
    covs : array_like, shape (..., p, p)

    Returns
    -------
    corr : ndarray, shape (..., p, p)
        ``R = D⁻¹ S D⁻¹`` with ``D = diag(sd)``; the diagonal is set to exactly 1.
        Rows/columns of a zero-variance item are NaN (a replicate in which an
        item is constant has no correlation matrix; the caller counts it as a
        failed replicate rather than dividing by zero silently).
    sd : ndarray, shape (..., p)
        ``sqrt(diag(S))`` (divisor as in ``covs``).
    """
    S = np.asarray(covs, dtype=np.float64)
    var = np.diagonal(S, axis1=-2, axis2=-1)
    sd = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(sd > 0, 1.0 / sd, np.nan)
    corr = S * inv[..., :, None] * inv[..., None, :]
    k = np.arange(S.shape[-1])
    corr[..., k, k] = np.where(sd > 0, 1.0, np.nan)
    return corr, sd


def counts_from_indices(indices: ArrayLike, n: int, dtype: type = np.float64) -> NDArray[np.floating]:
    """Draw frequencies from a matrix of drawn row indices.

    Parameters
    ----------
    indices : array_like of int, shape (B, n_draw)
        0-based row indices, each in ``[0, n)`` (not validated here; the
        resampling plans validate user-given indices).
    n : int
        Number of rows in the data.
    dtype : float64 or float32
        Of the result (counts up to 2**24 are exact in float32).

    Returns
    -------
    counts : ndarray of float64, shape (B, n)
        ``counts[b, i] = #{k : indices[b, k] == i}``; float because it feeds the
        moment GEMM directly (integers up to 2**53 are exact).
    """
    idx = np.asarray(indices)
    B = idx.shape[0]
    counts = np.empty((B, n), dtype=dtype)
    # One bincount over offset indices (row b's draws shifted by b * n) counts
    # many replicates at once, without np.add.at's slow path.  Working in
    # slabs of _COUNT_SLAB replicates keeps the integer histogram in cache
    # (about 2.5x faster than one bincount over all B rows at B = 5000).
    offsets = np.arange(min(B, _COUNT_SLAB), dtype=np.intp)[:, None] * n
    for s in range(0, B, _COUNT_SLAB):
        slab = idx[s : s + _COUNT_SLAB]
        k = slab.shape[0]
        flat = (slab + offsets[:k]).ravel()
        counts[s : s + k] = np.bincount(flat, minlength=k * n).reshape(k, n)
    return counts
