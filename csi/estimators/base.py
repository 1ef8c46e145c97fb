"""The estimator protocol: options, capabilities, the shared fitting preamble and the replicate statistic.

Every estimator (:class:`~csi.estimators.pls.PLS`, :class:`~csi.estimators.plsc.PLSc`,
:class:`~csi.estimators.cbsem.CBSEM`, :class:`~csi.estimators.fixed.SumScore`,
:class:`~csi.estimators.fixed.PCA`) is a frozen options object deriving from :class:`Estimator`:

* it declares its options as dataclass fields and the accepted values of the enumerated ones in
  :attr:`Estimator.choices`; :meth:`Estimator.validate` checks them all before any work, naming the option and
  what is accepted;
* it declares what it can do in :attr:`Estimator.capabilities`, so code outside :mod:`csi.estimators` asks the
  estimator (``estimator_of(fit).capabilities.bootstrap``) instead of comparing method names;
* :meth:`Estimator.fit` returns a result of its own class (:class:`~csi.results.fit.FitResult`, or a subclass).
  The composite estimators share one path through the missing-data methods: :meth:`Estimator.prepare` checks
  the options and the model and prepares the items; :func:`csi.estimators.missing.fit_with_missing` gives one
  set of moments per the fit's ``missing`` method (complete-data moments, pairwise or EM moments, or one per
  imputation) to :meth:`Estimator.fit_moments`, which makes the :class:`Sample` and calls the estimator's
  :meth:`Estimator.fit_sample`;
* :meth:`Estimator.statistic` gives the batched replicate statistic that the resampling driver
  (:mod:`csi.resample.driver`) runs over a plan of resamples, and :meth:`Estimator.paths_index` the paths and
  indices of a stack of moment matrices (the Monte-Carlo benchmark's statistic).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from csi.core.moments import cov_to_corr, moments
from csi.data.prepare import DEFAULT_MISSING, PreparedData, prepare_items
from csi.errors import EstimationError
from csi.spec.model import ModelSpec


@dataclass(frozen=True)
class Capabilities:
    """What an estimator's fits support.

    Attributes
    ----------
    bootstrap
        :func:`csi.bootstrap` resamples its fits (batched replicate statistic).
    analytic_se
        Its paths are OLS regressions on observed composite scores, so the OLS
        standard errors of ``FitResult.inner_model`` apply.
    compiled_bootstrap
        The bootstrap runs the compiled per-replicate kernel of :mod:`csi.core.fused`.
    panel_bootstrap
        :func:`csi.index_panel` can bootstrap its cells.
    predict
        PLSpredict (:func:`csi.quality.plspredict.plspredict`) applies.
    nested_bootstrap
        The bootstrap can run a nested bootstrap per replicate (studentized intervals).
    sign_change
        Sign-change corrections of replicates apply (composites whose blocks are identified up to sign).
    consistent
        Its loadings and paths are corrected for measurement error (PLSc, Dijkstra & Henseler 2015a).
    block_batches
        Its replicate statistic solves one block of a plan as one batch (warm-started iterations that end
        when the whole batch has converged), so resampling must chunk by the plan's blocks.
    group_permutation
        Its fit is a function of one moment matrix that the permuted-group statistic of
        :mod:`csi.resample.permutation` re-estimates: group comparisons (:func:`csi.compare_groups`) and MICOM.
    pls_refit
        Its replicates can be refitted by Wold's composite PLS (:func:`csi.core.pls.pls_weights`) with its own
        options and its composite-model implied matrix (the Bollen-Stine test of exact fit).
    composite_fit
        The composite-model fit criteria (SRMR, d_ULS, d_G of the implied correlation matrix of
        :mod:`csi.quality.model_fit`, and :func:`csi.assess`) apply to its fits.
    """

    bootstrap: bool = True
    analytic_se: bool = False
    compiled_bootstrap: bool = False
    panel_bootstrap: bool = False
    predict: bool = False
    nested_bootstrap: bool = False
    sign_change: bool = False
    consistent: bool = False
    block_batches: bool = False
    composite_fit: bool = False
    group_permutation: bool = False
    pls_refit: bool = False


class Sample(NamedTuple):
    """The prepared items of one fit and their moments (divisor = sum of weights)."""

    prepared: PreparedData
    X: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    corr: np.ndarray
    sd: np.ndarray


class Estimator:
    """Base of every estimator (a frozen dataclass of options in each subclass)."""

    name: ClassVar[str] = "estimator"
    titles: ClassVar[Mapping[str, str]] = {}
    """The method's name for readers, by report language (``"en"``, ``"zh"``)."""
    capabilities: ClassVar[Capabilities] = Capabilities(bootstrap=False)
    choices: ClassVar[Mapping[str, tuple[Any, ...]]] = {}
    """Accepted values of every enumerated option."""

    # ------------------------------------------------------------ options
    def options(self) -> dict[str, Any]:
        """Every option in force, including defaults (a new dict; option values that are containers are
        copies)."""
        out = {name: getattr(self, name) for name in _option_names(type(self))}
        if all(type(v) in _SCALARS for v in out.values()):
            return out  # what dataclasses.asdict gives, without its recursive copy (a fit asks several times)
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def validate(self) -> None:
        """Check every option (before any work); raise :class:`~csi.errors.EstimationError` naming it."""
        values = self.options()
        for option, accepted in self.choices.items():
            if option in values and values[option] not in accepted:
                raise EstimationError(
                    f"unknown {option} {values[option]!r} for method {self.name!r}; accepted: "
                    f"{', '.join(map(repr, accepted))}"
                )
        if "scaled" in values and not isinstance(values["scaled"], bool):
            raise EstimationError(f"scaled must be True or False, got {values['scaled']!r}")
        if "tol" in values:
            tol = values["tol"]
            if isinstance(tol, bool) or not isinstance(tol, int | float) or not tol > 0:
                raise EstimationError(f"tol must be a positive number, got {tol!r}")
        if "max_iter" in values:
            mi = values["max_iter"]
            if isinstance(mi, bool) or not isinstance(mi, int) or mi < 1:
                raise EstimationError(f"max_iter must be a positive integer, got {mi!r}")
        if "imputations" in values:
            m = values["imputations"]
            if isinstance(m, bool) or not isinstance(m, int) or m < 2:
                raise EstimationError(f"imputations must be an integer >= 2, got {m!r}")
        seed = values.get("mi_seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise EstimationError(f"mi_seed must be a non-negative integer or None, got {seed!r}")

    def check_spec(self, spec: ModelSpec) -> None:
        """Reject a model this estimator cannot fit (before any work)."""

    def check_sample(self, spec: ModelSpec, sample: Sample) -> None:
        """Reject data this estimator cannot fit (after the moments are known)."""

    # ---------------------------------------------------------------- fit
    def prepare(self, spec: ModelSpec, data: pd.DataFrame, weights: Any) -> PreparedData:
        """The shared preamble of every ``fit``: options and model checked (before any work), items prepared
        under the estimator's missing-data method."""
        self.validate()
        reject_higher_order(spec, self.name)
        self.check_spec(spec)
        return prepare_items(spec, data, missing=self.options().get("missing", DEFAULT_MISSING), weights=weights)

    def sample_of(
        self, spec: ModelSpec, prepared: PreparedData, mean: np.ndarray, cov: np.ndarray, X: np.ndarray | None = None
    ) -> Sample:
        """The :class:`Sample` of one set of moments (``X``: the complete item matrix of the scores, default
        the prepared rows), checked by :meth:`check_sample`."""
        corr, sd = cov_to_corr(cov)
        sample = Sample(prepared, prepared.X if X is None else X, mean, cov, corr, sd)
        self.check_sample(spec, sample)
        return sample

    def sample(self, spec: ModelSpec, data: pd.DataFrame, weights: Any) -> Sample:
        """:meth:`prepare` and the weighted moments of the prepared (complete) rows."""
        prepared = self.prepare(spec, data, weights)
        mean, cov = moments(prepared.X, prepared.weights)
        return self.sample_of(spec, prepared, mean, cov)

    def fit(self, spec: ModelSpec, data: pd.DataFrame, *, weights: Any = None) -> Any:
        """Prepare the items and fit the moments of the estimator's missing-data method
        (:func:`csi.estimators.missing.fit_with_missing` calls :meth:`fit_moments`)."""
        from csi.estimators.missing import fit_with_missing

        return fit_with_missing(self, spec, self.prepare(spec, data, weights))

    def fit_moments(
        self, spec: ModelSpec, prepared: PreparedData, mean: np.ndarray, cov: np.ndarray, X: np.ndarray
    ) -> Any:
        """The fit of one set of item moments; ``X`` (complete, rows of ``prepared``) gives the scores."""
        return self.fit_sample(spec, self.sample_of(spec, prepared, mean, cov, X))

    def fit_sample(self, spec: ModelSpec, sample: Sample) -> Any:  # pragma: no cover - every estimator overrides
        raise NotImplementedError

    # ---------------------------------------------------------- resampling
    def statistic(self, fit: Any, *, sign_change: str = "none", inner_resamples: int | None = None) -> Any:
        """The batched replicate statistic of ``fit`` for the resampling driver."""
        raise EstimationError(f"method {self.name!r} has no bootstrap")

    def paths_index(self, fit: Any, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Paths (B, P) in ``spec.paths`` order and 0-100 indices (B, J) of a stack of moment matrices."""
        raise EstimationError(f"cannot resample method {self.name!r}")


_SCALARS = frozenset({int, float, str, bool, type(None)})


@functools.cache
def _option_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def reject_higher_order(spec: ModelSpec, method: str) -> None:
    """Raise for a model with higher-order constructs, which only PLS estimates (:mod:`csi.estimators.hoc`)."""
    if spec.higher_order:
        raise EstimationError(
            f"model {spec.name!r} has higher-order construct(s) {', '.join(spec.higher_order)}, which method "
            f"{method!r} cannot estimate; fit it with method='pls' and hoc='repeated', 'two-stage-embedded' or "
            "'two-stage-disjoint'"
        )


def choice(option: str, value: Any, table: Any) -> None:
    """Raise naming ``option`` and the accepted values when ``value`` is not one of ``table``."""
    if value not in table:
        raise EstimationError(f"unknown {option} {value!r}; accepted: {', '.join(map(repr, table))}")
