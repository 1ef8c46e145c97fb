"""Weighted-composite 0-100 indices on a :class:`~csi.spec.model.ModelSpec` (methodology §3.2, §6.3).

Two weightings of each block's items, both fed through the *same* index
formula and helpers as the PLS route (:func:`csi.index.compute.scale_bounds`,
:func:`csi.core.index.index_0_100`), so PCA, equal-weight and PLS indices of
one model are directly comparable:

* :func:`equal_weight_index`: every item counts equally on the 0-100 scale.
* :func:`pca_index`: weights from the principal components of the block's
  correlation matrix (Jolliffe 2002; methodology §6.3 steps 1-6).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from csi.core.index import index_0_100
from csi.core.moments import cov_to_corr, moments
from csi.data.prepare import MOMENT_METHODS, prepare_items
from csi.errors import DataError, EstimationError
from csi.index.compute import NEGATIVE_POLICIES, Scale, scale_bounds
from csi.spec.model import ModelSpec

PCA_METHODS: dict[str, str] = {
    "first": "first principal component of each block's correlation matrix",
    "retain": "components retained by eigenvalue and cumulative-variance rules, weighted by variance share",
}
"""Accepted values of ``pca_index(method=...)``."""

_TIE = 1e-9
"""Relative gap below which two eigenvalues are treated as tied (their eigenvectors are not unique)."""


@dataclass(frozen=True, eq=False, repr=False)
class CompositeIndex:
    """0-100 indices of a weighted-composite method.

    Attributes
    ----------
    method
        ``"equal"``, ``"pca-first"`` or ``"pca-retain"``.
    weights
        Item weights in the raw item metric, normalised to sum 1 within each
        block (the ``w~`` of methodology §3.1), indexed by item.
    index
        0-100 index by construct.
    n
        Respondents used.
    item_means
        (Weighted) item means on the raw scale, after reverse coding.
    components
        PCA only: per construct, the eigenvalues of the block's correlation
        matrix (descending), the number retained and their share of the
        block's variance; ``None`` for equal weights.
    options
        Every option in force (scale bounds, missing policy, PCA rules).
    """

    method: str
    weights: pd.Series
    index: pd.Series
    n: int
    item_means: pd.Series
    components: pd.DataFrame | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        shown = ", ".join(f"{c}={v:.1f}" for c, v in list(self.index.items())[:6])
        more = ", ..." if len(self.index) > 6 else ""
        return f"CompositeIndex(method={self.method!r}, n={self.n}, index: {shown}{more})"

    def _tables(self) -> list[tuple[str, pd.DataFrame]]:
        idx = pd.DataFrame({"index (0-100)": self.index.map(lambda v: f"{v:.1f}")})
        items = self.to_frame()
        items = pd.DataFrame({"construct": items["construct"], "weight": items["weight"].map(lambda v: f"{v:.3f}"),
                              "mean": items["mean"].map(lambda v: f"{v:.2f}")})  # fmt: skip
        out = [("Indices", idx), ("Item weights (sum 1 per block) and means", items)]
        if self.components is not None:
            out.append(("Principal components", self.components.round(3).astype(str)))
        return out

    def summary(self) -> str:
        """Journal-style text: method, n, the 0-100 indices, then item weights and means."""
        name = {"equal": "equal weights", "pca-first": "first principal component",
                "pca-retain": "retained principal components"}.get(self.method, self.method)  # fmt: skip
        lines = [f"Composite index ({name}), n = {self.n:,}"]
        for title, table in self._tables():
            lines += ["", title, "-" * len(title), table.to_string()]
        lines += ["", "Indices are weighted means of the items on their scales, rescaled to 0-100; no sampling "
                  "error is estimated (bootstrap the data for intervals)."]  # fmt: skip
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        parts = [f"<p><b>{html.escape(repr(self))}</b></p>"]
        for title, table in self._tables():
            parts.append(f"<h4>{html.escape(title)}</h4>{table.to_html(escape=True)}")
        return "<div>" + "".join(parts) + "</div>"

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per item with its construct, weight and mean."""
        spec_blocks = self.options["blocks"]
        return pd.DataFrame(
            {
                "construct": [spec_blocks[i] for i in self.weights.index],
                "weight": self.weights.to_numpy(),
                "mean": self.item_means.to_numpy(),
            },
            index=self.weights.index,
        )


def _prepare(spec: ModelSpec, data: pd.DataFrame, scale: Scale, missing: str, weights: Any):
    lo, hi = scale_bounds(spec, scale)
    if missing in MOMENT_METHODS:
        raise DataError(
            f"the classical indices take missing='error', 'listwise' or 'mean', got {missing!r}; the model-based "
            "methods (pairwise, em, mi) are available in csi.fit"
        )
    prepared = prepare_items(spec, data, missing=missing, weights=weights)
    mean, cov = moments(prepared.X, prepared.weights)
    return lo, hi, prepared, mean, cov


def _result(
    method: str, spec: ModelSpec, u: np.ndarray, mean: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int,
    components: pd.DataFrame | None, options: dict[str, Any],
) -> CompositeIndex:  # fmt: skip
    M = spec.block_mask
    w_norm = u / (u @ M)[spec.block_index]
    items = pd.Index(spec.item_names, name="item")
    idx = index_0_100(w_norm, mean, lo, hi, M)
    options = dict(options, scale=dict(zip(spec.item_names, zip(lo.tolist(), hi.tolist()))))
    options["blocks"] = {i: spec.block_of(i) for i in spec.item_names}
    return CompositeIndex(
        method=method,
        weights=pd.Series(w_norm, index=items, name="weight_normalized"),
        index=pd.Series(idx, index=pd.Index(spec.construct_names, name="construct"), name="index"),
        n=n,
        item_means=pd.Series(mean, index=items, name="mean"),
        components=components,
        options=options,
    )


def equal_weight_index(
    spec: ModelSpec, data: pd.DataFrame, scale: Scale = None, *, missing: str = "error", weights: Any = None
) -> CompositeIndex:
    """Equal-weight 0-100 index of every construct (methodology §3.2, "weights='equal'").

    Every item counts equally *on the 0-100 scale*: the raw-metric weight of
    item h is ``u_h = 1 / (max_h - min_h)``, so the index of a block is the
    mean of its items' rescaled means ``100 (x̄_h - min_h) / (max_h - min_h)``.
    With all items of a block on one scale this is the plain item mean and
    equals :func:`csi.compute_index` with ``weighting="equal"`` (the unweighted
    "(sum of ratings - k) / (k (max - min)) * 100" approximation quoted in
    methodology §3.2); with mixed scales it stops the widest scale dominating.

    Parameters
    ----------
    spec
        The model; its items give columns, scales, reverse flags, missing codes.
    data
        One row per respondent; never modified.
    scale
        Scale bounds overriding the model's (see :func:`csi.index.compute.scale_bounds`).
    missing, weights
        Missing-data policy and respondent weights, as in
        :func:`csi.data.prepare.prepare_items`.

    Returns
    -------
    CompositeIndex
    """
    lo, hi, prepared, mean, _ = _prepare(spec, data, scale, missing, weights)
    u = 1.0 / (hi - lo)
    return _result("equal", spec, u, mean, lo, hi, prepared.n_used, None, {"missing": missing})


def _oriented_eigh(R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # eigh returns ascending eigenvalues; flip to the PCA order l_1 >= l_2 >= ...
    vals, vecs = np.linalg.eigh(R)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    # Sign indeterminacy: orient each u_k so its entries sum positive (methodology §6.3 step 2);
    # a vector whose entries sum to ~0 falls back to a positive largest-magnitude entry.
    s = vecs.sum(axis=0)
    ref = vecs[np.argmax(np.abs(vecs), axis=0), np.arange(vecs.shape[1])]
    sign = np.where(np.abs(s) > 1e-12, np.sign(s), np.sign(ref))
    return vals, vecs * sign


def _n_retained(vals: np.ndarray, min_eigenvalue: float | None, min_cumulative: float | None) -> int:
    share = np.cumsum(vals) / vals.sum()
    m = 1
    if min_eigenvalue is not None:
        m = max(m, int(np.sum(vals > min_eigenvalue)))
    if min_cumulative is not None:
        # The smallest m reaching the target; tolerance so 0.8 is reached by 4 of 5 equal shares.
        m = max(m, int(np.searchsorted(share, min_cumulative - 1e-12)) + 1)
    return min(m, len(vals))


def pca_index(
    spec: ModelSpec,
    data: pd.DataFrame,
    scale: Scale = None,
    method: str = "first",
    *,
    min_eigenvalue: float | None = 1.0,
    min_cumulative: float | None = 0.8,
    negative: str = "error",
    missing: str = "error",
    weights: Any = None,
) -> CompositeIndex:
    """PCA-weighted 0-100 index of every construct (methodology §6.3; Jolliffe 2002).

    Per block, with ``R`` the correlation matrix of its items (weighted moments,
    divisor ``Σ w``), eigenpairs ``R u_k = l_k u_k``, ``l_1 >= l_2 >= ...``,
    each ``u_k`` oriented so its entries sum positive:

    * ``method="first"``: standardised weights ``u_1h``;
    * ``method="retain"``: ``Σ_{k<=m} (l_k / Σ_{k'<=m} l_k') u_hk`` over the m
      retained components (textbook composite ``F = Σ_k (l_k/Σl) F_k``, §6.3
      step 4).

    Raw-metric weights are ``v_h = (standardised weight)_h / sd_h``, normalised
    to sum 1 per block (§6.3 step 5, the same unscaling as PLS in §3.1), and
    the index is :func:`csi.core.index.index_0_100` with the items'
    theoretical bounds (§3.2).

    Parameters
    ----------
    spec, data, scale
        As in :func:`equal_weight_index`.
    method
        One of :data:`PCA_METHODS`.
    min_eigenvalue, min_cumulative
        ``method="retain"`` only.  m is the larger of the number of
        eigenvalues above ``min_eigenvalue`` (Kaiser rule) and the smallest
        number whose cumulative variance share reaches ``min_cumulative``, and
        at least 1; ``None`` switches a rule off.
    negative
        ``"error"`` (default): a negative raw weight raises
        :class:`~csi.errors.EstimationError` naming the items, as
        :func:`csi.compute_index` does; ``"force"``: compute anyway and warn.
    missing, weights
        As in :func:`csi.data.prepare.prepare_items`.

    Returns
    -------
    CompositeIndex

    Raises
    ------
    EstimationError
        For an unknown method or policy, a block whose retained eigenvalues tie
        (the components, hence the weights, are not unique), or negative weights.
    """
    if method not in PCA_METHODS:
        raise EstimationError(f"unknown PCA method {method!r}; accepted: {', '.join(map(repr, PCA_METHODS))}")
    if negative not in NEGATIVE_POLICIES:
        raise EstimationError(f"unknown negative-weight policy {negative!r}; accepted: {', '.join(NEGATIVE_POLICIES)}")
    if min_cumulative is not None and not 0 < min_cumulative <= 1:
        raise EstimationError(f"min_cumulative must be in (0, 1], got {min_cumulative!r}")
    lo, hi, prepared, mean, cov = _prepare(spec, data, scale, missing, weights)
    corr, sd = cov_to_corr(cov)
    u = np.empty(len(spec.item_names))
    rows = []
    for j, c in enumerate(spec.constructs):
        h = np.flatnonzero(spec.block_index == j)
        vals, vecs = _oriented_eigh(corr[np.ix_(h, h)])
        m = 1 if method == "first" else _n_retained(vals, min_eigenvalue, min_cumulative)
        # A tie among l_1..l_{m+1} makes the retained eigenvectors (and their orientation) arbitrary.
        gaps = -np.diff(vals[: m + 1])
        if gaps.size and (gaps <= _TIE * vals[0]).any():
            raise EstimationError(
                f"block {c.name}: eigenvalues {np.round(vals[: m + 1], 6).tolist()} of its correlation matrix "
                f"tie, so the {m} retained component(s) are not unique and neither are their weights; "
                + (
                    "are the items uncorrelated? Use equal_weight_index for this block"
                    if m == 1
                    else "change min_eigenvalue/min_cumulative or use method='first'"
                )
            )
        share = vals[:m] / vals[:m].sum()
        u[h] = (vecs[:, :m] @ share) / sd[h]
        rows.append({"construct": c.name, "eigenvalues": tuple(vals.tolist()), "retained": m,
                     "explained": float(vals[:m].sum() / vals.sum())})  # fmt: skip
    bad = [n for n, v in zip(spec.item_names, u) if v < 0]
    if bad:
        where = ", ".join(f"{i} ({spec.block_of(i)})" for i in bad)
        msg = f"negative PCA weight(s) for {where}: the 0-100 index of those blocks is not a weighted mean"
        if negative == "error":
            raise EstimationError(msg + "; drop or reverse-code the item(s), or pass negative='force'")
        warnings.warn(msg + "; computed anyway (negative='force')", UserWarning, stacklevel=2)
    sums = u @ spec.block_mask
    if (sums <= 0).any():
        names = [c for c, s in zip(spec.construct_names, sums) if s <= 0]
        raise EstimationError(f"block(s) {', '.join(names)}: PCA weights sum to <= 0 and cannot be normalised")
    components = pd.DataFrame(rows).set_index("construct")
    opts: Mapping[str, Any] = {"missing": missing, "negative": negative, "pca_method": method}
    if method == "retain":
        opts = dict(opts, min_eigenvalue=min_eigenvalue, min_cumulative=min_cumulative)
    return _result(f"pca-{method}", spec, u, mean, lo, hi, prepared.n_used, components, dict(opts))
