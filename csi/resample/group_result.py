"""Results of a multi-group analysis (:func:`csi.compare_groups`) and of MICOM (:func:`csi.micom`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from csi.results.fit import FitResult
from csi.results.frozen import CopiedTables

__all__ = ["GroupComparison", "MicomResult"]

_METHOD_WORDS = {
    "permutation": "permutation test (Chin & Dibbern 2010)",
    "henseler": "Henseler's bootstrap MGA (Henseler, Ringle & Sinkovics 2009)",
    "parametric": "parametric t test with bootstrap standard errors (Sarstedt, Henseler & Ringle 2011)",
    "welch": "Welch-Satterthwaite t test with bootstrap standard errors (Sarstedt, Henseler & Ringle 2011)",
}


def _fmt(value: Any, digits: int = 3) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if x != x:
        return ""
    text = f"{x:.{digits}f}"
    return "0." + "0" * digits if text.lstrip("-") == "0." + "0" * digits else text


def _text_table(frame: pd.DataFrame, digits: dict[str, int]) -> str:
    shown = frame.copy()
    for col, d in digits.items():
        if col in shown:
            shown[col] = [_fmt(v, d) for v in shown[col]]
    return shown.to_string(index=False)


def frozen(value: Any) -> Any:
    """A read-only copy of nested plain data: mappings become read-only mappings, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    return value


class _RecordedPlan(CopiedTables):
    """Mixin of the group results: the plan is part of the record of what was run, read-only like the tables."""

    __slots__ = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", frozen(self.plan))  # type: ignore[attr-defined]


@dataclass(frozen=True, eq=False)
class GroupComparison(_RecordedPlan):
    """Differences of every parameter between groups, with their tests.

    Attributes
    ----------
    table
        One row per parameter and pair of groups: ``parameter, kind`` (path, weight, loading, r2, index)
        ``, lhs, op, rhs, group_a, group_b, estimate_a, estimate_b, difference`` (a - b) ``, p_value`` (two-sided)
        ``, p_adjusted`` (familywise over the pairs of the parameter), method columns (``n_permutations``;
        ``se_a, se_b``; ``p_one_sided`` of ``H1: a > b`` for Henseler's MGA; ``t, df``) and, for more than two
        groups, ``omnibus_statistic, omnibus_p``.
    omnibus
        More than two groups: one row per parameter with the omnibus permutation test; else None.
    groups
        ``group, n_rows, n_used`` per group.
    """

    method: str
    group_column: str
    groups: pd.DataFrame
    table: pd.DataFrame = field(repr=False)
    omnibus: pd.DataFrame | None = field(repr=False)
    correction: str | None
    n_permutations: int
    n_resamples: int
    n_failed: int
    plan: Mapping[str, Any] = field(repr=False)
    pooled: FitResult = field(repr=False)
    fits: tuple[FitResult, ...] = field(repr=False)
    n_unlabelled: int = 0

    def significant(self, alpha: float = 0.05) -> pd.DataFrame:
        """The rows whose adjusted p-value is below ``alpha``."""
        t = self.table
        return t[t["p_adjusted"] < alpha].reset_index(drop=True)

    def summary(self, alpha: float = 0.05) -> str:
        """A text report: groups, method and the differences significant at ``alpha`` (adjusted)."""
        sizes = ", ".join(f"{g} (n = {u})" for g, u in zip(self.groups["group"], self.groups["n_used"], strict=True))
        runs = (f"{self.n_permutations} permutations" if self.method == "permutation"
                else f"{self.n_resamples} bootstrap resamples per group")  # fmt: skip
        adj = {"holm": "Holm-adjusted", "bonferroni": "Bonferroni-adjusted", None: "unadjusted"}[self.correction]
        lines = [
            f"Group comparison by {self.group_column!r}: {sizes}",
            f"Method: {_METHOD_WORDS[self.method]}; {runs}; p-values test H0: equal in both groups.",
        ]
        if self.n_failed:
            lines.append(f"{self.n_failed} permutation(s) had singular moments or did not converge and were dropped.")
        sig = self.significant(alpha)
        cols = ["parameter", "group_a", "group_b", "estimate_a", "estimate_b", "difference", "p_value", "p_adjusted"]
        if sig.empty:
            lines.append(f"\nNo difference is significant at {alpha:g} ({adj}).")
        else:
            lines.append(f"\nDifferences significant at {alpha:g} ({adj} p), {len(sig)} of {len(self.table)}:")
            lines.append(_text_table(sig[cols], {c: 3 for c in cols[3:]}))
        if self.omnibus is not None:
            om = self.omnibus[self.omnibus["p_value"] < alpha]
            lines.append(f"\nOmnibus permutation test over all groups: {len(om)} of {len(self.omnibus)} parameters "
                         f"differ at {alpha:g} (unadjusted).")  # fmt: skip
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"GroupComparison(method={self.method!r}, group={self.group_column!r}, groups={len(self.groups)}, "
                f"rows={len(self.table)})")  # fmt: skip


@dataclass(frozen=True, eq=False)
class MicomResult(_RecordedPlan):
    """The three steps of MICOM and the verdict per construct and pair of groups.

    Attributes
    ----------
    configural
        Step 1's checks: ``group, check, passed, detail``.
    table
        One row per construct and pair: ``c, c_quantile, c_p_value, compositional`` (step 2),
        ``mean_difference, mean_lower, mean_upper, equal_means, log_variance_ratio, variance_lower,
        variance_upper, equal_variances`` (step 3), ``n_permutations, configural, verdict``
        (``no``/``partial``/``full``).
    """

    group_column: str
    groups: pd.DataFrame
    configural: pd.DataFrame = field(repr=False)
    table: pd.DataFrame = field(repr=False)
    n_permutations: int
    level: float
    n_failed: int
    plan: Mapping[str, Any] = field(repr=False)
    pooled: FitResult = field(repr=False)
    fits: tuple[FitResult, ...] = field(repr=False)
    n_unlabelled: int = 0

    @property
    def verdicts(self) -> pd.DataFrame:
        """``construct, group_a, group_b, verdict``."""
        return self.table[["construct", "group_a", "group_b", "verdict"]]

    def summary(self) -> str:
        """A text report of the three steps."""
        step1 = "established" if bool(self.configural["passed"].all()) else "NOT established"
        cols = ["construct", "group_a", "group_b", "c", "c_quantile", "mean_difference", "mean_lower", "mean_upper",
                "log_variance_ratio", "variance_lower", "variance_upper", "verdict"]  # fmt: skip
        return "\n".join([
            f"MICOM by {self.group_column!r} (Henseler, Ringle & Sarstedt 2016), {self.n_permutations} permutations",
            f"Step 1 (configural invariance): {step1}.",
            f"Step 2: c must not fall below its {self.level:g} permutation quantile; step 3: the mean difference "
            f"and log variance ratio must lie within the {self.level / 2:g}/{1 - self.level / 2:g} quantiles.",
            _text_table(self.table[cols], {c: 3 for c in cols[3:-1]}),
        ])  # fmt: skip

    def __repr__(self) -> str:
        counts = self.table["verdict"].value_counts().to_dict()
        return f"MicomResult(group={self.group_column!r}, verdicts={counts})"
