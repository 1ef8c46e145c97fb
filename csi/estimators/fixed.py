"""Composite estimators whose weights are fixed by a rule, not iterated: sum scores and PCA.

Both are the classical baselines of the methodology's estimator comparison
(section 7.2: "equal-weights sum scores + OLS, PCA index (6.3)").  Each block's
composite is built from weights set once from the items' moments; everything
downstream is the PLS estimator's final stage (Tenenhaus et al. 2005, §2.3)
through :func:`csi.core.pls.pls_inner`: composite correlations ``R = W' S W``,
paths by OLS per endogenous construct, R², loadings and cross-loadings as
item-composite correlations, total effects.  The result is a
:class:`~csi.results.fit.FitResult` like a PLS fit's, so the same index
(:func:`csi.compute_index`), quality and report code applies and the methods
compare side by side.

Weights are reported in the fit's metric (standardised items when
``scaled=True``, centred items otherwise) with unit composite variance, as for
PLS; their raw-metric form (``w / sd``) is the rule's weight up to a positive
factor per block, so :func:`csi.compute_index` returns the rule's index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from csi.core.pls import block_products, composite_covariance
from csi.data.prepare import DEFAULT_MISSING
from csi.errors import EstimationError
from csi.estimators.base import Capabilities, Estimator, Sample
from csi.estimators.missing import DEFAULT_IMPUTATIONS
from csi.estimators.pls import composite_result
from csi.results.fit import FitResult
from csi.spec.model import ModelSpec


def _normalise(S: np.ndarray, w: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Scale every block of ``w`` (..., p) to unit composite variance ``w_j' S_jj w_j = 1``."""
    var = np.diagonal(composite_covariance(block_products(S, w, M), w, M), axis1=-2, axis2=-1)
    return w / np.sqrt(var)[..., np.argmax(M, axis=1)]


def equal_raw_weights(spec: ModelSpec) -> np.ndarray:
    """(p,) raw-metric weights of the sum score: every item counts equally on the 0-100 scale.

    ``u_h = 1 / (max_h - min_h)`` for a block whose items all have a declared
    scale (so the composite is the mean of the items' 0-100 scores and equals
    :func:`csi.classical.equal_weight_index`), ``u_h = 1`` (the plain sum of
    the raw items) for a block with an item without scale.
    """
    u = np.ones(len(spec.items))
    block = spec.block_index
    for j, c in enumerate(spec.constructs):
        if all(i.has_scale for i in c.items):
            h = np.flatnonzero(block == j)
            u[h] = [1.0 / (float(i.scale_max) - float(i.scale_min)) for i in c.items]
    return u


def first_component_weights(corr: np.ndarray, M: np.ndarray) -> np.ndarray:
    """(..., p) first principal component of every block's correlation matrix, batched.

    Each block's eigenvector of the largest eigenvalue (Jolliffe 2002), oriented
    so its entries sum positive (methodology §6.3 step 2, as
    :func:`csi.classical.pca_index` does).  Ties of the two largest eigenvalues
    are not detected here: :class:`PCA` checks them on the fitted sample.
    """
    w = np.zeros(corr.shape[:-1])
    for j in range(M.shape[1]):
        h = np.flatnonzero(M[:, j])
        _, vecs = np.linalg.eigh(corr[..., h[:, None], h])
        u1 = vecs[..., -1]
        s = u1.sum(axis=-1, keepdims=True)
        w[..., h] = np.where(s < 0, -u1, u1)
    return w


def fixed_weights(
    S: np.ndarray, corr: np.ndarray, sd: np.ndarray, raw: np.ndarray | None, M: np.ndarray, scaled: bool
) -> np.ndarray:
    """(..., p) unit-variance weights in the metric of ``S`` of a fixed-weight rule.

    ``raw`` (p,) gives raw-metric weights (sum score); ``None`` means the first
    principal component of each block's correlation matrix (standardised
    metric).  Used by :class:`FixedWeights` and by batched resampling.
    """
    if raw is None:
        w_std = first_component_weights(corr, M)
        w = w_std if scaled else w_std / sd
    else:
        w = raw * sd if scaled else np.broadcast_to(raw, sd.shape)
    return _normalise(S, w, M)


@dataclass(frozen=True)
class FixedWeights(Estimator):
    """Base of the fixed-weight composite estimators (not registered itself).

    Parameters
    ----------
    scaled
        ``True`` (default): weights, scores and paths refer to standardised
        items, as for PLS; ``False``: to centred items.  Paths, R² and the
        0-100 index do not depend on it.
    missing
        Missing-data method (see :class:`~csi.estimators.pls.PLS`).
    imputations, mi_seed
        ``missing="mi"`` only, as for :class:`~csi.estimators.pls.PLS`.
    """

    scaled: bool = True
    missing: str = DEFAULT_MISSING
    imputations: int = DEFAULT_IMPUTATIONS
    mi_seed: int | None = None

    name: ClassVar[str] = "fixed"
    capabilities: ClassVar[Capabilities] = Capabilities(bootstrap=False, analytic_se=True, composite_fit=True)

    def _raw_weights(self, spec: ModelSpec) -> np.ndarray | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def check_spec(self, spec: ModelSpec) -> None:
        if spec.covariances:
            c = spec.covariances[0]
            raise EstimationError(
                f"method {self.name!r} cannot use residual covariances ({c.left} ~~ {c.right}); remove the ~~ "
                "lines or fit with method='cbsem'"
            )
        if spec.modifiers:
            m = spec.modifiers[0]
            raise EstimationError(
                f"method {self.name!r} cannot use fixed values or labels ({m.lhs} {m.op} ...*{m.rhs}); remove the "
                "modifiers or fit with method='cbsem'"
            )

    def fit(self, spec: ModelSpec, data: pd.DataFrame, *, weights: Any = None) -> FitResult:
        """Fit the model to survey data.

        Parameters
        ----------
        spec
            The model; every block is a weighted composite of its items whatever
            its declared mode.
        data
            One row per respondent, one column per item (extra columns ignored).
        weights
            Optional respondent weights: a column name of ``data`` or an array.

        Returns
        -------
        FitResult
            ``iterations=0``, ``converged=True``; paths are OLS between the
            composites.
        """
        return super().fit(spec, data, weights=weights)

    def fit_sample(self, spec: ModelSpec, sample: Sample) -> FitResult:
        """The fit from one set of moments (complete data, or the missing-data method's moments)."""
        S = sample.corr if self.scaled else sample.cov
        w = fixed_weights(S, sample.corr, sample.sd, self._raw_weights(spec), spec.block_mask, self.scaled)
        return composite_result(self, spec, sample, S, w, 0, True)

    def paths_index(self, fit: Any, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from csi.estimators.replicates import composite_paths_index

        return composite_paths_index(fit, means, covs, raw=self._raw_weights(fit.spec))


@dataclass(frozen=True)
class SumScore(FixedWeights):
    """Equal-weight sum scores plus OLS paths (``method="sumscore"``).

    Each composite is the sum of its block's raw items (after reverse coding),
    every item counting equally on the 0-100 scale (:func:`equal_raw_weights`),
    so :func:`csi.compute_index` of the fit equals
    :func:`csi.classical.equal_weight_index`.  Paths are OLS regressions of the
    standardised sum scores.  Options as :class:`FixedWeights`.
    """

    name: ClassVar[str] = "sumscore"
    titles: ClassVar[Mapping[str, str]] = {"en": "sum scores", "zh": "加总得分"}

    def _raw_weights(self, spec: ModelSpec) -> np.ndarray:
        return equal_raw_weights(spec)


@dataclass(frozen=True)
class PCA(FixedWeights):
    """First-principal-component composites plus OLS paths (``method="pca"``).

    Each block's standardised weights are the first eigenvector of its item
    correlation matrix, oriented to sum positive (methodology §6.3 with one
    component; :func:`csi.classical.pca_index` with ``method="first"``).
    Options as :class:`FixedWeights`.

    Raises
    ------
    EstimationError
        When the two largest eigenvalues of a block tie, so the component is
        not unique (e.g. uncorrelated items).
    """

    name: ClassVar[str] = "pca"
    titles: ClassVar[Mapping[str, str]] = {"en": "principal components", "zh": "主成分"}

    def _raw_weights(self, spec: ModelSpec) -> None:
        return None

    def check_sample(self, spec: ModelSpec, sample: Sample) -> None:
        corr = sample.corr
        for j, c in enumerate(spec.constructs):
            h = np.flatnonzero(spec.block_index == j)
            if h.size < 2:
                continue
            vals = np.linalg.eigvalsh(corr[np.ix_(h, h)])
            if vals[-1] - vals[-2] <= 1e-9 * vals[-1]:
                raise EstimationError(
                    f"block {c.name}: the two largest eigenvalues of its correlation matrix tie "
                    f"({vals[-1]:.6g}), so its first principal component is not unique; use method='sumscore'"
                )
