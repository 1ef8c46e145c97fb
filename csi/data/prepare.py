"""Temporary minimal item preparation (replaced by the full validator)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PreparedData:
    X: np.ndarray
    row_labels: pd.Index
    n_input: int
    n_dropped: int
    weights: np.ndarray | None
    missing: str


def prepare_items(spec, data, *, missing="error", weights=None) -> PreparedData:
    X = data[list(spec.item_names)].to_numpy(dtype=float)
    return PreparedData(X, data.index, len(data), 0, None, missing)
