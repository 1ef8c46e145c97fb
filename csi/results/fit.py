"""The result of fitting a model: frozen, labelled, tidy.

A :class:`FitResult` holds the estimates of one estimator on one data set as
labelled pandas objects.  Its :attr:`~FitResult.estimates` table lists every
parameter in lavaan's ``lhs, op, rhs, estimate`` form:

=========  ==========  ===========  ===================================
op         lhs         rhs          meaning
=========  ==========  ===========  ===================================
``~``      target      source       direct effect (path coefficient)
``=~``     construct   item         loading
``<~``     construct   item         outer weight
``r2``     construct   construct    R² of an endogenous construct
``ind``    target      source       indirect effect
``total``  target      source       total effect
=========  ==========  ===========  ===================================

:func:`~csi.spec.parameters.parameter_label` gives the ``"lhs op rhs"`` string used to name
bootstrap draws and report rows.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from csi.results.frozen import CopiedTables
from csi.spec.model import ModelSpec
from csi.spec.parameters import parameter_label

__all__ = ["FitResult", "parameter_label"]


@dataclass(frozen=True, eq=False)
class FitResult(CopiedTables):
    """Estimates of a fitted model (its tables are handed out as copies: :class:`~csi.results.frozen.CopiedTables`).

    Attributes
    ----------
    spec
        The model that was fitted.
    method
        Estimator name (``"pls"``, ...).
    options
        Every estimator option in force, including defaults.
    n
        Number of respondents used.
    weights
        Outer weights by item (composites of standardised items, or of centred
        items when ``scaled=False``, with unit variance).
    loadings
        Correlation of each item with its construct's score.
    cross_loadings
        Correlation of every item (rows) with every construct score (columns).
    paths
        Path coefficients, rows = dependent (to) construct, columns = predictor.
    construct_correlations
        Correlations of the construct scores.
    total_effects
        Total effects in the same layout as ``paths``.
    scores
        Construct scores (mean 0, variance 1 with divisor N), one column per
        construct, indexed by the data rows used.
    iterations, converged
        Convergence diagnostics of the iterative algorithm.
    item_means, item_sds
        Mean and standard deviation (divisor N) of every item on its raw scale,
        after reverse coding; the 0-100 index needs them.
    block_quality
        Per construct: Cronbach's alpha, Dillon-Goldstein rho and the first two
        eigenvalues of the block's correlation matrix.
    admissible
        Whether the solution passed the estimator's admissibility checks
        (PLSc: methodology §4.2); always True for PLS.
    rho_a
        Reliability rho_A of each construct used by a consistent estimator
        (PLSc), 1 for composites and single items; None for PLS.

    For ``method="plsc"`` the loadings, cross-loadings, construct
    correlations, paths and total effects are the consistent (disattenuated)
    estimates; weights and scores are the PLS ones.
    """

    spec: ModelSpec
    method: str
    options: Mapping[str, Any]
    n: int
    weights: pd.Series
    loadings: pd.Series
    cross_loadings: pd.DataFrame
    paths: pd.DataFrame
    construct_correlations: pd.DataFrame
    total_effects: pd.DataFrame
    scores: pd.DataFrame
    iterations: int
    converged: bool
    item_means: pd.Series
    item_sds: pd.Series
    block_quality: pd.DataFrame
    moments: np.ndarray = field(repr=False)
    """The moment matrix the estimator used (correlation or covariance, divisor N)."""
    data: Any = field(repr=False, default=None)
    """The prepared item data (:class:`csi.data.prepare.PreparedData`), for resampling."""
    admissible: bool = True
    rho_a: pd.Series | None = None
    missing_report: Any = field(repr=False, default=None)
    """Missing-data diagnostics (:class:`csi.estimators.missing.MissingReport`): rates per item and construct,
    patterns, respondents used, Little's MCAR test; for ``missing="mi"`` the fit of every imputation."""
    estimator: Any = field(repr=False, default=None)
    """The estimator object that made the fit (:class:`csi.estimators.base.Estimator`): its options and
    capabilities, and the replicate statistic resampling runs."""

    # CB-SEM's extra tables live on its subclass (csi.estimators.cbsem.CBSEMFitResult).
    parameter_table = None
    fit_measures = None
    cbsem_state = None

    def __post_init__(self) -> None:
        # The arrays the fit holds are shared with every copy handed out: make them read-only.
        for value in (self.moments, getattr(self.data, "X", None), getattr(self.data, "weights", None)):
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def capabilities(self) -> Any:
        """What the estimator's fits support (:class:`csi.estimators.base.Capabilities`)."""
        return self.estimator.capabilities

    # ------------------------------------------------------------ structural
    @cached_property
    def r2(self) -> pd.Series:
        """R² of each endogenous construct."""
        names = list(self.spec.endogenous)
        B = self.paths.loc[names].to_numpy()
        R = self.construct_correlations.loc[names].to_numpy()
        return pd.Series(np.sum(B * R, axis=1), index=pd.Index(names, name="construct"), name="r2")

    @cached_property
    def r2_adj(self) -> pd.Series:
        """Adjusted R², ``1 - (1 - R²)(n - 1) / (n - k - 1)`` with k predictors."""
        k = np.array([len(self.spec.predecessors(c)) for c in self.r2.index])
        return (1 - (1 - self.r2) * (self.n - 1) / (self.n - k - 1)).rename("r2_adj")

    @cached_property
    def inner_model(self) -> pd.DataFrame:
        """Table of every structural equation: ``lhs, rhs, estimate`` and, for PLS, OLS inference.

        PLS: the paths are an OLS regression with intercept on the construct
        scores, and the table adds that regression's ``std_error``,
        ``t_value`` and ``p_value``:
        ``se_k = sqrt((1 - R²) / (n - k - 1) * [R_PP^-1]_kk)``, t and
        two-sided p from Student's t on ``n - k - 1`` degrees of freedom
        (R plspm's ``inner_model``, which calls ``lm``); an ``(Intercept)``
        row is included.

        The fixed-weight composites (``sumscore``, ``pca``) are regressions on
        observed scores too and get the same table.

        PLSc: the paths are OLS on *disattenuated*
        construct correlations, not a regression on observed scores, so the
        OLS formula does not give their sampling variance (it ignores the
        estimated reliabilities; Dijkstra & Henseler 2015b, CSDA 81:10-23,
        derive the asymptotic variance, and Aguirre-Urreta & Rönkkö 2018
        recommend the bootstrap).  The table then holds the estimates only,
        without standard-error columns and without an intercept row.
        CB-SEM: the same standardised estimates; the ML standard errors of the
        unstandardised paths are in ``estimates`` / ``parameter_table``.
        Multiple imputation (``missing="mi"``): the imputations' tables pooled
        by Rubin's rules (see ``MissingReport.pooled_inner_model``).
        """
        if self.missing_report is not None and self.missing_report.imputations:
            return self.missing_report.pooled_inner_model()
        if not self.capabilities.analytic_se:
            rows_est = [(t, s, self.paths.loc[t, s]) for t in self.spec.endogenous for s in self.spec.predecessors(t)]
            return pd.DataFrame(rows_est, columns=["lhs", "rhs", "estimate"])
        from scipy.stats import t as student_t  # imported here: scipy.stats costs ~45 MiB and 0.5 s to import

        rows = []
        for target in self.spec.endogenous:
            pred = list(self.spec.predecessors(target))
            k = len(pred)
            dof = self.n - k - 1
            resid = (1.0 - self.r2[target]) / dof
            Rinv = np.linalg.inv(self.construct_correlations.loc[pred, pred].to_numpy())
            se = np.sqrt(resid * np.diag(Rinv))
            est = self.paths.loc[target, pred].to_numpy()
            coef = [("(Intercept)", 0.0, np.sqrt(resid))] + list(zip(pred, est, se))
            for source, b, s in coef:
                t = b / s
                rows.append((target, source, b, s, t, 2 * student_t.sf(abs(t), dof)))
        return pd.DataFrame(rows, columns=["lhs", "rhs", "estimate", "std_error", "t_value", "p_value"])

    @cached_property
    def effects(self) -> pd.DataFrame:
        """Direct, indirect and total effect for every pair joined by a directed path."""
        rows = []
        names = self.spec.construct_names
        order = {n: i for i, n in enumerate(names)}
        reach = _reachability(self.spec)
        for source in names:
            for target in sorted(reach[source], key=order.__getitem__):
                direct = self.paths.loc[target, source]
                total = self.total_effects.loc[target, source]
                rows.append((source, target, direct, total - direct, total))
        return pd.DataFrame(rows, columns=["from", "to", "direct", "indirect", "total"])

    @cached_property
    def indirect_effects(self) -> pd.DataFrame:
        """Specific indirect effects (every chain of two or more paths) and each pair's total indirect effect.

        See :func:`csi.results.mediation.indirect_effects`.
        """
        from csi.results.mediation import indirect_effects  # the module reads a fit; imported here, not at the top

        return indirect_effects(self)

    # ----------------------------------------------------------- measurement
    @cached_property
    def outer_model(self) -> pd.DataFrame:
        """Per item: construct, weight, loading, communality (loading²) and redundancy.

        Redundancy = communality × R² of the item's construct (0 if exogenous).
        """
        block = [self.spec.block_of(i) for i in self.spec.item_names]
        r2 = self.r2.reindex(block, fill_value=0.0).to_numpy()
        comm = self.loadings.to_numpy() ** 2
        return pd.DataFrame(
            {
                "construct": block,
                "weight": self.weights.to_numpy(),
                "loading": self.loadings.to_numpy(),
                "communality": comm,
                "redundancy": comm * r2,
            },
            index=pd.Index(self.spec.item_names, name="item"),
        )

    @cached_property
    def quality(self) -> pd.DataFrame:
        """Per construct: mode, items, R², adjusted R², block communality, mean
        redundancy, AVE (Mode A only), alpha, Dillon-Goldstein rho, eigenvalues.

        Block communality is the mean squared loading of the block; for Mode A
        it equals the AVE (Fornell & Larcker 1981).
        """
        om = self.outer_model
        g = om.groupby("construct", sort=False)
        names = list(self.spec.construct_names)
        out = pd.DataFrame(index=pd.Index(names, name="construct"))
        out["mode"] = list(self.spec.modes)
        out["n_items"] = [len(c.items) for c in self.spec.constructs]
        out["r2"] = self.r2.reindex(names)
        out["r2_adj"] = self.r2_adj.reindex(names)
        out["block_communality"] = g["communality"].mean().reindex(names)
        out["mean_redundancy"] = g["redundancy"].mean().reindex(names)
        out["ave"] = out["block_communality"].where(out["mode"] == "A")
        return out.join(self.block_quality)

    @cached_property
    def gof(self) -> float:
        """Goodness of fit (Tenenhaus, Amato & Esposito Vinzi 2004).

        ``sqrt(mean communality * mean R²)``: the communality averaged over the
        items of blocks with more than one item, R² over endogenous constructs
        (R plspm ``get_gof``).  A descriptive index, not a test of fit
        (Henseler & Sarstedt 2013).
        """
        sizes = self.outer_model.groupby("construct", sort=False)["communality"].transform("size")
        comm = self.outer_model["communality"][sizes > 1]
        return float(np.sqrt(comm.mean() * self.r2.mean()))

    # ----------------------------------------------------------------- tidy
    @cached_property
    def estimates(self) -> pd.DataFrame:
        """Every parameter as ``lhs, op, rhs, estimate`` (see the module table).

        For a CB-SEM fit: lavaan's parameter table (see
        :class:`csi.estimators.cbsem.CBSEMFitResult`).
        """
        rows: list[tuple[str, str, str, float]] = []
        for p in self.spec.paths:
            rows.append((p.target, "~", p.source, self.paths.loc[p.target, p.source]))
        for item, row in self.outer_model.iterrows():
            rows.append((row["construct"], "=~", item, row["loading"]))
        for item, row in self.outer_model.iterrows():
            rows.append((row["construct"], "<~", item, row["weight"]))
        for c, v in self.r2.items():
            rows.append((c, "r2", c, v))
        for _, e in self.effects.iterrows():
            rows.append((e["to"], "ind", e["from"], e["indirect"]))
        for _, e in self.effects.iterrows():
            rows.append((e["to"], "total", e["from"], e["total"]))
        return pd.DataFrame(rows, columns=["lhs", "op", "rhs", "estimate"])

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every tidy table by name, for writing to files."""
        return {
            "estimates": self.estimates,
            "outer_model": self.outer_model.reset_index(),
            "inner_model": self.inner_model,
            "effects": self.effects,
            "quality": self.quality.reset_index(),
            "cross_loadings": self.cross_loadings.rename_axis("item").reset_index(),
            "scores": self.scores,
        }

    # -------------------------------------------------------------- display
    def _fit_lines(self) -> list[tuple[str, str]]:
        """Headline fit lines of the summary: GoF for composite methods."""
        return [("GoF", f"{self.gof:.4f}")]

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        paths = self.inner_model[self.inner_model["rhs"] != "(Intercept)"].copy()
        paths.insert(1, "op", "~")
        quality = self.quality[["r2", "r2_adj", "ave", "cronbach_alpha", "dg_rho"]]
        outer = self.outer_model[["construct", "weight", "loading"]]
        return [
            (_inner_title(self), paths.set_index(["lhs", "op", "rhs"])),
            *self._indirect_summary(),
            ("Constructs", quality),
            ("Measurement model", outer),
        ]

    def _indirect_summary(self) -> list[tuple[str, pd.DataFrame]]:
        """The specific and total indirect effects, when some chain of two or more paths exists."""
        ind = self.indirect_effects
        if ind.empty:
            return []
        return [("Indirect effects (products of paths along each chain)", ind.set_index(["path", "kind"])[["estimate"]])]

    def summary(self) -> str:
        """A readable text summary."""
        return _render_text(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return _render_html(self)


def _reachability(spec: ModelSpec) -> dict[str, set[str]]:
    succ = {n: set(spec.successors(n)) for n in spec.construct_names}
    reach: dict[str, set[str]] = {}

    def visit(n: str) -> set[str]:
        if n not in reach:
            out: set[str] = set()
            for m in succ[n]:
                out |= {m} | visit(m)
            reach[n] = out
        return reach[n]

    for n in spec.construct_names:
        visit(n)
    return reach


def _header(fit: FitResult) -> list[tuple[str, str]]:
    opts = ", ".join(f"{k}={v}" for k, v in fit.options.items())
    status = "converged" if fit.converged else "NOT CONVERGED"
    return (
        [
            ("Model", fit.spec.name),
            ("Method", f"{fit.method} ({opts})"),
            ("Observations", str(fit.n)),
            ("Iterations", f"{fit.iterations} ({status})"),
        ]
        + fit._fit_lines()
        + (fit.missing_report.lines() if fit.missing_report is not None else [])
        + ([("Admissible", "yes" if fit.admissible else "NO")] if fit.rho_a is not None or not fit.admissible else [])
    )


def _inner_title(fit: FitResult) -> str:
    if fit.capabilities.analytic_se:
        return "Structural model (OLS on construct scores)"
    return "Structural model (OLS on disattenuated correlations; no analytic standard errors)"


def _p_text(x: float) -> str:
    return "" if not np.isfinite(x) else ("<0.001" if x < 0.001 else f"{x:.3f}")


def _p_note(fit: FitResult) -> str:
    """What the p-values of the summary test (journal tables say so under the table)."""
    if fit.parameter_table is not None:
        return "p: two-sided Wald z-test of H0: parameter = 0 (ML standard errors); fixed parameters have none."
    if fit.capabilities.analytic_se:
        return "p: two-sided t-test of H0: path = 0 (OLS on construct scores; bootstrap for PLS inference)."
    return ""


def _render_text(fit: FitResult) -> str:
    lines = [f"{k:<14}{v}" for k, v in _header(fit)]
    for title, table in fit._summary_tables():
        fmt = {c: _p_text for c in table.columns if c == "p_value"}
        text = table.to_string(float_format=lambda x: f"{x:.4f}", na_rep="", formatters=fmt or None)
        lines += ["", title, "-" * len(title), text]
    return "\n".join(lines + (["", _p_note(fit)] if _p_note(fit) else []))


def _render_html(fit: FitResult) -> str:
    head = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _header(fit))
    parts = [f"<table>{head}</table>"]
    for title, table in fit._summary_tables():
        parts.append(f"<h4>{html.escape(title)}</h4>")
        fmt = {c: _p_text for c in table.columns if c == "p_value"}
        parts.append(table.to_html(float_format=lambda x: f"{x:.4f}", na_rep="", escape=True, formatters=fmt or None))
    if _p_note(fit):
        parts.append(f"<p><small>{html.escape(_p_note(fit))}</small></p>")
    return "<div>" + "".join(parts) + "</div>"
