"""Inner weighting schemes of PLS path modelling.

Each scheme maps the construct correlation matrix ``R`` (..., J, J) and the
path adjacency ``D`` (J, J; ``D[j, k] = 1`` for a path k -> j) to the inner
weight matrix ``E`` (..., J, J) with ``E[k, j]`` the weight of outer proxy
``Y_k`` in the inner proxy ``Z_j = sum_k E[k, j] Y_k`` (Lohmöller 1989;
Tenenhaus, Esposito Vinzi, Chatelin & Lauro 2005, CSDA 48:159-205, §2.2).
Only adjacent constructs get non-zero weights.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def centroid(R: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Centroid scheme: ``e_kj = sign(R_kj)`` for adjacent k, j (Wold 1982)."""
    return np.sign(R) * (D + D.T)


def factorial(R: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Factorial scheme: ``e_kj = R_kj`` for adjacent k, j (Lohmöller 1989)."""
    return R * (D + D.T)


def path(R: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Path weighting scheme (Lohmöller 1989).

    For a predecessor k of j, ``e_kj`` is the coefficient of ``Y_k`` in the
    OLS regression of ``Y_j`` on all its predecessors (``R_PP^-1 R_Pj``); for a
    successor k of j, ``e_kj = R_kj``.  This is R plspm's ``get_path_scheme``.
    """
    E = R * D  # successors: E[k, j] = R[k, j] where D[k, j] = 1 (path j -> k)
    for j in range(D.shape[0]):
        pred = np.flatnonzero(D[j])
        if pred.size == 0:
            continue
        Rpp = R[..., pred[:, None], pred]
        rpj = R[..., pred, j]
        E[..., pred, j] = np.linalg.solve(Rpp, rpj[..., None])[..., 0]
    return E


SCHEMES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "centroid": centroid,
    "factorial": factorial,
    "path": path,
}
"""Inner weighting schemes by name."""
