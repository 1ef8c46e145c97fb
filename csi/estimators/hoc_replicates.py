"""The bootstrap statistic of higher-order fits (:mod:`csi.estimators.hoc`) for the resampling driver.

Every replicate re-runs the fit's approach from the replicate's first-order item moments (the fit's
missing-data method re-run, as for any fit).  It is batched: with repeated indicators one PLS solve of the
stack; in the two stages, stage 1 on the stack, then the stage-2 moments of every replicate as a linear map
of its item moments (the component score columns are linear in the items), then stage 2 on the stack.
When the first stage resamples missing cells (``em`` or ``pairwise`` on data with gaps), each replicate's
score columns come from its own completed items and the second stage's moments are taken replicate by
replicate (its missing-data method re-run when its columns have gaps), as two single fits of the replicate
would.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from csi.core.index import unstandardise
from csi.core.missing import patterns, replicate_em_moments, replicate_pairwise_moments
from csi.core.moments import cov_to_corr, resample_moments
from csi.core.pls import pls_inner, pls_weights
from csi.errors import EstimationError
from csi.estimators.hoc import score_map
from csi.estimators.missing import REPLICATE_EM_TOL, replicate_moments, resamples_missing
from csi.estimators.replicates import SIGN_FLIPPABLE, StatisticLayout, replicate_statistics
from csi.results.hoc import HigherOrderFit
from csi.spec.model import ModelSpec

__all__ = ["HigherOrderStatistic"]
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
        means, covs, ok = replicate_moments(self.source, counts)  # ok: False where EM stopped at its step cap
        i = self.idx1
        m1, c1 = means[:, i], covs[:, i[:, None], i]
        if self.fit.stage1 is None:
            stats, conv = replicate_statistics(self.fit, m1, c1, self.final_layout)
        else:
            stats, conv = self._two_stage(np.asarray(counts, dtype=np.float64), means, covs, m1, c1)
        return stats, conv & ok

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
