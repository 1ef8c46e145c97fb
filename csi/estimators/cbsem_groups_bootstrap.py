"""The replicate statistic of a multiple-group CB-SEM fit: stratified resamples refitted by multi-group ML.

The bootstrap of a multiple-group model resamples rows within each group (a
stratified plan whose strata are the groups, so every replicate keeps the
group sizes; Efron & Tibshirani 1993, section 8.2 on two-sample problems).  A
replicate's group moments are the frequency-weighted means and covariances
of its rows; the multi-group discrepancy is then minimised by the shared
Newton loop (:func:`csi.estimators.cbsem_newton.minimise`) from the
full-sample estimates and exact Hessian, with BFGS updates (the exact Hessian
costs two gradients per parameter), a batch of replicates at a time.  A
replicate equals a fresh ``group=`` fit of the resampled rows to about ``tol``.

Each replicate reports every row of ``GroupFit.estimates`` (every group's
parameters, intercepts and latent means), labelled ``"<group>: lhs op rhs"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csi.estimators.cbsem_bootstrap import CBSEMStatistic, admissible
from csi.estimators.cbsem_groups import GroupFit, GroupsProblem, GroupState, _Group
from csi.estimators.cbsem_newton import minimise
from csi.estimators.replicates import REPLICATE_INADMISSIBLE, REPLICATE_NOT_CONVERGED, REPLICATE_OK, StatisticLayout
from csi.spec.parameters import parameter_label


@dataclass(frozen=True)
class GroupsTask:
    """Everything a worker needs for multiple-group replicates; pickled once per worker."""

    state: GroupState
    metric0: np.ndarray

    def _moments(self, c: np.ndarray) -> list[_Group] | None:
        out = []
        for rows in self.state.rows:
            w = c[rows]
            total = w.sum()
            if total <= 0:
                return None  # a fixed resample that draws nothing from a group: no group moments
            Y = self.state.X[rows]
            m = w @ Y / total
            R = Y - m
            out.append(_Group(float(total), m, (R * w[:, None]).T @ R / total))
        return out

    def statistics(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, width) statistics and (B,) status codes of the resamples with draw frequencies ``counts (B, n)``."""
        S = self.state
        st, lay = S.structure, S.layout
        counts = np.asarray(counts, dtype=np.float64)
        members = [self._moments(c) for c in counts]
        empty = np.array([m is None for m in members])
        fill = self._moments(np.ones(counts.shape[1]))
        members = [fill if m is None else m for m in members]  # placeholder, discarded below
        res = minimise(
            S.z, GroupsProblem(st, lay, members), (len(members),), tol=S.tol, max_iter=S.max_iter,
            metric0=self.metric0, halvings=30, quasi_newton=True,
        )  # fmt: skip
        z = res.theta
        derived = np.isin(S.table.op, ["r2", "ind", "total"])
        cols, ok = [], np.ones(len(members), dtype=bool)
        for g in range(len(S.rows)):
            theta = z[:, lay.theta[g]]
            alpha = np.where(lay.alpha[g] >= 0, z[:, np.maximum(lay.alpha[g], 0)], 0.0)
            est, _ = S.table.values(theta, st)
            cols += [est[:, ~derived], z[:, lay.nu[g]], alpha, est[:, derived]]
            ok &= admissible(theta, st)
        stats = np.concatenate(cols, axis=-1)
        finite = np.all(np.isfinite(stats), axis=-1) & ~empty
        stats[~finite] = np.nan
        conv = res.converged & finite
        status = np.where(~conv, REPLICATE_NOT_CONVERGED, np.where(ok, REPLICATE_OK, REPLICATE_INADMISSIBLE))
        return stats, status.astype(np.int8)


def group_labels(fit: GroupFit) -> np.ndarray:
    """Each fitted row's group (the strata of the bootstrap), in the fitted rows' order."""
    out = np.empty(fit.state.X.shape[0], dtype=object)
    for lev, rows in zip(fit.groups, fit.state.rows, strict=True):
        out[rows] = lev
    return out


def groups_statistic(fit: GroupFit) -> CBSEMStatistic:
    """The replicate statistic of a multiple-group fit (see the module docstring): a
    :class:`~csi.estimators.cbsem_bootstrap.CBSEMStatistic` running a :class:`GroupsTask`."""
    S = fit.state
    one = GroupsProblem(S.structure, S.layout, [GroupsTask(S, np.empty(0))._moments(np.ones(S.X.shape[0]))])
    metric0 = one.observed(S.z[None, :], np.array([0]))[0]
    t = fit.estimates
    lhs, op, rhs, grp = list(t["lhs"]), list(t["op"]), list(t["rhs"]), list(t["group"])
    labels = [f"{g}: {parameter_label(a, o, b)}" for g, a, o, b in zip(grp, lhs, op, rhs, strict=True)]
    layout = StatisticLayout(labels, lhs, op, rhs, False, np.array(t["estimate"], dtype=float), group=grp)
    return CBSEMStatistic(GroupsTask(S, metric0), layout)


__all__ = ["GroupsTask", "group_labels", "groups_statistic"]
