"""A second-order population and survey data for the higher-order construct tests.

Population: ``QUAL = 0.5 IMAG + zeta``, ``SAT = 0.6 QUAL + zeta'``; QUAL is a reflective second-order
construct whose components PROD, SERV and DELI load 0.9, 0.85 and 0.8 on it; every first-order construct has
three items loading 0.9.  Constructs and items are standardised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csi.spec.lavaan import parse_lavaan
from csi.spec.model import ModelSpec

SECOND_ORDER = {"PROD": 0.9, "SERV": 0.85, "DELI": 0.8}
"""Population loadings of the components on QUAL (their correlations with it)."""
PATHS = {"QUAL ~ IMAG": 0.5, "SAT ~ QUAL": 0.6}
ITEM_LOADING = 0.9
FIRST_ORDER = ("IMAG", "SAT", "PROD", "SERV", "DELI")
ITEMS = {"IMAG": ("i1", "i2", "i3"), "SAT": ("y1", "y2", "y3"), "PROD": ("p1", "p2", "p3"),
         "SERV": ("s1", "s2", "s3"), "DELI": ("d1", "d2", "d3")}  # fmt: skip

TEXT = """
IMAG =~ i1 + i2 + i3
QUAL =~ PROD + SERV + DELI
PROD =~ p1 + p2 + p3
SERV =~ s1 + s2 + s3
DELI =~ d1 + d2 + d3
SAT =~ y1 + y2 + y3
QUAL ~ IMAG
SAT ~ QUAL
#: target SAT
"""


def spec(scale: bool = True, mode: str = "A") -> ModelSpec:
    """The model of the population; items on 1-10 when ``scale``; ``mode`` of QUAL."""
    text = TEXT + ("#: scale 1 10\n" if scale else "")
    if mode == "B":
        text = text.replace("QUAL =~", "QUAL <~")
    return parse_lavaan(text, name="second-order")


def population() -> tuple[np.ndarray, list[str]]:
    """The items' population correlation matrix and their names (construct order of :data:`FIRST_ORDER`)."""
    g, b = PATHS["QUAL ~ IMAG"], PATHS["SAT ~ QUAL"]
    # Correlations of IMAG, QUAL, SAT, then the components (each lambda_k QUAL + its own error).
    lam = np.array(list(SECOND_ORDER.values()))
    top = np.array([[1.0, g, g * b], [g, 1.0, b], [g * b, b, 1.0]])
    Phi = np.eye(6)
    Phi[:3, :3] = top
    Phi[3:, :3] = lam[:, None] * top[1][None, :]
    Phi[:3, 3:] = Phi[3:, :3].T
    Phi[3:, 3:] = np.outer(lam, lam)
    np.fill_diagonal(Phi, 1.0)
    order = [0, 2, 3, 4, 5]  # IMAG, SAT, PROD, SERV, DELI
    P = Phi[np.ix_(order, order)]
    L = np.kron(np.eye(5), np.full((3, 1), ITEM_LOADING))
    Sigma = L @ P @ L.T
    np.fill_diagonal(Sigma, 1.0)
    return Sigma, [i for c in FIRST_ORDER for i in ITEMS[c]]


def survey(n: int = 400, seed: int = 1, missing: float = 0.0) -> pd.DataFrame:
    """``n`` answers on 1-10 drawn from the population (rounded), a share ``missing`` of cells removed at random."""
    Sigma, names = population()
    rng = np.random.default_rng(seed)
    Z = rng.multivariate_normal(np.zeros(len(names)), Sigma, size=n)
    X = np.clip(np.round(5.5 + 1.6 * Z), 1, 10)
    if missing:
        X[rng.random(X.shape) < missing] = np.nan
    return pd.DataFrame(X, columns=names)
