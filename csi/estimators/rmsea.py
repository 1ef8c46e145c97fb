"""The RMSEA's confidence interval and its tests of close and not-close fit.

Steiger & Lind (1980); Browne & Cudeck (1993) for the interval and the test of
close fit; MacCallum, Browne & Sugawara (1996) for the test of not-close fit.
The definitions are lavaan's (0.6, ``fitMeasures``): with the model chi-square
``T`` on ``df`` degrees of freedom, ``N`` respondents and ``G`` groups,

``rmsea = sqrt(max(T - df, 0) / (N df)) * sqrt(G)``;

the interval's bounds are ``sqrt(lambda / (N df)) * sqrt(G)`` where ``lambda``
solves ``P(chi2'(df, lambda) <= T) = (1 + level) / 2`` (lower) and
``(1 - level) / 2`` (upper), 0 when no root is positive;

``pvalue = 1 - P(chi2'(df, N df e0^2 / G) <= T)`` tests ``rmsea <= e0`` (close
fit, ``e0 = 0.05``) and ``notclose_pvalue = P(chi2'(df, N df e1^2 / G) <= T)``
tests ``rmsea >= e1`` (``e1 = 0.08``).  ``chi2'`` is the noncentral
chi-square distribution.
"""

from __future__ import annotations

import math

import numpy as np


def rmsea_measures(
    chisq: float, df: float, n: float, groups: int = 1, level: float = 0.90, close: float = 0.05,
    notclose: float = 0.08,
) -> dict[str, float]:  # fmt: skip
    """RMSEA, its ``level`` interval and the p-values of close and not-close fit (module docstring).

    Returns a dict with keys ``rmsea``, ``rmsea_ci_lower``, ``rmsea_ci_upper``,
    ``rmsea_pvalue`` and ``rmsea_notclose_pvalue``; all NaN when ``df < 1``.
    """
    from scipy.optimize import brentq
    from scipy.stats import ncx2

    keys = ("rmsea", "rmsea_ci_lower", "rmsea_ci_upper", "rmsea_pvalue", "rmsea_notclose_pvalue")
    if not df >= 1 or not math.isfinite(chisq):
        return dict.fromkeys(keys, np.nan)
    scale = math.sqrt(groups) / math.sqrt(n * df)

    def cdf(lam: float) -> float:
        # ncx2 with ncp 0 is the central chi-square; scipy needs ncp > 0 for some versions.
        return float(ncx2.cdf(chisq, df, lam)) if lam > 0 else float(_central_cdf(chisq, df))

    def bound(p: float) -> float:
        if cdf(0.0) < p:
            return 0.0
        hi = max(n, 4.0 * chisq, 1.0)
        while cdf(hi) > p:  # the cdf falls with lambda; widen until the root is bracketed
            hi *= 2.0
        return brentq(lambda lam: cdf(lam) - p, 0.0, hi, xtol=1e-12, rtol=1e-14, maxiter=500)

    return {
        "rmsea": math.sqrt(max(chisq - df, 0.0)) * scale,
        "rmsea_ci_lower": math.sqrt(bound((1.0 + level) / 2.0)) * scale,
        "rmsea_ci_upper": math.sqrt(bound((1.0 - level) / 2.0)) * scale,
        "rmsea_pvalue": 1.0 - cdf(n * df * close**2 / groups),
        "rmsea_notclose_pvalue": cdf(n * df * notclose**2 / groups),
    }


def _central_cdf(x: float, df: float) -> float:
    from scipy.stats import chi2

    return float(chi2.cdf(x, df))
