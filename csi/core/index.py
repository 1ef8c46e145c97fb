"""The ACSI 0-100 index of a composite, batched.

Fornell, Johnson, Anderson, Cha & Bryant (1996, Journal of Marketing 60(4):7-18)
define the index of a construct from its unstandardised outer weights ``u``,
the item means and the items' *theoretical* scale end points:

    index = 100 * (sum_h u_h xbar_h - sum_h u_h min_h) / (sum_h u_h (max_h - min_h))

Any positive rescaling of ``u`` within a block cancels, so the weights may be
given in any per-block scale.  With every item on 1..10 this is
``100 * (sum_h w~_h xbar_h - 1) / 9`` with ``w~`` normalised to sum 1.
"""

from __future__ import annotations

import numpy as np


def index_0_100(u: np.ndarray, means: np.ndarray, lo: np.ndarray, hi: np.ndarray, M: np.ndarray) -> np.ndarray:
    """0-100 index of every block.

    Parameters
    ----------
    u
        (..., p) unstandardised outer weights (item metric).
    means
        (..., p) item means on the raw scale.
    lo, hi
        (p,) theoretical scale minimum and maximum of every item.
    M
        (p, J) block mask.

    Returns
    -------
    numpy.ndarray
        (..., J) indices.
    """
    # einsum rather than ``@``: a BLAS product's rows can change in the last bit
    # with the number of rows, and bootstrap chunks must not change results.
    num = np.einsum("...h,hj->...j", u * (means - lo), M)
    den = np.einsum("...h,hj->...j", u * (hi - lo), M)
    return 100.0 * num / den


def unstandardise(w: np.ndarray, sd: np.ndarray, scaled: bool) -> np.ndarray:
    """Outer weights in the items' raw metric: ``u_h = w_h / sd_h`` for weights of standardised items.

    Weights estimated on centred-only items (``scaled=False``) already are in
    the raw metric (Tenenhaus et al. 2005, §2.5; R plspm ``rescale``).
    """
    return w / sd if scaled else w
