"""Specific and total indirect effects of a fitted path model (:mod:`csi.core.effects`), as a tidy table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from csi.core.effects import chain_products, chains
from csi.spec.model import ModelSpec

ARROW = " -> "


@dataclass(frozen=True)
class IndirectLayout:
    """The chains of a model and the pairs they join, with the table's label columns."""

    found: list[tuple[int, ...]]
    pairs: list[tuple[int, int]]
    labels: pd.DataFrame  # from, to, kind, path — specific chains first, then one total per pair

    @classmethod
    def of(cls, spec: ModelSpec) -> IndirectLayout:
        names = spec.construct_names
        found = chains(spec.adjacency)
        pairs = sorted({(c[0], c[-1]) for c in found})
        rows = [(names[c[0]], names[c[-1]], "specific", ARROW.join(names[i] for i in c)) for c in found]
        rows += [(names[a], names[b], "total_indirect", f"{names[a]}{ARROW}...{ARROW}{names[b]}") for a, b in pairs]
        return cls(found, pairs, pd.DataFrame(rows, columns=["from", "to", "kind", "path"]))

    def values(self, B: np.ndarray) -> np.ndarray:
        """Every chain's product, then every pair's sum of them: ``(..., n_chains + n_pairs)`` from ``B (..., J, J)``."""
        specific = chain_products(B, self.found)
        if not self.pairs:
            return specific
        member = np.array([[(c[0], c[-1]) == p for p in self.pairs] for c in self.found], dtype=float)
        return np.concatenate([specific, specific @ member], axis=-1)

    def order(self, spec: ModelSpec, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows by source, then target (model order), each pair's chains before its total."""
        rank = {n: i for i, n in enumerate(spec.construct_names)}
        key = np.lexsort((frame["kind"] == "total_indirect", frame["to"].map(rank), frame["from"].map(rank)))
        return frame.iloc[key].reset_index(drop=True)


def indirect_effects(fit: Any) -> pd.DataFrame:
    """Every specific indirect effect and each pair's total indirect effect of a fit.

    The standardised path coefficients ``fit.paths`` are multiplied along
    every chain of two or more paths (Alwin & Hauser 1975); a pair's total
    indirect effect is the sum of its chains and equals the ``indirect``
    column of ``fit.effects``.  Pairs without an indirect route are left out
    (zero by the model's structure).  Columns ``from, to, kind, path,
    estimate``; ``kind`` is ``"specific"`` or ``"total_indirect"``.
    """
    spec = fit.spec
    names = list(spec.construct_names)
    layout = IndirectLayout.of(spec)
    frame = layout.labels.assign(estimate=layout.values(fit.paths.loc[names, names].to_numpy()))
    return layout.order(spec, frame)
