"""Data whose sample moments equal a population exactly (cSEM's population-exact test idea).

The population is cSEM's ``threecommonfactors`` model: ``eta2 = 0.6 eta1``,
``eta3 = 0.4 eta1 + 0.35 eta2``, standardised constructs and items, loadings
(0.7, 0.7, 0.7), (0.5, 0.7, 0.8), (0.8, 0.75, 0.7).  ``X = Z Sigma^(1/2)`` with
``Z`` centred and whitened so that ``Z'Z / N = I`` exactly; the covariance of
``X`` with divisor N is then ``Sigma`` to rounding error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csi.simulate import construct_correlations, path_matrix
from csi.spec.model import Construct, Item, ModelSpec, Path

LOADINGS = {"eta1": (0.7, 0.7, 0.7), "eta2": (0.5, 0.7, 0.8), "eta3": (0.8, 0.75, 0.7)}
PATHS = {"eta2 ~ eta1": 0.6, "eta3 ~ eta1": 0.4, "eta3 ~ eta2": 0.35}


def spec(modes: tuple[str, str, str] = ("A", "A", "A")) -> ModelSpec:
    constructs = tuple(
        Construct(name, tuple(Item(f"x{name[-1]}{i}") for i in range(1, 4)), mode=m)
        for (name, _), m in zip(LOADINGS.items(), modes)
    )
    paths = (Path("eta1", "eta2", "+"), Path("eta1", "eta3", "+"), Path("eta2", "eta3", "+"))
    return ModelSpec("threecommonfactors", constructs, paths)


def population() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(Sigma (9, 9), lambda (9,), Phi (3, 3), B (3, 3))`` of the population."""
    s = spec()
    B = path_matrix(s, PATHS)
    Phi, _ = construct_correlations(s, B, 0.0)
    lam = np.concatenate([np.array(v) for v in LOADINGS.values()])
    L = lam[:, None] * s.block_mask
    Sigma = L @ Phi @ L.T
    np.fill_diagonal(Sigma, 1.0)
    return Sigma, lam, Phi, B


def exact_data(
    n: int = 200, seed: int = 1, Sigma: np.ndarray | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """``n`` rows whose covariance (divisor n) is exactly ``Sigma`` (default: the population's)."""
    if Sigma is None:
        Sigma, columns = population()[0], list(spec().item_names)
    Z = np.random.default_rng(seed).standard_normal((n, Sigma.shape[0]))
    Z -= Z.mean(axis=0)
    # Whiten: Z'Z/n = I exactly (up to rounding) via the inverse symmetric root of its covariance.
    vals, vecs = np.linalg.eigh(Z.T @ Z / n)
    Z = Z @ (vecs / np.sqrt(vals)) @ vecs.T
    vals, vecs = np.linalg.eigh(Sigma)
    X = Z @ (vecs * np.sqrt(vals)) @ vecs.T
    return pd.DataFrame(X, columns=columns)
