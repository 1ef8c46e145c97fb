"""BCa intervals of panel indices, carried from company cells to aggregates and to wave-over-wave changes.

Why BCa (the coverage study, :mod:`csi.bench.coverage`): a company's 0-100
index is essentially a weighted mean of bounded, skewed items, so its sampling
SD falls as the index nears the top of the scale.  A sample whose index came
out high therefore also has a small bootstrap SE, and the percentile (or
normal) interval around it is too short on the side where the truth lies; at
150 respondents per cell 95 % percentile intervals of company SAT indices
covered about 93 %, with most misses on one side.  The BCa interval's
acceleration ``a`` is exactly the correction for an SE that changes with the
parameter (Efron 1987; Efron & Tibshirani 1993, §14.3; Davison & Hinkley 1997,
§5.3.2), and its ``z0`` corrects median bias.

Acceleration from influence values.  For a cell fitted to ``n`` respondents
let ``y_i = Σ_h c_h x_ih`` be the linear score whose mean is the index with
the cell's outer weights held fixed (``c_h = 100 u_h / Σ_k u_k (max_k -
min_k)``, :func:`csi.index.compute.compute_index`).  Its empirical influence
values are ``l_i = n w_i (y_i - ȳ_w) / Σ w`` (``w`` respondent weights, 1 when
unweighted).  Each cell keeps ``m2 = Σ l_i² / n²`` and ``m3 = Σ l_i³ / n³``
per construct.  Independent samples combine as in the several-sample BCa
(Davison & Hinkley 1997, §3.2.1 and eq. 5.25; Efron & Tibshirani 1993,
problem 14.12):

* a parent ``P = Σ_c s_c I_c`` (shares ``s_c``) has ``m2 = Σ s_c² m2_c`` and
  ``m3 = Σ s_c³ m3_c``;
* a change ``I_t − I_{t−1}`` of independent waves has ``m2 = m2_t + m2_{t−1}``
  and ``m3 = m3_t − m3_{t−1}``;

and ``a = m3 / (6 m2^{3/2})``.  Holding the outer weights fixed in the
influence values only affects ``a``, a second-order term; the bootstrap draws
themselves re-estimate the weights in every replicate.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

from csi.index.compute import scale_bounds, unstandardised_weights
from csi.resample.intervals import bias_correction_z0, quantiles
from csi.results.fit import FitResult

Moments = NDArray[np.float64]
"""(2, J) array: ``m2`` and ``m3`` of the influence values, per construct."""


def influence_moments(fit: FitResult) -> Moments:
    """``m2 = Σ l_i² / n²`` and ``m3 = Σ l_i³ / n³`` of every construct's index (module notes).

    Uses the fit's rows (after missing-data handling), its respondent
    weights and its outer weights in the item metric.
    """
    lo, hi = scale_bounds(fit.spec)
    u = unstandardised_weights(fit).to_numpy()
    M = np.asarray(fit.spec.block_mask, dtype=float)
    coef = 100.0 * u[:, None] * M / ((u * (hi - lo)) @ M)[None, :]  # (p, J)
    X = np.asarray(fit.data.X, dtype=float)
    n = X.shape[0]
    w = np.ones(n) if fit.data.weights is None else np.asarray(fit.data.weights, dtype=float)
    Y = X @ coef
    ybar = w @ Y / w.sum()
    L = (n * w / w.sum())[:, None] * (Y - ybar)
    return np.vstack([(L**2).sum(axis=0) / n**2, (L**3).sum(axis=0) / n**3])


def combine(parts: list[tuple[float, Moments]]) -> Moments:
    """Moments of ``Σ s_c I_c`` over independent samples: ``Σ s_c² m2_c`` and ``Σ s_c³ m3_c``."""
    out = np.zeros_like(parts[0][1])
    for s, m in parts:
        out = out + np.vstack([s**2 * m[0], s**3 * m[1]])
    return out


def difference(moments_from: Moments, moments_to: Moments) -> Moments:
    """Moments of ``I_to − I_from`` for independent waves."""
    return np.vstack([moments_to[0] + moments_from[0], moments_to[1] - moments_from[1]])


def acceleration(moments: Moments | None, J: int) -> NDArray[np.float64]:
    """``a = m3 / (6 m2^{3/2})``; 0 where unknown (``moments`` None) or undefined (``m2 = 0``)."""
    if moments is None:
        return np.zeros(J)
    m2, m3 = moments
    with np.errstate(invalid="ignore", divide="ignore"):
        a = m3 / (6.0 * m2**1.5)
    return np.where(np.isfinite(a), a, 0.0)


def bca_interval(
    draws: NDArray[np.float64], estimate: NDArray[np.float64], moments: Moments | None, level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """BCa limits at ``Φ(z0 + (z0 + z_k) / (1 − a (z0 + z_k)))`` (Efron & Tibshirani 1993, eq. 14.10).

    ``z0`` from the draws (:func:`csi.resample.intervals.bias_correction_z0`),
    ``a`` from :func:`acceleration`; quantiles as in
    :func:`csi.resample.intervals.quantiles` (failed replicates dropped).
    """
    est = np.asarray(estimate, dtype=float)
    a = acceleration(moments, est.shape[0])
    z0 = bias_correction_z0(draws, est)
    alpha = 1.0 - level
    z = ndtri(np.array([alpha / 2, 1 - alpha / 2]))[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        num = z0 + z
        probs = ndtr(z0 + num / (1 - a * num))
    lim = quantiles(draws, probs)
    return lim[0], lim[1]


def bca_pvalue(
    draws: NDArray[np.float64], estimate: NDArray[np.float64], moments: Moments | None, null: float = 0.0
) -> NDArray[np.float64]:
    """Two-sided p-value of ``H0: θ = null`` that inverts the BCa interval.

    ``null`` is a BCa limit at level ``1 − p``: with ``w = Φ⁻¹(G(null))``
    (``G`` the share of draws at or below ``null``, kept within ``[1/(B+1),
    B/(B+1)]`` so that a finite ``B`` never gives ``p = 0``, as in the
    add-one rule of Davison & Hinkley 1997, eq. 4.11), solving
    ``w = z0 + (z0 + z) / (1 − a (z0 + z))`` gives ``z = (w − z0) / (1 + a (w
    − z0)) − z0`` and ``p = 2 Φ(−|z|)``; with ``a = 0`` this is the BC
    interval's p-value.  So ``p < 1 − level`` exactly when the BCa interval
    excludes ``null`` (up to the quantile interpolation and the add-one rule).
    """
    D = np.asarray(draws, dtype=float)
    est = np.asarray(estimate, dtype=float)
    a = acceleration(moments, est.shape[0])
    z0 = bias_correction_z0(D, est)
    m = np.sum(np.isfinite(D), axis=0)
    below = np.sum(D <= null, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        G = np.clip(below / m, 1.0 / (m + 1), m / (m + 1.0))
        w = ndtri(G)
        den = 1 + a * (w - z0)
        z = np.where(den > 0, (w - z0) / den - z0, np.inf)
        p = np.maximum(2 * ndtr(-np.abs(z)), 2.0 / (m + 1))
    return np.where(m > 0, np.minimum(p, 1.0), np.nan)


def bca_change(
    index_from: NDArray[np.float64],
    index_to: NDArray[np.float64],
    draws_from: NDArray[np.float64] | None,
    draws_to: NDArray[np.float64] | None,
    moments_from: Moments | None,
    moments_to: Moments | None,
    level: float = 0.95,
) -> tuple[NDArray[np.float64], ...]:
    """Change ``index_to − index_from`` with its BCa interval, p-value and significance.

    Same contract as :func:`csi.index.change.change` (independent waves, the
    difference of the replicate draws, significant when the interval
    excludes 0); the acceleration combines the waves' influence moments
    (:func:`difference`).  Returns ``(change, ci_lower, ci_upper, p_value,
    significant)``, each (J,).
    """
    delta = index_to - index_from
    if draws_from is None or draws_to is None:
        nan = np.full_like(delta, np.nan)
        return delta, nan, nan.copy(), nan.copy(), np.zeros(delta.shape, dtype=bool)
    D = draws_to - draws_from
    mom = None if moments_from is None or moments_to is None else difference(moments_from, moments_to)
    lower, upper = bca_interval(D, delta, mom, level)
    p = bca_pvalue(D, delta, mom)
    significant = (lower > 0) | (upper < 0)
    return delta, lower, upper, p, significant
