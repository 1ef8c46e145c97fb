"""Consistent PLS (PLSc): correction of converged PLS weights for measurement error, batched.

Dijkstra & Henseler (2015a), "Consistent partial least squares path modeling",
MIS Quarterly 39(2):297-316; Dijkstra & Henseler (2015b), "Consistent and
asymptotically normal PLS estimators for linear structural equations", CSDA
81:10-23.  Pure NumPy on moment matrices with leading batch axes, like
:mod:`csi.core.pls`, whose notation table applies; in addition:

====================  ===============  ==============================================
array                 shape            meaning
====================  ===============  ==============================================
``factor``            (J,)             True for common-factor blocks: Mode A with at
                                       least two items
``c2``                (..., J)         squared correction factor ``c_j²``
``rho_a``             (..., J)         reliability ``rho_A,j = Q_j²`` (1 for
                                       composites and single items)
``lam``               (..., p)         consistent loadings ``lambda_j = c_j w_j``
``Rc``                (..., J, J)      disattenuated construct correlations ``R~``
====================  ===============  ==============================================

``S`` must be the item *correlation* matrix and ``w`` PLS weights scaled so that
``w_j' S_jj w_j = 1`` (what :func:`csi.core.pls.pls_weights` returns).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from csi.core.pls import block_products, composite_covariance, ols_paths


class PLScResult(NamedTuple):
    """Consistent estimates computed from ``S`` and converged PLS weights."""

    rho_a: np.ndarray
    """(..., J) reliabilities rho_A (1 for composites and single items)."""
    loadings: np.ndarray
    """(..., p) consistent loadings (PLS loadings for composites and single items)."""
    cross: np.ndarray
    """(..., p, J) item-construct correlations implied by the consistent estimates."""
    R: np.ndarray
    """(..., J, J) disattenuated construct correlations ``R~``."""
    B: np.ndarray
    """(..., J, J) consistent path coefficients (OLS on ``R~``)."""
    r2: np.ndarray
    """(..., J) R² on ``R~``."""
    total: np.ndarray
    """(..., J, J) total effects ``(I - B)^-1 - I``."""
    admissible: np.ndarray
    """(...,) whether every admissibility check holds (see :func:`admissible`)."""


def factor_blocks(M: np.ndarray, mode_a: np.ndarray) -> np.ndarray:
    """(J,) True for blocks PLSc treats as common factors: Mode A with at least two items."""
    return np.asarray(mode_a, dtype=bool) & (M.sum(axis=0) >= 2)


def correction_factor(S: np.ndarray, w: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Squared correction factor of every block (Dijkstra & Henseler 2015a, eq. 11).

    ``c_j² = w_j'(S_jj - diag S_jj) w_j / w_j'(w_j w_j' - diag(w_j w_j')) w_j``.
    The numerator is ``(W'SW)_jj - sum_h w_h² S_hh`` and the denominator
    ``(w_j'w_j)² - sum_h w_h⁴``, so no block is sliced out.  NaN (0/0) for
    single-item blocks, where the factor is undefined.

    Returns
    -------
    (..., J) ndarray
    """
    R = composite_covariance(block_products(S, w, M), w, M)
    diagS = np.diagonal(S, axis1=-2, axis2=-1)
    num = np.diagonal(R, axis1=-2, axis2=-1) - (w**2 * diagS) @ M
    den = ((w**2) @ M) ** 2 - (w**4) @ M
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den


def rho_a(S: np.ndarray, w: np.ndarray, M: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Reliability rho_A of every block (Dijkstra & Henseler 2015a, eq. 12).

    ``rho_A,j = c_j² (w_j'w_j)²`` for common-factor blocks, with ``w_j``
    scaled to ``w_j' S_jj w_j = 1``; it is the squared correlation
    ``Q_j² = (w_j' lambda_j)²`` between the composite and its factor.
    Composites and single items are taken as error-free: ``rho_A = 1``.

    Returns
    -------
    (..., J) ndarray
    """
    return _rho_from_c2(correction_factor(S, w, M), w, M, factor)


def _rho_from_c2(c2: np.ndarray, w: np.ndarray, M: np.ndarray, factor: np.ndarray) -> np.ndarray:
    return np.where(factor, c2 * ((w**2) @ M) ** 2, 1.0)


def admissible(rho: np.ndarray, lam: np.ndarray, Rc: np.ndarray) -> np.ndarray:
    """Admissibility of a PLSc solution (methodology §4.2).

    All of: every quantity finite (a negative ``c_j²`` has no square root),
    ``rho_A <= 1``, ``|lambda| <= 1``, ``|R~_jk| <= 1`` off the diagonal and
    ``R~`` positive definite.  No tolerance: a boundary value counts as
    admissible.

    Returns
    -------
    (...,) bool ndarray
    """
    J = Rc.shape[-1]
    finite = np.isfinite(rho).all(-1) & np.isfinite(lam).all(-1) & np.isfinite(Rc).all((-2, -1))
    off = np.where(np.eye(J, dtype=bool), 0.0, np.nan_to_num(Rc, nan=2.0))
    with np.errstate(invalid="ignore"):
        pd_ = np.linalg.eigvalsh(np.nan_to_num(Rc, nan=0.0))[..., 0] > 0
    return (
        finite
        & (np.nan_to_num(rho, nan=2.0) <= 1).all(-1)
        & (np.abs(np.nan_to_num(lam, nan=2.0)) <= 1).all(-1)
        & (np.abs(off) <= 1).all((-2, -1))
        & pd_
    )


def plsc(
    S: np.ndarray,
    w: np.ndarray,
    M: np.ndarray,
    D: np.ndarray,
    mode_a: np.ndarray,
    loadings: np.ndarray,
    cross: np.ndarray,
    R: np.ndarray,
) -> PLScResult:
    """Consistent loadings, construct correlations and paths from a PLS solution.

    Dijkstra & Henseler (2015a), §"Consistent PLS":

    1. ``c_j`` from :func:`correction_factor`; consistent loadings
       ``lambda_j = c_j w_j`` for common-factor blocks;
    2. ``Q_j = sqrt(rho_A,j)`` (:func:`rho_a`); disattenuated correlations
       ``R~_jk = R_jk / (Q_j Q_k)``, unit diagonal;
    3. paths, R² and total effects by OLS on ``R~`` (recursive models only);
    4. implied item-construct correlations: ``lambda_h`` for an item's own
       block, ``cor(x_h, Y_k) / Q_k`` for another block k (the composite
       ``Y_k = Q_k eta_k + error`` with an error uncorrelated with items
       outside block k).

    Parameters
    ----------
    S, w, M, D
        See :mod:`csi.core.pls`; ``S`` a correlation matrix.
    mode_a
        (J,) True for Mode A blocks.
    loadings, cross, R
        The PLS loadings (..., p), cross-loadings (..., p, J) and composite
        correlations (..., J, J) from :func:`csi.core.pls.pls_inner`.

    Returns
    -------
    PLScResult
    """
    factor = factor_blocks(M, mode_a)
    block = np.argmax(M, axis=1)
    c2 = correction_factor(S, w, M)
    with np.errstate(invalid="ignore"):
        # c_j² < 0 is an inadmissible solution: NaN propagates and admissible() flags it.
        c = np.sqrt(np.where(c2 >= 0, c2, np.nan))
    rho = _rho_from_c2(c2, w, M, factor)
    lam = np.where(factor[block], c[..., block] * w, loadings)
    Q = np.sqrt(rho)
    Rc = R / (Q[..., :, None] * Q[..., None, :])
    J = R.shape[-1]
    Rc = np.where(np.eye(J, dtype=bool), 1.0, Rc)
    own = M.astype(bool)
    cross_c = np.where(own, lam[..., :, None], cross / Q[..., None, :])
    # A replicate with a NaN R~ would poison the batched solve: solve on I instead, then blank it.
    bad = ~np.isfinite(Rc).all(axis=(-2, -1))
    B, r2, total = ols_paths(np.where(bad[..., None, None], np.eye(J), Rc), D)
    B = np.where(bad[..., None, None], np.nan, B)
    r2 = np.where(bad[..., None], np.nan, r2)
    total = np.where(bad[..., None, None], np.nan, total)
    return PLScResult(
        rho_a=rho, loadings=lam, cross=cross_c, R=Rc, B=B, r2=r2, total=total, admissible=admissible(rho, lam, Rc)
    )
