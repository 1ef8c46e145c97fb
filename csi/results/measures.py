"""Fit measures: a float Series that prints as lavaan's ``fitMeasures`` does, not in scientific notation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


def _number(x: float) -> str:
    # Counts (df, npar, ntotal) print as integers, everything else with lavaan's three decimals,
    # except p-values and tiny values, which keep their significant digits.
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):d}"
    if abs(x) < 0.001:
        return f"{x:.3g}"
    return f"{x:.3f}"


class FitMeasures(pd.Series):
    """The fit measures of a CB-SEM fit (``measure -> value``), floats throughout.

    Behaves as a :class:`pandas.Series` in every respect; only its text and
    HTML display are formatted (``print(fit.fit_measures)`` used to show
    ``3.229676e+03`` for a chi-square of 3229.676).
    """

    @property
    def _constructor(self) -> type[FitMeasures]:
        return FitMeasures

    def __repr__(self) -> str:
        with pd.option_context("display.float_format", _number):
            return super().__repr__()

    def _repr_html_(self) -> str:
        with pd.option_context("display.float_format", _number):
            return self.to_frame()._repr_html_()  # type: ignore[operator]


def fit_measures_series(values: Mapping[str, Any]) -> FitMeasures:
    """The :class:`FitMeasures` of ``values`` (name ``value``, index named ``measure``)."""
    return FitMeasures(dict(values), name="value", dtype=float).rename_axis("measure")
