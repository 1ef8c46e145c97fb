"""Consistent PLS (Dijkstra & Henseler 2015a, MIS Quarterly 39(2):297-316; 2015b, CSDA 81:10-23).

PLSc runs PLS unchanged and then corrects the common-factor blocks (Mode A,
at least two items) for measurement error with the pure kernel
:func:`csi.core.plsc.plsc`.  It therefore shares every option of
:class:`~csi.estimators.pls.PLS` by inheritance, and its weights, scores and
0-100 indices equal those of PLS: only loadings, construct correlations and
paths change.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from csi.core.pls import pls_inner
from csi.core.plsc import plsc
from csi.errors import AdmissibilityWarning, EstimationError
from csi.estimators.base import Capabilities, Sample
from csi.estimators.pls import PLS, construct_series, deferred_tables
from csi.results.fit import FitResult
from csi.results.frozen import Deferred, replace
from csi.spec.model import ModelSpec


@dataclass(frozen=True)
class PLSc(PLS):
    """Consistent partial least squares path modelling.

    Same options as :class:`~csi.estimators.pls.PLS`; ``scaled`` must be
    True because the correction factor of Dijkstra & Henseler (2015a) is
    defined on the item correlation matrix.  Mode A blocks with at least two
    items are treated as common factors, Mode B blocks and single items as
    error-free composites (rho_A = 1).  Paths are OLS on the disattenuated
    construct correlations, which is consistent for recursive models.

    An inadmissible solution (rho_A > 1, |loading| > 1, a construct
    correlation above 1 in absolute value, or a construct correlation matrix
    that is not positive definite) is returned with ``admissible=False`` and
    an :class:`~csi.errors.AdmissibilityWarning`.
    """

    name: ClassVar[str] = "plsc"
    titles: ClassVar[Mapping[str, str]] = {"en": "consistent PLS (PLSc)", "zh": "一致性 PLS（PLSc）"}
    capabilities: ClassVar[Capabilities] = Capabilities(
        predict=True, nested_bootstrap=True, sign_change=True, consistent=True, composite_fit=True,
        group_permutation=True,
    )

    def validate(self) -> None:
        super().validate()
        if self.scaled is not True:
            raise EstimationError(
                "PLSc needs scaled=True: its correction factor (Dijkstra & Henseler 2015) is defined on the "
                "item correlation matrix; use method='pls' for scaled=False"
            )

    def fit(self, spec: ModelSpec, data: pd.DataFrame, *, weights: Any = None) -> FitResult:
        """Fit the model to survey data; see :meth:`PLS.fit <csi.estimators.pls.PLS.fit>`.

        Returns
        -------
        FitResult
            With ``method="plsc"``, consistent ``loadings``,
            ``cross_loadings``, ``construct_correlations``, ``paths`` and
            ``total_effects``, PLS ``weights`` and ``scores``, plus ``rho_a``
            and ``admissible``.
        """
        return super().fit(spec, data, weights=weights)

    def fit_sample(self, spec: ModelSpec, sample: Sample) -> FitResult:
        """PLS on one set of moments, then the consistency correction (one imputation's fit under ``mi``)."""
        base = super().fit_sample(spec, sample)
        S, M, D = base.moments, spec.block_mask, spec.adjacency
        w = base.weights.to_numpy()
        inner = pls_inner(S, w, M, D)
        mode_a = np.array([m == "A" for m in spec.modes])
        res = plsc(S, w, M, D, mode_a, inner.loadings, inner.cross, inner.R)
        ok = bool(res.admissible)
        if not ok:
            warnings.warn(
                "PLSc returned an inadmissible solution (rho_A > 1, |loading| > 1, |construct correlation| > 1 "
                "or a construct correlation matrix that is not positive definite); the estimates are flagged "
                "admissible=False. Check the blocks with rho_a outside (0, 1].",
                AdmissibilityWarning,
                stacklevel=2,
            )
        return replace(
            base,
            method=self.name,
            options=self.options(),
            estimator=self,
            **deferred_tables(spec, res.loadings, res.cross, res.B, res.R, res.total),
            admissible=ok,
            rho_a=Deferred(construct_series, spec, res.rho_a, "rho_a"),
        )
