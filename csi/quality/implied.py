"""The model-implied item correlation matrix of a composite (PLS) or PLSc fit, saturated or estimated.

Shared by the fit criteria (:mod:`csi.quality.model_fit`) and the Bollen-Stine transform
(:mod:`csi.quality.bollen_stine`), which rotates the data onto it.
"""

from __future__ import annotations

import numpy as np

from csi.core.quality import implied_correlation, structural_implied
from csi.quality._common import check_composite_fit, correlation_and_weights, factor_mask
from csi.results.fit import FitResult
from csi.spec.model import topological_order


def implied(fit: FitResult, model: str = "saturated") -> np.ndarray:
    """Model-implied item correlation matrix (p, p).

    PLS: composite model, ``S_jj`` within blocks and
    ``S_jj w_j R_jk w_k' S_kk`` between them (Dijkstra 2017; Schuberth,
    Henseler & Dijkstra 2018).  PLSc: common-factor blocks use
    ``lambda_j R~_jk lambda_k'`` and ``lambda_j lambda_j'`` within the block
    (unit diagonal); composites and single items as in PLS.  ``model``:
    ``"saturated"`` takes ``R`` as the estimated construct correlations,
    ``"estimated"`` as those implied by the structural model.
    """
    if model not in ("saturated", "estimated"):
        raise ValueError(f"model must be 'saturated' or 'estimated', got {model!r}")
    check_composite_fit(fit, "the implied correlation matrix")
    S, w = correlation_and_weights(fit)
    spec = fit.spec
    M = spec.block_mask
    R = fit.construct_correlations.to_numpy()
    if model == "estimated":
        names = list(spec.construct_names)
        pos = {n: i for i, n in enumerate(names)}
        order = np.array([pos[n] for n in topological_order(names, [(p.source, p.target) for p in spec.paths])])
        R = structural_implied(R, fit.paths.loc[names, names].to_numpy(), spec.adjacency, order)
    if fit.rho_a is None:
        return implied_correlation(S, w, M, R)
    return implied_correlation(S, w, M, R, fit.loadings.to_numpy(), factor_mask(fit))
