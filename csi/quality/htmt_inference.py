"""HTMT with bootstrap confidence intervals: HTMT_inference (methodology §4.6).

HTMT is a function of the item correlation matrix only, so a bootstrap
replicate needs nothing but its moment matrix: the replicates' covariance
matrices come from one frequency product per block of replicates
(:func:`csi.core.moments.resample_moments`, the seeded plans of
:mod:`csi.resample.plans`) and the batched kernel :func:`csi.core.quality.htmt`
turns the whole stack into ratios at once; no model is re-estimated.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from csi.core.moments import cov_to_corr, resample_moments
from csi.core.quality import htmt as _htmt
from csi.errors import BootstrapError
from csi.quality._common import prepared_data
from csi.quality.validity import htmt as htmt_table
from csi.resample.driver import run_plan
from csi.resample.intervals import quantiles
from csi.resample.plans import SeedLike
from csi.resample.run import default_chunk_size, make_plan
from csi.results.fit import FitResult
from csi.results.frozen import CopiedTables


@dataclass(frozen=True, eq=False)
class HTMTBootstrap(CopiedTables):
    """Bootstrap distribution and inference of every HTMT ratio.

    Attributes
    ----------
    table
        One row per pair of constructs ``j < k`` (construct order):
        ``construct_a, construct_b, htmt, ci_lower, ci_upper`` and one
        ``below_<t>`` column per threshold ``t`` (nullable boolean: True when
        ``ci_upper < t``, i.e. HTMT_inference supports discriminant validity
        at that threshold; ``<NA>`` for a pair with a single-item block).
    draws
        One row per replicate, one column per pair (``"A~B"``); a replicate
        in which an item was constant is a row of NaN.
    level
        One-sided confidence level.
    thresholds
        The thresholds of the ``below_<t>`` columns.
    n_singular
        Replicates dropped because an item was constant in the resample.
    plan
        Provenance of the resamples (kind, seed entropy, block size).
    """

    table: pd.DataFrame
    draws: pd.DataFrame
    level: float
    thresholds: tuple[float, ...]
    n_singular: int
    plan: dict[str, Any]

    def __str__(self) -> str:
        head = (
            f"HTMT with {self.plan['n_resamples']}-replicate percentile bounds "
            f"(one-sided level {self.level:g}; {self.n_singular} singular replicates dropped)"
        )
        return head + "\n" + self.table.to_string(index=False, float_format=lambda x: f"{x:.4f}")


def htmt_bootstrap(
    fit: FitResult,
    n_resamples: int = 5000,
    seed: SeedLike = None,
    *,
    level: float = 0.95,
    thresholds: Sequence[float] = (0.85, 0.90, 1.0),
    indices: Any = None,
    strata: Any = None,
    chunk_size: int | None = None,
) -> HTMTBootstrap:
    """HTMT_inference: percentile bootstrap bounds of every HTMT ratio.

    Henseler, Ringle & Sarstedt (2015, JAMS 43(1):115-135) judge
    discriminant validity by whether the bootstrap confidence interval of
    ``HTMT_jk`` excludes 1 (HTMT_inference); Franke & Sarstedt (2019,
    Internet Research 29(3):430-447) test against the HTMT.85 / HTMT.90
    thresholds instead: discriminant validity is supported at threshold
    ``t`` when the upper bound of the one-sided ``level`` percentile
    interval, ``q_level`` of the replicates, is below ``t``.

    ``ci_lower`` and ``ci_upper`` are the ``1 - level`` and ``level``
    quantiles (type 7, as :mod:`csi.resample.intervals`) of the replicates:
    each is a one-sided bound at ``level``, together the equal-tailed
    ``2 level - 1`` interval (the 5 % and 95 % quantiles, a 90 % interval,
    for the default 0.95).

    Parameters
    ----------
    fit
        Any fit (HTMT depends on the item correlations only, so the estimator
        does not matter); its prepared items and respondent weights are
        resampled.
    n_resamples, seed
        Number of replicates and seed, under the seeding contract of
        :mod:`csi.resample.plans` (the same seed draws the same resamples as
        :func:`csi.bootstrap`).  Ignored when ``indices`` is given.
    level
        One-sided confidence level in (0.5, 1).
    thresholds
        Thresholds of the ``below_<t>`` verdict columns.
    indices
        Optional (B, n) 0-based row positions, one resample per row.
    strata
        Optional stratum labels aligned with the fitted rows: resample within
        strata.
    chunk_size
        Replicates per kernel call (memory and speed only): results are
        byte-identical whatever its value.

    Returns
    -------
    HTMTBootstrap
    """
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0.5 < level < 1:
        raise BootstrapError(f"level must be strictly between 0.5 and 1 (a one-sided level), got {level!r}")
    thr = tuple(float(t) for t in thresholds)
    if not thr or not all(np.isfinite(thr)) or any(t <= 0 for t in thr):
        raise BootstrapError(f"thresholds must be positive numbers, e.g. (0.85, 0.90), got {thresholds!r}")
    data = prepared_data(fit, "htmt_bootstrap")
    X, w = data.X, data.weights
    n = X.shape[0]
    plan = make_plan(fit, n_resamples, seed, indices, strata, error=BootstrapError)
    if chunk_size is None:
        chunk_size = default_chunk_size(n)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise BootstrapError(f"chunk_size must be a positive integer, got {chunk_size!r}")

    spec = fit.spec
    J = spec.block_mask.shape[1]
    a, b = np.triu_indices(J, k=1)
    # HTMT has no iterations: "converged" flags the replicates whose items all vary (the others are NaN rows).
    reps = run_plan(plan, _HTMTStatistic(X, w, spec.block_mask), chunk_size=chunk_size, failed=None)
    draws, singular = reps.stats, ~reps.converged

    point = htmt_table(fit).to_numpy()[a, b]
    if singular.any():
        warnings.warn(
            f"{int(singular.sum())} of {plan.n_resamples} HTMT bootstrap replicates had an item constant in the "
            "resample and were dropped",
            UserWarning,
            stacklevel=2,
        )
    lower, upper = quantiles(draws, [1.0 - level, level]) if draws.shape[1] else (np.empty(0), np.empty(0))
    names = spec.construct_names
    table = pd.DataFrame(
        {
            "construct_a": [names[i] for i in a],
            "construct_b": [names[k] for k in b],
            "htmt": point,
            "ci_lower": lower,
            "ci_upper": upper,
        }
    )
    for t in thr:
        table[f"below_{t:.2f}"] = pd.array(np.where(np.isnan(upper), None, upper < t), dtype="boolean")
    labels = pd.Index([f"{names[i]}~{names[k]}" for i, k in zip(a, b)], name="pair")
    frame = pd.DataFrame(draws, columns=labels)
    frame.index.name = "replicate"
    return HTMTBootstrap(
        table=table,
        draws=frame,
        level=float(level),
        thresholds=thr,
        n_singular=int(singular.sum()),
        plan=plan.describe(),
    )


class _HTMTStatistic:
    """Every HTMT ratio ``j < k`` of a replicate (a row of NaN when an item is constant in it)."""

    what = "HTMT"

    def __init__(self, X: np.ndarray, w: np.ndarray | None, M: np.ndarray) -> None:
        self.X, self.w, self.M = X, w, M
        self.pairs = np.triu_indices(M.shape[1], k=1)
        self.width = self.pairs[0].size

    def prepare(self, plan: Any) -> None:
        pass

    def evaluate(self, plan: Any, lo: int, hi: int, out: np.ndarray | None = None) -> tuple[Any, Any, None]:
        R = _correlations(self.X, self.w, plan, lo, hi)
        ratios = _htmt(R, self.M)[:, self.pairs[0], self.pairs[1]]
        finite = np.isfinite(R).all(axis=(-2, -1))
        ratios[~finite] = np.nan
        return ratios, finite, None


def _correlations(X: np.ndarray, w: np.ndarray | None, plan: Any, lo: int, hi: int) -> np.ndarray:
    """Item correlation matrices (hi - lo, p, p) of replicates ``[lo, hi)``.

    The frequency product is always taken over whole blocks of
    :attr:`plan.block <csi.resample.plans.ResamplingPlan.block>` replicates and then sliced (as in
    :func:`csi.bootstrap`): a matrix product's rows may differ in the last bit
    with the number of rows, so this keeps every replicate identical whatever
    the chunking.
    """
    parts = []
    for s in range(lo // plan.block * plan.block, hi, plan.block):
        e = min(s + plan.block, plan.n_resamples)
        _, covs = resample_moments(X, plan.counts(s, e), w)
        parts.append(covs[max(lo, s) - s : min(hi, e) - s])
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov_to_corr(np.concatenate(parts))[0]
