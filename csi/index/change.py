"""Wave-over-wave change of an index, with its bootstrap interval and p-value (methodology §3.5).

Waves are independent cross-sections (new respondents each wave, the ACSI and
ECSI design), and every wave's replicates are drawn with their own seeds, so
the replicates of the two waves are independent and ``D*_b = I*_{t,b} −
I*_{t−1,b}`` are draws of the change's sampling distribution (the bootstrap
form of ``z = ΔI / sqrt(SE_t² + SE_{t−1}²)``).

* ``ci_lower, ci_upper``: the interval of the chosen type (percentile by
  default) of the ``D*``;
* ``significant``: the interval excludes 0, so the flag never contradicts the
  interval printed beside it;
* ``p_value``: the two-sided bootstrap p-value that inverts the same interval
  type (:func:`csi.resample.intervals.bootstrap_pvalue`): percentile or basic
  counting rule for those intervals (``bc`` uses the percentile rule), and for
  ``ci="normal"`` the z-test ``p = 2 Φ(−|ΔI| / SD(D*))`` that national indices
  report.  ``p < 1 − level`` agrees with ``significant`` up to the add-one
  rule of the counting p-value.

Paired designs (the same respondents in both waves) would need a cluster
bootstrap that keeps each respondent's waves together; not supported here.
"""

from __future__ import annotations

import numpy as np

from csi.resample.intervals import bootstrap_pvalue, confidence_interval

PVALUE_OF_INTERVAL = {"percentile": "percentile", "basic": "basic", "normal": "normal", "bc": "percentile"}
"""The p-value rule that goes with each interval type."""


def change(
    index_from: np.ndarray,
    index_to: np.ndarray,
    draws_from: np.ndarray | None,
    draws_to: np.ndarray | None,
    ci: str = "percentile",
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Change ``index_to − index_from`` per construct with interval, p-value and significance.

    Parameters
    ----------
    index_from, index_to
        (J,) indices of the earlier and later wave.
    draws_from, draws_to
        (B, J) independent replicates of each, or None (no bootstrap: NaN
        interval and p-value, not significant).
    ci, level
        Interval type and confidence level.

    Returns
    -------
    (change, ci_lower, ci_upper, p_value, significant), each (J,).
    """
    delta = index_to - index_from
    if draws_from is None or draws_to is None:
        nan = np.full_like(delta, np.nan)
        return delta, nan, nan.copy(), nan.copy(), np.zeros(delta.shape, dtype=bool)
    D = draws_to - draws_from
    lower, upper = confidence_interval(ci, D, delta, level)
    p = bootstrap_pvalue(D, delta, method=PVALUE_OF_INTERVAL.get(ci, "percentile"))
    lower, upper = np.asarray(lower), np.asarray(upper)
    significant = (lower > 0) | (upper < 0)
    return delta, np.asarray(lower), np.asarray(upper), np.asarray(p), significant
