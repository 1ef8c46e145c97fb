"""The groups of a multi-group analysis: splitting the data by a column, the pooled and per-group fits.

Shared by :func:`csi.compare_groups` (:mod:`csi.resample.mga`) and :func:`csi.micom`
(:mod:`csi.resample.micom`).  Every group is fitted with the same model, estimator and options, each with
its own missing-data treatment (the fit's method run on the group's rows); the pooled fit holds every row
with a group label and is what the permutations draw from.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from csi.errors import CSIError, DataError, EstimationError
from csi.estimators import ESTIMATORS
from csi.estimators import fit as fit_model
from csi.estimators.replicates import StatisticLayout
from csi.resample.plans import SeedLike, seed_sequence
from csi.results.fit import FitResult
from csi.spec.load import load_model
from csi.spec.model import ModelSpec

__all__ = ["MIN_GROUP_ROWS", "Groups", "child_seed", "group_methods", "split_groups"]

MIN_GROUP_ROWS = 10
"""Fewest rows a group may have.  Below this a permuted or bootstrapped group very often has a constant
item (no correlation matrix), and no difference between groups can be detected anyway."""



def group_methods() -> tuple[str, ...]:
    """Estimators a group comparison accepts: those whose permuted groups the batched moment kernels re-estimate
    (:attr:`csi.estimators.base.Capabilities.group_permutation`)."""
    return tuple(name for name, cls in ESTIMATORS.items() if cls.capabilities.group_permutation)

KINDS = {"~": "path", "<~": "weight", "=~": "loading", "r2": "r2", "index": "index"}
"""Parameter kinds a comparison reports, by operator of :class:`StatisticLayout`."""


@dataclass(frozen=True, eq=False)
class Groups:
    """The pooled fit, one fit per group and the group code of every pooled row."""

    column: str
    labels: tuple[Any, ...]
    """Group labels, sorted (the order of codes and of every table)."""
    pooled: FitResult
    fits: tuple[FitResult, ...]
    codes: np.ndarray
    """(n_pooled,) group code of every row of ``pooled.data``."""
    table: pd.DataFrame
    """One row per group: ``group, n_rows`` (rows with the label) ``, n_used`` (rows its fit used)."""
    n_unlabelled: int
    """Rows without a group label (left out)."""

    def layout(self) -> StatisticLayout:
        """Paths, outer weights, loadings, R² and (when every item has a scale) 0-100 indices, in the
        pooled fit's estimate order; weights and loadings of single-item blocks (fixed at 1) are left out."""
        full = StatisticLayout.of(self.pooled)
        sizes = dict(zip(self.pooled.spec.construct_names, self.pooled.spec.block_mask.sum(axis=0), strict=True))
        keep = [
            k for k, op in enumerate(full.op)
            if op in KINDS and not (op in ("<~", "=~") and sizes[full.lhs[k]] == 1)
        ]  # fmt: skip
        pick = [full.lhs[k] for k in keep], [full.op[k] for k in keep], [full.rhs[k] for k in keep]
        return StatisticLayout.build(*pick, full.original[keep], full.with_index)

    def observed(self, layout: StatisticLayout) -> np.ndarray:
        """(K, q) estimates of every group fit, in ``layout`` order."""
        out = np.empty((len(self.fits), len(layout.labels)))
        for k, f in enumerate(self.fits):
            own = StatisticLayout.of(f)
            where = {label: i for i, label in enumerate(own.labels)}
            out[k] = own.original[[where[label] for label in layout.labels]]
        return out

    def pair_codes(self, g: int, h: int) -> np.ndarray:
        """Codes of a two-group permutation of groups ``g`` (code 0) and ``h`` (code 1); other rows -1."""
        return np.where(self.codes == g, 0, np.where(self.codes == h, 1, -1))

    def refuse_imputed_permutations(self, what: str) -> None:
        """Permutations re-estimate groups from the pooled rows; a ``mean`` or ``mi`` fit cannot be."""
        data = self.pooled.data
        if data.missing in ("mean", "mi") and float(self.pooled.missing_report.rate) > 0:
            raise EstimationError(
                f"{what} re-estimates every permuted group from the pooled rows, which missing={data.missing!r} "
                "cannot do (its imputations depend on the group); use missing='em', 'pairwise' or 'listwise'"
            )


def child_seed(root: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """The stream ``key`` below the user's seed (one per group bootstrap or permutation plan)."""
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key))


def root_seed(seed: SeedLike) -> np.random.SeedSequence:
    """The root of every stream of a comparison (:func:`csi.resample.plans.seed_sequence`)."""
    return seed_sequence(seed)


def _sorted_labels(values: pd.Series) -> list[Any]:
    uniq = list(pd.unique(values))
    try:
        return sorted(uniq)
    except TypeError:  # mixed label types: keep the order of first appearance
        return uniq


def split_groups(
    spec: ModelSpec | str | os.PathLike[str], data: pd.DataFrame, group: Any, fit_method: str, options: dict[str, Any]
) -> Groups:
    """Fit the pooled data and every group of ``data[group]``.

    Raises
    ------
    DataError
        When ``group`` is not a column of ``data``, gives fewer than two groups, or a group has fewer than
        :data:`MIN_GROUP_ROWS` rows (or its fit uses fewer).
    EstimationError
        For an estimator other than :func:`group_methods`, respondent weights, a two-stage higher-order fit or
        a group fit that did not converge.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    accepted = group_methods()
    if fit_method not in accepted:
        raise EstimationError(f"group comparisons support fit_method {', '.join(map(repr, accepted))}, not {fit_method!r}")
    if "weights" in options:
        raise EstimationError("group comparisons do not support respondent weights yet; drop weights=")
    if not isinstance(group, str) or group not in data.columns:
        shown = ", ".join(map(repr, list(data.columns[:12]))) + (", ..." if data.shape[1] > 12 else "")
        raise DataError(f"group column {group!r} is not in the data; columns: {shown}")
    if isinstance(spec, str | os.PathLike):
        spec = load_model(spec)
    if group in spec.item_names:
        raise DataError(f"group column {group!r} is an item of the model; group by a column outside the model")
    has = data[group].notna()
    n_unlabelled = int((~has).sum())
    if n_unlabelled:
        warnings.warn(
            f"{n_unlabelled} row(s) without a value in group column {group!r} are left out of the comparison",
            UserWarning,
            stacklevel=3,
        )
    frame = data.loc[has.to_numpy()].reset_index(drop=True)
    labels = _sorted_labels(frame[group])
    if len(labels) < 2:
        only = f" (only {labels[0]!r})" if labels else ""
        raise DataError(f"group column {group!r} holds fewer than two groups{only}; a comparison needs at least two")
    key = frame[group]
    counts = {g: int((key == g).sum()) for g in labels}
    for g, n in counts.items():
        if n < MIN_GROUP_ROWS:
            raise DataError(
                f"group {g!r} of column {group!r} has {n} row(s); every group needs at least {MIN_GROUP_ROWS}"
            )
    pooled = fit_model(spec, frame, method=fit_method, **options)
    if getattr(pooled, "stage1", None) is not None:
        # A permuted group would need both stages re-run; the batched statistic re-estimates only one.
        raise EstimationError(
            "group comparisons of two-stage higher-order fits are not supported (a permutation would have to re-run "
            "stage 1 in every permuted group); fit with hoc='repeated'"
        )
    fits = []
    for g in labels:
        try:
            fits.append(fit_model(spec, frame.loc[(key == g).to_numpy()], method=fit_method, **options))
        except CSIError as e:
            raise type(e)(f"group {g!r} of column {group!r}: {e}") from e
    rows = pooled.data.row_labels
    code_of = {g: k for k, g in enumerate(labels)}
    codes = np.array([code_of[v] for v in key.to_numpy()[np.asarray(rows, dtype=np.intp)]], dtype=np.int64)
    used = np.bincount(codes, minlength=len(labels))
    for k, (g, f) in enumerate(zip(labels, fits, strict=True)):
        if not f.converged:
            raise EstimationError(
                f"the fit of group {g!r} of column {group!r} did not converge, so its estimates are not comparable; "
                "raise max_iter"
            )
        if f.n != used[k]:  # pragma: no cover - the row-wise missing-data methods drop the same rows
            raise EstimationError(f"group {g!r}: its fit uses {f.n} rows, the pooled fit {used[k]}")
        if f.n < MIN_GROUP_ROWS:
            raise DataError(
                f"group {g!r} of column {group!r} keeps {f.n} usable row(s) after missing={pooled.data.missing!r}; "
                f"every group needs at least {MIN_GROUP_ROWS}"
            )
    table = pd.DataFrame({"group": labels, "n_rows": [counts[g] for g in labels], "n_used": [f.n for f in fits]})
    return Groups(group, tuple(labels), pooled, tuple(fits), codes, table, n_unlabelled)
