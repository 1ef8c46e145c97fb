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

from collections.abc import Mapping

import numpy as np

from csi.errors import EstimationError
from csi.spec.model import ModelSpec

Scale = tuple[float, float] | Mapping[str, tuple[float, float]] | None


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


def normalise_blocks(u: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Weights ``u`` (p,) rescaled to sum 1 within each block of the mask ``M`` (p, J) (methodology §3.1)."""
    return u / (u @ M)[np.argmax(M, axis=1)]


def scale_bounds(spec: ModelSpec, scale: Scale = None) -> tuple[np.ndarray, np.ndarray]:
    """Theoretical minimum and maximum of every item, in ``spec.item_names`` order.

    Parameters
    ----------
    spec
        The model; its items' ``scale_min``/``scale_max`` are used by default.
    scale
        Override: ``(min, max)`` for every item, or a mapping item -> (min, max)
        for some of them.

    Raises
    ------
    EstimationError
        When an item has no known bounds; the message lists them.
    """
    per_item: dict[str, tuple[float, float]] = {}
    if isinstance(scale, Mapping):
        unknown = [k for k in scale if k not in spec.item_names]
        if unknown:
            raise EstimationError(f"scale names unknown item(s) {', '.join(unknown)}")
        per_item = {k: tuple(v) for k, v in scale.items()}
    elif scale is not None:
        per_item = dict.fromkeys(spec.item_names, tuple(scale))
    lo, hi, missing = [], [], []
    for item in spec.items:
        a, b = per_item.get(item.name, (item.scale_min, item.scale_max))
        if a is None or b is None:
            missing.append(item.name)
            a = b = np.nan
        elif not b > a:
            raise EstimationError(f"item {item.name}: scale maximum {b} must exceed minimum {a}")
        lo.append(a)
        hi.append(b)
    if missing:
        raise EstimationError(
            f"the 0-100 index needs each item's theoretical scale; unknown for {', '.join(missing)}. "
            "Declare scale_min/scale_max in the model or pass scale=(min, max) or {item: (min, max)}"
        )
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
