"""Numerical checks of prepared item data: magnitudes float64 moments can hold, and singular blocks.

These run once per fit, at the edge, on the item matrix the kernels will use,
so that data no estimator can use honestly stop with a
:class:`~csi.errors.DataError` naming the column, rather than surfacing as a
``LinAlgError``, overflow warnings and a weight of 0, or weights of +0.4 and
-0.4 on two copies of one item.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from csi.errors import DataError

__all__ = [
    "LARGEST_VALUE",
    "SMALLEST_SPREAD",
    "SINGULAR_TOL",
    "check_full_rank",
    "check_magnitudes",
    "check_prepared",
    "covariance_dependence",
    "singular_items",
]

LARGEST_VALUE = 1e100
"""Largest absolute item value accepted.  Covariances sum products of two items over
respondents; at 1e100 these stay below 1e200 times n, far from float64's overflow
at 1.8e308 (an item scaled by 1e300 overflows, and PLS then reports a weight of 0)."""

SMALLEST_SPREAD = 1e-100
"""Smallest range (max - min) of a varying item accepted.  Its variance must stay far above
float64's underflow at 2.2e-308 (an item scaled by 1e-300 has a variance of about
1e-600, i.e. 0, and its correlations cannot be computed)."""

SINGULAR_TOL = 1e-12
"""An item set whose correlation matrix has an eigenvalue below ``SINGULAR_TOL`` times its
largest is singular: one item is (to rounding) a linear combination of the others."""


def check_magnitudes(X: NDArray[np.float64], names: Sequence[str]) -> None:
    """Refuse item columns too large or varying too little for float64 moments.

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Prepared items (no inf; NaN, kept by the moment-based missing-data methods, are ignored).
    names : sequence of str
        Column names, for the message.

    Raises
    ------
    DataError
        Naming the first offending column, its magnitude and the accepted range.
    """
    if X.size == 0:
        return
    # Column minima and maxima need no (n, p) temporary, unlike np.abs(X).
    lo, hi = (np.nanmin(X, axis=0), np.nanmax(X, axis=0)) if np.isnan(X).any() else (X.min(axis=0), X.max(axis=0))
    big = np.flatnonzero(np.maximum(-lo, hi) > LARGEST_VALUE)
    if big.size:
        h = int(big[0])
        raise DataError(
            f"column {names[h]!r} holds values up to {max(-lo[h], hi[h]):.3g}; item values must lie within "
            f"±{LARGEST_VALUE:g} so that covariances do not overflow. Rescale the column (e.g. divide it by a power "
            "of 10)"
        )
    spread = hi - lo
    tiny = np.flatnonzero((spread > 0) & (spread < SMALLEST_SPREAD))
    if tiny.size:
        h = int(tiny[0])
        raise DataError(
            f"column {names[h]!r} varies only by {spread[h]:.3g}; a varying item must span at least "
            f"{SMALLEST_SPREAD:g} so that its variance does not underflow. Rescale the column (e.g. multiply it by a "
            "power of 10)"
        )


def singular_items(X: NDArray[np.float64], names: Sequence[str], weights: NDArray[np.float64] | None = None) -> str:
    """Describe a linear dependence among the columns of ``X``, or return ``""`` when there is none.

    The correlation matrix ``R`` of the columns is singular when one column is
    (to rounding, :data:`SINGULAR_TOL`) a linear combination of the others.
    The message names a perfectly correlated pair where there is one, else the
    columns with the largest entries of the eigenvector of the smallest
    eigenvalue of ``R`` (the coefficients of the dependence).
    """
    k = X.shape[1]
    if k < 2:
        return ""
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = (w @ X) / w.sum()
    Z = X - mean
    return covariance_dependence((Z * w[:, None]).T @ Z, names)


def covariance_dependence(S: NDArray[np.float64], names: Sequence[str]) -> str:
    """:func:`singular_items` given the (k, k) covariance matrix ``S`` of the items rather than the items."""
    S = np.asarray(S, dtype=np.float64)
    sd = np.sqrt(np.diag(S))
    if not np.all(sd > 0):
        return ""  # constant items are reported by the caller with their own message
    R = S / np.outer(sd, sd)
    vals, vecs = np.linalg.eigh(R)
    if vals[0] > SINGULAR_TOL * vals[-1]:
        return ""
    upper = np.triu(np.abs(R), 1)
    j, m = np.unravel_index(int(np.argmax(upper)), upper.shape)
    if upper[j, m] > 1 - 1e-9:
        return f"items {names[j]!r} and {names[m]!r} are perfectly correlated (r = {R[j, m]:+.6f})"
    v = np.abs(vecs[:, 0])
    involved = [names[h] for h in np.argsort(-v) if v[h] > 1e-3 * v.max()]
    return f"items {', '.join(map(repr, involved))} are linearly dependent (one is a combination of the others)"


def check_prepared(spec: object, X: NDArray[np.float64], weights: NDArray[np.float64] | None = None) -> None:
    """All checks of a prepared item matrix: :func:`check_magnitudes`, then every mode-B block non-singular.

    A mode-B block's weights are regression coefficients on its items
    (Wold 1982; Tenenhaus et al. 2005, section 2.2), so a block whose items
    are linearly dependent (two copies of one item) has no unique weights:
    PLS would return an arbitrary split such as +0.4 and -0.4.

    Raises
    ------
    DataError
        Naming the block and its dependent items.
    """
    names = list(spec.item_names)  # type: ignore[attr-defined]
    check_magnitudes(X, names)
    pos = {n: h for h, n in enumerate(names)}
    for c in spec.constructs:  # type: ignore[attr-defined]
        if c.mode != "B" or len(c.item_names) < 2:
            continue
        cols = [pos[i] for i in c.item_names]
        block = X[:, cols]
        rows = ~np.isnan(block).any(axis=1)  # the block's complete rows (all rows without missing values)
        why = singular_items(block[rows], list(c.item_names), None if weights is None else weights[rows])
        if why:
            raise DataError(
                f"mode-B block {c.name!r}: {why}; mode-B weights are regression coefficients and need linearly "
                "independent items. Drop the redundant item or use mode A for this block"
            )


def check_full_rank(S: NDArray[np.float64], names: Sequence[str], what: str) -> None:
    """Refuse an item covariance matrix ``S`` that is singular, for estimators that need it positive definite.

    Raises
    ------
    DataError
        Naming the dependent items and ``what`` needs the full rank.
    """
    why = covariance_dependence(S, names)
    if why:
        raise DataError(f"the item covariance matrix is singular: {why}; {what}. Drop the redundant item")
