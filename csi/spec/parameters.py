"""The one definition of parameter labels and operators (lavaan's ``lhs op rhs`` form).

Every table of estimates, every bootstrap draw column and every report row names a parameter by
:func:`parameter_label`; :data:`OPERATORS` lists the operators a label may hold.
"""

from __future__ import annotations

OPERATORS: dict[str, str] = {
    "~": "direct effect (path coefficient): target ~ source",
    "=~": "loading: construct =~ item",
    "<~": "outer weight: construct <~ item",
    "~~": "(co)variance (CB-SEM): a ~~ b",
    "r2": "R² of an endogenous construct: construct r2 construct",
    "ind": "indirect effect: target ind source",
    "total": "total effect: target total source",
    "index": "0-100 index of a construct: construct index construct",
}
"""Operators of the parameter table and what their rows hold."""


def parameter_label(lhs: str, op: str, rhs: str) -> str:
    """The one label of a parameter, e.g. ``"SAT ~ VAL"``, ``"SAT =~ sat1"`` or ``"SAT index SAT"``."""
    return f"{lhs} {op} {rhs}"


def index_label(construct: str) -> str:
    """The label of a construct's 0-100 index (a bootstrap draw column): ``"SAT index SAT"``."""
    return parameter_label(construct, "index", construct)
