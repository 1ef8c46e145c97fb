"""Overall model fit: SRMR of the model-implied correlation matrix (methodology §4.6)."""

from __future__ import annotations

import numpy as np

from csi.core.quality import implied_correlation
from csi.core.quality import srmr as _srmr
from csi.quality._common import correlation_and_weights, factor_mask
from csi.results.fit import FitResult


def implied(fit: FitResult) -> np.ndarray:
    """Model-implied item correlation matrix (p, p) with a saturated structural model.

    PLS: composite model, ``S_jj`` within blocks and
    ``S_jj w_j R_jk w_k' S_kk`` between them (Dijkstra 2017; Schuberth,
    Henseler & Dijkstra 2018).  PLSc: common-factor blocks use
    ``lambda_j R~_jk lambda_k'`` and ``lambda_j lambda_j'`` within the block
    (unit diagonal); composites and single items as in PLS.  The structural
    model is taken as saturated (implied construct correlations = the
    estimated ones), so SRMR here measures the fit of the measurement model
    only; an "estimated model" SRMR with a restricted structural model is not
    offered yet.
    """
    S, w = correlation_and_weights(fit)
    M = fit.spec.block_mask
    R = fit.construct_correlations.to_numpy()
    if fit.rho_a is None:
        return implied_correlation(S, w, M, R)
    return implied_correlation(S, w, M, R, fit.loadings.to_numpy(), factor_mask(fit))


def srmr(fit: FitResult) -> float:
    """SRMR ``sqrt(mean_{i<=j} (r_ij - sigma_ij)²)`` between the item correlations and :func:`implied`.

    Henseler et al. (2014, ORM 17(2):182-209); usual reading < 0.08 (Hu &
    Bentler 1999).
    """
    S, _ = correlation_and_weights(fit)
    return float(_srmr(S, implied(fit)))
