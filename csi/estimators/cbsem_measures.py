"""lavaan's ``fitMeasures`` of an ML fit from its chi-square, baseline, log-likelihoods and SRMR: one table for
complete-data ML (:func:`csi.estimators.cbsem.fit_measures`), FIML (:func:`csi.estimators.cbsem_fiml.fiml_fit_measures`)
and multiple groups (:func:`csi.estimators.cbsem_groups.fit_groups`), which differ only in how they get those.

With the model chi-square ``T`` on ``df`` degrees of freedom and the baseline (independence) model's ``T_b``
on ``df_b``: ``cfi = 1 - max(T - df, 0) / max(T - df, T_b - df_b, 0)`` (Bentler 1990; 1 when the denominator
is 0), ``tli = (T_b / df_b - T / df) / (T_b / df_b - 1)`` (Tucker & Lewis 1973), ``aic = -2 logl + 2 q``,
``bic = -2 logl + q log N``; the RMSEA, its interval and tests from :func:`csi.estimators.rmsea.rmsea_measures`.
"""

from __future__ import annotations

import numpy as np

from csi.estimators.rmsea import rmsea_measures
from csi.results.measures import FitMeasures, fit_measures_series


def ml_fit_measures(
    *, npar: int, fmin: float, chisq: float, df: int, baseline_chisq: float, baseline_df: int, srmr: float,
    logl: float, unrestricted_logl: float, n: float, groups: int = 1,
) -> FitMeasures:  # fmt: skip
    """The fit measures, in lavaan's order and names (``.`` written ``_``), of an ML fit of ``npar`` free
    parameters to ``n`` respondents in ``groups`` groups (module docstring)."""
    from scipy.stats import chi2  # imported here: scipy.stats is heavy and most fits never need it

    cfi_den = max(chisq - df, baseline_chisq - baseline_df, 0.0)
    tli_b = baseline_chisq / baseline_df
    interval = rmsea_measures(chisq, df, n, groups=groups)
    values = {
        "npar": npar, "fmin": fmin, "chisq": chisq, "df": df, "pvalue": float(chi2.sf(chisq, df)) if df > 0 else np.nan,
        "baseline_chisq": baseline_chisq, "baseline_df": baseline_df,
        "cfi": 1.0 - max(chisq - df, 0.0) / cfi_den if cfi_den > 0 else 1.0,
        "tli": (tli_b - chisq / df) / (tli_b - 1.0) if df > 0 else np.nan, "rmsea": interval.pop("rmsea"),
        "srmr": srmr, "logl": logl, "unrestricted_logl": unrestricted_logl, "aic": -2 * logl + 2 * npar,
        "bic": -2 * logl + npar * np.log(n), "ntotal": n,
    }  # fmt: skip
    values.update(interval)
    return fit_measures_series(values)


__all__ = ["ml_fit_measures"]
