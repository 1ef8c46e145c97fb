"""Wold's PLS path-modelling algorithm on moment matrices, batched.

Everything here depends on the indicator moment matrix only, so one fit and
thousands of bootstrap replicates run through the same code: every array may
carry leading batch axes ``...`` (numpy.linalg's stacking rule).  No pandas, no
names, no randomness, no input checking: callers validate at the edge.

Notation (Tenenhaus, Esposito Vinzi, Chatelin & Lauro 2005, CSDA 48:159-205;
Lohmöller 1989):

====================  ===============  ==============================================
array                 shape            meaning
====================  ===============  ==============================================
``S``                 (..., p, p)      indicator covariance (centred items) or
                                       correlation (standardised items), divisor N
``M``                 (p, J)           block mask, ``M[h, j] = 1`` if item h in block j
``block``             (p,)             block index of each item
``D``                 (J, J)           path adjacency, ``D[j, k] = 1`` for k -> j
``mode_b``            (J,)             True for Mode B (regression-weight) blocks
``w``                 (..., p)         outer weights; block j's composite is
                                       ``Y_j = X_j w_j`` with unit variance
``R``                 (..., J, J)      composite correlations ``W' S W``
``E``                 (..., J, J)      inner weights (see :mod:`csi.core.schemes`)
====================  ===============  ==============================================

The weight matrix ``W`` of the papers is ``M * w[..., :, None]``; it is never
formed, because ``S W = (S * w) @ M`` turns the batched product into one
matrix product over the whole stack.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from csi.core.schemes import inner_weights, path_layout, predecessor_regressions

STOP_RULES = ("max_abs", "plspm")
"""Stopping rules: ``max_abs``: max_h |w_h(t) - w_h(t-1)| < tol on the scaled
weights (csi default); ``plspm``: sum_h (|v_h(t-1)| - |v_h(t)|)^2 < tol on the
weights ``v`` *before* rescaling to unit composite variance, the first ``v`` being
the scaled unit weights (R plspm 0.5.1 ``get_weights``)."""

SIGN_RULES = ("loadings", "majority")
"""Sign rules: ``loadings``: flip a block whose loadings sum to a negative number
(csi default); ``majority``: flip a block most of whose loadings are negative
(R plspm's vote, ``sum(sign(loadings)) < 0``)."""


class PLSWeights(NamedTuple):
    """Converged outer weights and convergence diagnostics."""

    w: np.ndarray
    """(..., p) outer weights, composites scaled to unit variance, sign fixed."""
    iterations: np.ndarray
    """(...,) iterations used."""
    converged: np.ndarray
    """(...,) whether the stopping rule was met before ``max_iter``."""


class PLSInner(NamedTuple):
    """Construct-level results computed from ``S`` and converged weights."""

    R: np.ndarray
    """(..., J, J) composite correlations."""
    B: np.ndarray
    """(..., J, J) path coefficients, ``B[j, k]`` = effect of k on j (OLS on R)."""
    r2: np.ndarray
    """(..., J) R² of every construct (0 for exogenous constructs)."""
    loadings: np.ndarray
    """(..., p) correlation of each item with its own composite."""
    cross: np.ndarray
    """(..., p, J) correlation of each item with every composite."""
    total: np.ndarray
    """(..., J, J) total effects ``(I - B)^-1 - I``."""


def block_products(S: np.ndarray, w: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``S W`` for block-sparse ``W = M * w``: (..., p, J) covariances of items with composites."""
    return (S * w[..., None, :]) @ M


def composite_covariance(SW: np.ndarray, w: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``W' S W`` from ``S W``: (..., J, J) composite covariances."""
    return np.swapaxes(SW * w[..., :, None], -1, -2) @ M


def _own_block(A: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Pick ``A[..., h, block[h]]`` for every item h of a (..., p, J) array."""
    return A[..., np.arange(block.size), block]


def _normalise(S: np.ndarray, w: np.ndarray, M: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale each block of ``w`` so its composite has unit variance; also return ``S W`` rescaled."""
    SW = block_products(S, w, M)
    var = np.einsum("...hj,...h,hj->...j", SW, w, M)
    scale = 1.0 / np.sqrt(var)
    return w * scale[..., block], SW * scale[..., None, :]


def _mode_b_inverse(S: np.ndarray, M: np.ndarray, mode_b: np.ndarray) -> np.ndarray:
    """Block-diagonal matrix holding ``S_jj^-1`` for Mode B blocks and identity elsewhere."""
    p = S.shape[-1]
    P = np.broadcast_to(np.eye(p), S.shape).copy()
    for j in np.flatnonzero(mode_b):
        idx = np.flatnonzero(M[:, j])
        P[..., idx[:, None], idx] = np.linalg.inv(S[..., idx[:, None], idx])
    return P


def pls_weights(
    S: np.ndarray,
    M: np.ndarray,
    D: np.ndarray,
    mode_b: np.ndarray,
    scheme: str = "path",
    *,
    tol: float = 1e-7,
    max_iter: int = 300,
    stop: str = "max_abs",
    sign_rule: str = "loadings",
    n_obs: int | None = None,
) -> PLSWeights:
    """Outer weights by Wold's iterative PLS algorithm on moment matrices.

    Steps (Tenenhaus et al. 2005, §2.2; R plspm ``get_weights``):

    1. start from unit weights, each composite scaled to unit variance;
    2. composite correlations ``R = W' S W``; inner weights ``E = scheme(R, D)``;
    3. inner-proxy covariances ``c = (S W E)`` restricted to each item's block;
       Mode A: ``w_j = c_j``; Mode B: ``w_j = S_jj^-1 c_j``;
    4. rescale to unit composite variance and repeat until the stopping rule
       holds.  Replicates in the batch stop independently (a converged one is
       frozen), so a batched run equals a loop of single runs.
    5. fix each block's sign with ``sign_rule``.

    Parameters
    ----------
    S, M, D, mode_b
        See the module notation table.
    scheme
        ``"centroid"``, ``"factorial"`` or ``"path"``.
    tol, max_iter, stop
        Stopping rule (see :data:`STOP_RULES`).
    sign_rule
        See :data:`SIGN_RULES`.
    n_obs
        Sample size, used only by the ``plspm`` stopping rule: R plspm scales its
        composites as ``scale(Y) * sqrt((N-1)/N)``, so the unscaled weights it
        compares carry a factor ``(N-1)/N`` that decides borderline stops.

    Returns
    -------
    PLSWeights
    """
    inner = inner_weights(scheme, D)
    block = np.argmax(M, axis=1)
    batch = S.shape[:-2]
    S = S.reshape((-1,) + S.shape[-2:])
    P = _mode_b_inverse(S, M, mode_b) if np.any(mode_b) else None

    w, SW = _normalise(S, np.ones(S.shape[:-1]), M, block)
    # R plspm compares successive *unscaled* weights (its w_old starts as the scaled
    # unit weights); keep them so its stopping rule is reproduced step for step.
    raw = w
    raw_factor = (n_obs - 1) / n_obs if (stop == "plspm" and n_obs) else 1.0
    iterations = np.zeros(S.shape[0], dtype=np.int64)
    active = np.ones(S.shape[0], dtype=bool)
    n_active = active.size
    for it in range(1, max_iter + 1):
        C = composite_covariance(SW, w, M)
        E = inner(C)
        # c_h = sum_k (S W)[h, k] E[k, block(h)]: the inner proxy's covariance with item h.
        c = np.einsum("...hk,...kh->...h", SW, E[..., :, block])
        if P is not None:
            c = (P @ c[..., None])[..., 0]
        w_new, SW_new = _normalise(S, c, M, block)
        if stop == "plspm":
            change = np.sum((np.abs(raw) - np.abs(raw_factor * c)) ** 2, axis=-1)
            raw = raw_factor * c
        else:
            change = np.abs(w - w_new).max(axis=-1)
        if n_active == active.size:  # nothing converged yet (always so for a single fit): no freezing to do
            w, SW = w_new, SW_new
            iterations[:] = it
        else:
            w = np.where(active[:, None], w_new, w)
            SW = np.where(active[:, None, None], SW_new, SW)
            iterations[active] = it
        active &= ~(change < tol)
        n_active = int(np.count_nonzero(active))
        if not n_active:
            break

    loadings = _own_block(SW, block) / np.sqrt(np.diagonal(S, axis1=-2, axis2=-1))
    if sign_rule == "majority":
        vote = np.sign(loadings) @ M
    else:
        vote = loadings @ M
    w = w * np.where(vote < 0, -1.0, 1.0)[..., block]
    return PLSWeights(
        w=w.reshape(batch + w.shape[-1:]),
        iterations=iterations.reshape(batch),
        converged=(~active).reshape(batch),
    )


def pls_inner(S: np.ndarray, w: np.ndarray, M: np.ndarray, D: np.ndarray) -> PLSInner:
    """Composite correlations, OLS paths, R², loadings and total effects.

    Paths are ``beta_j = R_PP^-1 R_Pj`` for each endogenous construct j with
    predecessors P, and ``R²_j = R_jP beta_j`` (Tenenhaus et al. 2005, §2.3).
    Total effects are ``(I - B)^-1 - I`` for the recursive model.
    """
    SW = block_products(S, w, M)
    R = composite_covariance(SW, w, M)
    sd = np.sqrt(np.diagonal(S, axis1=-2, axis2=-1))
    cross = SW / sd[..., :, None]
    block = np.argmax(M, axis=1)
    B, r2, total = ols_paths(R, D)
    return PLSInner(R=R, B=B, r2=r2, loadings=_own_block(cross, block), cross=cross, total=total)


def ols_paths(R: np.ndarray, D: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS path coefficients, R² and total effects of a recursive model from construct correlations.

    ``beta_j = R_PP^-1 R_Pj`` for each endogenous construct j with predecessors P,
    ``R²_j = R_jP beta_j`` and total effects ``(I - B)^-1 - I`` (Tenenhaus et al.
    2005, §2.3).  Shared by PLS (composite correlations) and PLSc (disattenuated
    correlations, Dijkstra & Henseler 2015a).

    Returns
    -------
    B : (..., J, J) ndarray
        ``B[j, k]`` = effect of k on j.
    r2 : (..., J) ndarray
        0 for exogenous constructs.
    total : (..., J, J) ndarray
    """
    J = D.shape[0]
    B = np.zeros(R.shape)
    r2 = np.zeros(R.shape[:-1])
    lay = path_layout(D)
    if lay is not None:
        # One padded batch of solves for every construct's regression (csi.core.schemes.PathLayout); the
        # padding adds exact zeros to each R².
        beta, r = predecessor_regressions(R, lay)
        B[..., lay.to_cols, lay.to_rows] = beta[..., lay.system, lay.slot]
        r2[..., lay.rhs_cols[:, 0]] = np.sum(beta * r, axis=-1)
    total = np.linalg.inv(np.eye(J) - B) - np.eye(J)
    return B, r2, total
