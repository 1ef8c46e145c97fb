"""Company -> industry -> sector -> national aggregation, point estimate and replicates alike.

ACSI's cross-industry index (theacsi.org, "Building the Cross-Industry Index";
methodology §3.3): an industry's score is the revenue-weighted mean of its
companies' scores, a sector's the revenue-weighted mean of its industries', the
nation's the GDP-share-weighted mean of its sectors'.  Weights are renormalised
over the children that enter the aggregate (suppressed and failed children
drop out, and so do flagged ones under the default policy; see
:mod:`csi.index.status`), and the ``units`` table records the shares actually
used.

Uncertainty (methodology §3.4, route 3): company samples are independent, so
each bootstrap replicate of every company is aggregated with the same weights;
the parent's replicate ``b`` is ``Σ_c a_c I*_cb``, which carries every
company's sampling error up the hierarchy.  A parent replicate is failed (NaN)
when one of its children's replicate ``b`` failed.  The influence moments of
the BCa acceleration combine alongside (:func:`csi.index.bca.combine`), and so
do the degrees of freedom of the small-sample correction
(:func:`csi.index.small_sample.parent_df`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csi.index.bca import combine
from csi.index.hierarchy import Hierarchy
from csi.index.small_sample import parent_df
from csi.index.status import parent_status, usable


@dataclass
class UnitEstimate:
    """One unit in one wave."""

    status: str  # one of csi.index.status.STATUSES
    n: int
    index: np.ndarray | None  # (J,)
    draws: np.ndarray | None  # (B, J)
    share: float = float("nan")  # normalised weight within its parent actually used
    influence: np.ndarray | None = None  # (2, J) influence moments (csi.index.bca); None when a child lacks them
    df: np.ndarray | None = None  # (J,) degrees of freedom (csi.index.small_sample); None when not corrected
    robust: bool = False  # its SE leaves runaway replicates out (csi.index.small_sample.replicate_se)


def aggregate(
    hierarchy: Hierarchy,
    weights: dict[tuple[str, str, str], float],
    companies: dict[tuple[str, str], UnitEstimate],
    flagged: str = "exclude",
) -> dict[tuple[str, str, str], UnitEstimate]:
    """Every unit's estimate, bottom-up; keys ``(level, unit, wave)``.

    Parameters
    ----------
    hierarchy
        Units and parents per wave.
    weights
        ``(level, unit, wave) -> weight`` of every unit below national.
    companies
        ``(company, wave) -> UnitEstimate`` of every company cell.
    flagged
        ``"exclude"`` or ``"include"`` flagged children
        (:data:`csi.index.status.FLAGGED_POLICIES`).
    """
    out: dict[tuple[str, str, str], UnitEstimate] = {("company", u, w): e for (u, w), e in companies.items()}
    for below, level in zip(hierarchy.levels[:-1], hierarchy.levels[1:]):
        for wave in hierarchy.waves:
            for unit in hierarchy.units[(level, wave)]:
                kids = hierarchy.children(level, unit, wave)
                ok = [k for k in kids if usable(out[(below, k, wave)].status, flagged)]
                n = sum(out[(below, k, wave)].n for k in kids)
                status = parent_status([out[(below, k, wave)].status for k in ok],
                                       [out[(below, k, wave)].status for k in kids if k not in ok])  # fmt: skip
                if not ok:
                    out[(level, unit, wave)] = UnitEstimate(status, n, None, None)
                    continue
                raw = np.array([weights[(below, k, wave)] for k in ok])
                share = raw / raw.sum()
                index = np.zeros_like(out[(below, ok[0], wave)].index)
                draws = None
                # A fixed left-to-right sum over sorted children: the same bits whatever order cells ran in.
                for k, a in zip(ok, share):
                    child = out[(below, k, wave)]
                    child.share = float(a)
                    index = index + a * child.index
                    if child.draws is not None:
                        draws = a * child.draws if draws is None else draws + a * child.draws
                kids_influence = [out[(below, k, wave)].influence for k in ok]
                influence = (combine(list(zip(share, kids_influence)))  # type: ignore[arg-type]
                             if all(m is not None for m in kids_influence) else None)  # fmt: skip
                robust = any(out[(below, k, wave)].robust for k in ok)
                df = parent_df([(a, out[(below, k, wave)].draws, out[(below, k, wave)].df) for k, a in zip(ok, share)],
                               robust)  # fmt: skip
                out[(level, unit, wave)] = UnitEstimate(status, n, index, draws, influence=influence, df=df,
                                                        robust=robust)  # fmt: skip
    return out
