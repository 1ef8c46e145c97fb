"""Draw frequencies of a range of replicates in compact integers, drawn one replicate at a time.

:meth:`ResamplingPlan.counts <csi.resample.plans.ResamplingPlan.counts>` draws a
whole block of :data:`~csi.resample.plans.BLOCK` replicates' row indices at
once, ``BLOCK x n`` integers (512 MiB at a million respondents), and returns
float counts of the same size.  :func:`chunk_counts` gives the same counts
with memory ``(stop - start) x n`` bytes plus one replicate's draws: it
replays the plan's seeded stream in pieces (NumPy's bounded-integer generator
yields the same numbers whether a stream is drawn in one call or in several
consecutive ones; ``tests/test_bad_input_memory.py`` checks the equality for
every plan kind) and stores counts as ``uint8`` while every count fits, wider
integers otherwise.  The moment product (:func:`csi.core.moments.moment_sums`)
converts them a chunk of rows at a time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from csi.resample.plans import BLOCK, OrdinaryPlan, ResamplingPlan, StratifiedPlan

__all__ = ["STREAM_ROWS", "chunk_counts"]

STREAM_ROWS = 32_768
"""Plans of more rows than this are replayed one replicate at a time; below it a whole
block's draws take at most 16 MiB, and drawing it at once is faster."""


def chunk_counts(
    plan: ResamplingPlan, start: int, stop: int, dtype: type = np.float64
) -> NDArray[np.integer] | NDArray[np.floating]:
    """Draw frequencies ``F`` (stop - start, n) of replicates ``[start, stop)``, equal to ``plan.counts(start, stop)``.

    Ordinary and stratified plans of more than :data:`STREAM_ROWS` rows are
    replayed one replicate at a time into compact integers; other plans (fixed
    indices, jackknife, subclasses) and smaller ones come from
    ``plan.counts(start, stop, dtype)``.
    """
    kind = type(plan)
    if (kind is not OrdinaryPlan and kind is not StratifiedPlan) or plan.n <= STREAM_ROWS:
        return plan.counts(start, stop, dtype)
    plan._check_range(start, stop)
    out = np.zeros((stop - start, plan.n), dtype=np.uint8)
    for k in range(start // BLOCK, -(-stop // BLOCK)):
        lo, hi = max(start, k * BLOCK), min(stop, (k + 1) * BLOCK)
        rng = plan._block_rng(k)
        # Replicates of the block before `lo` are drawn (to advance the stream) but not counted.
        wanted = range(lo - k * BLOCK, hi - k * BLOCK)
        if kind is OrdinaryPlan:
            for r in range(wanted.stop):
                draws = rng.integers(0, plan.n, size=plan.n, dtype=np.intp)
                if r in wanted:
                    out = _store(out, k * BLOCK + r - start, slice(None), np.bincount(draws, minlength=plan.n))
        else:  # stratum by stratum, each stratum's (BLOCK, size) draws replica by replica, as StratifiedPlan draws
            for rows in plan._rows:
                for r in range(BLOCK):
                    picks = rng.integers(0, rows.size, size=rows.size, dtype=np.intp)
                    if r in wanted:
                        out = _store(out, k * BLOCK + r - start, rows, np.bincount(picks, minlength=rows.size))
    return out


def _store(out: NDArray[np.integer], row: int, cols: slice | NDArray[np.intp], counts: NDArray[np.int64]) -> NDArray:
    """``out[row, cols] = counts``, widening ``out`` first when a count does not fit its dtype."""
    top = int(counts.max(initial=0))
    if top > np.iinfo(out.dtype).max:
        out = out.astype(np.uint16 if top <= np.iinfo(np.uint16).max else np.int64)
    out[row, cols] = counts
    return out
