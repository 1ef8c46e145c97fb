"""Wave-over-wave change of an index, with its bootstrap interval and p-value (methodology §3.5).

Waves are independent cross-sections by default (new respondents each wave,
the ACSI and ECSI design), and every wave's replicates are drawn with their own seeds, so
the replicates of the two waves are independent and ``D*_b = I*_{t,b} −
I*_{t−1,b}`` are draws of the change's sampling distribution (the bootstrap
form of ``z = ΔI / sqrt(SE_t² + SE_{t−1}²)``).

* ``ci_lower, ci_upper``: the interval of the chosen type (percentile by
  default) of the ``D*``;
* ``significant``: the interval excludes 0;
* ``p_value``: the exact inversion of the same interval type
  (:func:`csi.index.significance.interval_pvalue`; for ``ci="normal"`` the
  z-test ``p = 2 Φ(−|ΔI| / SD(D*))``), so ``p < 1 − level`` exactly when
  ``significant``: the flag, its arrow, the p-value and the interval never
  disagree (one rule, :func:`csi.index.significance.significance`).

Paired and mixed designs (some respondents asked in both waves; the
``respondent_id`` of :func:`csi.index_panel`) use the same formula: their
cells draw replicate ``b`` of both waves from one cluster plan that keeps
each respondent's waves together (:mod:`csi.index.paired`), so the ``D*``
carry the within-respondent covariance.
"""

from __future__ import annotations

import numpy as np

from csi.index.significance import significance


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
        (B, J) replicates of each, independent or paired replicate by
        replicate, or None (no bootstrap: NaN interval and p-value, not
        significant).
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
    lower, upper, p, significant = significance(ci, D, delta, level)
    return delta, lower.reshape(delta.shape), upper.reshape(delta.shape), p.reshape(delta.shape), significant
