"""Temporary moments (replaced by the batched implementation)."""

from __future__ import annotations

import numpy as np


def moments(X: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    mean = w @ X / w.sum()
    Xc = X - mean
    return mean, (Xc * w[:, None]).T @ Xc / w.sum()


def cov_to_corr(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    return cov / (sd[..., :, None] * sd[..., None, :]), sd
