"""Shared fixtures: the reference folder beside the checkout and the ECSI-6 satisfaction model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from csi.spec.model import Construct, Item, ModelSpec
from csi.spec.model import Path as SPath

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
"""Outputs of R plspm 0.5.1 and lavaan 0.6.14 (see its README); never copied into the repository."""

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
    """Path of a reference file; skips the test when the reference folder is not beside the checkout."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference folder {REFERENCE.name}/ is not beside the checkout")
    return REFERENCE / name


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
