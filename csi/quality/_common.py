"""What every criterion needs from a fit: the item correlation matrix and standardised weights."""

from __future__ import annotations

import numpy as np

from csi.core.plsc import factor_blocks
from csi.data.prepare import PreparedData
from csi.errors import EstimationError
from csi.resample.options import check_fit
from csi.results.fit import FitResult


def composite_fit_refusal(fit: FitResult, what: str) -> str | None:
    """Why the composite-model fit criteria cannot be computed for ``fit`` (None when they can)."""
    if not fit.capabilities.composite_fit:
        return (
            f"{what} computes the composite-model fit criteria (SRMR, d_ULS, d_G of the PLS or PLSc implied "
            f"matrix); method {fit.method!r} fits carry their own fit measures (fit.fit_measures: chi-square, CFI, "
            "RMSEA, SRMR)"
        )
    if getattr(fit, "hoc", None) == "repeated":
        return (
            f"{what} needs a positive definite item correlation matrix, but a repeated-indicator fit repeats every "
            "item of its higher-order constructs (d_G is undefined); use fit.quality_by_order and "
            "fit.htmt_by_order(), or fit with hoc='two-stage-embedded'"
        )
    return None


def check_composite_fit(fit: FitResult, what: str) -> None:
    """Refuse a fit the composite-model fit criteria do not apply to (CB-SEM, repeated indicators)."""
    check_fit(fit, what)
    reason = composite_fit_refusal(fit, what)
    if reason is not None:
        raise EstimationError(reason)


def correlation_and_weights(fit: FitResult) -> tuple[np.ndarray, np.ndarray]:
    """Item correlation matrix (p, p) and outer weights of the standardised items (p,).

    A ``scaled=False`` fit stores the covariance matrix and weights of centred
    items; ``w_h sd_h`` are the weights of the standardised items, with the
    same unit-variance composites, so every criterion works on correlations.
    """
    S = np.asarray(fit.moments)
    d = np.sqrt(np.diagonal(S))
    return S / np.outer(d, d), fit.weights.to_numpy() * d


def factor_mask(fit: FitResult) -> np.ndarray:
    """(J,) True for common-factor blocks: Mode A with at least two items."""
    return factor_blocks(fit.spec.block_mask, np.array([m == "A" for m in fit.spec.modes]))


def prepared_data(fit: FitResult, what: str) -> PreparedData:
    """The fit's prepared item data, which resampling criteria need; a clear error when it is absent."""
    if fit.data is None:
        raise EstimationError(f"{what} needs the fitted item data, but this FitResult holds none; refit with csi.fit")
    if getattr(fit.data, "raw", None) is not None and np.isnan(fit.data.X).any():
        raise EstimationError(
            f"{what} needs complete item rows, but this fit kept missing answers for missing={fit.data.missing!r}; "
            "refit with missing='listwise' or 'mean' for this criterion"
        )
    return fit.data
