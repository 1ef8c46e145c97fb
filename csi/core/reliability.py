"""Block reliability and unidimensionality from a correlation matrix, batched.

Pure functions of a block's item correlation matrix ``Rb`` (..., q, q) or of
standardised loadings ``lam`` (..., q).
"""

from __future__ import annotations

import numpy as np


def cronbach_alpha(Rb: np.ndarray) -> np.ndarray:
    """Standardised Cronbach's alpha (Cronbach 1951).

    ``alpha = q / (q - 1) * (1 - q / sum(Rb))``, the alpha of the standardised
    items, as R plspm's ``get_alpha`` reports it.  NaN for single-item blocks.
    """
    q = Rb.shape[-1]
    if q < 2:
        return np.full(Rb.shape[:-2], np.nan)
    return q / (q - 1) * (1.0 - q / Rb.sum(axis=(-2, -1)))


def dillon_goldstein_rho(lam: np.ndarray) -> np.ndarray:
    """Composite reliability (Dillon-Goldstein's rho, Jöreskog's rho_C).

    ``rho = (sum lam)^2 / ((sum lam)^2 + sum(1 - lam^2))`` (Werts, Linn &
    Jöreskog 1974; Tenenhaus et al. 2005, §2.1).
    """
    s2 = lam.sum(axis=-1) ** 2
    return s2 / (s2 + (1.0 - lam**2).sum(axis=-1))


def first_pc_loadings(Rb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and the first principal component's loadings.

    The loadings ``sqrt(l_1) u_1`` are the correlations of the items with the
    first principal component, oriented so that they sum to a positive number.
    """
    vals, vecs = np.linalg.eigh(Rb)
    vals = vals[..., ::-1]
    u = vecs[..., :, -1]
    u = u * np.where(u.sum(axis=-1, keepdims=True) < 0, -1.0, 1.0)
    return vals, u * np.sqrt(vals[..., :1])
