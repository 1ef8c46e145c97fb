"""0-100 indices of a fitted model (methodology §3.1-3.2).

:func:`scale_bounds` lives in :mod:`csi.core.index` (estimators and resampling need it) and is re-exported here.
"""

from __future__ import annotations

import warnings

import pandas as pd

from csi.core.index import Scale, index_0_100, normalise_blocks, scale_bounds, unstandardise
from csi.errors import EstimationError
from csi.results.fit import FitResult

NEGATIVE_POLICIES = ("error", "force")
WEIGHTINGS = ("model", "equal")

__all__ = ["NEGATIVE_POLICIES", "WEIGHTINGS", "Scale", "compute_index", "scale_bounds", "unstandardised_weights"]


def unstandardised_weights(fit: FitResult, weighting: str = "model", scale: Scale = None) -> pd.Series:
    """Outer weights in the raw item metric, normalised to sum 1 within each block (methodology §3.1).

    ``weighting="equal"`` gives every item the same weight on the 0-100 scale,
    ``u_h = 1 / (max_h - min_h)``, as :func:`csi.classical.equal_weight_index` does.
    """
    if weighting not in WEIGHTINGS:
        raise EstimationError(f"unknown weighting {weighting!r}; accepted: {', '.join(WEIGHTINGS)}")
    if weighting == "equal":
        lo, hi = scale_bounds(fit.spec, scale)
        u = 1.0 / (hi - lo)
    else:
        u = unstandardise(fit.weights.to_numpy(), fit.item_sds.to_numpy(), bool(fit.options.get("scaled", True)))
    return pd.Series(normalise_blocks(u, fit.spec.block_mask), index=fit.weights.index, name="weight_normalized")


def compute_index(
    fit: FitResult, scale: Scale = None, *, negative: str = "error", weighting: str = "model"
) -> pd.Series:
    """The 0-100 index of every construct (Fornell et al. 1996).

    ``index_j = 100 (Σ u_h x̄_h − Σ u_h min_h) / Σ u_h (max_h − min_h)`` over the
    items h of block j, with ``u`` the unstandardised outer weights and the
    items' theoretical scale bounds.  ``x̄`` are the fit's item means, which
    are the respondent-weighted means ``Σ_i w_i x_ih / Σ_i w_i`` when the fit
    was weighted (``csi.fit(..., weights=...)``).

    Parameters
    ----------
    fit
        A fitted model.
    scale
        Scale bounds overriding the model's (see :func:`scale_bounds`).
    negative
        ``"error"`` (default): a block with a negative unstandardised weight has
        no meaningful index and raises :class:`~csi.errors.EstimationError`
        naming the items (the structural estimates stay valid); ``"force"``:
        compute anyway and warn.
    weighting
        ``"model"`` (default) or ``"equal"`` (mean of the items' 0-100 scores, for
        comparison only).

    Returns
    -------
    pandas.Series
        Index by construct.  For a ``missing="mi"`` fit: the average of the
        indices of the imputations' fits (Rubin's 1987 point estimate), not
        the index of the averaged weights and means.
    """
    report = getattr(fit, "missing_report", None)
    if report is not None and report.imputations:
        parts = [compute_index(f, scale, negative=negative, weighting=weighting) for f in report.imputations]
        return (sum(parts[1:], parts[0]) / len(parts)).rename("index")
    if negative not in NEGATIVE_POLICIES:
        raise EstimationError(f"unknown negative-weight policy {negative!r}; accepted: {', '.join(NEGATIVE_POLICIES)}")
    lo, hi = scale_bounds(fit.spec, scale)
    u = unstandardised_weights(fit, weighting, scale)
    bad = u[u < 0]
    if len(bad):
        where = ", ".join(f"{i} ({fit.spec.block_of(i)})" for i in bad.index)
        msg = f"negative outer weight(s) for {where}: the 0-100 index of those blocks is not a weighted mean"
        if negative == "error":
            raise EstimationError(msg + "; drop the item(s), or pass negative='force' to compute it anyway")
        warnings.warn(msg + "; computed anyway (negative='force')", UserWarning, stacklevel=2)
    idx = index_0_100(u.to_numpy(), fit.item_means.to_numpy(), lo, hi, fit.spec.block_mask)
    return pd.Series(idx, index=pd.Index(fit.spec.construct_names, name="construct"), name="index")
