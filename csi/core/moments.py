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

from typing import NamedTuple

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
    F = np.asarray(counts, dtype=np.float64)
    n, p = X.shape
    rows, cols, full = _packed_layout(p)
    R, mean = _centred_basis(X, weights)
    G = F @ R
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_s = 1.0 / G[:, :1]
        d = G[:, 1 : 1 + p] * inv_s
        packed = G[:, 1 + p :] * inv_s
    # Correct the second moments about x̄ to moments about the replicate mean,
    # in packed form (half the work of doing it on the full matrices).
    # np.take rather than fancy indexing: same result, several times faster
    # on (B, T) arrays.
    packed -= np.take(d, rows, axis=1) * np.take(d, cols, axis=1)
    covs = np.take(packed, full, axis=1).reshape(F.shape[0], p, p)
    return mean + d, covs


class MomentBasis(NamedTuple):
    """Right-hand side ``R = [w, w Z, w Q]`` of the moment GEMM, prepared once per data set.

    See :func:`moment_basis`.
    """

    R: NDArray[np.floating]
    """(n, 1 + p + T) basis; float32 or float64 (see ``exact``)."""
    exact: bool
    """True when every moment sum ``F R`` is an exact integer in ``R.dtype``."""
    origin: NDArray[np.float64]
    """(p,) point the sums are taken about: 0 when exact, else the weighted mean."""


_F32_EXACT = 2**24
_F64_EXACT = 2**53


def moment_basis(X: ArrayLike, weights: ArrayLike | None = None, n_draw: int | None = None) -> MomentBasis:
    """The fixed factor of the moment GEMM ``G = F R``, exact where the data allow it.

    Survey items are small integers.  With unit weights, ``Z = X`` (no
    centring) and the products ``Q`` of integers, every entry of ``G = F R``
    is a sum of integers bounded by ``n_draw * m`` (``m`` = the largest
    ``|R_ik|``); while that bound is below 2**24 (float32) or 2**53 (float64)
    every partial sum is exact, so ``G`` is exact whatever the summation order
    of the BLAS (so any chunking of replicates gives identical sums) and
    float32 halves the cost of the product.  Otherwise (weights, non-integer
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
    rows, cols, _ = _packed_layout(p)
    if weights is None and np.all(np.isfinite(X)) and np.array_equal(X, np.round(X)):
        m = max(1.0, float(np.max(np.abs(X), initial=0.0)) ** 2)
        # The exact covariance numerator s * C - a a' needs n_draw**2 * m below 2**53 too.
        if n_draw * n_draw * m < _F64_EXACT:
            dtype = np.float32 if n_draw * m < _F32_EXACT else np.float64
            R = np.empty((n, 1 + p + rows.size), dtype=dtype)
            R[:, 0] = 1.0
            R[:, 1 : 1 + p] = X
            R[:, 1 + p :] = np.take(X, rows, axis=1) * np.take(X, cols, axis=1)
            return MomentBasis(R, True, np.zeros(p))
    R, mean = _centred_basis(X, weights)
    return MomentBasis(R, False, mean)


def _centred_basis(
    X: NDArray[np.float64], weights: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``[w, w Z, w Q]`` about the weighted mean ``x̄`` (``Z = X - x̄``, ``Q`` its packed row products), and ``x̄``.

    Folding ``w`` into this side keeps the (B, n) counts untouched, so the
    GEMM ``F R`` is the only pass over them.
    """
    n, p = X.shape
    rows, cols, _ = _packed_layout(p)
    if weights is None:
        w = np.ones(n)
        mean = X.mean(axis=0)
    else:
        w = np.asarray(weights, dtype=np.float64)
        mean = (w @ X) / w.sum()
    Z = X - mean
    R = np.empty((n, 1 + p + rows.size))
    R[:, 0] = w
    np.multiply(Z, w[:, None], out=R[:, 1 : 1 + p])
    np.multiply(np.take(R, 1 + rows, axis=1), np.take(Z, cols, axis=1), out=R[:, 1 + p :])
    return R, mean


def moment_sums(basis: MomentBasis, counts: ArrayLike, float64: bool = True) -> NDArray[np.floating]:
    """``G = F R``: (B, 1 + p + T) weight sums, first- and packed second-moment sums of every replicate.

    Exact bases are multiplied in their own dtype (exact, see
    :func:`moment_basis`); the result is float64, or with ``float64=False``
    left in the basis's dtype (float32 sums of an exact basis are exact
    integers, so converting them later gives the same numbers).
    """
    F = np.asarray(counts, dtype=basis.R.dtype)
    G = F @ basis.R
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
