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
from typing import NamedTuple

import numpy as np


def centroid(R: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Centroid scheme: ``e_kj = sign(R_kj)`` for adjacent k, j (Wold 1982)."""
    return np.sign(R) * (D + D.T)


def factorial(R: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Factorial scheme: ``e_kj = R_kj`` for adjacent k, j (Lohmöller 1989)."""
    return R * (D + D.T)


class PathLayout(NamedTuple):
    """Where the path scheme's regressions read and write, for one adjacency matrix ``D``.

    The regressions of the m endogenous constructs on their predecessors are solved as one batch of
    ``(kmax, kmax)`` systems (kmax = most predecessors): system i holds ``R_PP`` of construct i's
    predecessors P in its top-left corner and the identity elsewhere, its right-hand side ``R_Pj`` padded with
    zeros, so its solution is ``R_PP^-1 R_Pj`` padded with zeros (the system is block diagonal).  One solve per
    iteration instead of one per construct: at survey size the cost of a solve is its call, not its work.
    """

    rows: np.ndarray  # (m, kmax, kmax) row of R read into each system cell
    cols: np.ndarray  # (m, kmax, kmax) column of R read into each system cell
    inside: np.ndarray  # (m, kmax, kmax) True in the R_PP corner of each system
    eye: np.ndarray  # (kmax, kmax) identity, for the cells outside the corner
    rhs_rows: np.ndarray  # (m, kmax) row of R read into each right-hand side
    rhs_cols: np.ndarray  # (m, kmax) column of R (the construct regressed)
    rhs_inside: np.ndarray  # (m, kmax) True for the predecessors' entries
    system: np.ndarray  # (r,) system of every coefficient written to E
    slot: np.ndarray  # (r,) its position in the system's solution
    to_rows: np.ndarray  # (r,) row of E it is written to (the predecessor)
    to_cols: np.ndarray  # (r,) column of E (the construct regressed)


_LAYOUTS: dict[bytes, PathLayout | None] = {}


def path_layout(D: np.ndarray) -> PathLayout | None:
    """The :class:`PathLayout` of ``D`` (None when no construct has a predecessor), made once per model."""
    D = np.asarray(D)
    key = D.dtype.str.encode() + str(D.shape).encode() + D.tobytes()
    if key in _LAYOUTS:
        return _LAYOUTS[key]
    preds = [(j, np.flatnonzero(D[j])) for j in range(D.shape[0])]
    preds = [(j, pred) for j, pred in preds if pred.size]
    layout = None
    if preds:
        m, kmax = len(preds), max(pred.size for _, pred in preds)
        rows = np.zeros((m, kmax, kmax), dtype=np.intp)
        cols = np.zeros((m, kmax, kmax), dtype=np.intp)
        inside = np.zeros((m, kmax, kmax), dtype=bool)
        rhs_rows = np.zeros((m, kmax), dtype=np.intp)
        rhs_cols = np.zeros((m, kmax), dtype=np.intp)
        rhs_inside = np.zeros((m, kmax), dtype=bool)
        for i, (j, pred) in enumerate(preds):
            k = pred.size
            rows[i, :k, :k], cols[i, :k, :k], inside[i, :k, :k] = pred[:, None], pred[None, :], True
            rhs_rows[i, :k], rhs_cols[i], rhs_inside[i, :k] = pred, j, True
        system = np.concatenate([np.full(pred.size, i) for i, (_, pred) in enumerate(preds)])
        slot = np.concatenate([np.arange(pred.size) for _, pred in preds])
        to_rows = np.concatenate([pred for _, pred in preds])
        to_cols = np.concatenate([np.full(pred.size, j) for j, pred in preds])
        layout = PathLayout(rows, cols, inside, np.eye(kmax), rhs_rows, rhs_cols, rhs_inside, system, slot,
                             to_rows, to_cols)  # fmt: skip
    if len(_LAYOUTS) > 256:  # bound the cache in long sessions that build many models
        _LAYOUTS.clear()
    _LAYOUTS[key] = layout
    return layout


def path(R: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Path weighting scheme (Lohmöller 1989).

    For a predecessor k of j, ``e_kj`` is the coefficient of ``Y_k`` in the
    OLS regression of ``Y_j`` on all its predecessors (``R_PP^-1 R_Pj``); for a
    successor k of j, ``e_kj = R_kj``.  This is R plspm's ``get_path_scheme``.
    """
    return _path(R, D, path_layout(D))


def _path(R: np.ndarray, D: np.ndarray, lay: PathLayout | None) -> np.ndarray:
    E = R * D  # successors: E[k, j] = R[k, j] where D[k, j] = 1 (path j -> k)
    if lay is None:
        return E
    beta, _ = predecessor_regressions(R, lay)
    E[..., lay.to_rows, lay.to_cols] = beta[..., lay.system, lay.slot]
    return E


def predecessor_regressions(R: np.ndarray, lay: PathLayout) -> tuple[np.ndarray, np.ndarray]:
    """``(beta, r)``: the coefficients ``R_PP^-1 R_Pj`` (..., m, kmax) of every endogenous construct j on its
    predecessors P, and the right-hand sides ``R_Pj``, both padded with zeros (see :class:`PathLayout`)."""
    A = np.where(lay.inside, R[..., lay.rows, lay.cols], lay.eye)
    r = np.where(lay.rhs_inside, R[..., lay.rhs_rows, lay.rhs_cols], 0.0)
    return np.linalg.solve(A, r[..., None])[..., 0], r


SCHEMES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "centroid": centroid,
    "factorial": factorial,
    "path": path,
}
"""Inner weighting schemes by name."""


def inner_weights(scheme: str, D: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The scheme ``scheme`` (a key of :data:`SCHEMES`) for the adjacency ``D`` as a function of ``R`` alone,
    for an iteration that applies it many times (the path scheme's layout is looked up once)."""
    if scheme == "path":
        lay = path_layout(D)
        return lambda R: _path(R, D, lay)
    fn = SCHEMES[scheme]
    return lambda R: fn(R, D)
