"""Results that hand out their tables as copies, and tables built on first access."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

T = TypeVar("T")


class Deferred:
    """A table (or any value) a result builds when it is first read: a function and its arguments.

    A fit computes its estimates as arrays; labelling them as pandas objects costs more than the PLS
    iterations on a survey-sized sample, and a fit in a loop (bootstrap cells, panels, studies) reads only a few
    of them.  A dataclass field of a :class:`CopiedTables` result may hold a ``Deferred`` instead of the value:
    the first read calls ``build(*args)`` and keeps the value.  ``build`` must be a module-level function (so a
    result that crosses a process boundary pickles as its arrays, not as its tables) and must not depend on
    anything but its arguments, so building twice (two threads reading at once) gives equal values.
    """

    __slots__ = ("build", "args")

    def __init__(self, build: Callable[..., Any], *args: Any) -> None:
        self.build = build
        self.args = args

    def __call__(self) -> Any:
        return self.build(*self.args)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.build, self.args))


def _rebuild(build: Callable[..., Any], args: tuple[Any, ...]) -> Deferred:
    return Deferred(build, *args)


class CopiedTables:
    """Mixin: every pandas attribute (field or cached table) is returned as a copy.

    The copy is shallow, which under pandas' copy-on-write (the default from pandas 3) costs no data copy
    until someone writes to it; a caller who edits the table they got changes neither the result nor
    anything computed from it later (a bootstrap of a fit, the intervals of a bootstrap).

    A field holding a :class:`Deferred` is built on first read and the value kept in its place (the result
    stays immutable to its readers: the value is what the eager result would have held).
    """

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if type(value) is Deferred:
            value = value()
            object.__setattr__(self, name, value)
        if isinstance(value, pd.DataFrame | pd.Series):
            return value.copy(deep=False)
        return value


def replace(result: T, **changes: Any) -> T:
    """:func:`dataclasses.replace` that carries fields still :class:`Deferred` over unbuilt.

    ``dataclasses.replace`` reads every field, which would build every deferred table of ``result``.
    """
    for f in dataclasses.fields(result):  # type: ignore[arg-type]
        if f.init and f.name not in changes:
            changes[f.name] = object.__getattribute__(result, f.name)
    return type(result)(**changes)
