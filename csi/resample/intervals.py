"""Bootstrap summaries and confidence intervals, vectorised over parameters.

Every function takes the replicate values ``draws`` of shape ``(B, q)`` (one
column per parameter; a 1-D ``(B,)`` array is one parameter) and, where needed,
the full-sample ``estimate`` of shape ``(q,)``.  NaN entries mark failed
replicates: they are dropped **per column**, so ``B_j`` below is the number of
finite draws of parameter ``j`` (architecture principle 7: callers count and
report failures; these functions never treat a NaN as a value).  A column with
no usable draws gives NaN.

Notation: ``θ̂`` estimate, ``θ*_b`` replicates, ``α = 1 - level``, ``q_p`` the
``p``-quantile of the replicates, ``Φ`` the standard normal cdf, ``z_p =
Φ⁻¹(p)``.  Quantiles use the linear interpolation of numpy's default method
(Hyndman & Fan 1996 type 7 = R's ``quantile(type = 7)``, which R plspm uses),
with per-column probabilities so BCa stays vectorised.

Formulas are the textbook ones (Efron & Tibshirani 1993, chapters 12-14;
Davison & Hinkley 1997, chapter 5); the table in
``design/csi-methodology.md`` section 4.5 lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

from csi.errors import BootstrapError

__all__ = [
    "INTERVALS",
    "PVALUE_METHODS",
    "Interval",
    "basic_ci",
    "bc_ci",
    "bca_acceleration",
    "bca_ci",
    "bias_correction_z0",
    "bootstrap_bias",
    "bootstrap_pvalue",
    "bootstrap_se",
    "confidence_interval",
    "normal_ci",
    "percentile_ci",
    "quantiles",
    "studentized_ci",
]


class Interval(NamedTuple):
    """Lower and upper confidence limits, each shaped like ``estimate``."""

    lower: NDArray[np.float64]
    upper: NDArray[np.float64]


# --------------------------------------------------------------------------- helpers


def _student_t():
    """scipy's t distribution, imported on first use (scipy.stats costs ~45 MiB and 0.5 s to import)."""
    from scipy.stats import t

    return t


def _as_draws(draws: ArrayLike) -> tuple[NDArray[np.float64], tuple[int, ...]]:
    """(B, q) float view of ``draws`` and the per-parameter output shape."""
    D = np.asarray(draws, dtype=np.float64)
    if D.ndim == 1:
        return D[:, None], ()
    if D.ndim != 2:
        raise BootstrapError(f"draws must have shape (B,) or (B, q); got {D.shape}")
    return D, (D.shape[1],)


def _as_estimate(estimate: ArrayLike, q: int) -> NDArray[np.float64]:
    est = np.asarray(estimate, dtype=np.float64).reshape(-1)
    if est.shape != (q,):
        raise BootstrapError(
            f"estimate must have {q} value(s), one per column of draws; got shape {np.shape(estimate)}"
        )
    return est


def _alpha(level: float) -> float:
    if not (0.0 < float(level) < 1.0):
        raise BootstrapError(f"level must be strictly between 0 and 1 (e.g. 0.95); got {level!r}")
    return 1.0 - float(level)


def _out(x: NDArray[np.float64], shape: tuple[int, ...]) -> NDArray[np.float64]:
    return x.reshape(shape) if shape == () else x


def _finite_count(D: NDArray[np.float64]) -> NDArray[np.intp]:
    return np.count_nonzero(~np.isnan(D), axis=0)


def _column_sums(D: NDArray[np.float64], m: NDArray[np.intp]) -> NDArray[np.float64]:
    """``np.nansum(D, axis=0)``; without NaNs (``m`` = all rows) a plain sum, the same numbers without a copy."""
    return D.sum(axis=0) if m.size and m.min() == D.shape[0] else np.nansum(D, axis=0)


def quantiles(draws: ArrayLike, probs: ArrayLike) -> NDArray[np.float64]:
    """Type-7 quantiles per column, NaNs dropped, probabilities per column.

    Parameters
    ----------
    draws : array_like, shape (B, q)
    probs : array_like, shape (k,) or (k, q)
        Probabilities in [0, 1]; a row ``probs[i]`` may differ by column (BCa).
        NaN probabilities give NaN.

    Returns
    -------
    ndarray, shape (k, q)
        With ``m`` finite draws sorted as ``x_(0) <= ... <= x_(m-1)`` and
        ``h = (m - 1) p``: ``x_(⌊h⌋) + (h - ⌊h⌋)(x_(⌊h⌋+1) - x_(⌊h⌋))``
        (Hyndman & Fan 1996, definition 7; numpy ``method="linear"``).
    """
    D, _ = _as_draws(draws)
    S = np.sort(D, axis=0)  # NaNs sort to the end of each column
    m = _finite_count(D)
    P = np.asarray(probs, dtype=np.float64)
    P = np.broadcast_to(P[:, None] if P.ndim == 1 else P, (P.shape[0], D.shape[1]))
    ok = (m > 0) & np.isfinite(P) & (P >= 0) & (P <= 1)
    h = np.where(ok, (m - 1) * np.where(ok, P, 0.0), 0.0)
    lo = np.floor(h).astype(np.intp)
    hi = np.minimum(lo + 1, np.maximum(m - 1, 0))
    frac = h - lo
    cols = np.arange(D.shape[1])
    x_lo = S[lo, cols]
    x_hi = S[hi, cols]
    # numpy's lerp: from the nearer end point, so frac = 0 or 1 reproduce the
    # order statistic exactly (matters for ties with the estimate).
    val = np.where(frac < 0.5, x_lo + (x_hi - x_lo) * frac, x_hi - (x_hi - x_lo) * (1.0 - frac))
    return np.where(ok, val, np.nan)


# --------------------------------------------------------------------------- summaries


def bootstrap_se(draws: ArrayLike) -> NDArray[np.float64]:
    """Bootstrap standard error: SD of the finite replicates, divisor ``B_j - 1``.

    ``SE* = sqrt(Σ_b (θ*_b - θ̄*)² / (B - 1))`` (Efron & Tibshirani 1993,
    eq. 6.6; R plspm's ``Std.Error``).  NaN with fewer than two finite draws.
    """
    D, shape = _as_draws(draws)
    m = _finite_count(D)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _column_sums(D, m) / m
        dev = D - mean
        np.square(dev, out=dev)
        ss = _column_sums(dev, m)
        se = np.where(m > 1, np.sqrt(ss / (m - 1)), np.nan)
    return _out(se, shape)


def bootstrap_bias(draws: ArrayLike, estimate: ArrayLike) -> NDArray[np.float64]:
    """Bootstrap bias estimate ``mean(θ*) - θ̂`` (Efron & Tibshirani 1993, eq. 10.2)."""
    D, shape = _as_draws(draws)
    est = _as_estimate(estimate, D.shape[1])
    m = _finite_count(D)
    with np.errstate(invalid="ignore", divide="ignore"):
        bias = np.where(m > 0, _column_sums(D, m) / m, np.nan) - est
    return _out(bias, shape)


# --------------------------------------------------------------------------- intervals


def percentile_ci(draws: ArrayLike, estimate: ArrayLike | None = None, level: float = 0.95) -> Interval:
    """Percentile interval ``[q_{α/2}, q_{1-α/2}]``.

    Efron & Tibshirani (1993, eq. 13.5); Davison & Hinkley (1997, eq. 5.18).
    ``estimate`` is not used (accepted so all kinds share one call form).
    """
    D, shape = _as_draws(draws)
    alpha = _alpha(level)
    Qs = quantiles(D, [alpha / 2, 1 - alpha / 2])
    return Interval(_out(Qs[0], shape), _out(Qs[1], shape))


def basic_ci(draws: ArrayLike, estimate: ArrayLike, level: float = 0.95) -> Interval:
    """Basic (reverse percentile) interval ``[2θ̂ - q_{1-α/2}, 2θ̂ - q_{α/2}]``.

    Davison & Hinkley (1997, eq. 5.6); scipy's ``method="basic"``.
    """
    D, shape = _as_draws(draws)
    est = _as_estimate(estimate, D.shape[1])
    alpha = _alpha(level)
    Qs = quantiles(D, [alpha / 2, 1 - alpha / 2])
    return Interval(_out(2 * est - Qs[1], shape), _out(2 * est - Qs[0], shape))


def normal_ci(
    draws: ArrayLike,
    estimate: ArrayLike,
    level: float = 0.95,
    *,
    bias_corrected: bool = False,
    df: int | None = None,
) -> Interval:
    """Standard (normal-theory) interval ``centre ∓ z_{1-α/2} SE*``.

    Parameters
    ----------
    bias_corrected : bool
        Centre on ``θ̂ - bias* = 2θ̂ - mean(θ*)`` instead of ``θ̂``
        (Davison & Hinkley 1997, eq. 5.4; Efron & Tibshirani 1993, section 10.6).
    df : int, optional
        Use the ``t_{df}`` quantile instead of ``z`` (e.g. ``df = N - 1``; the
        "t" variant of the methodology's standard interval).

    Notes
    -----
    ``SE*`` is :func:`bootstrap_se` (Efron & Tibshirani 1993, eq. 13.2).
    """
    D, shape = _as_draws(draws)
    est = _as_estimate(estimate, D.shape[1])
    alpha = _alpha(level)
    crit = float(ndtri(1 - alpha / 2)) if df is None else float(_student_t().ppf(1 - alpha / 2, df))
    se = bootstrap_se(D)
    centre = est - bootstrap_bias(D, est) if bias_corrected else est
    return Interval(_out(centre - crit * se, shape), _out(centre + crit * se, shape))


def bias_correction_z0(draws: ArrayLike, estimate: ArrayLike) -> NDArray[np.float64]:
    """BCa bias correction ``z0 = Φ⁻¹(share of replicates below θ̂)``.

    Efron & Tibshirani (1993, eq. 14.14).  Ties with ``θ̂`` count one half:
    ``share = (#{θ* < θ̂} + #{θ* <= θ̂}) / (2 B)``, exactly as scipy's
    ``bootstrap`` (``_percentile_of_score``, i.e. ``percentileofscore``'s
    ``kind="mean"``).  This differs from the strict ``#{θ* < θ̂} / B`` only
    when replicates equal the estimate, which happens for discrete statistics;
    counting ties half keeps ``z0 = 0`` for a symmetric distribution centred
    on ``θ̂``.  ``z0`` is ±inf when every replicate lies on one side.
    """
    D, shape = _as_draws(draws)
    est = _as_estimate(estimate, D.shape[1])
    m = _finite_count(D)
    below = np.count_nonzero(D < est, axis=0) + np.count_nonzero(D <= est, axis=0)  # NaN compares False
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(m > 0, below / (2.0 * m), np.nan)
    return _out(ndtri(share), shape)


def bca_acceleration(jackknife_values: ArrayLike) -> NDArray[np.float64]:
    """BCa acceleration from leave-one-out values.

    ``a = Σ_i (θ̄₍.₎ - θ₍i₎)³ / (6 [Σ_i (θ̄₍.₎ - θ₍i₎)²]^{3/2})``
    (Efron & Tibshirani 1993, eq. 14.15; Davison & Hinkley 1997, eq. 5.25 with
    empirical influence values ``l_j ≈ (n - 1)(θ̄₍.₎ - θ₍j₎)``, the factor
    cancelling).  NaN jackknife values (failed fits) are dropped per column.

    Parameters
    ----------
    jackknife_values : array_like, shape (n,) or (n, q)
    """
    J, shape = _as_draws(jackknife_values)
    m = _finite_count(J)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(J, axis=0) / m
        dev = mean - J
        num = np.nansum(dev**3, axis=0)
        den = np.nansum(dev**2, axis=0) ** 1.5
        a = np.where(m > 0, num / (6.0 * den), np.nan)
    return _out(a, shape)


def _bca_limits(
    D: NDArray[np.float64], est: NDArray[np.float64], a: NDArray[np.float64], alpha: float
) -> NDArray[np.float64]:
    """Quantiles at the BCa-adjusted probabilities (Efron & Tibshirani 1993, eq. 14.10)."""
    z0 = bias_correction_z0(D, est)
    z = ndtri(np.array([alpha / 2, 1 - alpha / 2]))[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        num = z0 + z
        probs = ndtr(z0 + num / (1 - a * num))
    return quantiles(D, probs)


def bca_ci(
    draws: ArrayLike,
    estimate: ArrayLike,
    level: float = 0.95,
    *,
    jackknife_values: ArrayLike | None = None,
) -> Interval:
    """Bias-corrected and accelerated (BCa) interval.

    Limits are the quantiles ``q_{α1}, q_{α2}`` with
    ``α_k = Φ(z0 + (z0 + z_k) / (1 - a (z0 + z_k)))``, ``z_1 = z_{α/2}``,
    ``z_2 = z_{1-α/2}``, ``z0`` from :func:`bias_correction_z0` and ``a`` from
    :func:`bca_acceleration` (Efron & Tibshirani 1993, eq. 14.9-14.15;
    Davison & Hinkley 1997, eq. 5.20-5.25).  Matches scipy's
    ``stats.bootstrap(method="BCa")`` given the same draws.

    Parameters
    ----------
    jackknife_values : array_like, shape (n,) or (n, q)
        Leave-one-out estimates ``θ₍i₎`` (obtainable through the moment path
        with :func:`csi.resample.plans.jackknife_counts`).  Required.

    Notes
    -----
    A column whose replicates all lie on one side of ``θ̂`` (``z0 = ±inf``) or
    whose jackknife values are constant (``a`` undefined) gets the limits
    that the formula yields, possibly NaN, as scipy does.
    """
    if jackknife_values is None:
        raise BootstrapError(
            "the BCa interval needs jackknife_values (n, q): leave-one-out estimates for the acceleration"
        )
    D, shape = _as_draws(draws)
    est = _as_estimate(estimate, D.shape[1])
    J = np.asarray(jackknife_values, dtype=np.float64)
    J = J[:, None] if J.ndim == 1 else J
    if J.ndim != 2 or J.shape[1] != D.shape[1]:
        raise BootstrapError(f"jackknife_values must have shape (n, {D.shape[1]}); got {np.shape(jackknife_values)}")
    lim = _bca_limits(D, est, bca_acceleration(J), _alpha(level))
    return Interval(_out(lim[0], shape), _out(lim[1], shape))


def bc_ci(draws: ArrayLike, estimate: ArrayLike, level: float = 0.95) -> Interval:
    """Bias-corrected (BC) percentile interval: BCa with ``a = 0``.

    Limits at probabilities ``Φ(2 z0 + z_{α/2})`` and ``Φ(2 z0 + z_{1-α/2})``
    (Efron & Tibshirani 1993, section 14.3; Davison & Hinkley 1997, eq. 5.21).
    """
    D, shape = _as_draws(draws)
    est = _as_estimate(estimate, D.shape[1])
    lim = _bca_limits(D, est, np.zeros(D.shape[1]), _alpha(level))
    return Interval(_out(lim[0], shape), _out(lim[1], shape))


def studentized_ci(
    draws: ArrayLike,
    estimate: ArrayLike,
    level: float = 0.95,
    *,
    se_draws: ArrayLike | None = None,
    se: ArrayLike | None = None,
) -> Interval:
    """Studentized (bootstrap-t) interval.

    ``t*_b = (θ*_b - θ̂) / SE**_b``; interval
    ``[θ̂ - t*_{1-α/2} SE, θ̂ - t*_{α/2} SE]`` (Efron & Tibshirani 1993,
    eq. 12.22; Davison & Hinkley 1997, eq. 5.7).

    Parameters
    ----------
    se_draws : array_like, shape (B, q)
        Standard error of each replicate, ``SE**_b`` (from an inner bootstrap
        or a formula).  Required.  Replicates with a NaN or non-positive
        ``SE**_b`` have no ``t*_b`` and are dropped like failed replicates.
    se : array_like, shape (q,), optional
        Standard error of ``θ̂``; defaults to :func:`bootstrap_se` of the draws.
    """
    if se_draws is None:
        raise BootstrapError("the studentized interval needs se_draws (B, q): a standard error for every replicate")
    D, shape = _as_draws(draws)
    est = _as_estimate(estimate, D.shape[1])
    SE = np.asarray(se_draws, dtype=np.float64)
    SE = SE[:, None] if SE.ndim == 1 else SE
    if SE.shape != D.shape:
        raise BootstrapError(f"se_draws must have the shape of draws {D.shape}; got {np.shape(se_draws)}")
    alpha = _alpha(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        T = np.where(SE > 0, (D - est) / SE, np.nan)
    scale = bootstrap_se(D) if se is None else _as_estimate(se, D.shape[1])
    tq = quantiles(T, [alpha / 2, 1 - alpha / 2])
    return Interval(_out(est - tq[1] * scale, shape), _out(est - tq[0] * scale, shape))


INTERVALS: dict[str, Callable[..., Interval]] = {
    "percentile": percentile_ci,
    "basic": basic_ci,
    "normal": normal_ci,
    "bc": bc_ci,
    "bca": bca_ci,
    "studentized": studentized_ci,
}
"""Interval kinds by name; :func:`confidence_interval` dispatches on this table."""


def confidence_interval(
    kind: str, draws: ArrayLike, estimate: ArrayLike, level: float = 0.95, **options: Any
) -> Interval:
    """Confidence interval of the named kind.

    Parameters
    ----------
    kind : {"percentile", "basic", "normal", "bc", "bca", "studentized"}
        Key of :data:`INTERVALS`.
    draws, estimate, level
        As in the individual functions.
    **options
        Passed on: ``bias_corrected``/``df`` (normal), ``jackknife_values``
        (bca), ``se_draws``/``se`` (studentized).

    Raises
    ------
    BootstrapError
        Unknown ``kind`` (the message lists the valid ones) or an option the
        kind does not take.
    """
    try:
        fn = INTERVALS[kind]
    except (KeyError, TypeError):
        raise BootstrapError(f"unknown interval kind {kind!r}; valid kinds: {', '.join(INTERVALS)}") from None
    try:
        return fn(draws, estimate, level, **options)
    except TypeError as exc:
        if "unexpected keyword" not in str(exc):
            raise
        raise BootstrapError(f"interval kind {kind!r} does not take option(s) {sorted(options)}: {exc}") from None


# --------------------------------------------------------------------------- p-values


def _pvalue_tail(D: NDArray[np.float64], c: NDArray[np.float64]) -> NDArray[np.float64]:
    m = _finite_count(D)
    tail = np.minimum(np.count_nonzero(D <= c, axis=0), np.count_nonzero(D >= c, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.minimum(1.0, 2.0 * (1.0 + tail) / (m + 1.0))
    return np.where(m > 0, p, np.nan)


def _pvalue_percentile(
    D: NDArray[np.float64], est: NDArray[np.float64], null: NDArray[np.float64], df: int | None
) -> NDArray[np.float64]:
    return _pvalue_tail(D, null)


def _pvalue_basic(
    D: NDArray[np.float64], est: NDArray[np.float64], null: NDArray[np.float64], df: int | None
) -> NDArray[np.float64]:
    return _pvalue_tail(D, 2 * est - null)


def _pvalue_normal(
    D: NDArray[np.float64], est: NDArray[np.float64], null: NDArray[np.float64], df: int | None
) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(est - null) / bootstrap_se(D)
    return 2 * ndtr(-z) if df is None else 2 * _student_t().sf(z, df)


PVALUE_METHODS: dict[str, Callable[..., NDArray[np.float64]]] = {
    "percentile": _pvalue_percentile,
    "basic": _pvalue_basic,
    "normal": _pvalue_normal,
}
"""Two-sided bootstrap p-value definitions by name (see :func:`bootstrap_pvalue`)."""


def bootstrap_pvalue(
    draws: ArrayLike,
    estimate: ArrayLike,
    null: ArrayLike = 0.0,
    *,
    method: str = "percentile",
    df: int | None = None,
) -> NDArray[np.float64]:
    """Two-sided bootstrap p-value of ``H0: θ = null``.

    Definitions (``B_j`` finite draws, ``c`` the critical point):

    ``"percentile"`` (default), ``c = null``; ``"basic"``, ``c = 2θ̂ - null``:
        ``p = min(1, 2 (1 + min(#{θ* <= c}, #{θ* >= c})) / (B + 1))``.
        This inverts the percentile (resp. basic) interval -- ``p`` is about
        the smallest ``α`` whose ``1 - α`` interval excludes ``null`` -- with
        the add-one rule of Davison & Hinkley (1997, eq. 4.11) so that a
        finite ``B`` never reports ``p = 0`` (the smallest value is
        ``2 / (B + 1)``).  The basic form equals the test that compares
        ``θ̂ - null`` with the null-centred replicates ``θ* - θ̂``
        (Efron & Tibshirani 1993, section 16.4).
    ``"normal"``:
        ``p = 2 Φ(-|θ̂ - null| / SE*)`` (``t_df`` instead of ``Φ`` when ``df``
        is given), the "t-value" test PLS programs such as SmartPLS report.

    Parameters
    ----------
    draws : array_like, shape (B, q)
    estimate : array_like, shape (q,)
    null : float or array_like, shape (q,)
    method : {"percentile", "basic", "normal"}
    df : int, optional
        Degrees of freedom for ``method="normal"``.

    Returns
    -------
    ndarray, shape (q,)
    """
    try:
        fn = PVALUE_METHODS[method]
    except (KeyError, TypeError):
        raise BootstrapError(f"unknown p-value method {method!r}; valid methods: {', '.join(PVALUE_METHODS)}") from None
    D, shape = _as_draws(draws)
    est = _as_estimate(estimate, D.shape[1])
    h0 = np.broadcast_to(np.asarray(null, dtype=np.float64), est.shape)
    return _out(fn(D, est, h0, df), shape)
