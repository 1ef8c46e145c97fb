"""Shared fixtures: the reference folder (tests/reference/) and the ECSI-6 satisfaction model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from csi.spec.model import Construct, Item, ModelSpec
from csi.spec.model import Path as SPath

REFERENCE = Path(__file__).resolve().parent / "reference"
"""Real data and the outputs of R plspm 0.5.1 and lavaan 0.6.14, with their provenance in ``tests/reference/README.md``."""

SAT_BLOCKS = [
    ("IMAG", "imag", 5),
    ("EXPE", "expe", 5),
    ("QUAL", "qual", 5),
    ("VAL", "val", 4),
    ("SAT", "sat", 4),
    ("LOY", "loy", 4),
]
SAT_PATHS = [
    ("IMAG", "EXPE"), ("EXPE", "QUAL"), ("EXPE", "VAL"), ("QUAL", "VAL"), ("IMAG", "SAT"),
    ("EXPE", "SAT"), ("QUAL", "SAT"), ("VAL", "SAT"), ("IMAG", "LOY"), ("SAT", "LOY"),
]  # fmt: skip


def reference_file(name: str) -> Path:
    """Path of a file in ``tests/reference/``; a missing file fails the test (it ships with the repository)."""
    path = REFERENCE / name
    if not path.is_file():
        pytest.fail(f"reference file tests/reference/{name} is missing")
    return path


def satisfaction_spec(mode: str = "A") -> ModelSpec:
    """The ECSI-6 model of the plspm satisfaction data (reference README §1), items on 0-10."""
    constructs = tuple(
        Construct(name, tuple(Item(f"{stem}{i}", 0, 10) for i in range(1, k + 1)), mode=mode)
        for name, stem, k in SAT_BLOCKS
    )
    return ModelSpec("ECSI-6 satisfaction", constructs, tuple(SPath(a, b, "+") for a, b in SAT_PATHS), target="SAT")


@pytest.fixture(scope="session")
def satisfaction() -> pd.DataFrame:
    """The 250 × 28 plspm satisfaction data (reference README §1)."""
    return pd.read_csv(reference_file("ecsi_satisfaction.csv"), index_col=0)


def without_translations(spec: ModelSpec) -> ModelSpec:
    """``spec`` without its per-language labels, which lavaan-style text and the builder do not carry."""
    import dataclasses

    constructs = tuple(
        dataclasses.replace(c, labels=(), items=tuple(dataclasses.replace(i, labels=()) for i in c.items))
        for c in spec.constructs
    )
    return dataclasses.replace(spec, constructs=constructs, labels=())


def mcar_mar_panel(respondents: int, seed: int, missing_seed: int, mcar: float) -> pd.DataFrame:
    """Three ACSI companies x two waves with MCAR and MAR missing answers, as a survey has them.

    Every answer is deleted with probability ``mcar``; then respondents whose first item is in its lowest 30 %
    lose the last three items with probability 1/2 (MAR: missingness driven by an observed answer).
    """
    import numpy as np

    import csi

    spec = csi.load_model("acsi")
    p = csi.simulate_panel(spec, companies=3, respondents=respondents, waves=2, seed=seed, industries=None,
                           sectors=None)  # fmt: skip
    data = p.data.copy()
    items = list(spec.item_names)
    rng = np.random.default_rng(missing_seed)
    X = data[items].to_numpy(dtype=float, copy=True)
    X[rng.random(X.shape) < mcar] = np.nan
    low = np.nan_to_num(X[:, 0], nan=np.nanmean(X[:, 0])) < np.nanquantile(X[:, 0], 0.3)
    X[low & (rng.random(len(data)) < 0.5), -3:] = np.nan
    data[items] = X
    return data
