"""The status of every unit of a panel, and the policy for cells whose index cannot be trusted.

A company cell (one company in one wave) is

``ok``
    fitted; its index is a weighted mean of its items' 0-100 scores;
``suppressed``
    fewer usable respondents than ``min_n``: no index;
``failed``
    the model could not be fitted (the reason is in the manifest): no index;
``not_converged``
    the PLS iterations stopped at ``max_iter`` before converging;
``inadmissible``
    the estimator returned an inadmissible solution (PLSc: rho_A > 1, a
    loading or construct correlation beyond 1; Dijkstra & Henseler 2015);
``negative_weight``
    a block has a negative unstandardised outer weight, so its "0-100" index
    is not a weighted mean and can leave 0-100 (Fornell et al. 1996 need
    positive weights; methodology §3.1).

The last three are *flagged*: the index is computed and shown, with its
status, but under the default policy ``flagged="exclude"`` it does not enter
the aggregates (the parent's weights are renormalised over its other
children, as for suppressed cells).  ``flagged="include"`` lets flagged cells
into the aggregates; every parent that received one is then
``includes_flagged`` rather than ``ok``.  When a cell has several flags the
first of :data:`FLAGGED` names it (all are listed in the manifest).

A parent (industry, sector, nation) is ``ok``, ``includes_flagged``, or has no
index: ``failed`` when one of its children failed, ``all_flagged`` when every
child with an index was flagged and excluded, else ``suppressed``.  So when no
cell converges, no unit is ``ok``.
"""

from __future__ import annotations

from collections.abc import Iterable

OK = "ok"
SUPPRESSED = "suppressed"
FAILED = "failed"
NOT_CONVERGED = "not_converged"
INADMISSIBLE = "inadmissible"
NEGATIVE_WEIGHT = "negative_weight"
INCLUDES_FLAGGED = "includes_flagged"
ALL_FLAGGED = "all_flagged"

FLAGGED = (NOT_CONVERGED, INADMISSIBLE, NEGATIVE_WEIGHT)
"""Statuses of cells with an index that is not trustworthy, in order of precedence."""

FLAGGED_POLICIES = ("exclude", "include")
"""What aggregation does with flagged cells (default: exclude)."""

STATUSES = (OK, INCLUDES_FLAGGED, *FLAGGED, SUPPRESSED, FAILED, ALL_FLAGGED)
"""Every status a unit can have."""


def cell_status(flags: Iterable[str]) -> str:
    """The status of a fitted cell with these flags: the first of :data:`FLAGGED` present, else ``ok``."""
    present = set(flags)
    return next((s for s in FLAGGED if s in present), OK)


def usable(status: str, policy: str) -> bool:
    """Whether a unit with this status enters its parent's aggregate under ``policy``."""
    return status in (OK, INCLUDES_FLAGGED) or (policy == "include" and status in FLAGGED)


def parent_status(used: list[str], unused: list[str]) -> str:
    """A parent's status from the statuses of the children it used and those it could not use."""
    if used:
        return OK if all(s == OK for s in used) else INCLUDES_FLAGGED
    if FAILED in unused:
        return FAILED
    if any(s in FLAGGED or s == ALL_FLAGGED for s in unused):
        return ALL_FLAGGED
    return SUPPRESSED
