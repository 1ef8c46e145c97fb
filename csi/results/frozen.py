"""Results that hand out their tables as copies."""

from __future__ import annotations

from typing import Any

import pandas as pd


class CopiedTables:
    """Mixin: every pandas attribute (field or cached table) is returned as a copy.

    The copy is shallow, which under pandas' copy-on-write (the default from pandas 3) costs no data copy
    until someone writes to it; a caller who edits the table they got changes neither the result nor
    anything computed from it later (a bootstrap of a fit, the intervals of a bootstrap).
    """

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if isinstance(value, pd.DataFrame | pd.Series):
            return value.copy(deep=False)
        return value
