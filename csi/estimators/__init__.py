"""Estimators: option objects whose ``fit(spec, data)`` returns a new FitResult (protocol: :mod:`.base`)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pandas as pd

from csi.errors import EstimationError
from csi.estimators.base import Capabilities, Estimator
from csi.estimators.cbsem import CBSEM, CBSEMFitResult
from csi.estimators.fixed import PCA, SumScore
from csi.estimators.pls import PLS
from csi.estimators.plsc import PLSc
from csi.results.fit import FitResult
from csi.spec.load import load_model
from csi.spec.model import ModelSpec

__all__ = ["ESTIMATORS", "CBSEMFitResult", "Capabilities", "Estimator", "estimator_for", "estimator_of", "fit",
           "make_estimator"]  # fmt: skip

ESTIMATORS: dict[str, type[Estimator]] = {"pls": PLS, "plsc": PLSc, "cbsem": CBSEM, "sumscore": SumScore, "pca": PCA}
"""Estimator classes by method name."""


def _estimator_class(method: Any) -> type[Estimator]:
    if not isinstance(method, str) or method not in ESTIMATORS:
        raise EstimationError(f"unknown method {method!r}; accepted: {', '.join(map(repr, ESTIMATORS))}")
    return ESTIMATORS[method]


def make_estimator(method: str, **options: Any) -> Estimator:
    """The estimator object for ``method`` with ``options``, every option checked (before any work).

    Unknown methods, unknown options and values outside an option's accepted set are rejected naming them
    and what is accepted.
    """
    cls = _estimator_class(method)
    fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = [k for k in options if k not in fields]
    if unknown:
        raise EstimationError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for method {method!r}; accepted: {', '.join(fields)}"
        )
    est = cls(**options)
    est.validate()
    return est


def estimator_for(method: str = "pls", scheme: str = "path", scaled: bool = True, **options: Any) -> Estimator:
    """The estimator :func:`fit` uses for these arguments, every option checked (before any work).

    ``scheme`` and ``scaled`` are PLS options; an estimator without them (cbsem, sumscore, pca) accepts only
    their defaults and rejects any other value.
    """
    fields = [f.name for f in dataclasses.fields(_estimator_class(method))]  # type: ignore[arg-type]
    for key, value, default in (("scheme", scheme, "path"), ("scaled", scaled, True)):
        if key in fields:
            options[key] = value
        elif value != default:
            raise EstimationError(f"method {method!r} has no option {key!r}; accepted: {', '.join(fields)}")
    return make_estimator(method, **options)


def estimator_of(fit: FitResult) -> Estimator:
    """The estimator that made ``fit`` (rebuilt from its method and options when the fit does not hold it)."""
    if isinstance(fit.estimator, Estimator):
        return fit.estimator
    return make_estimator(fit.method, **fit.options)


def fit(
    spec: ModelSpec | str | os.PathLike[str],
    data: pd.DataFrame,
    method: str = "pls",
    scheme: str = "path",
    scaled: bool = True,
    *,
    weights: Any = None,
    **options: Any,
) -> FitResult:
    """Fit a model to survey data.

    Parameters
    ----------
    spec
        A :class:`~csi.spec.model.ModelSpec`, or anything
        :func:`csi.load_model` accepts: a shipped model name (``"ecsi"``), a
        path to a ``.toml`` or lavaan-style text file, or model text.
    data
        Survey responses: one row per respondent, one column per item.
    method
        Estimator name; see :data:`ESTIMATORS`: ``"pls"``, ``"plsc"``, and the
        fixed-weight composites ``"sumscore"`` and ``"pca"``
        (:mod:`csi.estimators.fixed`).
    scheme, scaled
        Inner weighting scheme (PLS, PLSc; the fixed-weight methods have none
        and reject any other value than the default) and item
        standardisation (PLSc needs ``scaled=True``).
    weights
        Respondent weights: a column of ``data`` or an array.
    **options
        Further estimator options (``tol``, ``max_iter``, ``stop``,
        ``sign_rule``, ``missing``, ...; ``hoc`` for a model with
        higher-order constructs, :mod:`csi.estimators.hoc`).

    Returns
    -------
    FitResult
        A :class:`~csi.results.hoc.HigherOrderFit` for a model with
        higher-order constructs.
    """
    if isinstance(spec, str | os.PathLike):
        spec = load_model(spec)
    elif not isinstance(spec, ModelSpec):
        raise EstimationError(
            f"fit needs a ModelSpec, a model name, a file path or model text as its first argument, "
            f"got {type(spec).__name__}; e.g. csi.fit('ecsi', data)"
        )
    return estimator_for(method, scheme, scaled, **options).fit(spec, data, weights=weights)
