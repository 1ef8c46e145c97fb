"""Shared helpers of the benchmark scripts: timing, peak memory, table printing."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Sequence

from csi.bench.speed import median_seconds  # noqa: F401 - re-exported for the scripts


def once_seconds(fn: Callable[[], object]) -> tuple[float, object]:
    """Wall time and result of one call."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]], text: Sequence[str] = ()) -> None:
    """A plain aligned text table; columns named in ``text`` are left-aligned, the others right-aligned."""
    cells = [[str(h) for h in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    left = [i == 0 or h in text for i, h in enumerate(header)]
    for k, r in enumerate(cells):
        print("  ".join(c.ljust(w) if lf else c.rjust(w) for c, w, lf in zip(r, widths, left)))
        if k == 0:
            print("  ".join("-" * w for w in widths))
