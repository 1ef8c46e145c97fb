"""PLS path modelling (Wold 1982; Lohmöller 1989; Tenenhaus et al. 2005).

The estimator is an options object: its constructor stores options and does no
work; :meth:`PLS.fit` validates them, computes the moment matrix of the items,
runs the pure kernels of :mod:`csi.core.pls` and returns a new
:class:`~csi.results.fit.FitResult`.  Nothing the caller passed is modified.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from csi.core.moments import standardised_product
from csi.core.pls import SIGN_RULES, STOP_RULES, pls_inner, pls_weights
from csi.core.reliability import cronbach_alpha, dillon_goldstein_rho, first_pc_loadings
from csi.core.schemes import SCHEMES
from csi.data.prepare import DEFAULT_MISSING
from csi.errors import ConvergenceWarning, EstimationError
from csi.estimators.base import Capabilities, Estimator, Sample
from csi.estimators.missing import DEFAULT_IMPUTATIONS
from csi.results.fit import FitResult
from csi.results.frozen import Deferred
from csi.spec.hoc import HOC_APPROACHES
from csi.spec.model import ModelSpec


@dataclass(frozen=True)
class PLS(Estimator):
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
    hoc
        Models with higher-order constructs only: ``"repeated"`` (repeated
        indicators, the default), ``"two-stage-embedded"`` or
        ``"two-stage-disjoint"`` (:mod:`csi.estimators.hoc`).  ``None``
        (default) leaves it out of :meth:`options` for other models.
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
    hoc: str | None = None

    name: ClassVar[str] = "pls"
    titles: ClassVar[Mapping[str, str]] = {"en": "PLS path modelling", "zh": "PLS 路径建模"}
    capabilities: ClassVar[Capabilities] = Capabilities(
        analytic_se=True, compiled_bootstrap=True, panel_bootstrap=True, predict=True, nested_bootstrap=True,
        sign_change=True, composite_fit=True, group_permutation=True, pls_refit=True,
    )  # fmt: skip
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {"scheme": tuple(SCHEMES), "stop": tuple(STOP_RULES),
                                                     "sign_rule": tuple(SIGN_RULES), "hoc": HOC_APPROACHES}  # fmt: skip

    def options(self) -> dict[str, Any]:
        """Every option in force; ``hoc`` only when set (it applies to models with higher-order constructs)."""
        out = super().options()
        if out.get("hoc") is None:
            out.pop("hoc", None)
        return out

    def check_spec(self, spec: ModelSpec) -> None:
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
            A :class:`~csi.results.hoc.HigherOrderFit` for a model with higher-order constructs.
        """
        if self.hoc is not None and not spec.higher_order:
            raise EstimationError(
                f"hoc={self.hoc!r} applies to models with higher-order constructs; model {spec.name!r} has none "
                "(declare one as QUAL =~ PROD + SERV, PROD and SERV being constructs)"
            )
        if spec.higher_order:
            from csi.estimators.hoc import fit_higher_order

            return fit_higher_order(self, spec, data, weights)
        return super().fit(spec, data, weights=weights)

    def fit_sample(self, spec: ModelSpec, sample: Sample) -> FitResult:
        """The fit from one set of moments (complete data, or the missing-data method's moments)."""
        S = sample.corr if self.scaled else sample.cov

        M, D, mode_b = model_arrays(spec)
        res = pls_weights(
            S, M, D, mode_b, self.scheme,
            tol=self.tol, max_iter=self.max_iter, stop=self.stop, sign_rule=self.sign_rule, n_obs=sample.X.shape[0],
        )  # fmt: skip
        converged = bool(res.converged)
        if not converged:
            warnings.warn(
                f"PLS did not converge in {self.max_iter} iterations (tol={self.tol}); the estimates are "
                "flagged converged=False. Raise max_iter, or try scheme='path' or 'factorial'.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return composite_result(self, spec, sample, S, res.w, int(res.iterations), converged)

    def statistic(self, fit: Any, *, sign_change: str = "none", inner_resamples: int | None = None) -> Any:
        if getattr(fit, "hoc_spec", None) is not None:
            from csi.estimators.hoc_replicates import HigherOrderStatistic

            return HigherOrderStatistic(fit, sign_change=sign_change, inner_resamples=inner_resamples)
        from csi.estimators.replicates import composite_statistic

        return composite_statistic(fit, sign_change=sign_change, inner_resamples=inner_resamples)

    def paths_index(self, fit: Any, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from csi.estimators.replicates import composite_paths_index

        return composite_paths_index(fit, means, covs)


def composite_result(
    est: Estimator, spec: ModelSpec, sample: Sample, S: np.ndarray, w: np.ndarray, iterations: int, converged: bool
) -> FitResult:
    """The fit of a composite estimator from its outer weights ``w``: everything downstream of the weights.

    The PLS estimator's final stage (Tenenhaus et al. 2005, §2.3) through :func:`csi.core.pls.pls_inner`:
    composite correlations, paths by OLS, R², loadings and cross-loadings, total effects, and the scores
    of the standardised (``scaled``) or centred items.  Shared by PLS and the fixed-weight estimators.

    The estimates are computed here; their labelled tables, the scores and the block quality are built on
    first access (:class:`~csi.results.frozen.Deferred`), from the same arrays and by the same code.
    """
    M, D, _ = model_arrays(spec)
    inner = pls_inner(S, w, M, D)
    options = est.options()
    scale = sample.sd if options.get("scaled", True) else 1.0
    # The deferred scores read these arrays later; the completed data and EM means are also reachable through
    # fit.missing_report, so they are frozen like the fit's own arrays (FitResult.__post_init__).
    for arr in (sample.X, sample.mean, sample.sd):
        arr.flags.writeable = False
    return FitResult(
        spec=spec,
        method=est.name,
        options=options,
        n=sample.X.shape[0],
        weights=Deferred(item_series, spec, w, "weight"),
        **deferred_tables(spec, inner.loadings, inner.cross, inner.B, inner.R, inner.total),
        scores=Deferred(
            composite_scores, spec, sample.X, sample.mean, scale, M * w[:, None], sample.prepared.row_labels
        ),
        iterations=iterations,
        converged=converged,
        item_means=Deferred(item_series, spec, sample.mean, "mean"),
        item_sds=Deferred(item_series, spec, sample.sd, "sd"),
        block_quality=Deferred(block_quality, spec, sample.corr),
        moments=S,
        data=sample.prepared,
        estimator=est,
    )


def structural_tables(
    spec: ModelSpec, loadings: np.ndarray, cross: np.ndarray, B: np.ndarray, R: np.ndarray, total: np.ndarray
) -> dict[str, Any]:
    """The labelled ``loadings, cross_loadings, paths, construct_correlations, total_effects`` of a fit."""
    items, lvs = labels(spec)
    return {
        "loadings": pd.Series(loadings, index=items, name="loading"),
        "cross_loadings": pd.DataFrame(cross, index=items, columns=lvs),
        "paths": pd.DataFrame(B, index=lvs, columns=lvs),
        "construct_correlations": pd.DataFrame(R, index=lvs, columns=lvs),
        "total_effects": pd.DataFrame(total, index=lvs, columns=lvs),
    }


def deferred_tables(
    spec: ModelSpec, loadings: np.ndarray, cross: np.ndarray, B: np.ndarray, R: np.ndarray, total: np.ndarray
) -> dict[str, Deferred]:
    """:func:`structural_tables`, each built on first access."""
    return {
        "loadings": Deferred(item_series, spec, loadings, "loading"),
        "cross_loadings": Deferred(cross_frame, spec, cross),
        "paths": Deferred(construct_frame, spec, B),
        "construct_correlations": Deferred(construct_frame, spec, R),
        "total_effects": Deferred(construct_frame, spec, total),
    }


def item_series(spec: ModelSpec, values: np.ndarray, name: str) -> pd.Series:
    """A per-item Series of a fit, indexed by item."""
    return pd.Series(values, index=labels(spec)[0], name=name)


def construct_series(spec: ModelSpec, values: np.ndarray, name: str) -> pd.Series:
    """A per-construct Series of a fit, indexed by construct."""
    return pd.Series(values, index=labels(spec)[1], name=name)


def cross_frame(spec: ModelSpec, values: np.ndarray) -> pd.DataFrame:
    """An item-by-construct table of a fit."""
    items, lvs = labels(spec)
    return pd.DataFrame(values, index=items, columns=lvs)


def construct_frame(spec: ModelSpec, values: np.ndarray) -> pd.DataFrame:
    """A construct-by-construct table of a fit."""
    lvs = labels(spec)[1]
    return pd.DataFrame(values, index=lvs, columns=lvs)


def composite_scores(
    spec: ModelSpec, X: np.ndarray, centre: np.ndarray, scale: np.ndarray | float, W: np.ndarray, rows: pd.Index
) -> pd.DataFrame:
    """Construct scores ``((X - centre) / scale) @ W`` indexed by the data rows used."""
    return pd.DataFrame(standardised_product(X, centre, scale, W), index=rows, columns=labels(spec)[1])


_ARRAYS: dict[int, tuple[ModelSpec, tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}


def model_arrays(spec: ModelSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(block_mask, adjacency, mode_b)`` of a model as read-only arrays, made once per model object.

    The model's properties build new arrays on every call, which a survey-sized fit notices.
    """
    # Keyed by identity; the entry holds the model itself, so its id cannot be reused while the entry lives.
    got = _ARRAYS.get(id(spec))
    if got is not None and got[0] is spec:
        return got[1]
    arrays = (spec.block_mask, spec.adjacency, np.array([m == "B" for m in spec.modes]))
    for arr in arrays:
        arr.setflags(write=False)
    if len(_ARRAYS) > 64:  # bound the cache in long sessions that build many models
        _ARRAYS.clear()
    _ARRAYS[id(spec)] = (spec, arrays)
    return arrays


_LABELS: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[pd.Index, pd.Index]] = {}
_LABELS_OF: dict[int, tuple[ModelSpec, tuple[pd.Index, pd.Index]]] = {}


def labels(spec: ModelSpec) -> tuple[pd.Index, pd.Index]:
    """``(items, constructs)``: the item and construct name indexes of a result, new objects for every call.

    Building an index of text labels costs about as much as a whole PLS
    iteration, so the labels are made once per model and handed out as
    views (new Index objects over the same immutable data).
    """
    # Found by the model's identity first (its name tuples cost as much to make as the views), then by names.
    seen = _LABELS_OF.get(id(spec))
    if seen is not None and seen[0] is spec:
        got = seen[1]
    else:
        key = (spec.item_names, spec.construct_names)
        got = _LABELS.get(key)
        if got is None:
            if len(_LABELS) > 256:  # bound the cache in long sessions that build many models
                _LABELS.clear()
            got = _LABELS[key] = (pd.Index(list(key[0]), name="item"), pd.Index(list(key[1]), name="construct"))
        if len(_LABELS_OF) > 64:
            _LABELS_OF.clear()
        _LABELS_OF[id(spec)] = (spec, got)  # holds the model, so its id cannot be reused while the entry lives
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
