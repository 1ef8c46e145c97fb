"""The result of a bootstrap: draws plus summaries that can change without resampling."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from csi.errors import EstimationError
from csi.estimators.replicates import StatisticLayout
from csi.resample.intervals import INTERVALS, bootstrap_bias, bootstrap_pvalue, bootstrap_se, confidence_interval
from csi.results.fit import FitResult
from csi.results.frozen import CopiedTables


@dataclass(frozen=True, eq=False)
class BootstrapResult(CopiedTables):
    """Replicates of every labelled quantity of a fit, with interval summaries.

    Attributes
    ----------
    fit
        The original fit.
    draws
        One row per replicate, one column per quantity, named ``"lhs op rhs"``
        as in :attr:`estimates` (e.g. ``"SAT ~ VAL"``, ``"SAT =~ sat1"``,
        ``"SAT <~ sat1"``, ``"SAT r2 SAT"``, ``"SAT index SAT"``).  Failed
        replicates are rows of NaN.
    n_not_converged, n_singular
        Replicates whose iterations hit the limit, and replicates whose
        moment matrix was singular.
    n_inadmissible
        CB-SEM replicates that converged to an inadmissible solution (Heywood
        case; see :data:`csi.resample.driver.FAILURE_POLICIES`).
    plan
        Provenance of the resamples (kind, seed entropy, block size).
    ci, level
        Interval type and level used by :attr:`estimates`.
    """

    fit: FitResult
    layout: StatisticLayout = field(repr=False)
    draws: pd.DataFrame = field(repr=False)
    n_not_converged: int
    n_singular: int
    failed_policy: str
    sign_change: str
    plan: dict[str, Any]
    ci: str = "percentile"
    level: float = 0.95
    se_draws: pd.DataFrame | None = field(default=None, repr=False)
    """Per-replicate standard errors from the nested bootstrap (same shape as ``draws``), or None."""
    inner_resamples: int | None = None
    """Inner resamples per replicate of the nested bootstrap, or None when none was run."""
    n_inadmissible: int = 0
    imputation_estimates: np.ndarray | None = field(default=None, repr=False)
    """``mi_interval="rubin"``: each completed data set's estimates (m, q); then :attr:`draws` holds the m
    imputations' B replicates one after the other (row ``k B + r``: replicate ``r`` of imputation ``k``)."""

    def __post_init__(self) -> None:
        if self.ci == "rubin" and self.imputation_estimates is None:
            raise EstimationError(
                "ci='rubin' needs the bootstrap of a missing='mi' fit with mi_interval='rubin' (impute, then bootstrap)"
            )
        if self.ci not in INTERVALS and self.ci != "rubin":
            raise EstimationError(f"unknown interval type {self.ci!r}; accepted: {', '.join(INTERVALS)}")
        if not (isinstance(self.level, float | int) and 0 < self.level < 1):
            raise EstimationError(f"level must be strictly between 0 and 1, got {self.level!r}")

    @property
    def original(self) -> np.ndarray:
        """The original estimate of every column of :attr:`draws`."""
        return self.layout.original

    @property
    def n_resamples(self) -> int:
        """Resamples B (per completed data set under ``mi_interval="rubin"``)."""
        return len(self.draws) // self.n_imputations

    @property
    def n_imputations(self) -> int:
        """Completed data sets bootstrapped (1 unless ``mi_interval="rubin"``)."""
        return 1 if self.imputation_estimates is None else len(self.imputation_estimates)

    @cached_property
    def rubin(self) -> dict[str, np.ndarray]:
        """``mi_interval="rubin"``: Rubin's rules per quantity (:func:`csi.resample.mi_boot.rubin_interval`)."""
        from csi.resample.mi_boot import rubin_interval

        if self.imputation_estimates is None:
            raise EstimationError("Rubin's rules need a bootstrap with mi_interval='rubin'")
        D = self.draws.to_numpy().reshape(self.n_imputations, -1, self.draws.shape[1])
        return rubin_interval(D, self.imputation_estimates, self.level, n_com=self.fit.n - 1)

    @property
    def n_failed(self) -> int:
        """Resamples excluded from the summaries (counted as :attr:`n_not_converged`, :attr:`n_singular` and
        :attr:`n_inadmissible` are: once per resample, not once per imputation under ``mi_interval="rubin"``,
        where the failure policy blanks a failed resample's replicate in every imputation)."""
        D = self.draws.to_numpy().reshape(self.n_imputations, -1, self.draws.shape[1])
        return int(np.isnan(D).all(axis=(0, 2)).sum())

    def with_ci(self, ci: str | None = None, level: float | None = None) -> BootstrapResult:
        """The same draws summarised with another interval type or level (no resampling)."""
        return replace(self, ci=ci or self.ci, level=self.level if level is None else level)

    @cached_property
    def jackknife_values(self) -> np.ndarray:
        """Leave-one-out statistics (n, q), computed on first use (BCa acceleration)."""
        from csi.resample.run import jackknife

        return jackknife(self.fit, self.layout, self.sign_change)

    @cached_property
    def estimates(self) -> pd.DataFrame:
        """``lhs, op, rhs, estimate`` plus ``mean, bias, se, ci_lower, ci_upper, p_value``.

        ``p_value`` is the two-sided bootstrap p-value of ``H0: θ = 0`` by
        inverting the percentile interval (not meaningful for R², indices).
        """
        D = self.draws.to_numpy()
        est = self.original
        extra: dict[str, Any] = {}
        if self.ci == "rubin":  # Rubin's rules over the imputations' bootstraps (csi.resample.mi_boot)
            r = self.rubin
            se, lower, upper, p_value = r["se"], r["ci_lower"], r["ci_upper"], r["p_value"]
            extra["df_rubin"] = r["df"]
        else:
            se, (lower, upper), p_value = bootstrap_se(D), self._interval(D, est), bootstrap_pvalue(D, est)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(D, axis=0) if len(D) else np.full(len(est), np.nan)
        group = {} if self.layout.group is None else {"group": self.layout.group}  # a multiple-group fit's
        return pd.DataFrame(
            {
                **group,
                "lhs": self.layout.lhs,
                "op": self.layout.op,
                "rhs": self.layout.rhs,
                "estimate": est,
                "mean": mean,
                "bias": bootstrap_bias(D, est),
                "se": se,
                "ci_lower": lower,
                "ci_upper": upper,
                "p_value": p_value,
                **extra,
            }
        )

    def _interval(self, D: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ``ci`` interval of every statistic from the replicates ``D``."""
        opts: dict[str, Any] = {}
        if self.ci == "bca":
            opts["jackknife_values"] = self.jackknife_values
        if self.ci == "studentized":
            if self.se_draws is None:
                raise EstimationError(
                    "studentized intervals need a standard error per replicate from a nested bootstrap; rerun "
                    "csi.bootstrap(fit, ..., inner_resamples=M) (or ci='studentized', which runs M=100), or use "
                    "'percentile', 'basic', 'normal', 'bc' or 'bca'"
                )
            opts["se_draws"] = self.se_draws.to_numpy()
        return confidence_interval(self.ci, D, est, self.level, **opts)

    @cached_property
    def replicate_draws(self) -> pd.DataFrame:
        """One row per resample: :attr:`draws` itself, or, under ``mi_interval="rubin"``, the Rubin-calibrated
        replicates of :func:`csi.resample.mi_boot.calibrated_draws` (what panels aggregate and difference)."""
        if self.imputation_estimates is None:
            return self.draws
        from csi.resample.mi_boot import calibrated_draws

        D = self.draws.to_numpy().reshape(self.n_imputations, -1, self.draws.shape[1])
        out = pd.DataFrame(calibrated_draws(D, self.rubin), columns=self.draws.columns)
        out.index.name = "replicate"
        return out

    @cached_property
    def indirect_effects(self) -> pd.DataFrame:
        """Specific and total indirect effects with this bootstrap's SE, interval and p-value.

        Each replicate's indirect effect is the product of its own path
        replicates along the chain; see :func:`csi.resample.mediation.indirect_effect_table`.
        """
        from csi.resample.mediation import indirect_effect_table

        return indirect_effect_table(self)

    def summary(self) -> str:
        """Journal-style text summary (:mod:`csi.resample.summary`): settings, then estimates with SE, interval
        and p-value by kind; fixed and structurally zero parameters are named in a note, not tabled."""
        from csi.resample.summary import render_text

        return render_text(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        from csi.resample.summary import render_html

        return render_html(self)
