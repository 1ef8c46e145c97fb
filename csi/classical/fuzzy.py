"""Fuzzy comprehensive evaluation (methodology §6.2; Zadeh 1965, Information and Control 8:338-353).

Factor set U = {u_1..u_m}, grade set V = {v_1..v_n} with grade scores c,
weights A (m,) with a_i >= 0 and Σ a_i = 1, membership matrix R (m, n) whose
row i holds the shares of respondents putting factor i in each grade.  The
evaluation is ``B = A ∘ R`` for a composition operator, normalised to sum 1;
the result is the maximum-membership grade and the score ``S = Σ_j b_j c_j``.
Multi-level evaluation stacks the B vectors of sub-factor groups as the rows
of the upper level's R.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from csi.classical._columns import as_frame, float_column, respondent_weights
from csi.errors import DataError

_TOL = 1e-8
"""Tolerance of the 'sums to 1' checks (shares computed in floating point)."""

DEFAULT_GRADES: dict[str, tuple[float, ...]] = {
    "very satisfied": (5,),
    "satisfied": (4,),
    "neutral": (3,),
    "dissatisfied": (2,),
    "very dissatisfied": (1,),
}
"""Category mapping of a 1-5 rating (5 best) onto five grades, best first, matching the default grade scores."""


class FuzzyDegeneracyWarning(UserWarning):
    """The max-min composition returned every b_j equal to max a_i, so it cannot discriminate grades."""


def _weighted_average(A: np.ndarray, R: np.ndarray) -> np.ndarray:
    # M(·,+): b_j = min(1, Σ_i a_i r_ij); uses every factor.
    return np.minimum(1.0, A @ R)


def _max_min(A: np.ndarray, R: np.ndarray) -> np.ndarray:
    # M(∧,∨), Zadeh: b_j = max_i min(a_i, r_ij); the main factor decides.
    return np.minimum(A[:, None], R).max(axis=0)


def _product_max(A: np.ndarray, R: np.ndarray) -> np.ndarray:
    # M(·,∨): b_j = max_i a_i r_ij.
    return (A[:, None] * R).max(axis=0)


def _bounded_sum(A: np.ndarray, R: np.ndarray) -> np.ndarray:
    # M(∧,⊕): b_j = min(1, Σ_i min(a_i, r_ij)).
    return np.minimum(1.0, np.minimum(A[:, None], R).sum(axis=0))


OPERATORS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "weighted_average": _weighted_average,
    "max_min": _max_min,
    "product_max": _product_max,
    "bounded_sum": _bounded_sum,
}
"""Composition operators ``B = A ∘ R`` (methodology §6.2 table): M(·,+), M(∧,∨), M(·,∨), M(∧,⊕)."""


@dataclass(frozen=True, eq=False)
class FuzzyResult:
    """One fuzzy comprehensive evaluation.

    Attributes
    ----------
    b
        Normalised evaluation vector over the grades (sums to 1).
    b_raw
        ``A ∘ R`` before normalisation.
    grade
        Maximum-membership grade (the first, i.e. best-listed, grade on a tie).
    score
        ``Σ_j b_j c_j``.
    operator
        Key of :data:`OPERATORS`.
    grade_scores
        The grade scores c.
    degenerate
        ``operator="max_min"`` returned every b_j equal to max a_i.
    """

    b: pd.Series
    b_raw: pd.Series
    grade: str
    score: float
    operator: str
    grade_scores: pd.Series
    degenerate: bool = False


@dataclass(frozen=True, eq=False)
class MultiLevelResult:
    """A two-level evaluation: each group's result and the top level run on their stacked ``b`` vectors."""

    top: FuzzyResult
    groups: dict[str, FuzzyResult]
    R: pd.DataFrame


def _grade_of(value: float, grades: list[tuple[str, Any]], kind: str) -> int:
    for j, (_, spec) in enumerate(grades):
        if kind == "categories" and value in spec:
            return j
        if kind == "bins":
            lo, hi, closed_lo = spec
            if (lo < value or (closed_lo and value == lo)) and value <= hi:
                return j
    return -1


def _grade_table(grades: Any, labels: Sequence[str] | None) -> tuple[list[tuple[str, Any]], str, str]:
    if isinstance(grades, Mapping):
        table = []
        for label, codes in grades.items():
            codes = (codes,) if np.isscalar(codes) else tuple(codes)
            if not codes:
                raise DataError(f"grade {label!r} lists no response codes")
            table.append((str(label), tuple(float(c) for c in codes)))
        seen: dict[float, str] = {}
        for label, codes in table:
            for c in codes:
                if c in seen:
                    raise DataError(f"response code {c:g} is mapped to grades {seen[c]!r} and {label!r}; map it once")
                seen[c] = label
        accepted = ", ".join(f"{lab}: {list(map(float, cs))}" for lab, cs in table)
        return table, "categories", accepted
    edges = np.asarray(grades, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or not np.isfinite(edges).all() or (np.diff(edges) <= 0).any():
        raise DataError(
            "grades must be a mapping {grade label: response codes} or at least two strictly increasing bin "
            f"edges; got {grades!r}"
        )
    n = edges.size - 1
    # Intervals [e0, e1], (e1, e2], ..., listed best (highest) first so they align with grade scores 100..20.
    intervals = [(edges[k], edges[k + 1], k == 0) for k in range(n)][::-1]
    if labels is None:
        labels = [f"{'[' if closed else '('}{lo:g}, {hi:g}]" for lo, hi, closed in intervals]
    elif len(labels) != n:
        raise DataError(f"got {len(labels)} grade labels for {n} bins; give one label per bin, best first")
    return list(zip(map(str, labels), intervals)), "bins", f"[{edges[0]:g}, {edges[-1]:g}]"


def membership_matrix(
    responses: pd.DataFrame,
    grades: Mapping[str, Sequence[float]] | Sequence[float] | None = None,
    *,
    labels: Sequence[str] | None = None,
    weights: str | Sequence[float] | pd.Series | None = None,
) -> pd.DataFrame:
    """Membership matrix R: share of respondents in each grade, per factor (methodology §6.2).

    Parameters
    ----------
    responses
        One column per factor, one row per respondent (ratings); never
        modified.  ``NaN`` is a missing answer: each row of R is over the
        respondents who rated that factor.
    grades
        Either a category mapping ``{grade label: response codes}`` in grade
        order (``None``: :data:`DEFAULT_GRADES`, a 1-5 rating, best first), or
        ascending bin edges ``e_0 < ... < e_n`` giving the intervals
        ``[e_0, e_1], (e_1, e_2], ..., (e_{n-1}, e_n]``; bin grades are listed
        from the highest interval down (best first), so they line up with
        grade scores such as (100, 80, 60, 40, 20).
    labels
        Bins only: grade labels, best (highest interval) first.
    weights
        Respondent weights (column name of ``responses`` or one per row).

    Returns
    -------
    pandas.DataFrame
        (m, n): factors x grades, every row summing to 1.

    Raises
    ------
    DataError
        For a rating in no grade (naming factor, row and the accepted codes),
        a factor nobody rated, or an ill-formed grade definition.
    """
    frame = as_frame(responses, "responses")
    table, kind, accepted = _grade_table(DEFAULT_GRADES if grades is None else grades, labels)
    w = respondent_weights(weights, frame)
    factors = [c for c in frame.columns if not (isinstance(weights, str) and c == weights)]
    if not factors:
        raise DataError("responses have no factor columns")
    R = np.zeros((len(factors), len(table)))
    for i, f in enumerate(factors):
        x = float_column(frame, f, role="factor")
        ok = ~np.isnan(x)
        if not ok.any():
            raise DataError(f"factor {f!r} has no ratings, so it has no membership row")
        for pos in np.flatnonzero(ok):
            j = _grade_of(x[pos], table, kind)
            if j < 0:
                raise DataError(
                    f"factor {f!r} has rating {x[pos]:g} at row {frame.index[pos]!r}, which is in no grade; "
                    f"accepted: {accepted}"
                )
            R[i, j] += 1.0 if w is None else w[pos]
        R[i] /= R[i].sum()
    return pd.DataFrame(
        R, index=pd.Index(factors, name="factor"), columns=pd.Index([t[0] for t in table], name="grade")
    )


def _check_inputs(A: Any, R: Any) -> tuple[np.ndarray, np.ndarray, pd.Index, pd.Index]:
    Rf = R if isinstance(R, pd.DataFrame) else pd.DataFrame(np.asarray(R, dtype=float))
    if Rf.ndim != 2 or Rf.size == 0:
        raise DataError(f"R must be a non-empty (factors x grades) matrix, got shape {Rf.shape}")
    Rv = Rf.to_numpy(dtype=float)
    if isinstance(A, pd.Series) and isinstance(R, pd.DataFrame):
        if set(A.index) != set(Rf.index):
            raise DataError(f"weights A are labelled {list(A.index)} but R's factors are {list(Rf.index)}")
        A = A.reindex(Rf.index)
    Av = np.asarray(A, dtype=float)
    if Av.shape != (Rv.shape[0],):
        raise DataError(f"weights A have shape {Av.shape}, R has {Rv.shape[0]} factor rows; give one weight per factor")
    if not np.isfinite(Av).all() or (Av < 0).any():
        raise DataError(f"weights A must be finite and >= 0, got {Av.tolist()}")
    if abs(Av.sum() - 1.0) > _TOL:
        raise DataError(
            f"weights A sum to {Av.sum():.10g}, not 1; fuzzy weights are not renormalised silently: "
            "divide them by their sum first if that is what you mean"
        )
    if not np.isfinite(Rv).all() or (Rv < -_TOL).any() or (Rv > 1 + _TOL).any():
        raise DataError("memberships r_ij of R must be numbers in [0, 1]")
    sums = Rv.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if bad.size:
        i = int(bad[0])
        raise DataError(f"row {Rf.index[i]!r} of R sums to {sums[i]:.10g}; every membership row must sum to 1")
    return Av, Rv, Rf.index, Rf.columns


def fuzzy_evaluate(
    A: Sequence[float] | pd.Series,
    R: pd.DataFrame | np.ndarray,
    operator: str = "weighted_average",
    grade_scores: Sequence[float] = (100, 80, 60, 40, 20),
) -> FuzzyResult:
    """Fuzzy comprehensive evaluation ``B = A ∘ R`` (methodology §6.2; Zadeh 1965).

    Parameters
    ----------
    A
        (m,) factor weights, a_i >= 0, Σ a_i = 1 (checked, never renormalised).
        A Series is aligned to R's row labels.
    R
        (m, n) membership matrix (e.g. from :func:`membership_matrix`); rows sum to 1.
    operator
        One of :data:`OPERATORS`; ``"weighted_average"`` (M(·,+), default) uses
        every factor, the others are for comparison.
    grade_scores
        (n,) score c_j of each grade, in R's column order.

    Returns
    -------
    FuzzyResult
        ``b = b_raw / Σ b_raw``, maximum-membership grade and ``S = Σ_j b_j c_j``.

    Warns
    -----
    FuzzyDegeneracyWarning
        ``"max_min"`` gave every b_j equal to max a_i (the evaluation only
        reflects the largest weight, not the ratings).
    """
    if operator not in OPERATORS:
        raise DataError(f"unknown fuzzy operator {operator!r}; accepted: {', '.join(map(repr, OPERATORS))}")
    Av, Rv, _, grades = _check_inputs(A, R)
    c = np.asarray(grade_scores, dtype=float)
    if c.shape != (Rv.shape[1],) or not np.isfinite(c).all():
        raise DataError(f"got {c.size} grade_scores for {Rv.shape[1]} grades; give one finite score per grade")
    raw = OPERATORS[operator](Av, Rv)
    degenerate = operator == "max_min" and bool(np.allclose(raw, Av.max(), rtol=0, atol=1e-12))
    if degenerate:
        warnings.warn(
            f"max-min composition gave every b_j = max a_i = {Av.max():g}: the result reflects only the "
            "largest weight, not the ratings; use operator='weighted_average'",
            FuzzyDegeneracyWarning,
            stacklevel=2,
        )
    b = raw / raw.sum()
    labels = pd.Index([str(g) for g in grades], name="grade")
    return FuzzyResult(
        b=pd.Series(b, index=labels, name="b"),
        b_raw=pd.Series(raw, index=labels, name="b_raw"),
        grade=labels[int(np.argmax(b))],
        score=float(b @ c),
        operator=operator,
        grade_scores=pd.Series(c, index=labels, name="score"),
        degenerate=degenerate,
    )


def fuzzy_evaluate_levels(
    groups: Mapping[str, tuple[Sequence[float] | pd.Series, pd.DataFrame | np.ndarray]],
    A: Sequence[float] | pd.Series,
    operator: str = "weighted_average",
    grade_scores: Sequence[float] = (100, 80, 60, 40, 20),
) -> MultiLevelResult:
    """Two-level fuzzy evaluation (methodology §6.2, "multi-level evaluation").

    Each group ``name -> (A_g, R_g)`` of sub-factors is evaluated; the
    normalised ``b`` vectors are stacked as the rows of the upper-level R
    (in ``groups`` order), which is evaluated with the group weights ``A``.
    Deeper hierarchies nest: a group's R can itself be a ``MultiLevelResult.R``.

    Parameters
    ----------
    groups
        Group name -> (sub-factor weights, sub-factor membership matrix); every
        R must have the same grades.
    A
        Weights of the groups (a Series is aligned by group name).
    operator, grade_scores
        As in :func:`fuzzy_evaluate`, used at both levels.
    """
    if not groups:
        raise DataError("groups is empty; give at least one group name -> (weights, R)")
    results = {str(g): fuzzy_evaluate(a, r, operator, grade_scores) for g, (a, r) in groups.items()}
    first = next(iter(results.values())).b.index
    for g, res in results.items():
        if not res.b.index.equals(first):
            raise DataError(
                f"group {g!r} has grades {list(res.b.index)}, others have {list(first)}; use the same grades"
            )
    upper = pd.DataFrame([res.b.to_numpy() for res in results.values()],
                         index=pd.Index(list(results), name="factor"), columns=first)  # fmt: skip
    return MultiLevelResult(top=fuzzy_evaluate(A, upper, operator, grade_scores), groups=results, R=upper)
