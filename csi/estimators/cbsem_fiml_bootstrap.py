"""The replicate statistic of a FIML CB-SEM fit: each resample refitted by FIML on its own patterns.

A replicate draws rows (with their holes) by the plan's frequencies; its
missingness patterns are the full sample's, each pattern's mean and covariance
weighted by the frequencies of its rows (:func:`csi.estimators.cbsem_fiml.weighted_patterns`;
a pattern the resample never draws drops out).  FIML is then re-run on those
patterns by the shared Newton loop (:func:`csi.estimators.cbsem_newton.minimise`)
started from the full-sample estimates and their exact Hessian, which BFGS
updates then keep current (an exact FIML Hessian costs two gradients per
parameter), a batch of replicates at a time: the bootstrap of the missing-data estimator itself
(Enders 2010, section 5.10), not of fixed imputed moments.  A replicate equals a
fresh ``missing="fiml"`` fit of the resampled rows to about ``tol``.

Each replicate reports every row of the fit's parameter table (item intercepts
``~1`` included) and, when every item's scale is known, the 0-100 index of every
construct from the replicate's intercepts and block weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csi.core.index import index_0_100
from csi.estimators.cbsem import block_weights
from csi.estimators.cbsem_bootstrap import CBSEMStatistic, replicate_status
from csi.estimators.cbsem_fiml import FIMLProblem, Pattern, hessian, patterns, weighted_patterns
from csi.estimators.cbsem_kernel import Structure
from csi.estimators.cbsem_newton import minimise
from csi.estimators.cbsem_table import TableLayout
from csi.estimators.replicates import StatisticLayout, _bounds, fit_index
from csi.results.fit import FitResult
from csi.spec.model import ModelSpec


@dataclass(frozen=True)
class FIMLTask:
    """Everything a worker needs for FIML replicates; pickled once per worker."""

    X: np.ndarray
    pats: list[Pattern]
    spec: ModelSpec
    structure: Structure
    z: np.ndarray
    layout: TableLayout
    bounds: tuple[np.ndarray, np.ndarray] | None
    tol: float
    max_iter: int
    metric0: np.ndarray

    def statistics(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, width) statistics and (B,) status codes of the resamples with draw frequencies ``counts (B, n)``."""
        st = self.structure
        counts = np.asarray(counts, dtype=np.float64)
        members = [(weighted_patterns(self.X, self.pats, c), float(c.sum())) for c in counts]
        res = minimise(
            self.z, FIMLProblem(st, members), (len(members),), tol=self.tol, max_iter=self.max_iter,
            metric0=self.metric0, halvings=30, quasi_newton=True,
        )  # fmt: skip
        q = st.n_params
        theta, mu = res.theta[:, :q], res.theta[:, q:]
        est, _ = self.layout.values(theta, st)
        derived = np.isin(self.layout.op, ["r2", "ind", "total"])
        cols = [est[:, ~derived], mu, np.zeros((len(members), st.m)), est[:, derived]]
        if self.bounds is not None:
            # The index is a ratio within each block, so the block weights' scale (sd, unit variance) cancels.
            p = st.p
            with np.errstate(divide="ignore", invalid="ignore"):
                w = block_weights(theta, st, self.spec, np.ones(p), np.eye(p))
                cols.append(index_0_100(w, mu, *self.bounds, self.spec.block_mask))
        stats = np.concatenate(cols, axis=-1)
        finite = np.all(np.isfinite(stats), axis=-1)
        stats[~finite] = np.nan
        return stats, replicate_status(theta, res.converged & finite, st)


def fiml_statistic(fit: FitResult) -> CBSEMStatistic:
    """The replicate statistic of a ``missing="fiml"`` CB-SEM fit (see the module docstring)."""
    state = fit.cbsem_state
    st, X = state.structure, state.raw
    pats = patterns(X)
    z = np.concatenate([state.theta, state.mu])
    bounds = _bounds(fit)
    task = FIMLTask(
        X, pats, fit.spec, st, z, state.layout, bounds, float(fit.options["tol"]), min(int(fit.options["max_iter"]), 200),
        hessian(z, st, pats, X.shape[0]),
    )  # fmt: skip
    table = fit.parameter_table
    lhs, op, rhs = list(table["lhs"]), list(table["op"]), list(table["rhs"])
    original = list(table["estimate"])
    if bounds is not None:
        names = list(fit.spec.construct_names)
        lhs, op, rhs = lhs + names, op + ["index"] * len(names), rhs + names
        original += list(fit_index(fit, bounds))
    return CBSEMStatistic(task, StatisticLayout.build(lhs, op, rhs, original, bounds is not None))


__all__ = ["FIMLTask", "fiml_statistic"]
