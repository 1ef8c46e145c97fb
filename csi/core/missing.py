"""Moments of item data with missing values: pairwise, EM (one sample or a batch of replicates), Little's test.

Pure NumPy: no pandas, names or randomness; inputs are not validated (callers
validate at the edge).  ``NaN`` marks a missing value.

Notation (shapes in brackets)
-----------------------------
``n`` respondents, ``p`` items, ``B`` replicates, ``G`` missingness patterns.

``X`` (n, p)
    Item data with ``NaN`` for a missing value; no row is entirely missing.
``w`` (n,)
    Respondent weights; unit weights when ``None``.
``F`` (B, n)
    Replicate draw frequencies (or any non-negative replicate weights), as in
    :mod:`csi.core.moments`; replicate ``b`` gives row ``i`` the weight
    ``v_bi = F[b, i] w_i``.
``μ`` (B, p), ``Σ`` (B, p, p)
    Mean and covariance (divisor ``Σ_i v_bi``: maximum likelihood).
pattern ``g``
    Rows sharing one set of observed items ``o_g`` (missing ``m_g``).

The EM algorithm works on sufficient statistics per pattern
(Little & Rubin 2002, section 11.2.1; Schafer 1997, section 5.3): for pattern
``g`` and replicate ``b`` the weight sum ``s``, the observed-item sums
``u = Σ v x_o`` and cross-products ``Q = Σ v x_o x_oᵀ`` are computed once (one
matrix product with ``F``), so an EM iteration costs ``O(G p³)`` per replicate
whatever ``n``, and one fit and a stack of bootstrap replicates run the same
code.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "EMResult",
    "Patterns",
    "conditional_means",
    "em_moments",
    "little_mcar",
    "monotone_ml",
    "pairwise_moments",
    "patterns",
    "replicate_em_moments",
    "replicate_pairwise_moments",
]

EM_TOL = 1e-10
"""Default EM stopping rule: largest absolute change of any mean or covariance entry."""
EM_MAX_ITER = 10_000
MAX_SQUAREM_STEP = 100.0
"""Largest SQUAREM step length |α| (a safeguard; typical steps are 1-10)."""


class Patterns(NamedTuple):
    """Rows grouped by missingness pattern."""

    observed: NDArray[np.bool_]
    """(G, p) observed items of each pattern."""
    rows: list[NDArray[np.intp]]
    """Row positions of each pattern (G lists)."""
    index: NDArray[np.intp]
    """(n,) pattern of each row."""


def patterns(X: ArrayLike) -> Patterns:
    """Group the rows of ``X`` by their set of observed items (complete rows first if any)."""
    obs = ~np.isnan(np.asarray(X, dtype=np.float64))
    uniq, index = np.unique(obs, axis=0, return_inverse=True)
    index = index.ravel()
    order = np.argsort(index, kind="stable")
    bounds = np.cumsum(np.bincount(index, minlength=uniq.shape[0]))[:-1]
    return Patterns(uniq[::-1].copy(), np.split(order, bounds)[::-1], uniq.shape[0] - 1 - index)


def pairwise_moments(
    X: ArrayLike, weights: ArrayLike | None = None, ddof: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Available-case means and pairwise-complete covariances.

    Entry ``(j, k)`` of the covariance uses only the rows where items ``j`` and
    ``k`` are both observed, with the means of ``j`` and ``k`` over those rows:
    ``S_jk = Σ_i v_i (x_ij − x̄_j|jk)(x_ik − x̄_k|jk) / (N_jk − ddof)`` with
    ``N_jk = Σ_i v_i`` over the pairwise-complete rows.  ``ddof=1`` with unit
    weights is R's ``cov(x, use = "pairwise.complete.obs")`` (divisor
    ``n_jk − 1``); csi's estimators use ``ddof=0`` (divisor ``N_jk``), the
    convention of :func:`csi.core.moments.moments`, so that complete data give
    the complete-data moments.

    Parameters
    ----------
    X : array_like, shape (n, p)
    weights : array_like, shape (n,), optional
    ddof : float
        Subtracted from the weight sum in the divisor.

    Returns
    -------
    mean : ndarray, shape (p,)
        Available-case (weighted) means.
    cov : ndarray, shape (p, p)
        Pairwise covariance; symmetric, not necessarily positive semi-definite.
    n_pair : ndarray, shape (p, p)
        Weight sums ``N_jk`` (pair counts for unit weights).

    Notes
    -----
    Pairwise deletion ("available-case analysis") is described by Little &
    Rubin (2002, section 3.4); it is consistent under MCAR only.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    means, covs, n_pair = replicate_pairwise_moments(X, w[None, :], None, ddof=ddof)
    return means[0], covs[0], n_pair[0]


def replicate_pairwise_moments(
    X: ArrayLike, counts: ArrayLike, weights: ArrayLike | None = None, ddof: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """:func:`pairwise_moments` of every replicate ``b`` (row weights ``F[b, i] w_i``), via matrix products.

    Returns
    -------
    means (B, p), covs (B, p, p), n_pair (B, p, p)
    """
    X = np.asarray(X, dtype=np.float64)
    F = np.asarray(counts, dtype=np.float64)
    if weights is not None:
        F = F * np.asarray(weights, dtype=np.float64)[None, :]
    obs_mask = ~np.isnan(X)
    Of = obs_mask.astype(np.float64)
    # Sums about the available-case means keep the one-pass formula below free of cancellation.
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(obs_mask, X, 0.0).sum(axis=0) / np.maximum(Of.sum(axis=0), 1.0)
    Z = np.where(obs_mask, X - shift, 0.0)
    p = X.shape[1]
    N = np.einsum("bi,ij,ik->bjk", F, Of, Of, optimize=True)  # Σ v over rows with j and k observed
    S1 = np.einsum("bi,ij,ik->bjk", F, Z, Of, optimize=True)  # Σ v z_j over rows with k observed too
    S2 = np.einsum("bi,ij,ik->bjk", F, Z, Z, optimize=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (S2 - S1 * np.swapaxes(S1, 1, 2) / N) / (N - ddof)
        k = np.arange(p)
        means = shift + S1[:, k, k] / N[:, k, k]
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    return means, cov, N


class EMResult(NamedTuple):
    """Saturated multivariate-normal ML estimates from EM."""

    mean: NDArray[np.float64]
    """(..., p) means."""
    cov: NDArray[np.float64]
    """(..., p, p) covariances, divisor = weight sum (ML)."""
    iterations: NDArray[np.intp]
    """(...,) EM iterations taken."""
    converged: NDArray[np.bool_]
    """(...,) whether the largest change fell below ``tol``."""


def em_moments(
    X: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    start: tuple[ArrayLike, ArrayLike] | None = None,
    tol: float = EM_TOL,
    max_iter: int = EM_MAX_ITER,
    accelerate: bool = True,
) -> EMResult:
    """Maximum-likelihood mean and covariance of incomplete normal data by EM.

    Dempster, Laird & Rubin (1977); Little & Rubin (2002, section 11.2.1).  The
    E step replaces, within each row, the missing items' values and
    cross-products by their conditional expectations given the observed items
    under the current ``(μ, Σ)``:
    ``E[x_m | x_o] = μ_m + Σ_mo Σ_oo⁻¹ (x_o − μ_o)``,
    ``Cov[x_m | x_o] = Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om``; the M step takes the weighted
    moments of the completed sufficient statistics.  With respondent weights
    each row's log-likelihood counts ``w_i`` times (pseudo-ML).  This is the
    saturated ("H1") model lavaan fits with ``missing = "ml"``.

    Parameters
    ----------
    X : array_like, shape (n, p)
        Data with NaN; every item observed in at least one row.
    weights : array_like, shape (n,), optional
    start : (mean, cov), optional
        Starting values; default the available-case means and variances (a
        diagonal covariance, always positive definite).
    tol, max_iter
        Stop when no mean or covariance entry changes by more than ``tol``.
    accelerate
        ``True`` (default): SQUAREM steps (see :func:`replicate_em_moments`);
        ``False``: plain EM steps.  Plain EM from the default start with
        ``tol=1e-5`` takes lavaan 0.6's steps and stops where lavaan stops
        (its ``missing = "ml"`` saturated moments, tests/reference section 8),
        short of the maximum by about 2e-5.

    Returns
    -------
    EMResult
        Without batch axes.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    res = replicate_em_moments(X, w[None, :], None, start=start, tol=tol, max_iter=max_iter, accelerate=accelerate)
    return EMResult(res.mean[0], res.cov[0], res.iterations[0], res.converged[0])


def _start_values(X: NDArray[np.float64], F: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    obs_mask = ~np.isnan(X)
    Z = np.where(obs_mask, X, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        N = F @ obs_mask.astype(np.float64)
        mean = (F @ Z) / N
        var = (F @ (Z * Z)) / N - mean**2
    var = np.where(np.isfinite(var) & (var > 0), var, 1.0)
    cov = np.zeros((F.shape[0], X.shape[1], X.shape[1]))
    k = np.arange(X.shape[1])
    cov[:, k, k] = var
    return np.where(np.isfinite(mean), mean, 0.0), cov


def replicate_em_moments(
    X: ArrayLike,
    counts: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    start: tuple[ArrayLike, ArrayLike] | None = None,
    tol: float = EM_TOL,
    max_iter: int = EM_MAX_ITER,
    accelerate: bool = True,
    compiled: bool = False,
) -> EMResult:
    """EM means and covariances of every replicate of a bootstrap (or any row reweighting), batched.

    Replicate ``b`` maximises the normal log-likelihood with row ``i`` counted
    ``F[b, i] w_i`` times, i.e. EM re-run inside each replicate (not the
    full-sample EM moments resampled).  The per-pattern sufficient statistics
    of all replicates come from one product ``F R``; the EM iterations then
    run on (B, k, k) stacks.  Replicates stop together when the largest change
    over the batch is below ``tol`` (a converged replicate is at its fixed
    point, so further iterations leave it unchanged to within ``tol``).

    Parameters
    ----------
    X : array_like, shape (n, p)
        Data with NaN (the full sample).
    counts : array_like, shape (B, n)
    weights : array_like, shape (n,), optional
    start : (mean, cov), optional
        (p,) / (p, p) or (B, p) / (B, p, p) starting values, e.g. the
        full-sample EM estimates (a warm start: a few iterations per
        replicate); default as :func:`em_moments`.
    tol, max_iter, accelerate
        As :func:`em_moments`.
    compiled
        Run the replicates through the numba kernel of :mod:`csi.core.missing_compiled` (same algorithm,
        rounding differences only; 10-30 times faster with many patterns) when it is available; the default
        NumPy path is the reference.

    Returns
    -------
    EMResult
        Arrays with a leading replicate axis.  A replicate in which an item is
        never observed has NaN moments.
    """
    X = np.asarray(X, dtype=np.float64)
    F = np.asarray(counts, dtype=np.float64)
    if weights is not None:
        F = F * np.asarray(weights, dtype=np.float64)[None, :]
    B, p = F.shape[0], X.shape[1]
    pat = patterns(X)
    # Work about the available-case means of the full sample (a fixed shift): second
    # moments about a point near the means lose no digits in T2/W − μμᵀ below.
    obs_mask = ~np.isnan(X)
    shift = np.where(obs_mask, X, 0.0).sum(axis=0) / np.maximum(obs_mask.sum(axis=0), 1)
    Z = np.where(obs_mask, X - shift, 0.0)
    if start is None:
        mu0, S0 = _start_values(X, F)
        mu0 = mu0 - shift
    else:
        mu0 = np.broadcast_to(np.asarray(start[0], dtype=np.float64) - shift, (B, p))
        S0 = np.broadcast_to(np.asarray(start[1], dtype=np.float64), (B, p, p))
    inc = np.flatnonzero(~pat.observed.all(axis=1))  # patterns with a missing item
    if compiled and B:
        from csi.core import missing_compiled

        if missing_compiled.use_compiled():
            return _compiled(F, Z, obs_mask, pat, inc, mu0, S0, shift, tol, max_iter, accelerate)
    rows_t, cols_t = np.triu_indices(p)
    E = Z[:, rows_t] * Z[:, cols_t]  # (n, T) packed row products
    # Replicates in slabs so the (slab, G', p, p) work arrays stay near 32 MB.
    slab = max(1, 4_000_000 // max(1, (inc.size + 1) * p * p))
    out = [
        _em_slab(
            F[a : a + slab], Z, E, pat, inc, mu0[a : a + slab], S0[a : a + slab], obs_mask, tol, max_iter, accelerate
        )
        for a in range(0, B, slab)
    ]
    if not out:
        return EMResult(np.empty((0, p)), np.empty((0, p, p)), np.empty(0, dtype=np.intp), np.empty(0, dtype=bool))
    mean = np.concatenate([o[0] for o in out]) + shift
    cov = np.concatenate([o[1] for o in out])
    unseen = np.concatenate([o[4] for o in out])
    mean[unseen] = np.nan
    cov[unseen] = np.nan
    return EMResult(mean, cov, np.concatenate([o[2] for o in out]), np.concatenate([o[3] for o in out]))


def _compiled(F, Z, obs_mask, pat, inc, mu0, S0, shift, tol, max_iter, accelerate) -> EMResult:
    """:func:`replicate_em_moments` through :func:`csi.core.missing_compiled.em_replicates`."""
    from csi.core.missing_compiled import em_replicates

    unseen = _unseen(F, Z, obs_mask)
    rows = [pat.rows[g] for g in inc]
    pstart = np.concatenate([[0], np.cumsum([r.size for r in rows])]).astype(np.int64)
    prow = np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, dtype=np.int64)
    nmiss = (~pat.observed[inc]).sum(axis=1).astype(np.int64)
    miss = np.zeros((inc.size, max(1, int(nmiss.max(initial=1)))), dtype=np.int64)
    for i, g in enumerate(inc):
        idx = np.flatnonzero(~pat.observed[g])
        miss[i, : idx.size] = idx
    mu, S, iterations, converged = em_replicates(
        F, Z, prow, pstart, miss, nmiss, mu0, S0, unseen, tol, max_iter, accelerate
    )
    mu = mu + shift
    mu[unseen] = np.nan
    S[unseen] = np.nan
    return EMResult(mu, S, iterations.astype(np.intp), converged & ~unseen)


def _unseen(F, Z, obs_mask):
    """Replicates in which an item is never observed, or observed with a single value: no ML estimate (the
    likelihood grows without bound as its variance shrinks), so they get NaN moments."""
    n_obs = F @ obs_mask.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        m1 = (F @ Z) / n_obs
        spread = (F @ (Z * Z)) / n_obs - m1 * m1
    scale = np.nanvar(np.where(obs_mask, Z, np.nan), axis=0)
    return np.any((n_obs <= 0) | ~(spread > 1e-10 * scale), axis=1)


def _unpack(packed: NDArray[np.float64], p: int) -> NDArray[np.float64]:
    rows, cols = np.triu_indices(p)
    out = np.empty(packed.shape[:-1] + (p, p))
    out[..., rows, cols] = packed
    out[..., cols, rows] = packed
    return out


def _em_slab(F, Z, E, pat, inc, mu, S, obs_mask, tol, max_iter, accelerate):
    """EM of one slab of replicates; see :func:`replicate_em_moments` (shifted data ``Z``).

    The E step uses the precision matrix ``P = Σ⁻¹``: for missing items ``m``
    and observed ``o`` of a row, ``E[x_m | x_o] = μ_m − P_mm⁻¹ P_mo (x_o − μ_o)``
    and ``Cov[x_m | x_o] = P_mm⁻¹`` (the partitioned inverse; Little & Rubin
    2002, section 7.4), so an iteration inverts one ``p × p`` matrix and, per
    pattern, only the small ``P_mm``.  The sums over the observed items
    (``Σ v x_o`` and ``Σ v x_o x_oᵀ``) do not change between iterations and are
    added once.

    The EM map is accelerated by SQUAREM (Varadhan & Roland 2008, Scand. J.
    Statist. 35:335-353, scheme S3): from two EM steps ``r = θ₁ − θ₀`` and
    ``v = θ₂ − 2θ₁ + θ₀`` it jumps to ``θ₀ − 2αr + α²v`` with
    ``α = −|r|/|v|`` (at most −1) and takes one EM step from there; a jump
    whose covariance is not positive definite falls back to ``θ₂``.  The fixed
    point is EM's; only the number of steps changes.  ``iterations`` counts
    EM steps.  ``accelerate=False`` takes plain EM steps.
    """
    B, p = F.shape[0], Z.shape[1]
    # Zero-filled data make these sums run over the observed items only.
    T1_fixed = F @ Z
    T2_fixed = _unpack(F @ E, p)
    W = F.sum(axis=1)
    Wd = np.where(W > 0, W, 1.0)
    unseen = _unseen(F, Z, obs_mask)
    # Patterns with a missing item, grouped by how many are missing (r): one-hot maps sel (G_r, r, p) of the
    # missing items, per-pattern weight sums s (B, G_r), sums u (B, G_r, p) and cross-products Q (B, G_r, p, p).
    groups = []
    n_miss = (~pat.observed[inc]).sum(axis=1)
    for r in np.unique(n_miss):
        members = inc[n_miss == r]
        sel = np.zeros((members.size, r, p))
        for i, g in enumerate(members):
            sel[i, np.arange(r), np.flatnonzero(~pat.observed[g])] = 1.0
        s = np.stack([F[:, pat.rows[g]].sum(axis=1) for g in members], axis=1)
        u = np.stack([F[:, pat.rows[g]] @ Z[pat.rows[g]] for g in members], axis=1)
        Q = _unpack(np.stack([F[:, pat.rows[g]] @ E[pat.rows[g]] for g in members], axis=1), p)
        groups.append((sel, pat.observed[members].astype(np.float64), s, u, Q))
    fixed = (T1_fixed, T2_fixed, Wd, unseen)

    def step(state, mu, S):
        T1f, T2f, wd, uns, grp = state
        b = mu.shape[0]
        P = _inv(S)
        T1 = T1f.copy()
        T2 = T2f.copy()
        for sel, ob, s, u, Q in grp:
            G, r = sel.shape[:2]
            flat = sel.reshape(G * r, p)  # one-hot rows: products with it gather and scatter the missing items
            SP = (flat @ P).reshape(b, G, r, p)  # rows of P at the missing items
            Cm = _inv(SP @ np.swapaxes(sel, -1, -2))  # Cov[x_m | x_o] = P_mm⁻¹, (b, G, r, r)
            Bf = -Cm @ (SP * ob[None, :, None, :])  # (b, G, r, p): regression on x_o, zero at missing columns
            c = (mu @ flat.T).reshape(b, G, r) - np.einsum("bgrp,bp->bgr", Bf, mu)
            Bu = np.einsum("bgrp,bgp->bgr", Bf, u)
            T1 += (s[..., None] * c + Bu).reshape(b, G * r) @ flat
            QB = Q @ np.swapaxes(Bf, -1, -2)  # (b, G, p, r)
            Y = u[..., :, None] * c[..., None, :] + QB  # Σ v x_o x̂_mᵀ per pattern
            om = np.swapaxes(Y, 1, 2).reshape(b, p, G * r) @ flat
            T2 += om + np.swapaxes(om, 1, 2)
            cBu = c[..., :, None] * Bu[..., None, :]
            mm = s[..., None, None] * (c[..., :, None] * c[..., None, :] + Cm) + cBu + np.swapaxes(cBu, -1, -2)
            mm += Bf @ QB
            T2 += flat.T @ (mm @ sel).reshape(b, G * r, p)
        new_mu = T1 / wd[:, None]
        new_S = T2 / wd[:, None, None] - new_mu[:, :, None] * new_mu[:, None, :]
        new_S = 0.5 * (new_S + np.swapaxes(new_S, 1, 2))
        new_mu[uns], new_S[uns] = 0.0, np.eye(p)
        return new_mu, new_S

    def subset(idx):
        grp = [(sel, ob, s[idx], u[idx], Q[idx]) for sel, ob, s, u, Q in groups]
        return tuple(x[idx] for x in fixed) + (grp,)

    mu = np.where(unseen[:, None], 0.0, mu)
    S = np.where(unseen[:, None, None], np.eye(p), S)
    iterations = np.zeros(B, dtype=np.intp)
    converged = np.zeros(B, dtype=bool)
    active = np.arange(B)
    state = subset(active)
    while active.size:
        m0, S0 = mu[active], S[active]
        m1, S1 = step(state, m0, S0)
        if not accelerate:
            change = np.maximum(np.abs(m1 - m0).max(axis=1), np.abs(S1 - S0).max(axis=(1, 2)))
            mu[active], S[active] = m1, S1
            iterations[active] += 1
            active, state = _advance(active, state, change, iterations, converged, tol, max_iter, subset)
            continue
        m2, S2 = step(state, m1, S1)
        r = np.concatenate([(m1 - m0), (S1 - S0).reshape(active.size, -1)], axis=1)
        v = np.concatenate([(m2 - 2 * m1 + m0), (S2 - 2 * S1 + S0).reshape(active.size, -1)], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = -np.sqrt((r * r).sum(axis=1) / (v * v).sum(axis=1))
        # A bounded step keeps the jump finite when v is tiny (Varadhan & Roland bound theirs adaptively).
        alpha = np.where(np.isfinite(alpha), np.clip(alpha, -MAX_SQUAREM_STEP, -1.0), -1.0)
        mj = m0 - 2 * alpha[:, None] * (m1 - m0) + alpha[:, None] ** 2 * (m2 - 2 * m1 + m0)
        Sj = S0 - 2 * alpha[:, None, None] * (S1 - S0) + alpha[:, None, None] ** 2 * (S2 - 2 * S1 + S0)
        finite = np.isfinite(mj).all(axis=1) & np.isfinite(Sj).all(axis=(1, 2))
        pd_ok = finite & (np.linalg.eigvalsh(np.where(finite[:, None, None], Sj, np.eye(p)))[:, 0] > 0)
        mj = np.where(pd_ok[:, None], mj, m2)
        Sj = np.where(pd_ok[:, None, None], Sj, S2)
        m3, S3 = step(state, mj, Sj)
        change = np.maximum(np.abs(m3 - mj).max(axis=1), np.abs(S3 - Sj).max(axis=(1, 2)))
        mu[active], S[active] = m3, S3
        iterations[active] += 3
        active, state = _advance(active, state, change, iterations, converged, tol, max_iter, subset)
    converged[unseen] = False
    return mu, S, iterations, converged, unseen


def _inv(A: NDArray[np.float64]) -> NDArray[np.float64]:
    """Batched inverse; a singular or non-finite matrix gives NaN instead of stopping the whole batch."""
    try:
        return np.linalg.inv(A)
    except np.linalg.LinAlgError:
        out = np.full(A.shape, np.nan)
        flat, res = A.reshape(-1, *A.shape[-2:]), out.reshape(-1, *A.shape[-2:])
        for k in range(flat.shape[0]):
            if np.isfinite(flat[k]).all():
                try:
                    res[k] = np.linalg.inv(flat[k])
                except np.linalg.LinAlgError:
                    pass
        return out


def _advance(active, state, change, iterations, converged, tol, max_iter, subset):
    """Mark replicates whose last step changed nothing by more than ``tol``; keep iterating the others.

    A replicate whose moments became non-finite (a singular covariance, e.g. an item constant among the
    replicate's answers) stops at once, unconverged; its NaN moments mark it failed downstream.
    """
    done = change <= tol
    converged[active[done]] = True
    keep = ~done & np.isfinite(change) & (iterations[active] < max_iter)
    if keep.all():
        return active, state
    active = active[keep]
    return active, (subset(active) if active.size else state)


def conditional_means(X: ArrayLike, mean: ArrayLike, cov: ArrayLike) -> NDArray[np.float64]:
    """``X`` with each missing value replaced by its conditional expectation given the row's observed items.

    ``x̂_m = μ_m + Σ_mo Σ_oo⁻¹ (x_o − μ_o)`` under ``N(μ, Σ)`` (the E step of
    :func:`em_moments`; Little & Rubin 2002, section 11.2.1).  Observed values
    are kept.

    Returns
    -------
    ndarray, shape (n, p)
        A new array.
    """
    X = np.array(X, dtype=np.float64)
    mu = np.asarray(mean, dtype=np.float64)
    S = np.asarray(cov, dtype=np.float64)
    pat = patterns(X)
    for g, rows in enumerate(pat.rows):
        o, m = np.flatnonzero(pat.observed[g]), np.flatnonzero(~pat.observed[g])
        if m.size == 0:
            continue
        if o.size == 0:
            X[np.ix_(rows, m)] = mu[m]
            continue
        coef = np.linalg.solve(S[np.ix_(o, o)], S[np.ix_(o, m)])  # (k, r)
        X[np.ix_(rows, m)] = mu[m] + (X[np.ix_(rows, o)] - mu[o]) @ coef
    return X


def conditional_draws(X: ArrayLike, mean: ArrayLike, cov: ArrayLike, normals: ArrayLike) -> NDArray[np.float64]:
    """``X`` with each row's missing values drawn from their conditional normal distribution given its observed items.

    ``x_m ~ N(μ_m + Σ_mo Σ_oo⁻¹ (x_o − μ_o), Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om)``; the
    draws are ``x̂_m + L z`` with ``L`` the Cholesky factor of the conditional
    covariance and ``z`` the row's entries of ``normals`` at its missing items
    (randomness stays with the caller).

    Parameters
    ----------
    X : array_like, shape (n, p)
    mean, cov : array_like, shapes (p,), (p, p)
    normals : array_like, shape (n, p)
        Independent standard normal numbers.
    """
    X = np.array(X, dtype=np.float64)
    Zn = np.asarray(normals, dtype=np.float64)
    mu = np.asarray(mean, dtype=np.float64)
    S = np.asarray(cov, dtype=np.float64)
    pat = patterns(X)
    for g, rows in enumerate(pat.rows):
        o, m = np.flatnonzero(pat.observed[g]), np.flatnonzero(~pat.observed[g])
        if m.size == 0:
            continue
        if o.size:
            coef = np.linalg.solve(S[np.ix_(o, o)], S[np.ix_(o, m)])
            centre = mu[m] + (X[np.ix_(rows, o)] - mu[o]) @ coef
            C = S[np.ix_(m, m)] - S[np.ix_(m, o)] @ coef
        else:
            centre = np.broadcast_to(mu[m], (rows.size, m.size))
            C = S[np.ix_(m, m)]
        # Tiny negative eigenvalues from rounding would stop the Cholesky factor.
        vals, vecs = np.linalg.eigh(0.5 * (C + C.T))
        L = vecs * np.sqrt(np.clip(vals, 0.0, None))
        X[np.ix_(rows, m)] = centre + Zn[np.ix_(rows, m)] @ L.T
    return X


def little_mcar(X: ArrayLike, mean: ArrayLike, cov: ArrayLike) -> tuple[float, int]:
    """Little's (1988) chi-square statistic of missing completely at random.

    ``d² = Σ_g n_g (ȳ_g − μ_{o_g})ᵀ Σ_{o_g o_g}⁻¹ (ȳ_g − μ_{o_g})`` over the
    missingness patterns ``g`` with ``n_g`` rows, observed items ``o_g`` and
    observed-item means ``ȳ_g``; ``μ, Σ`` are the ML (EM) estimates.  Under
    MCAR ``d²`` is asymptotically chi-square with ``Σ_g |o_g| − p`` degrees of
    freedom (Little 1988, JASA 83(404):1198-1202, eq. 5).  Unweighted.

    Returns
    -------
    (chi2, df)
    """
    X = np.asarray(X, dtype=np.float64)
    mu = np.asarray(mean, dtype=np.float64)
    S = np.asarray(cov, dtype=np.float64)
    pat = patterns(X)
    d2 = 0.0
    df = -X.shape[1]
    for g, rows in enumerate(pat.rows):
        o = np.flatnonzero(pat.observed[g])
        if o.size == 0:
            continue
        diff = X[np.ix_(rows, o)].mean(axis=0) - mu[o]
        d2 += rows.size * float(diff @ np.linalg.solve(S[np.ix_(o, o)], diff))
        df += o.size
    return d2, int(df)


def monotone_ml(X: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Closed-form ML mean and covariance for a monotone missingness pattern (Anderson 1957).

    Items are ordered by how often they are observed; the pattern is monotone
    when each row observes a leading run of that order.  The likelihood then
    factors into the marginal of the always-observed block and, for each later
    block, its regression on all earlier items over the rows observing it
    (Anderson 1957, JASA 52:200-203; Little & Rubin 2002, section 7.2).  Each
    factor's ML estimates (means, OLS coefficients with intercept, residual
    covariance with divisor n_t) combine as
    ``μ_t = a + B μ_<t``, ``Σ_t,<t = B Σ_<t``, ``Σ_tt = Σ_res + B Σ_<t Bᵀ``.
    A test oracle for :func:`em_moments`, which must reach the same values.

    Raises
    ------
    ValueError
        If the pattern is not monotone.
    """
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    obs_mask = ~np.isnan(X)
    order = np.argsort(-obs_mask.sum(axis=0), kind="stable")
    Ob = obs_mask[:, order]
    k = Ob.sum(axis=1)
    if not np.array_equal(Ob, np.arange(p)[None, :] < k[:, None]):
        raise ValueError("the missingness pattern is not monotone")
    counts = Ob.sum(axis=0)
    mu = np.empty(p)
    S = np.empty((p, p))
    Xo = X[:, order]
    start = 0
    for c in np.unique(counts)[::-1]:
        t = np.flatnonzero(counts == c)  # block observed by the c rows observing the most of the order
        rows = Ob[:, t[0]]
        Y = Xo[np.ix_(rows, t)]
        if start == 0:
            mu[t] = Y.mean(axis=0)
            D = Y - mu[t]
            S[np.ix_(t, t)] = D.T @ D / Y.shape[0]
        else:
            prev = np.arange(start)
            P = Xo[np.ix_(rows, prev)]
            A = np.column_stack([np.ones(P.shape[0]), P])
            coef, *_ = np.linalg.lstsq(A, Y, rcond=None)
            resid = Y - A @ coef
            a, Bt = coef[0], coef[1:]  # Bt (k_prev, k_t)
            mu[t] = a + mu[prev] @ Bt
            S[np.ix_(t, prev)] = Bt.T @ S[np.ix_(prev, prev)]
            S[np.ix_(prev, t)] = S[np.ix_(t, prev)].T
            S[np.ix_(t, t)] = resid.T @ resid / Y.shape[0] + Bt.T @ S[np.ix_(prev, prev)] @ Bt
        start = t[-1] + 1
    inv = np.argsort(order)
    return mu[inv], S[np.ix_(inv, inv)]
