"""0-100 indices of a fitted model (methodology §3.1-3.2)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from csi.core.index import index_0_100, unstandardise
from csi.errors import EstimationError
from csi.results.fit import FitResult
from csi.spec.model import ModelSpec

Scale = tuple[float, float] | Mapping[str, tuple[float, float]] | None

NEGATIVE_POLICIES = ("error", "force")
WEIGHTINGS = ("model", "equal")


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
    M = fit.spec.block_mask
    total = (u @ M)[fit.spec.block_index]
    return pd.Series(u / total, index=fit.weights.index, name="weight_normalized")


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
