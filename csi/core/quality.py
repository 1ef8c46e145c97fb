"""Quality criteria of a fitted path model, batched (methodology §4.6).

Pure NumPy on moment matrices with leading batch axes (so bootstrap
replicates can reuse them); notation of :mod:`csi.core.pls`.  ``S`` is always
the item *correlation* matrix here.
"""

from __future__ import annotations

import numpy as np

from csi.core.pls import block_products


def ave(lam: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Average variance extracted (Fornell & Larcker 1981, JMR 18(1):39-50).

    ``AVE_j = mean_{h in j} lambda_h²`` for standardised loadings ``lam``
    (..., p).  Returns (..., J).
    """
    return (lam**2 @ M) / M.sum(axis=0)


def rho_c(lam: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Composite reliability of every block (Jöreskog 1971; Werts, Linn & Jöreskog 1974).

    ``rho_C,j = (sum lambda)² / ((sum lambda)² + sum (1 - lambda²))`` over the
    items of block j.  Returns (..., J).
    """
    s2 = (lam @ M) ** 2
    return s2 / (s2 + (1.0 - lam**2) @ M)


def htmt(S: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Heterotrait-monotrait ratio of correlations (Henseler, Ringle & Sarstedt 2015, JAMS 43(1):115-135).

    ``HTMT_jk = mean_{h in j, l in k} |r_hl| /
    sqrt(mean_{h<l in j} |r_hl| * mean_{h<l in k} |r_hl|)``, on the absolute
    item correlations.  NaN on the diagonal and for single-item blocks (no
    monotrait-heteromethod correlation).  Returns (..., J, J).
    """
    A = np.abs(S)
    n = M.sum(axis=0)
    total = np.swapaxes(M, 0, 1) @ A @ M  # sums of |r| over every pair of blocks
    # M'AM is symmetric in exact arithmetic only; BLAS may round the two triangles differently.
    total = 0.5 * (total + np.swapaxes(total, -1, -2))
    hetero = total / np.outer(n, n)
    own = np.diagonal(A, axis1=-2, axis2=-1) @ M
    with np.errstate(divide="ignore", invalid="ignore"):
        mono = (np.diagonal(total, axis1=-2, axis2=-1) - own) / (n * (n - 1))
        out = hetero / np.sqrt(mono[..., :, None] * mono[..., None, :])
    J = M.shape[1]
    return np.where(np.eye(J, dtype=bool), np.nan, out)


def vif(R: np.ndarray) -> np.ndarray:
    """Variance inflation factors of a set of standardised predictors.

    ``VIF_k = 1 / (1 - R²_k) = [R^-1]_kk``, R²_k from regressing predictor k
    on the others (Marquardt 1970).  ``R`` (..., q, q); returns (..., q).
    """
    return np.diagonal(np.linalg.inv(R), axis1=-2, axis2=-1)


def inner_vif(R: np.ndarray, D: np.ndarray) -> np.ndarray:
    """VIF of every predictor in every structural equation: (..., J, J), NaN where ``D`` is 0.

    ``V[j, k]`` is the VIF of predictor k among the predecessors of j, from the
    construct correlations ``R``.
    """
    V = np.full(R.shape, np.nan)
    for j in range(D.shape[0]):
        pred = np.flatnonzero(D[j])
        if pred.size:
            V[..., j, pred] = vif(R[..., pred[:, None], pred])
    return V


def _r2(R: np.ndarray, pred: np.ndarray, j: int) -> np.ndarray:
    if pred.size == 0:
        return np.zeros(R.shape[:-2])
    rpj = R[..., pred, j]
    beta = np.linalg.solve(R[..., pred[:, None], pred], rpj[..., None])[..., 0]
    return np.sum(beta * rpj, axis=-1)


def f_squared(R: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Cohen's f² effect size of every path (Cohen 1988; Hair et al. 2017).

    ``f²_jk = (R²_j,incl - R²_j,excl) / (1 - R²_j,incl)``, where R²_j,excl
    re-estimates the OLS regression of j without predictor k on the same
    construct correlations ``R`` (no new outer weights).  (..., J, J), NaN
    where ``D`` is 0.
    """
    F = np.full(R.shape, np.nan)
    for j in range(D.shape[0]):
        pred = np.flatnonzero(D[j])
        if pred.size == 0:
            continue
        incl = _r2(R, pred, j)
        for k in pred:
            excl = _r2(R, pred[pred != k], j)
            F[..., j, k] = (incl - excl) / (1.0 - incl)
    return F


def implied_correlation(
    S: np.ndarray,
    w: np.ndarray,
    M: np.ndarray,
    R: np.ndarray,
    lam: np.ndarray | None = None,
    factor: np.ndarray | None = None,
) -> np.ndarray:
    """Model-implied item correlation matrix with a saturated structural model (methodology §4.6).

    Composite blocks (Dijkstra 2017; Schuberth, Henseler & Dijkstra 2018): the
    within-block correlations ``S_jj`` are reproduced and between blocks
    ``Sigma_jk = S_jj w_j R_jk w_k' S_kk``, ``R`` the composite correlations.
    Common-factor blocks (PLSc; pass ``lam`` and ``factor``): the item's
    column is ``lambda_j`` instead of ``S_jj w_j``, within the block
    ``Sigma_jj = lambda_j lambda_j'`` with unit diagonal, and ``R`` the
    disattenuated correlations.  Because the structural model is taken as
    saturated, ``R`` is the estimated construct correlation matrix itself.

    Returns
    -------
    (..., p, p) ndarray
    """
    block = np.argmax(M, axis=1)
    A = block_products(S, w, M) * M  # column j: S_jj w_j on block j's rows, 0 elsewhere
    same = M @ M.T > 0
    if factor is not None and lam is not None:
        fac_item = np.asarray(factor, dtype=bool)[block]
        A = np.where(fac_item[:, None], lam[..., :, None] * M, A)
        keep = same & ~(fac_item[:, None] & fac_item[None, :])  # composite blocks keep S_jj
    else:
        keep = same
    Sigma = A @ R @ np.swapaxes(A, -1, -2)
    Sigma = np.where(keep, S, Sigma)
    p = S.shape[-1]
    return np.where(np.eye(p, dtype=bool), 1.0, Sigma)


def srmr(S: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """Standardised root mean square residual (Hu & Bentler 1999; Henseler et al. 2014, ORM 17(2):182-209).

    ``SRMR = sqrt(mean_{i <= j} (s_ij - sigma_ij)²)`` over the lower triangle
    with the diagonal, both matrices correlations.  Returns (...,).
    """
    i, j = np.tril_indices(S.shape[-1])
    d = (S - Sigma)[..., i, j]
    return np.sqrt(np.mean(d**2, axis=-1))


def d_uls(S: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance ``d_ULS = 1/2 sum_ij (s_ij - sigma_ij)²`` (Dijkstra & Henseler 2015, CSDA 81:10-23).

    Over the full matrices (each off-diagonal pair counted twice, hence the
    half; the diagonals of two correlation matrices agree).  Returns (...,).
    """
    return 0.5 * np.sum((S - Sigma) ** 2, axis=(-2, -1))


def d_g(S: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """Geodesic distance ``d_G = 1/2 sum_k (log phi_k)²``, ``phi_k`` the eigenvalues of ``S^-1 Sigma``.

    Dijkstra & Henseler (2015, CSDA 81:10-23).  The eigenvalues of ``S^-1
    Sigma`` are those of the symmetric ``L^-1 Sigma L^-T`` with ``S = L L'``,
    which is how they are computed (real and positive for positive definite
    matrices).  Returns (...,).
    """
    L = np.linalg.cholesky(S)
    X = np.linalg.solve(L, np.swapaxes(np.linalg.solve(L, Sigma), -1, -2))
    phi = np.linalg.eigvalsh(0.5 * (X + np.swapaxes(X, -1, -2)))
    return 0.5 * np.sum(np.log(phi) ** 2, axis=-1)


def structural_implied(R: np.ndarray, B: np.ndarray, D: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Construct correlations implied by a recursive structural model (the "estimated model").

    Exogenous constructs keep their estimated correlations ``R``; each
    endogenous construct ``j``, taken in causal ``order`` (a topological order
    of the constructs), is ``eta_j = b_j' eta_pred(j) + zeta_j`` with
    ``zeta_j`` uncorrelated with every construct before it and of variance
    ``1 - b_j' Phi_pred b_j``, so that ``Phi_jj = 1`` and
    ``Phi_jk = b_j' Phi_pred(j),k`` for every ``k`` before ``j``.  With a
    saturated structural model and OLS paths this returns ``R`` (Bollen 1989,
    ch. 4; the estimated-model fit of Henseler et al. 2014 and Dijkstra &
    Henseler 2015).  ``B (..., J, J)`` with ``B[t, s]`` the path ``s -> t``;
    ``D (J, J)`` its 0/1 pattern.  Returns (..., J, J).
    """
    endo = D.sum(axis=1) > 0
    # Every exogenous construct first, so that each endogenous one is preceded by all of them.
    seq = [k for k in order if not endo[k]] + [k for k in order if endo[k]]
    Phi = np.array(R, dtype=float, copy=True)
    before = np.zeros(len(endo), dtype=bool)
    for j in seq:
        if endo[j]:
            pred = np.flatnonzero(D[j] > 0)
            cov = np.einsum("...p,...pk->...k", B[..., j, pred], Phi[..., pred, :])
            Phi[..., j, before] = cov[..., before]
            Phi[..., before, j] = cov[..., before]
            Phi[..., j, j] = 1.0
        before[j] = True
    return Phi
