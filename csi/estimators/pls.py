"""PLS path modelling (Wold 1982; Lohmöller 1989; Tenenhaus et al. 2005).

The estimator is an options object: its constructor stores options and does no
work; :meth:`PLS.fit` validates them, computes the moment matrix of the items,
runs the pure kernels of :mod:`csi.core.pls` and returns a new
:class:`~csi.results.fit.FitResult`.  Nothing the caller passed is modified.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from csi.core.moments import cov_to_corr, standardised_product
from csi.core.pls import SIGN_RULES, STOP_RULES, pls_inner, pls_weights
from csi.core.reliability import cronbach_alpha, dillon_goldstein_rho, first_pc_loadings
from csi.core.schemes import SCHEMES
from csi.data.prepare import DEFAULT_MISSING, PreparedData, prepare_items
from csi.errors import ConvergenceWarning, EstimationError
from csi.estimators.missing import DEFAULT_IMPUTATIONS, fit_with_missing
from csi.results.fit import FitResult
from csi.spec.model import ModelSpec


@dataclass(frozen=True)
class PLS:
    """Partial least squares path modelling.

    Parameters
    ----------
    scheme
        Inner weighting scheme: ``"path"`` (default), ``"centroid"`` or
        ``"factorial"``.
    scaled
        ``True`` (default): standardise the items (PLS on the correlation
        matrix).  ``False``: only centre them (R plspm's ``scaled=FALSE``), so
        Mode A weights favour high-variance items; use it when every item
        shares one scale.
    tol, max_iter
        Convergence tolerance and iteration limit.  Defaults 1e-7 and 300
        (SmartPLS's values).
    stop
        ``"max_abs"`` (default: largest absolute change of a scaled weight) or
        ``"plspm"`` (R plspm's sum of squared changes of unscaled weights; use
        with ``tol=1e-6, max_iter=100`` to reproduce R plspm step for step).
    sign_rule
        ``"loadings"`` (default: a block whose loadings sum below zero is
        flipped) or ``"majority"`` (R plspm: flipped when most loadings are
        negative).  Weights are identified only up to the sign of each block.
    missing
        Missing-data method, one of :data:`csi.data.prepare.MISSING_POLICIES`:
        ``"em"`` (default, :data:`csi.data.prepare.DEFAULT_MISSING`),
        ``"error"``, ``"listwise"``, ``"mean"``, ``"pairwise"`` or ``"mi"``
        (see :mod:`csi.estimators.missing`).
    imputations, mi_seed
        ``missing="mi"`` only: number of imputations (default 20) and the
        seed they are drawn from (``None``: fresh entropy, recorded in
        ``fit.missing_report.mi_seed``).
    """

    scheme: str = "path"
    scaled: bool = True
    tol: float = 1e-7
    max_iter: int = 300
    stop: str = "max_abs"
    sign_rule: str = "loadings"
    missing: str = DEFAULT_MISSING
    imputations: int = DEFAULT_IMPUTATIONS
    mi_seed: int | None = None

    name = "pls"

    def _check(self, spec: ModelSpec) -> None:
        _choice("scheme", self.scheme, SCHEMES)
        _choice("stop", self.stop, STOP_RULES)
        _choice("sign_rule", self.sign_rule, SIGN_RULES)
        if not isinstance(self.scaled, bool):
            raise EstimationError(f"scaled must be True or False, got {self.scaled!r}")
        if not (isinstance(self.tol, (int, float)) and self.tol > 0):
            raise EstimationError(f"tol must be a positive number, got {self.tol!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise EstimationError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        _check_mi(self.imputations, self.mi_seed)
        if spec.covariances:
            c = spec.covariances[0]
            raise EstimationError(
                f"PLS cannot use residual covariances ({c.left} ~~ {c.right}); remove the ~~ lines or fit "
                "with method='cbsem'"
            )
        if spec.modifiers:
            m = spec.modifiers[0]
            raise EstimationError(
                f"PLS cannot use fixed values or labels ({m.lhs} {m.op} ...*{m.rhs}); remove the modifiers or fit "
                "with method='cbsem'"
            )
        linked = {p.source for p in spec.paths} | {p.target for p in spec.paths}
        lonely = [n for n in spec.construct_names if n not in linked]
        if lonely:
            raise EstimationError(
                f"construct(s) {', '.join(lonely)} take part in no path; PLS needs every construct linked to "
                "another one to form its inner proxy"
            )

    def fit(self, spec: ModelSpec, data: pd.DataFrame, *, weights: Any = None) -> FitResult:
        """Fit the model to survey data.

        Parameters
        ----------
        spec
            The model.
        data
            One row per respondent, one column per item (extra columns are
            ignored).
        weights
            Optional respondent weights: a column name of ``data`` or an array.

        Returns
        -------
        FitResult
        """
        self._check(spec)
        prepared = prepare_items(spec, data, missing=self.missing, weights=weights)
        return fit_with_missing(self, spec, prepared)

    def _fit_moments(
        self, spec: ModelSpec, prepared: PreparedData, mean: np.ndarray, cov: np.ndarray, X: np.ndarray
    ) -> FitResult:
        """The fit from item means and covariances; ``X`` (complete, rows of ``prepared``) gives the scores."""
        corr, sd = cov_to_corr(cov)
        S = corr if self.scaled else cov

        M, D = spec.block_mask, spec.adjacency
        mode_b = np.array([m == "B" for m in spec.modes])
        res = pls_weights(
            S, M, D, mode_b, self.scheme,
            tol=self.tol, max_iter=self.max_iter, stop=self.stop, sign_rule=self.sign_rule, n_obs=X.shape[0],
        )  # fmt: skip
        converged = bool(res.converged)
        if not converged:
            warnings.warn(
                f"PLS did not converge in {self.max_iter} iterations (tol={self.tol}); the estimates are "
                "flagged converged=False. Raise max_iter, or try scheme='path' or 'factorial'.",
                ConvergenceWarning,
                stacklevel=2,
            )
        inner = pls_inner(S, res.w, M, D)

        items, lvs = labels(spec)
        scores = standardised_product(X, mean, sd if self.scaled else 1.0, M * res.w[:, None])
        scores = pd.DataFrame(scores, index=prepared.row_labels, columns=lvs)
        return FitResult(
            spec=spec,
            method=self.name,
            options=asdict(self),
            n=X.shape[0],
            weights=pd.Series(res.w, index=items, name="weight"),
            loadings=pd.Series(inner.loadings, index=items, name="loading"),
            cross_loadings=pd.DataFrame(inner.cross, index=items, columns=lvs),
            paths=pd.DataFrame(inner.B, index=lvs, columns=lvs),
            construct_correlations=pd.DataFrame(inner.R, index=lvs, columns=lvs),
            total_effects=pd.DataFrame(inner.total, index=lvs, columns=lvs),
            scores=scores,
            iterations=int(res.iterations),
            converged=converged,
            item_means=pd.Series(mean, index=items, name="mean"),
            item_sds=pd.Series(sd, index=items, name="sd"),
            block_quality=block_quality(spec, corr),
            moments=S,
            data=prepared,
        )


_LABELS: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[pd.Index, pd.Index]] = {}


def labels(spec: ModelSpec) -> tuple[pd.Index, pd.Index]:
    """``(items, constructs)``: the item and construct name indexes of a result, new objects for every call.

    Building an index of text labels costs about as much as a whole PLS
    iteration, so the labels are made once per model and handed out as
    views (new Index objects over the same immutable data).
    """
    key = (spec.item_names, spec.construct_names)
    got = _LABELS.get(key)
    if got is None:
        if len(_LABELS) > 256:  # bound the cache in long sessions that build many models
            _LABELS.clear()
        got = _LABELS[key] = (pd.Index(list(key[0]), name="item"), pd.Index(list(key[1]), name="construct"))
    return got[0].view(), got[1].view()


def block_quality(spec: ModelSpec, corr: np.ndarray) -> pd.DataFrame:
    """Unidimensionality of each block from the item correlation matrix.

    Cronbach's alpha, Dillon-Goldstein's rho (on the first principal
    component's loadings) and the first two eigenvalues, as R plspm's
    ``unidim`` table reports them (Tenenhaus et al. 2005, §2.1).
    """
    block = spec.block_index
    out = np.empty((len(spec.constructs), 4))
    for j in range(out.shape[0]):
        idx = np.flatnonzero(block == j)
        Rb = corr[np.ix_(idx, idx)]
        vals, lam = first_pc_loadings(Rb)
        out[j] = cronbach_alpha(Rb), dillon_goldstein_rho(lam), vals[0], vals[1] if vals.size > 1 else np.nan
    return pd.DataFrame(out, index=labels(spec)[1], columns=["cronbach_alpha", "dg_rho", "eig_1st", "eig_2nd"])


def _check_mi(imputations: Any, seed: Any) -> None:
    if isinstance(imputations, bool) or not isinstance(imputations, int) or imputations < 2:
        raise EstimationError(f"imputations must be an integer >= 2, got {imputations!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise EstimationError(f"mi_seed must be a non-negative integer or None, got {seed!r}")


def _choice(option: str, value: Any, table: Any) -> None:
    if value not in table:
        raise EstimationError(f"unknown {option} {value!r}; accepted: {', '.join(map(repr, table))}")
