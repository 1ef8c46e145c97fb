"""Internal consistency and convergent validity of each block (methodology §4.6)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from csi.core.plsc import rho_a as _rho_a
from csi.core.quality import ave as _ave
from csi.core.quality import rho_c as _rho_c
from csi.core.reliability import cronbach_alpha
from csi.quality._common import correlation_and_weights, factor_mask
from csi.results.fit import FitResult


def reliability(fit: FitResult) -> pd.DataFrame:
    """Per construct: mode, items, Cronbach's alpha, rho_A, rho_C and AVE.

    * ``cronbach_alpha``: standardised alpha ``q/(q-1) (1 - q / sum R_jj)``
      (Cronbach 1951) from the block's item correlations.
    * ``rho_a``: ``c_j² (w_j'w_j)²`` (Dijkstra & Henseler 2015a, MISQ
      39(2):297-316) from the fit's weights; 1 for composites (Mode B) and
      single items, which are taken as error-free.  For a PLSc fit it is the
      ``rho_a`` the estimator used.
    * ``rho_c``: ``(sum lambda)² / ((sum lambda)² + sum (1 - lambda²))``
      (Jöreskog 1971) from the fit's loadings (PLS loadings for a PLS fit,
      consistent loadings for PLSc).
    * ``ave``: mean squared loading (Fornell & Larcker 1981).

    rho_C and AVE assume a reflective block; they are NaN for Mode B blocks.
    """
    spec = fit.spec
    M = spec.block_mask
    S, w = correlation_and_weights(fit)
    factor = factor_mask(fit)
    mode_b = np.array([m == "B" for m in spec.modes])
    lam = fit.loadings.to_numpy()
    rho_a = fit.rho_a.to_numpy() if fit.rho_a is not None else _rho_a(S, w, M, factor)
    alpha = [cronbach_alpha(S[np.ix_(idx, idx)]) for idx in (np.flatnonzero(M[:, j]) for j in range(M.shape[1]))]
    out = pd.DataFrame(
        {
            "mode": list(spec.modes),
            "n_items": M.sum(axis=0).astype(int),
            "cronbach_alpha": np.asarray(alpha, dtype=float),
            "rho_a": rho_a,
            "rho_c": np.where(mode_b, np.nan, _rho_c(lam, M)),
            "ave": np.where(mode_b, np.nan, _ave(lam, M)),
        },
        index=pd.Index(spec.construct_names, name="construct"),
    )
    return out
