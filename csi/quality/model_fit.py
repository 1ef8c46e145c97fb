"""Overall model fit of a composite (or PLSc) model: SRMR, d_ULS and d_G, saturated and estimated.

Methodology §4.6; Henseler et al. (2014, ORM 17(2):182-209) and Dijkstra &
Henseler (2015, CSDA 81:10-23).  The *saturated* model takes the construct
correlations as estimated (only the measurement model is tested); the
*estimated* model replaces them by those the structural model implies
(:func:`csi.core.quality.structural_implied`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from csi.core.quality import d_g, d_uls
from csi.core.quality import srmr as _srmr
from csi.errors import EstimationError
from csi.quality._common import check_composite_fit, correlation_and_weights
from csi.quality.bollen_stine import bollen_stine, exact_fit_table
from csi.quality.implied import implied
from csi.resample.plans import SeedLike
from csi.results.fit import FitResult

CRITERIA = ("srmr", "d_uls", "d_g")


def srmr(fit: FitResult) -> float:
    """SRMR ``sqrt(mean_{i<=j} (r_ij - sigma_ij)²)`` between the item correlations and the saturated model.

    Henseler et al. (2014, ORM 17(2):182-209); usual reading < 0.08 (Hu &
    Bentler 1999).
    """
    S, _ = correlation_and_weights(fit)
    return float(_srmr(S, implied(fit)))


def model_fit(
    fit: FitResult,
    n_resamples: int | None = None,
    seed: SeedLike = None,
    *,
    indices: Any = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """SRMR, d_ULS and d_G of the saturated and the estimated model, with their test of exact fit on request.

    Parameters
    ----------
    fit
        A composite (PLS) or PLSc fit.
    n_resamples, seed
        When ``n_resamples`` is given (a PLS fit of complete data): the
        Bollen-Stine bootstrap of every criterion under exact fit
        (:mod:`csi.quality.bollen_stine`; Dijkstra & Henseler 2015), seeded
        under the contract of :mod:`csi.resample.plans`.
    indices
        Optional (B, n) resample row positions to replay instead.
    n_jobs
        Threads of the bootstrap (default: every core); results do not depend on it.

    Returns
    -------
    pandas.DataFrame
        Index ``criterion`` (``srmr``, ``d_uls``, ``d_g``), columns
        ``saturated`` and ``estimated``; with the bootstrap also
        ``saturated_hi95, saturated_hi99, saturated_p`` and the same for
        ``estimated``: the 95 % and 99 % quantiles of the criterion over the
        Bollen-Stine replicates and the bootstrap p-value of exact fit (the
        model is rejected at 5 % when the value exceeds HI95).  The draws and
        the plan are in ``attrs["bollen_stine"]``.
    """
    check_composite_fit(fit, "model_fit")
    if n_resamples is None and indices is None and seed is not None:
        raise EstimationError("seed= chooses the Bollen-Stine resamples; give n_resamples= as well")
    S, _ = correlation_and_weights(fit)
    out = {}
    for model in ("saturated", "estimated"):
        Sigma = implied(fit, model)
        out[model] = [float(_srmr(S, Sigma)), float(d_uls(S, Sigma)), float(d_g(S, Sigma))]
    table = pd.DataFrame(out, index=pd.Index(CRITERIA, name="criterion"))
    if n_resamples is None and indices is None:
        return table
    draws, plan = bollen_stine(fit, 1 if n_resamples is None else n_resamples, seed, indices=indices, n_jobs=n_jobs)
    table = exact_fit_table(table, draws)
    table.attrs["bollen_stine"] = {"draws": draws, "plan": plan}
    return table
