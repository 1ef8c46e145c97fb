"""Paired and overlapping waves: the same respondents asked again, resampled jointly across waves.

When respondents carry an id that recurs across a company's waves (a true
panel, or a mixed one where some are re-interviewed and some are fresh), the
two waves' samples are not independent: a respondent's answers in both waves
are correlated, and the variance of a change is ``V_t + V_{t-1} - 2 Cov``
rather than ``V_t + V_{t-1}``.  The bootstrap keeps the pairing by resampling
*respondents* (Davison & Hinkley 1997, §3.8): every company with a recurring
id gets one :class:`~csi.resample.plans.ClusterPlan` over its rows in all
waves, stratified by the set of waves a respondent answered in, and each wave
cell bootstraps with that plan's columns for its rows
(:meth:`~csi.resample.plans.ClusterPlan.restrict`).  Replicate ``b`` of the
company in wave ``t`` and in wave ``t-1`` then draws the same re-interviewed
respondents, so ``D*_b = I*_{t,b} - I*_{t-1,b}`` carries the covariance; fresh
respondents are resampled on their own within their wave.  Industry, sector
and national replicates are weighted sums of the company replicates
(:mod:`csi.index.aggregate`), so their changes inherit the pairing.

Pooled fits (one model per industry and wave) get one plan per industry over
all its waves, with the company as an outer stratum (respondents are matched
and resampled within their company, so every company keeps its size).

Seeding: the plan of company ``c`` draws from
``cell_seed(seed, "company", c, "respondents")`` (:func:`csi.index.cells.cell_seed`;
an industry's pooled plan from ``cell_seed(seed, "industry", i, "respondents")``),
so it depends on the run seed and the company's rows only: byte-identical for
any ``n_jobs`` and cell order.  Companies in which no id recurs across waves
keep the independent per-cell bootstrap unchanged (so with disjoint ids the
result is exactly the independent-samples test).

With ``ci="bca"`` the bias correction comes from the paired draws, but the
acceleration still combines the waves' influence moments as if independent
(:func:`csi.index.bca.difference`): a second-order term, and the cells keep
no per-respondent influence values to pair.

Ids are matched within a company: a respondent who rated two companies is two
respondents here (the companies' samples are treated as independent, as
without ids).  An id may appear at most once per company and wave.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi.errors import DataError
from csi.index.cells import cell_seed
from csi.index.hierarchy import key
from csi.resample.plans import ClusterPlan, SubPlan


@dataclass(frozen=True)
class PairedCell:
    """A paired cell: its rows (positions in the panel table, data order) and its part of the company plan."""

    rows: np.ndarray
    plan: SubPlan


def respondent_keys(frame: pd.DataFrame, column: str, company: pd.Series, wave: pd.Series) -> np.ndarray:
    """The text ids of ``column`` (:func:`csi.index.hierarchy.key`), checked to be unique per company and wave.

    Raises
    ------
    DataError
        An id repeated within one company and wave, naming the column, the
        id, the company, the wave and the rows.
    """
    ids = frame[column].map(key)
    both = pd.DataFrame({"c": company.to_numpy(), "w": wave.to_numpy(), "id": ids.to_numpy()})
    dup = both.duplicated(keep=False).to_numpy()
    if dup.any():
        first = int(np.argmax(dup))
        c, w, rid = both.iloc[first]
        same = np.flatnonzero(dup & (both["c"] == c).to_numpy() & (both["w"] == w).to_numpy()
                              & (both["id"] == rid).to_numpy())  # fmt: skip
        rows = ", ".join(repr(r) for r in frame.index[same[:5]])
        raise DataError(
            f"respondent id {rid!r} of column {column!r} appears {same.size} times in company {c!r}, wave {w!r} "
            f"(rows {rows}); an id may appear once per company and wave (repeated waves of one respondent are "
            "paired across waves, never within one)"
        )
    return ids.to_numpy(dtype=object)


def recurring(ids: np.ndarray, company: np.ndarray, kept: np.ndarray) -> dict[str, int]:
    """``company -> number of respondents seen (in kept rows) in two or more of its waves``, companies with any."""
    frame = pd.DataFrame({"c": company[kept], "id": ids[kept]})
    counts = frame.groupby(["c", "id"], sort=True).size()
    per = (counts > 1).groupby(level="c", sort=True).sum()
    return {str(c): int(k) for c, k in per.items() if k}


def paired_cells(
    ids: np.ndarray,
    unit: np.ndarray,
    wave: np.ndarray,
    kept: np.ndarray,
    n_resamples: int,
    entropy: int,
    level: str = "company",
    company: np.ndarray | None = None,
) -> dict[tuple[str, str], PairedCell]:
    """The paired cells of every fitting unit in which some respondent recurs across waves.

    Parameters
    ----------
    ids, unit, wave
        (n,) text keys of every row of the panel table; ``unit`` is what one
        fit covers (the company, or the industry of a pooled fit).
    kept
        (n,) bool: rows the fits keep (a row without any usable answer is no
        observation, so its respondent counts as absent from that wave).
    n_resamples
        Replicates ``B`` (>= 1).
    entropy
        The run seed.
    level
        The fitting unit's level (``"company"`` or ``"industry"``), part of
        the plan's seed identity.
    company
        For pooled fits: (n,) company keys.  Respondents are matched within
        their company and resampled within it (the company is an outer
        stratum, so every company keeps its size, as the pooled bootstrap
        requires).

    Returns
    -------
    dict
        ``(unit, wave) -> PairedCell`` for the units with a recurring respondent.
    """
    cells: dict[tuple[str, str], PairedCell] = {}
    positions = np.flatnonzero(kept)
    for u, rows in pd.Series(unit[positions]).groupby(unit[positions], sort=True).indices.items():
        rows = positions[rows]  # panel positions of the unit's kept rows, data order
        clusters = ids[rows] if company is None else company[rows] + "\x1f" + ids[rows]
        if not pd.Series(clusters).duplicated().any():
            continue
        plan = ClusterPlan(clusters, wave[rows], n_resamples, cell_seed(entropy, level, str(u), "respondents"),
                           strata=None if company is None else company[rows])  # fmt: skip
        for w in pd.unique(wave[rows]):
            local = np.flatnonzero(wave[rows] == w)
            cells[(str(u), str(w))] = PairedCell(rows[local], plan.restrict(local))
    return cells
