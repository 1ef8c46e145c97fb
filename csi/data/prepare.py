"""Validate survey data against a model and return the item matrix the kernels use.

This is the "validate at the edge" step of the architecture: everything after
:func:`prepare_items` can assume a finite float matrix in ``spec.item_names``
order, on the items' native scales, with reverse-worded items recoded.  Every
problem a survey file can have is reported as a :class:`~csi.errors.DataError`
that names the column, the row label and the value, never as a NumPy
traceback or a silent ``NaN``.

Conventions follow the project methodology (section 1, "Data conventions"):
raw responses stay on their native scale; codes listed in an item's
``missing_codes`` (e.g. 98 = "don't know") are missing; reverse-worded items
are recoded ``x' = scale_min + scale_max - x``; the default missing-data
treatment inside an estimation sample is listwise deletion, with item-mean
imputation as an alternative.  Unlike the methodology's engine default, this
function's default policy is ``"error"``: a missing value is reported and the
caller chooses a treatment explicitly, and the chosen treatment is recorded on
the result.  The estimators default to :data:`DEFAULT_MISSING` (EM) instead;
the moment methods (pairwise, EM, multiple imputation) are carried out by the
estimators (:mod:`csi.estimators.missing`), this function only checks that
they can run.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from csi.data.checks import check_prepared
from csi.data.columns import column_to_float
from csi.errors import DataError
from csi.spec.model import Item, ModelSpec

MISSING_POLICIES: dict[str, str] = {
    "error": "stop with an error naming the columns that have missing values",
    "listwise": "drop every respondent with a missing value in any item",
    "mean": "replace a missing value by the item's (weighted) mean over the respondents who answered it",
    "pairwise": "moments from the pairwise-complete rows of each pair of items (available-case analysis; "
    "consistent under MCAR only)",
    "em": "maximum-likelihood means and covariances by EM under multivariate normality (valid under MAR); "
    "scores from the conditional means of the missing answers",
    "mi": "multiple imputation: completed data sets drawn from EM fits of bootstrap samples (Honaker & King "
    "2010), each fitted, point estimates and indices pooled by Rubin's rules",
}
"""Accepted values of ``missing=``; one name per choice, unknown names are rejected."""

DEFAULT_MISSING = "em"
"""The missing-data method of :func:`csi.fit`, :func:`csi.index_panel` and ``--missing`` on the command line.

EM: valid when answers are missing at random (MAR), uses every answer, and
with no missing value gives exactly the complete-data fit.  Listwise deletion
(the methodology's engine default) discards a respondent for a single
missing answer (77 % of the respondents of the reference file
``ecsi_satisfaction_missing.csv``) and is biased under MAR.  The price is run
time when data do have missing cells: EM is re-run inside every bootstrap
replicate.  :func:`prepare_items` itself keeps ``"error"`` as its default.
"""

MOMENT_METHODS = frozenset({"pairwise", "em", "mi"})
"""Methods that keep missing cells (``NaN``) in :attr:`PreparedData.X` for the estimator's moment step."""


@dataclass(frozen=True)
class PreparedData:
    """Survey items validated against a model, ready for estimation.

    Attributes
    ----------
    X
        ``(n_used, p)`` read-only float64 array, columns in ``item_names``
        order; missing codes removed, reverse items recoded, missing values
        treated by ``missing``.  Under the moment methods
        (:data:`MOMENT_METHODS`: ``pairwise``, ``em``, ``mi``) missing cells
        stay ``NaN`` and the estimator treats them; rows without any answer
        are dropped.
    row_labels
        Index labels (from the input frame) of the ``n_used`` rows of ``X``.
    item_names
        Column order of ``X`` (``spec.item_names``).
    n_input
        Rows in the input frame.
    n_dropped
        Rows removed (listwise deletion); ``n_input - n_used``.
    n_missing
        Per item (``item_names`` order), how many values were missing in the
        input, missing codes included, before the policy was applied.
    weights
        ``(n_used,)`` read-only float64 respondent weights, finite and > 0, as
        given (not rescaled), or ``None`` for equal weights.
    missing
        The missing-data policy applied (a key of :data:`MISSING_POLICIES`).
    raw
        When the input had missing values: the ``(n_answering, p)`` item
        matrix before the policy, with ``NaN`` for missing cells, over the
        rows with at least one answer (for diagnostics); else ``None``.
    raw_weights
        Respondent weights of the rows of ``raw`` (``None`` for equal weights).
    """

    X: np.ndarray
    row_labels: pd.Index
    item_names: tuple[str, ...]
    n_input: int
    n_dropped: int
    n_missing: tuple[int, ...]
    weights: np.ndarray | None
    missing: str
    raw: np.ndarray | None = None
    raw_weights: np.ndarray | None = None

    @property
    def n_used(self) -> int:
        """Rows of ``X``."""
        return int(self.X.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """``X`` as a new DataFrame indexed by ``row_labels``."""
        return pd.DataFrame(self.X.copy(), index=self.row_labels, columns=list(self.item_names))


# --------------------------------------------------------------------------- helpers


def as_frame(data: object, what: str = "survey data") -> pd.DataFrame:
    """The caller's table as a DataFrame (never copied, never modified)."""
    # A DataFrame is the contract; a mapping of column name -> values is converted
    # because it carries column names.  A bare array is refused: matching columns
    # to items by position is exactly the silent error this layer exists to stop.
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data))
        except (ValueError, TypeError) as exc:
            raise DataError(f"could not turn the mapping of columns into a table: {exc}") from None
    hint = ""
    if isinstance(data, np.ndarray | list | tuple):
        hint = "; wrap an array with pd.DataFrame(array, columns=spec.item_names) so columns are matched by name"
    raise DataError(
        f"{what} must be a pandas DataFrame (or a mapping of column name -> values), got {type(data).__name__}{hint}"
    )


def _closest(name: str, columns: Sequence[object]) -> list[str]:
    lowered = {str(c).lower(): str(c) for c in columns}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    return [lowered[h] for h in hits]


class _ItemPlan(NamedTuple):
    """What :func:`prepare_items` needs of a model, computed once per model object (a fit in a loop re-reads
    the same model, and walking its items costs more than checking a survey-sized block)."""

    names: tuple[str, ...]  # spec.item_names
    index: pd.Index  # the same names, to find them among the data's columns in one call
    everything: np.ndarray  # 0 .. p-1: the positions when the data hold exactly the items, in order
    lo: np.ndarray  # (p,) scale minimum, -inf without a scale
    hi: np.ndarray  # (p,) scale maximum, +inf without a scale
    codes: tuple[tuple[np.ndarray, list[int]], ...]  # missing codes and the item columns that declare them
    rev: np.ndarray  # reverse-worded items with a scale
    min_rows: tuple[int, int, int]


_PLANS: dict[int, tuple[ModelSpec, _ItemPlan]] = {}


def _plan(spec: ModelSpec) -> _ItemPlan:
    # Keyed by identity; the entry holds the model itself, so its id cannot be reused while the entry lives.
    got = _PLANS.get(id(spec))
    if got is not None and got[0] is spec:
        return got[1]
    items = spec.items
    codes: dict[tuple[float, ...], list[int]] = {}
    for h, item in enumerate(items):
        if item.missing_codes:
            codes.setdefault(tuple(item.missing_codes), []).append(h)
    names = spec.item_names
    plan = _ItemPlan(
        names=names,
        index=pd.Index(list(names)),
        everything=np.arange(len(names)),
        lo=np.array([it.scale_min if it.has_scale else -np.inf for it in items], dtype=float),
        hi=np.array([it.scale_max if it.has_scale else np.inf for it in items], dtype=float),
        codes=tuple((np.asarray(code, dtype=float), cols) for code, cols in codes.items()),
        rev=np.flatnonzero([it.reverse and it.has_scale for it in items]),
        min_rows=min_rows(spec),
    )
    for arr in (plan.everything, plan.lo, plan.hi, plan.rev):
        arr.setflags(write=False)
    if len(_PLANS) > 64:  # bound the cache in long sessions that build many models
        _PLANS.clear()
    _PLANS[id(spec)] = (spec, plan)
    return plan


def _item_positions(spec: ModelSpec, frame: pd.DataFrame) -> np.ndarray | None:
    """Position of every item's column in ``frame`` when the columns are unique and hold every item, else
    None (then :func:`_check_columns` says what is wrong, or the items are found one by one)."""
    plan = _plan(spec)
    cols = frame.columns
    if not (cols.is_unique and (cols.dtype == object or pd.api.types.is_string_dtype(cols.dtype))):
        return None  # (date or number labels could be matched to item names by conversion)
    if cols.equals(plan.index):
        return plan.everything
    pos = cols.get_indexer(plan.index)
    return pos if (pos >= 0).all() else None


def _check_columns(spec: ModelSpec, frame: pd.DataFrame) -> None:
    if _item_positions(spec, frame) is not None:
        return
    columns = list(frame.columns)
    present = set(columns)
    absent = [n for n in spec.item_names if n not in present]
    if absent:
        parts = []
        for n in absent:
            near = _closest(n, columns)
            parts.append(f"{n!r} (closest: {', '.join(map(repr, near))})" if near else f"{n!r} (no similar column)")
        raise DataError(
            f"the data lack {len(absent)} item column(s) of model {spec.name!r}: {'; '.join(parts)}. "
            "Rename the columns or bind the model to your names with spec.with_items({...})"
        )
    dup = sorted({n for n in spec.item_names if columns.count(n) > 1})
    if dup:
        raise DataError(f"the data have more than one column named {', '.join(map(repr, dup))}; names must be unique")


def _item_column(item: Item, series: pd.Series, labels: pd.Index) -> np.ndarray:
    x = column_to_float(series, allow_bool=item.type == "binary")
    inf = np.isinf(x)
    if inf.any():
        pos = int(np.argmax(inf))
        raise DataError(f"column {item.name!r} holds an infinite value {x[pos]} (first at row {labels[pos]!r})")
    if item.missing_codes:
        x[np.isin(x, np.asarray(item.missing_codes, dtype=float))] = np.nan
    if item.has_scale:
        with np.errstate(invalid="ignore"):
            out = (x < item.scale_min) | (x > item.scale_max)
        if out.any():
            pos = int(np.argmax(out))
            codes = f"; declared missing codes: {list(item.missing_codes)}" if item.missing_codes else ""
            raise DataError(
                f"column {item.name!r} holds {x[pos]:g} at row {labels[pos]!r}, outside the item's scale "
                f"[{item.scale_min:g}, {item.scale_max:g}] ({int(out.sum())} value(s) out of range){codes}. "
                "Declare codes such as 98/99 as missing_codes or correct the scale bounds"
            )
        if item.reverse:
            x = item.scale_min + item.scale_max - x
    return x


def _plain_numeric_block(frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray | None:
    """The item columns as one new float64 array when every one has a plain NumPy int/float dtype, else None.

    One conversion of the block instead of one pandas Series per column; the
    per-column checks of :func:`column_to_float` are only needed for the other
    dtypes (object, bool, nullable, categorical, text, ...).
    """
    if len(positions) == frame.shape[1] and np.array_equal(positions, np.arange(frame.shape[1])):
        whole = frame.to_numpy()  # a view for a frame of one numeric dtype
        if whole.dtype.kind in "iuf":
            return whole.astype(np.float64, copy=True)
    kinds = [dt.kind if isinstance(dt, np.dtype) else "O" for dt in frame.dtypes.iloc[positions]]
    if not all(k in "iuf" for k in kinds):
        return None
    return frame.take(positions, axis=1).to_numpy(dtype=np.float64, copy=True)


def _item_block(spec: ModelSpec, frame: pd.DataFrame, labels: pd.Index) -> np.ndarray:
    """``(n, p)`` float item matrix: missing codes to NaN, scales checked, reverse items recoded.

    Same checks, order and messages as :func:`_item_column` column by column
    (the first column in item order with a problem is reported), in one
    vectorised pass over plain numeric columns.
    """
    items = spec.items
    plan = _plan(spec)
    positions = _item_positions(spec, frame)
    if positions is None:  # repeated columns that are not items: find the items one by one
        where = {c: i for i, c in enumerate(frame.columns)}
        positions = np.array([where[it.name] for it in items], dtype=np.intp)
    X = _plain_numeric_block(frame, positions)
    if X is None:
        X = np.empty((len(frame), len(items)), dtype=float)
        for h, item in enumerate(items):
            X[:, h] = _item_column(item, frame[item.name], labels)
        return X
    inf = np.isinf(X)
    for code, cols in plan.codes:
        sub = X[:, cols]
        sub[np.isin(sub, code)] = np.nan
        X[:, cols] = sub
    lo, hi = plan.lo, plan.hi
    with np.errstate(invalid="ignore"):
        out = ((X < lo) | (X > hi)) & ~inf
    bad = inf.any(axis=0) | out.any(axis=0)
    if bad.any():
        h = int(np.argmax(bad))
        # The column-by-column routine gives this column's first problem in its own order.
        _item_column(items[h], frame[items[h].name], labels)
        raise AssertionError(f"column {items[h].name!r} failed the block check only")  # pragma: no cover
    rev = plan.rev
    if rev.size:
        X[:, rev] = (lo[rev] + hi[rev]) - X[:, rev]
    return X


def _weights(weights: object, frame: pd.DataFrame) -> np.ndarray:
    labels = frame.index
    if isinstance(weights, str):
        if weights not in frame.columns:
            near = _closest(weights, list(frame.columns))
            hint = f" (closest: {', '.join(map(repr, near))})" if near else ""
            raise DataError(f"weights column {weights!r} is not in the data{hint}")
        series = frame[weights]
        if isinstance(series, pd.DataFrame):
            raise DataError(f"the data have more than one column named {weights!r}")
    elif isinstance(weights, pd.Series):
        series = weights
        if not series.index.equals(labels):
            if series.index.has_duplicates or set(series.index) != set(labels):
                raise DataError(
                    "a weights Series must be indexed by the same row labels as the data "
                    f"({len(series)} weights vs {len(labels)} rows)"
                )
            series = series.reindex(labels)
        series = series.rename("weights")
    else:
        arr = np.asarray(weights)
        if arr.ndim != 1:
            raise DataError(f"weights must be one-dimensional, got shape {arr.shape}")
        series = pd.Series(arr, index=labels if len(arr) == len(labels) else None, name="weights")
    if len(series) != len(labels):
        raise DataError(f"got {len(series)} weights for {len(labels)} rows of data; give one weight per respondent")
    w = column_to_float(series.set_axis(labels), allow_bool=False, role="weights column")
    bad = ~np.isfinite(w) | ~(w > 0)
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(
            f"respondent weights must be finite and > 0; got {w[pos]} at row {labels[pos]!r} "
            f"({int(bad.sum())} invalid weight(s))"
        )
    return w


def min_rows(spec: ModelSpec) -> tuple[int, int, int]:
    """Smallest sample size the model can be estimated on.

    The largest least-squares problem in PLS is either an inner regression of
    an endogenous construct on its ``k_inner`` predecessors or a mode-B block
    regression on ``k_modeb`` items.  With an intercept, ``k + 1`` parameters
    plus at least one residual degree of freedom need ``n >= k + 2``; ``3`` is a
    floor so correlations and bootstrap resamples are not degenerate.

    Returns
    -------
    (n_min, k_inner, k_modeb)
    """
    k_inner = max((len(spec.predecessors(c)) for c in spec.construct_names), default=0)
    k_modeb = max((len(c.items) for c in spec.constructs if c.mode == "B"), default=0)
    return max(3, max(k_inner, k_modeb) + 2), k_inner, k_modeb


def _missing_error(names: Sequence[str], X: np.ndarray, labels: pd.Index) -> DataError:
    parts = []
    for h in np.flatnonzero(np.isnan(X).any(axis=0)):
        col = np.isnan(X[:, h])
        parts.append(f"{names[h]!r}: {int(col.sum())} missing, first at row {labels[int(np.argmax(col))]!r}")
    accepted = ", ".join(f"{k!r} ({v})" for k, v in MISSING_POLICIES.items())
    return DataError(
        f"missing values (empty cells or declared missing codes) in {len(parts)} item column(s): "
        f"{'; '.join(parts)}. Choose a treatment with missing=...; accepted: {accepted}"
    )


def _check_pairs(names: Sequence[str], observed: np.ndarray, missing: str) -> None:
    """Every pair of items must be answered together by at least two respondents for a moment method."""
    joint = observed.T.astype(np.int64) @ observed.astype(np.int64)
    j, k = np.nonzero(np.triu(joint < 2))
    if j.size:
        pairs = ", ".join(f"{names[a]!r} & {names[b]!r} ({joint[a, b]})" for a, b in zip(j[:5], k[:5]))
        raise DataError(
            f"missing={missing!r} needs every pair of items answered together by at least 2 respondents; "
            f"{j.size} pair(s) are not (respondents answering both): {pairs}. Use missing='listwise' or "
            "'mean', or drop one item of each pair"
        )


def _column_means(X: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    observed = ~np.isnan(X)
    ww = np.ones(X.shape[0]) if w is None else w
    num = np.where(observed, X, 0.0).T @ ww
    den = observed.T.astype(float) @ ww
    return num / den


# ------------------------------------------------------------------------- public


def prepare_items(
    spec: ModelSpec,
    data: pd.DataFrame | Mapping[str, object],
    *,
    missing: str = "error",
    weights: str | Sequence[float] | np.ndarray | pd.Series | None = None,
) -> PreparedData:
    """Check survey data against a model and build the item matrix.

    Parameters
    ----------
    spec
        The model; its items give column names, scales, reverse flags and
        missing codes.
    data
        One row per respondent.  A pandas DataFrame, or a mapping of column
        name -> values (turned into one).  Extra columns are ignored.  Never
        modified.
    missing
        Missing-data policy, one of :data:`MISSING_POLICIES`: ``"error"``
        (default), ``"listwise"``, ``"mean"`` (methodology section 1), or
        one of the moment methods ``"pairwise"``, ``"em"``, ``"mi"``, which
        leave missing cells ``NaN`` for the estimator (after checking that
        every item is observed and every pair of items answered together
        by at least two respondents).
    weights
        Respondent weights: the name of a column of ``data``, or one value per
        row (array, list, or a Series indexed like ``data``).  Must be finite
        and > 0.  Under ``missing="mean"`` the imputed item means are weighted.

    Returns
    -------
    PreparedData

    Raises
    ------
    DataError
        For anything the estimators could not use: a missing or duplicated
        column (with the closest existing names), non-numeric or infinite
        values, values outside an item's theoretical scale, missing values
        under ``missing="error"``, invalid weights, a constant item, or fewer
        rows than :func:`min_rows`.

    Notes
    -----
    Order of the checks: columns; per item dtype, infinities, missing codes,
    scale range and reverse recoding (methodology section 1); weights; the
    missing-data policy; sample size; constant items (on the rows used, since
    a constant column makes standardisation divide by zero).
    """
    if missing not in MISSING_POLICIES:
        raise DataError(f"unknown missing-data policy {missing!r}; accepted: {', '.join(map(repr, MISSING_POLICIES))}")
    frame = as_frame(data)
    _check_columns(spec, frame)
    labels = frame.index
    n_input = len(frame)
    plan = _plan(spec)
    names = plan.names

    X = _item_block(spec, frame, labels)
    w = None if weights is None else _weights(weights, frame)

    isnan = np.isnan(X)
    n_missing = tuple(isnan.sum(axis=0).tolist())
    keep = np.ones(n_input, dtype=bool)
    raw = raw_w = None
    if isnan.any():
        if missing == "error":
            raise _missing_error(names, X, labels)
        answering = ~isnan.all(axis=1)
        raw = X[answering]
        raw_w = None if w is None else w[answering]
        empty = [names[h] for h in np.flatnonzero(isnan.all(axis=0))]
        if empty and missing != "listwise":
            raise DataError(
                f"item column(s) {', '.join(map(repr, empty))} have no observed values, so "
                f"missing={missing!r} cannot run; drop the item from the model or fix the data"
            )
        if missing == "listwise":
            keep = ~isnan.any(axis=1)
        elif missing == "mean":
            X = np.where(isnan, _column_means(X, w)[None, :], X)
        else:  # the moment methods keep NaN; a row without any answer carries no information
            keep = answering
            _check_pairs(names, ~isnan[answering], missing)
    every = bool(keep.all())
    X = X if every else X[keep]  # no copy of long data when every row is kept
    # A mask on a RangeIndex costs more than this fit's PLS iterations; it would give the same range.
    used_labels = labels.view() if every and isinstance(labels, pd.RangeIndex) else labels[keep]
    if w is not None:
        w = w[keep]

    n_min, k_inner, k_modeb = plan.min_rows
    if X.shape[0] < n_min:
        after = f" after listwise deletion of {n_input - X.shape[0]} row(s)" if missing == "listwise" else ""
        raise DataError(
            f"{X.shape[0]} usable row(s){after}, but model {spec.name!r} needs at least {n_min}: "
            f"its largest inner regression has {k_inner} predictor(s) and its largest mode-B block has "
            f"{k_modeb} item(s), and n must be at least max(3, k + 2)"
        )
    if raw is not None and missing in MOMENT_METHODS:
        with np.errstate(invalid="ignore"):
            spread = np.nanmax(X, axis=0) - np.nanmin(X, axis=0)
        first = X[np.argmax(~np.isnan(X), axis=0), np.arange(X.shape[1])]
    else:
        spread, first = np.ptp(X, axis=0), X[0]
    constant = np.flatnonzero(spread == 0)
    if constant.size:
        parts = [f"{names[h]!r} (always {first[h]:g})" for h in constant]
        raise DataError(
            f"item column(s) {', '.join(parts)} do not vary over the {X.shape[0]} rows used; a constant item "
            "has no correlation with anything, so drop it from the model"
        )
    check_prepared(spec, X, w)
    for arr in (raw, raw_w):
        if arr is not None:
            arr.setflags(write=False)

    X.setflags(write=False)
    if w is not None:
        w.setflags(write=False)
    return PreparedData(
        X=X,
        row_labels=used_labels,
        item_names=names,
        n_input=n_input,
        n_dropped=n_input - X.shape[0],
        n_missing=n_missing,
        weights=w,
        missing=missing,
        raw=raw,
        raw_weights=raw_w,
    )
