"""One significance rule for a bootstrap interval and its p-value.

A change is *significant* when its interval excludes 0, and its p-value is the
interval's own inversion: the smallest ``α`` whose ``1 − α`` interval of the
same type, from the same replicates, excludes 0 (the "achieved significance
level" of a confidence interval, Efron & Tibshirani 1993, section 15.4;
Davison & Hinkley 1997, section 4.4).  Hence, for any level,

    interval excludes 0  ⇔  p < 1 − level  ⇔  significant,

so a flag, its arrow, the p-value and the interval printed beside them cannot
disagree.  The add-one counting p-value (Davison & Hinkley 1997, eq. 4.11)
is slightly larger than this inversion and could say ``p = 0.0503`` next to an
interval that excludes 0; that is why changes do not use it.

Inversions (type-7 quantiles ``Q`` of the replicates, ``c`` the critical value):

- percentile (``c = 0``) and basic (``c = 2θ̂``):
  ``p = min(1, 2 p_≤, 2 (1 − p_≥))`` with ``p_≤ = sup{u: Q(u) ≤ c}`` and
  ``p_≥ = inf{u: Q(u) ≥ c}``;
- bias-corrected percentile (``bc``), limits at ``Φ(2 z0 ± z_{1−α/2})``:
  the same with ``p_≤ → Φ(Φ⁻¹(p_≤) − 2 z0)`` and ``p_≥ → Φ(Φ⁻¹(p_≥) − 2 z0)``;
- normal, ``centre ± z_{1−α/2} SE``: ``p = 2 Φ(−|centre| / SE)``.

A p-value of 0 means every replicate lies on one side of 0 (the interval
excludes 0 at every level the replicates can resolve).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

from csi.resample.intervals import bias_correction_z0, bootstrap_se, confidence_interval

KINDS = ("percentile", "basic", "normal", "bc")
"""Interval types whose p-value is inverted here."""


def _sup_below(S: NDArray[np.float64], c: float) -> tuple[float, float]:
    """(sup{u: Q(u) <= c}, inf{u: Q(u) >= c}) of the type-7 quantile function of sorted finite ``S``."""
    m = S.size
    if m == 1:
        return (1.0 if S[0] <= c else 0.0), (0.0 if S[0] >= c else 1.0)
    k = int(np.count_nonzero(S <= c))
    if k == 0:
        hi = 0.0
    elif k == m:
        hi = 1.0
    else:  # S[k-1] <= c < S[k]: the quantile line crosses c between the two order statistics
        hi = (k - 1 + (c - S[k - 1]) / (S[k] - S[k - 1])) / (m - 1)
    j = int(np.count_nonzero(S < c))
    if j == 0:
        lo = 0.0
    elif j == m:
        lo = 1.0
    else:  # S[j-1] < c <= S[j]
        lo = (j - 1 + (c - S[j - 1]) / (S[j] - S[j - 1])) / (m - 1)
    return hi, lo


def interval_pvalue(kind: str, draws: NDArray[np.float64], estimate: NDArray[np.float64]) -> NDArray[np.float64]:
    """Two-sided p-value of ``θ = 0`` that inverts the ``kind`` interval of ``draws`` exactly.

    Parameters
    ----------
    kind : {"percentile", "basic", "normal", "bc"}
    draws : ndarray, shape (B, q)
        Replicates (NaN for failed ones, dropped per column).
    estimate : ndarray, shape (q,)

    Returns
    -------
    ndarray, shape (q,)
        NaN where a column has no finite replicate.
    """
    D = np.asarray(draws, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64).reshape(-1)
    if kind == "normal":
        with np.errstate(invalid="ignore", divide="ignore"):
            return 2 * ndtr(-np.abs(est) / bootstrap_se(D))
    if kind not in KINDS:
        raise ValueError(f"no p-value inversion for interval type {kind!r}; accepted: {', '.join(KINDS)}")
    z0 = bias_correction_z0(D, est) if kind == "bc" else np.zeros(est.shape)
    out = np.full(est.shape, np.nan)
    for col in range(D.shape[1]):
        S = np.sort(D[np.isfinite(D[:, col]), col])
        if S.size == 0 or not np.isfinite(est[col]):
            continue
        c = 2 * est[col] if kind == "basic" else 0.0
        below, above = _sup_below(S, c)
        if kind == "bc":
            if not np.isfinite(z0[col]):
                continue  # every replicate on one side of θ̂: the BC interval is undefined
            below, above = float(ndtr(ndtri(below) - 2 * z0[col])), float(ndtr(ndtri(above) - 2 * z0[col]))
        out[col] = min(1.0, 2 * below, 2 * (1 - above))
    return out


def significance(
    kind: str, draws: NDArray[np.float64], estimate: NDArray[np.float64], level: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Interval, p-value and flag of ``θ = 0`` under one rule.

    Returns
    -------
    (ci_lower, ci_upper, p_value, significant), each (q,)
        ``significant`` is "the interval excludes 0"; ``p_value`` is
        :func:`interval_pvalue`, nudged by at most floating-point rounding so
        that ``p < 1 − level`` exactly when ``significant`` (the quantile
        function and its inversion round differently in the last bits).
    """
    lower, upper = (np.asarray(x, dtype=np.float64).reshape(-1) for x in confidence_interval(kind, draws, estimate,
                                                                                            level))  # fmt: skip
    significant = (lower > 0) | (upper < 0)
    p = interval_pvalue(kind, draws, estimate)
    alpha = 1.0 - level
    p = np.where(significant & (p >= alpha), np.nextafter(alpha, 0.0), p)
    p = np.where(~significant & (p < alpha), alpha, p)
    p = np.where(np.isfinite(lower) & np.isfinite(upper), p, np.nan)
    return lower, upper, p, significant
