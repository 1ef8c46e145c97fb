"""Where a panel's rows come from when its cells are built: a data frame in memory (:class:`FrameRows`).

A row source hands :func:`csi.index_panel` the work of each stage as ``(function, tasks)``: the company cells,
the pooled industries and the national fits.  Every task carries its own rows (a cell is shipped once, with its
task), so tasks run anywhere (:mod:`csi.resample.scheduler`) in any order.  The partitioned-Parquet source
(:mod:`csi.index.partitioned`) hands over tasks that read their rows on the worker instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from csi.index.cells import CellResult, CellTask, run_cell
from csi.index.hierarchy import NATIONAL, Hierarchy
from csi.index.paired import PairedCell
from csi.index.pooled import PooledTask, pooled_tasks, run_pooled
from csi.resample.scheduler import TaskError

Work = tuple[Callable[[Any], Any], list[Any]]
"""A stage's work: the function a worker runs and its tasks, in the order the results are assembled."""


def failed_cell(task: Any, error: TaskError) -> CellResult | list[CellResult]:
    """The result of a task that raised (``on_error`` of the executor): its cell(s) ``failed``, with the reason.

    A pooled industry's task gives the industry and each of its companies, like :func:`run_pooled`.
    """
    if hasattr(task, "failed"):
        return task.failed(error)
    reason = f"the cell's task raised {error}"
    if isinstance(task, PooledTask):
        t = task.cell
        sizes = {c: int((task.companies == c).sum()) for c in sorted(set(task.companies))}
        return pooled_failure(t.unit, t.wave, len(t.data), sizes, reason)
    return CellResult(task.level, task.unit, task.wave, "failed", len(task.data), message=reason)


def pooled_failure(industry: str, wave: str, n: int, sizes: dict[str, int], reason: str) -> list[CellResult]:
    """The industry's result and its companies' (sorted) when its pooled task raised."""
    head = CellResult("industry", industry, wave, "failed", n, message=reason)
    return [head, *(CellResult("company", c, wave, "failed", k, message=f"pooled fit of industry {industry!r} "
                               f"failed: {reason}") for c, k in sizes.items())]  # fmt: skip


@dataclass(frozen=True)
class FrameRows:
    """A panel held in memory: the items (and respondent weight) and each row's company, wave and industry key."""

    items: pd.DataFrame
    company: pd.Series
    wave: pd.Series
    industry: pd.Series | None
    paired: Mapping[tuple[str, str], PairedCell] = field(default_factory=dict)
    """The joint resampling plans of cells with respondents re-interviewed across waves (by company or
    pooled industry and wave; :mod:`csi.index.paired`)."""

    def company_tasks(self, hierarchy: Hierarchy, common: dict[str, Any]) -> Work:
        """One :class:`CellTask` per company and wave, waves in order, companies sorted."""
        groups = self.items.groupby([self.company, self.wave], sort=False).indices
        paired = self.paired
        return run_cell, [
            CellTask(level="company", unit=u, wave=w, data=self.items.iloc[paired[(u, w)].rows],
                     plan=paired[(u, w)].plan, **common)
            if (u, w) in paired
            else CellTask(level="company", unit=u, wave=w, data=self.items.iloc[groups[(u, w)]], **common)
            for w in hierarchy.waves
            for u in hierarchy.units[("company", w)]
        ]  # fmt: skip

    def pooled_tasks(self, hierarchy: Hierarchy, common: dict[str, Any]) -> Work:
        """One :class:`PooledTask` per industry and wave."""
        assert self.industry is not None
        return run_pooled, pooled_tasks(self.items, self.company, self.wave, self.industry, hierarchy, common,
                                        self.paired)  # fmt: skip

    def national_tasks(self, hierarchy: Hierarchy, common: dict[str, Any]) -> Work:
        """One national :class:`CellTask` per wave, stratified by company."""
        tasks = []
        waves, companies = self.wave.to_numpy(), self.company.to_numpy()
        for w in hierarchy.waves:
            rows = np.flatnonzero(waves == w)
            tasks.append(CellTask(level=NATIONAL, unit=NATIONAL, wave=w, data=self.items.iloc[rows],
                                  strata=companies[rows], **common))  # fmt: skip
        return run_cell, tasks
