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

The bootstrap (:class:`HigherOrderStatistic`) re-runs the whole procedure inside every replicate, from the
replicate's first-order item moments (the fit's missing-data method re-run, as for any fit).  It is batched:
with repeated indicators one PLS solve of the stack; in the two stages, stage 1 on the stack, then the
stage-2 moments of every replicate as a linear map of its item moments (the component score columns are
linear in the items), then stage 2 on the stack.  For a two-stage fit of data with missing cells under
``em`` or ``pairwise``, the second stage's missing-data method is re-run per replicate on the replicate's
stage-2 columns (a loop over replicates inside the statistic), as two manual fits of the replicate would.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from csi.core.index import unstandardise
from csi.core.missing import patterns, replicate_em_moments, replicate_pairwise_moments
from csi.core.moments import cov_to_corr, resample_moments
from csi.core.pls import pls_inner, pls_weights
from csi.data.prepare import PreparedData, as_frame, prepare_items
from csi.errors import DataError, EstimationError, SpecError
from csi.estimators.missing import REPLICATE_EM_TOL, fit_with_missing, replicate_moments, resamples_missing
from csi.estimators.replicates import SIGN_FLIPPABLE, StatisticLayout, replicate_statistics
from csi.results.fit import FitResult
from csi.results.hoc import HigherOrderFit
from csi.spec.hoc import HOC_APPROACHES, disjoint_stage1, first_order_spec, repeated_indicators, stage2
from csi.spec.model import ModelSpec

DEFAULT_HOC = "repeated"
"""The approach of a model with higher-order constructs when ``hoc`` is not given."""

__all__ = ["DEFAULT_HOC", "HOC_APPROACHES", "HigherOrderStatistic", "fit_higher_order", "score_map"]

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


# ----------------------------------------------------------------------------------------------- bootstrap
class HigherOrderStatistic:
    """The replicate statistic of a :class:`~csi.results.hoc.HigherOrderFit` for the resampling driver.

    Every replicate re-runs the fit's approach (module docstring) from the replicate's first-order item
    moments.  Each block of ``plan.block`` replicates is always computed whole and then sliced, so a
    replicate's statistics do not depend on the chunking or the number of workers.

    Statistics: every row of ``fit.estimates`` and the 0-100 index of every construct of the final model;
    for the two-stage approaches also the components' item loadings and weights and their indices
    (from the replicate's first stage).
    """

    what = "higher-order"

    def __init__(self, fit: HigherOrderFit, *, sign_change: str = "none", inner_resamples: int | None = None) -> None:
        if sign_change not in ("none", "individual"):
            raise EstimationError(
                f"sign_change={sign_change!r} is not available for higher-order fits; accepted: 'none', 'individual'"
            )
        if inner_resamples:
            raise EstimationError("studentized intervals (a nested bootstrap) are not available for higher-order "
                                  "fits; use 'percentile', 'basic', 'normal', 'bc' or 'bca'")  # fmt: skip
        self.fit = fit
        self.sign_change = sign_change
        self.spec = fit.hoc_spec
        data = fit.first_order_data
        self.source = SimpleNamespace(data=data, missing_report=fit.missing_report if fit.stage1 is None
                                      else fit.stage1.missing_report)  # fmt: skip
        if resamples_missing(self.source):
            replicate_moments(self.source, np.zeros((0, data.X.shape[0])))  # refuses a method it cannot resample
        pos = {n: k for k, n in enumerate(data.item_names)}
        final = StatisticLayout.of(fit)
        self.final_layout = final
        if fit.stage1 is None:
            self.idx1 = np.array([pos[_origin(n, self.spec)] for n in fit.spec.item_names], dtype=np.intp)
            self.layout = final
        else:
            s1 = fit.stage1
            self.idx1 = np.array([pos[_origin(n, self.spec)] for n in s1.spec.item_names], dtype=np.intp)
            self.comps = [k for h in self.spec.higher_order for k in self.spec.components_of(h)]
            self.mapped = score_map(s1, self.comps) is not None
            lhs, op, rhs, orig = list(final.lhs), list(final.op), list(final.rhs), list(final.original)
            extra = []
            for k in self.comps:
                for item in s1.spec.construct(k).item_names:
                    for o, table in (("=~", s1.loadings), ("<~", s1.weights)):
                        lhs.append(k), op.append(o), rhs.append(item), orig.append(float(table[item]))
                        extra.append((k, o, item))
            if self.mapped:
                index = score_map(s1, self.comps)[1]  # type: ignore[index]
                for k, v in zip(self.comps, index, strict=True):
                    lhs.append(k), op.append("index"), rhs.append(k), orig.append(float(v))
                    extra.append((k, "index", k))
            self.extra = extra
            self.layout = StatisticLayout.build(lhs, op, rhs, orig, final.with_index)
            # Stage-2 items: a component's score (its stage-1 block) or a first-order item (an item column).
            s2 = fit.spec
            self.s2_comp = [self.comps.index(n) if n in self.comps else -1 for n in s2.item_names]
            self.s2_item = np.array([-1 if n in self.comps else pos[n] for n in s2.item_names], dtype=np.intp)
            # Stage 2 is re-run per replicate when the first stage resamples missing cells: its score columns
            # come from each replicate's completed items (and its own item columns may have gaps too).
            self.missing2 = resamples_missing(self.source)
            self.missing2_own = resamples_missing(fit)
        self.width = len(self.layout.labels)

    def prepare(self, plan: Any) -> None:
        pass

    def jackknife(self) -> HigherOrderStatistic:
        """The same statistic serves the jackknife's leave-one-out plan (BCa)."""
        return self

    def evaluate(self, plan: Any, a: int, b: int, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, None]:
        """Statistics (b - a, q) and convergence (b - a,) of replicates ``[a, b)``."""
        B, block = plan.n_resamples, plan.block
        parts, convs = [], []
        for s in range(a // block * block, b, block):
            e = min(s + block, B)
            stats, conv = self._block(plan.stream_counts(s, e))
            lo, hi = max(a, s) - s, min(b, e) - s
            parts.append(stats[lo:hi])
            convs.append(conv[lo:hi])
        stats, conv = np.concatenate(parts), np.concatenate(convs)
        if self.sign_change == "individual":
            flippable = np.isin(self.layout.op, SIGN_FLIPPABLE)
            differs = np.sign(stats) != np.sign(self.layout.original)
            stats = np.where(differs & flippable, -stats, stats)
        return stats, conv, None

    def _block(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        means, covs = replicate_moments(self.source, counts)
        i = self.idx1
        m1, c1 = means[:, i], covs[:, i[:, None], i]
        if self.fit.stage1 is None:
            return replicate_statistics(self.fit, m1, c1, self.final_layout)
        return self._two_stage(np.asarray(counts, dtype=np.float64), means, covs, m1, c1)

    def _two_stage(self, counts: np.ndarray, means: np.ndarray, covs: np.ndarray, m1: np.ndarray, c1: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        s1, fit = self.fit.stage1, self.fit
        spec1, opt = s1.spec, s1.options
        M, D = spec1.block_mask, spec1.adjacency
        corr, sd = cov_to_corr(c1)
        S = corr if opt["scaled"] else c1
        finite = np.all(np.isfinite(S), axis=(-2, -1)) & np.all(sd > 0, axis=-1)
        S = np.where(finite[:, None, None], S, s1.moments)  # placeholder moments, result discarded below
        mode_b = np.array([m == "B" for m in spec1.modes])
        res = pls_weights(S, M, D, mode_b, opt["scheme"], tol=opt["tol"], max_iter=opt["max_iter"], stop=opt["stop"],
                          sign_rule=opt["sign_rule"], n_obs=s1.n)  # fmt: skip
        w1 = res.w
        lam1 = pls_inner(S, w1, M, D).loadings
        with np.errstate(divide="ignore", invalid="ignore"):
            u = unstandardise(w1, np.where(finite[:, None], sd, 1.0), bool(opt["scaled"]))
        # Stage-2 item j = T[j] @ x + c[j]: a component's 0-100 score, or its standardised score when an item
        # has no scale or (as a single fit falls back, score_map) a component's raw range R_k is not positive.
        B, p = means.shape
        cols = [spec1.construct_names.index(k) for k in self.comps]
        nc = len(cols)
        T = np.zeros((B, nc, p))
        c = np.zeros((B, nc))
        R = np.ones((B, nc))
        index = np.full((B, nc), np.nan)
        items1 = spec1.items
        for j, col in enumerate(cols):
            rows = np.flatnonzero(M[:, col])
            np.add.at(T[:, j, :], (slice(None), self.idx1[rows]), u[:, rows])
            c[:, j] = -np.einsum("bh,bh->b", u[:, rows], m1[:, rows])
            if self.mapped:
                lo = np.array([items1[h].scale_min for h in rows])
                hi = np.array([items1[h].scale_max for h in rows])
                R[:, j] = np.einsum("bh,h->b", u[:, rows], hi - lo)
                with np.errstate(divide="ignore", invalid="ignore"):
                    index[:, j] = 100.0 * np.einsum("bh,bh->b", u[:, rows], m1[:, rows] - lo) / R[:, j]
        unmapped = ~np.all(R > 0, axis=1) if self.mapped else np.zeros(B, dtype=bool)
        if self.mapped:
            slope = np.where(unmapped[:, None], 1.0, 100.0 / np.where(R > 0, R, 1.0))
            T = T * slope[:, :, None]
            c = np.where(unmapped[:, None], c, index - np.einsum("bkp,bp->bk", T, means))
            index[unmapped] = np.nan
        if self.missing2:
            m2, c2 = self._stage2_missing(counts, T, c, means, covs)
        else:
            m2, c2 = self._stage2_moments(T, c, means, covs)
        stats, conv = replicate_statistics(fit, m2, c2, self.final_layout)
        if unmapped.any():  # the HOCs' indices need the 0-100 score items
            hoc_index = np.isin(self.final_layout.lhs, self.spec.higher_order) & (np.array(self.final_layout.op) == "index")
            stats[np.ix_(unmapped, hoc_index)] = np.nan
        extra = []
        pos1 = {n: k for k, n in enumerate(spec1.item_names)}
        for k, o, item in self.extra:
            if o == "=~":
                extra.append(lam1[:, pos1[item]])
            elif o == "<~":
                extra.append(w1[:, pos1[item]])
            else:
                extra.append(index[:, self.comps.index(k)])
        stats = np.concatenate([stats, np.stack(extra, axis=-1)], axis=-1) if extra else stats
        stats[~finite] = np.nan
        return stats, conv & res.converged & finite

    def _stage2_moments(self, T: np.ndarray, c: np.ndarray, means: np.ndarray, covs: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Stage-2 item moments as the linear map of the replicate's item moments."""
        B = means.shape[0]
        q = len(self.s2_comp)
        A = np.zeros((B, q, means.shape[1]))
        shift = np.zeros((B, q))
        for j, (k, h) in enumerate(zip(self.s2_comp, self.s2_item, strict=True)):
            if k >= 0:
                A[:, j] = T[:, k]
                shift[:, j] = c[:, k]
            else:
                A[:, j, h] = 1.0
        m2 = np.einsum("bqp,bp->bq", A, means) + shift
        c2 = np.einsum("bqp,bpr,bsr->bqs", A, covs, A)
        return m2, c2

    def _stage2_missing(self, counts: np.ndarray, T: np.ndarray, c: np.ndarray, means: np.ndarray,
                        covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Stage-2 moments of data with missing cells, replicate by replicate: the score columns from the
        replicate's completed items (conditional means under its moments, as a single fit's scores), then the
        second stage's own moments of those columns and the other items (its method re-run when they have gaps)."""
        data = self.fit.first_order_data
        X, w = data.X, data.weights
        method = self.fit.data.missing
        start = self.fit.missing_report.em
        B = counts.shape[0]
        q = len(self.s2_comp)
        m2, c2 = np.full((B, q), np.nan), np.full((B, q, q), np.nan)
        ok = np.flatnonzero(np.isfinite(covs).all(axis=(1, 2)) & np.isfinite(T).all(axis=(1, 2)))
        step = max(1, 2_000_000 // X.size)  # replicates whose completed items are held at once
        for s in range(0, ok.size, step):
            part = ok[s : s + step]
            Xc = _conditional_means(X, means[part], covs[part])
            scores = np.einsum("bnp,bkp->bnk", Xc, T[part]) + c[part, None, :]
            for i, r in enumerate(part):
                Z = np.empty((X.shape[0], q))
                for j, (k, h) in enumerate(zip(self.s2_comp, self.s2_item, strict=True)):
                    Z[:, j] = scores[i, :, k] if k >= 0 else X[:, h]
                if not self.missing2_own:  # the score columns were the only ones with gaps: complete stage-2 rows
                    mean, cov = resample_moments(Z, counts[r : r + 1], w)
                elif method == "pairwise":
                    mean, cov, _ = replicate_pairwise_moments(Z, counts[r : r + 1], w)
                else:
                    got = replicate_em_moments(Z, counts[r : r + 1], w, start=(start.mean, start.cov),
                                               tol=REPLICATE_EM_TOL)  # fmt: skip
                    mean, cov = got.mean, got.cov
                m2[r], c2[r] = mean[0], cov[0]
        return m2, c2


def _conditional_means(X: np.ndarray, means: np.ndarray, covs: np.ndarray) -> np.ndarray:
    """:func:`csi.core.missing.conditional_means` of ``X`` under a stack of moments: (B, n, p).

    ``x̂_m = μ_m + Σ_mo Σ_oo⁻¹ (x_o − μ_o)`` per missingness pattern, solved for the whole stack at once
    (Little & Rubin 2002, section 11.2.1); observed values are kept.
    """
    out = np.broadcast_to(X, (means.shape[0], *X.shape)).copy()
    pat = patterns(X)
    for g, rows in enumerate(pat.rows):
        o, m = np.flatnonzero(pat.observed[g]), np.flatnonzero(~pat.observed[g])
        if m.size == 0:
            continue
        if o.size == 0:
            out[:, rows[:, None], m] = means[:, None, m]
            continue
        coef = np.linalg.solve(covs[:, o[:, None], o], covs[:, o[:, None], m])
        out[:, rows[:, None], m] = means[:, None, m] + (X[np.ix_(rows, o)][None] - means[:, None, o]) @ coef
    return out

def _origin(name: str, spec: ModelSpec) -> str:
    """The first-order item an estimated item stands for (``item@HOC`` repeats ``item``)."""
    if name in spec.item_names:
        return name
    return name.rsplit("@", 1)[0]
