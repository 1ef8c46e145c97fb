"""PLS estimation of models with higher-order constructs, and their bootstrap statistic.

``csi.fit(spec, data, hoc=...)`` with a model whose constructs include higher-order constructs (HOCs,
:attr:`csi.spec.model.Construct.components`) runs one of three approaches (Becker, Klein & Wetzels 2012,
Long Range Planning 45(5-6):359-394; Sarstedt, Hair, Cheah, Becker & Ringle 2019, Australasian Marketing
Journal 27(3):197-211), each an ordinary PLS fit of a rewritten model (:mod:`csi.spec.hoc`):

``"repeated"`` (default)
    Repeated indicators: each HOC is measured by all the items of its components and linked to them by
    structural paths (``HOC -> LOC`` for Mode A, ``LOC -> HOC`` for Mode B).  The item moments are those of
    the first-order items under the fit's missing-data method, repeated for the HOC's block (exactly the
    moments of the data with the items duplicated, without the duplicated columns ever entering EM).
``"two-stage-embedded"``
    Stage 1 is the repeated-indicator fit; stage 2 an ordinary fit in which each HOC is measured by its
    components' scores and every other construct by its items (the components leave the model).
``"two-stage-disjoint"``
    Stage 1 fits the model without the HOCs, each component linked directly to its HOC's structural
    neighbours; stage 2 as above.

The second stage is literally a second ``csi.fit``: its data are the first stage's component scores as
columns beside the original item columns of the other constructs, at the rows the first stage used, with
the same respondent weights and missing-data method.  When every item of a component has a scale, its
score column is the component's 0-100 score per respondent, ``index_k + (100 / R_k) * score_k`` with
``R_k = sum_h u_h (max_h - min_h)`` over its items (``u`` the unstandardised weights): a positive affine
map of the standardised score, so the scaled (correlation) PLS estimates are unchanged, while the HOC's
0-100 index becomes the ordinary index of a block of 0-100 items, the weighted mean of its components'
indices with weights ``w_k R_k`` (the HOC written as a composite of the original items; with repeated
indicators the HOC's index is that of its repeated items).

The bootstrap (:class:`csi.estimators.hoc_replicates.HigherOrderStatistic`) re-runs the whole procedure
inside every replicate, batched over the replicates.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from csi.core.index import unstandardise
from csi.data.prepare import PreparedData, as_frame, prepare_items
from csi.errors import DataError, EstimationError, SpecError
from csi.estimators.missing import fit_with_missing
from csi.results.fit import FitResult
from csi.results.hoc import HigherOrderFit
from csi.spec.hoc import HOC_APPROACHES, disjoint_stage1, first_order_spec, repeated_indicators, stage2
from csi.spec.model import ModelSpec

DEFAULT_HOC = "repeated"
"""The approach of a model with higher-order constructs when ``hoc`` is not given."""

__all__ = ["DEFAULT_HOC", "HOC_APPROACHES", "fit_higher_order", "score_map"]

SCORE_SCALE = (0.0, 100.0)
"""Theoretical end points of the 0-100 component scores of the second stage."""


def _spec_error(exc: SpecError) -> EstimationError:
    return EstimationError(str(exc))


class _Repeated:
    """An estimator view that fits the repeated-indicator model from the first-order items' moments."""

    def __init__(self, est: Any, ri: ModelSpec, idx: np.ndarray, prepared: PreparedData) -> None:
        self.est, self.ri, self.idx = est, ri, idx
        self.imputations, self.mi_seed = est.imputations, est.mi_seed
        self.prepared = dataclasses.replace(
            prepared, X=prepared.X[:, idx], item_names=ri.item_names,
            n_missing=tuple(prepared.n_missing[i] for i in idx),
            raw=None if prepared.raw is None else prepared.raw[:, idx],
        )  # fmt: skip

    def fit_moments(self, spec: ModelSpec, prepared: PreparedData, mean: np.ndarray, cov: np.ndarray,
                    X: np.ndarray) -> FitResult:  # fmt: skip
        i = self.idx
        return self.est.fit_moments(self.ri, self.prepared, mean[i], cov[np.ix_(i, i)], X[:, i])


def _repeated_fit(base: Any, spec: ModelSpec, prepared: PreparedData) -> tuple[FitResult, np.ndarray]:
    try:
        ri, source = repeated_indicators(spec)
    except SpecError as exc:
        raise _spec_error(exc) from None
    base.check_spec(ri)
    pos = {n: k for k, n in enumerate(prepared.item_names)}
    idx = np.array([pos[s] for s in source], dtype=np.intp)
    return fit_with_missing(_Repeated(base, ri, idx, prepared), first_order_spec(spec), prepared), idx


def score_map(fit: FitResult, components: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """``(slope, intercept)`` of each component's 0-100 score as an affine map of its standardised score.

    ``index_k + (100 / R_k) * score_k`` (module docstring); None when an item of a component has no scale
    or a component's ``R_k`` is not positive (then the standardised scores are the stage-2 items).
    """
    spec = fit.spec
    M = spec.block_mask
    cols = [spec.construct_names.index(k) for k in components]
    rows = np.flatnonzero(M[:, cols].sum(axis=1))
    items = spec.items
    if not all(items[h].has_scale for h in rows):
        return None
    lo = np.array([it.scale_min if it.has_scale else 0.0 for it in items])
    hi = np.array([it.scale_max if it.has_scale else 0.0 for it in items])
    u = unstandardise(fit.weights.to_numpy(), fit.item_sds.to_numpy(), bool(fit.options.get("scaled", True)))
    Mk = M[:, cols]
    R = (u * (hi - lo)) @ Mk
    if not np.all(R > 0):
        return None
    index = 100.0 * ((u * (fit.item_means.to_numpy() - lo)) @ Mk) / R
    return 100.0 / R, index


def _stage2_frame(spec: ModelSpec, s1: FitResult, data: Any, prepared: PreparedData
                  ) -> tuple[pd.DataFrame, bool]:  # fmt: skip
    """The second stage's data: component score columns beside the other constructs' item columns."""
    comps = [k for h in spec.higher_order for k in spec.components_of(h)]
    frame = as_frame(data)
    if not frame.index.is_unique:
        raise DataError(
            "the two-stage approaches match the first stage's scores to the data rows by the data's index, which "
            "has duplicate labels; pass data.reset_index(drop=True)"
        )
    rows = s1.scores.index
    scores = s1.scores[comps].to_numpy()
    mapped = score_map(s1, comps)
    if mapped is not None:
        scores = mapped[1] + mapped[0] * scores
    others = [n for c in spec.constructs if not c.components and c.name not in comps for n in c.item_names]
    out = frame.loc[rows, others].copy()
    for k, name in enumerate(comps):
        out[name] = scores[:, k]
    return out, mapped is not None


def fit_higher_order(est: Any, spec: ModelSpec, data: Any, weights: Any) -> HigherOrderFit:
    """Fit ``spec`` (with higher-order constructs) by the approach ``est.hoc`` (module docstring)."""
    est.validate()
    approach = est.hoc or DEFAULT_HOC
    if est.name != "pls":
        raise EstimationError(
            f"higher-order constructs ({', '.join(spec.higher_order)}) are estimated with method='pls', not "
            f"{est.name!r}"
        )
    base = dataclasses.replace(est, hoc=None)
    fo = first_order_spec(spec)
    prepared = prepare_items(fo, data, missing=est.missing, weights=weights)
    if approach == "repeated":
        fit, _ = _repeated_fit(base, spec, prepared)
        return _result(fit, spec, approach, est, None, prepared)
    try:
        stage2(spec)  # a second-order model whose second stage is valid, before any work
    except SpecError as exc:
        raise _spec_error(exc) from None
    lonely = [h for h in spec.higher_order if not any(h in (p.source, p.target) for p in spec.paths)]
    if lonely:
        raise EstimationError(
            f"higher-order construct(s) {', '.join(lonely)} take part in no path; the two-stage approaches need "
            "each HOC linked to another construct (the repeated-indicator approach does not)"
        )
    try:
        if approach == "two-stage-embedded":
            s1, _ = _repeated_fit(base, spec, prepared)
        else:
            s1 = base.fit(disjoint_stage1(spec), data, weights=weights)
    except SpecError as exc:
        raise _spec_error(exc) from None
    frame, scaled = _stage2_frame(spec, s1, data, prepared)
    s2 = base.fit(stage2(spec), frame, weights=prepared.weights)
    if scaled:
        # The score columns are 0-100 scores by construction; their end points make the HOC's index the
        # ordinary index of its block (module docstring).  They are not declared for the fit itself,
        # because imputed or negatively weighted answers may take a score a hair outside them.
        s2 = dataclasses.replace(s2, spec=stage2(spec, SCORE_SCALE))
    return _result(s2, spec, approach, est, s1, prepared)


def _result(fit: FitResult, spec: ModelSpec, approach: str, est: Any, stage1: FitResult | None,
            prepared: PreparedData) -> HigherOrderFit:  # fmt: skip
    fields = {f.name: getattr(fit, f.name) for f in dataclasses.fields(FitResult)}
    fields.update(options={**est.options(), "hoc": approach}, estimator=dataclasses.replace(est, hoc=approach))
    return HigherOrderFit(**fields, hoc_spec=spec, hoc=approach, stage1=stage1, first_order_data=prepared)
