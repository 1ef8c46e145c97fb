"""Checks of the bootstrap's options that need more than a type test: workers, inner resamples, strata, memory.

Each check is called once, at the edge, by the bootstrap drivers
(:func:`csi.resample.run.bootstrap`, for every estimator), so that a
bad option is one :class:`~csi.errors.BootstrapError` naming it and what is accepted, never a Python
error from deep inside a thread pool or a failed allocation of terabytes.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from csi.errors import BootstrapError, EstimationError

__all__ = [
    "MIN_INNER_RESAMPLES",
    "available_memory",
    "bootstrap_memory",
    "check_fit",
    "check_memory",
    "check_strata",
    "check_workers",
    "inner_resamples_of",
]

MIN_INNER_RESAMPLES = 25
"""Fewest inner resamples accepted for studentized (bootstrap-t) intervals.

Each replicate's standard error is the SD of its M inner statistics; its
relative sampling error is about ``1 / sqrt(2 (M - 1))`` (70 % at M = 2, 14 % at
M = 25), and bootstrap-t intervals divide by it.  Efron & Tibshirani (1993,
section 6.4) find 25 to 50 resamples the least that gives a usable standard
error, and 50 to 200 the usual range."""

MEMORY_SHARE = 0.9
"""Share of the available memory a bootstrap may plan to use before it is refused."""


def check_fit(fit: Any, what: str = "bootstrap") -> None:
    """Refuse anything but a :class:`~csi.results.fit.FitResult` as the fit to resample."""
    from csi.results.fit import FitResult

    if not isinstance(fit, FitResult):
        raise EstimationError(f"{what} needs the result of csi.fit as its first argument, got {type(fit).__name__}")


def check_workers(n_jobs: Any) -> int:
    """Number of worker threads for ``n_jobs``: ``None`` means every core; otherwise an integer >= 1.

    Raises
    ------
    EstimationError
        For anything else (``-1``, ``0``, ``"2"``, ``2.0``).
    """
    if n_jobs is None:
        return os.cpu_count() or 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs < 1:
        raise EstimationError(
            f"n_jobs must be a positive integer (number of threads) or None for every core, got {n_jobs!r}"
        )
    return int(n_jobs)


def inner_resamples_of(inner_resamples: Any, ci: str, default: int) -> int | None:
    """The inner resamples M of a nested bootstrap: ``default`` for studentized intervals, else none.

    Raises
    ------
    EstimationError
        When M is not an integer of at least :data:`MIN_INNER_RESAMPLES`.
    """
    if inner_resamples is None:
        return default if ci == "studentized" else None
    if isinstance(inner_resamples, bool) or not isinstance(inner_resamples, int | np.integer):
        raise EstimationError(f"inner_resamples must be an integer >= {MIN_INNER_RESAMPLES}, got {inner_resamples!r}")
    if inner_resamples < MIN_INNER_RESAMPLES:
        raise EstimationError(
            f"inner_resamples must be an integer >= {MIN_INNER_RESAMPLES}, got {inner_resamples!r}: with fewer inner "
            "resamples each replicate's standard error is too noisy for studentized intervals "
            "(Efron & Tibshirani 1993, section 6.4)"
        )
    return int(inner_resamples)


def check_strata(sizes: dict[Any, int], stacklevel: int = 3) -> None:
    """Refuse strata that leave nothing to resample, and warn about one-row strata.

    A stratum of one row is redrawn as itself in every replicate, so it adds
    no variability: when every stratum has one row the bootstrap distribution
    is a point (standard errors of about 1e-16 and "significant" p-values);
    when only some have, the standard errors are understated.

    Raises
    ------
    BootstrapError
        When no stratum has at least 2 rows.
    """
    single = [k for k, v in sizes.items() if v < 2]
    if not single:
        return
    shown = ", ".join(map(repr, single[:5])) + (" ..." if len(single) > 5 else "")
    if len(single) == len(sizes):
        raise BootstrapError(
            f"every stratum has a single row ({len(sizes)} strata, e.g. {shown}), so nothing is resampled and every "
            "standard error would be 0; give strata of at least 2 rows (merge small strata) or no strata"
        )
    warnings.warn(
        f"{len(single)} of {len(sizes)} strata have a single row ({shown}); they are the same in every replicate, "
        "so standard errors are understated; merge them with a neighbouring stratum",
        UserWarning,
        stacklevel=stacklevel,
    )


def available_memory() -> int | None:
    """Bytes of memory available to this process now (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def bootstrap_memory(
    n_rows: int, n_resamples: int, n_statistics: int, chunk_size: int, workers: int, inner: int | None = None
) -> tuple[int, int]:
    """Estimated bytes a bootstrap allocates beyond the fitted data: ``(per_resample, fixed)``.

    Per resample: its statistics (float64), held about three times over (the
    draws, the sorted copies of the interval summaries, the table), twice more
    with a nested bootstrap (its standard errors).  Fixed, per worker: a chunk
    of draw frequencies, ``chunk_size x n`` (one byte each when they are
    streamed, :func:`csi.resample.stream.chunk_counts`, else float64 plus a
    block's drawn indices), one replicate's draws, a chunk of rows of the
    moment basis (:data:`csi.core.moments.ROW_CHUNK_BYTES`), and with a nested
    bootstrap its ``inner x n`` indices and frequencies.
    """
    from csi.core.moments import ROW_CHUNK_BYTES
    from csi.resample.plans import BLOCK
    from csi.resample.stream import STREAM_ROWS

    per = 8 * n_statistics * (3 + (2 if inner else 0))
    counts = chunk_size if n_rows > STREAM_ROWS else 8 * (chunk_size + BLOCK)
    worker = n_rows * (counts + 16 + (16 * inner if inner else 0)) + 2 * ROW_CHUNK_BYTES
    return per, workers * worker


def check_memory(
    n_rows: int,
    n_resamples: int,
    n_statistics: int,
    chunk_size: int,
    workers: int,
    inner: int | None = None,
    available: int | None = None,
) -> None:
    """Refuse a bootstrap whose estimated memory (:func:`bootstrap_memory`) exceeds what is available.

    ``available`` defaults to :func:`available_memory`; when that is unknown nothing is checked.

    Raises
    ------
    BootstrapError
        Naming the number of resamples, the estimate, the memory available and the most resamples that fit.
    """
    avail = available_memory() if available is None else available
    if avail is None:
        return
    per, fixed = bootstrap_memory(n_rows, n_resamples, n_statistics, chunk_size, workers, inner)
    need = per * n_resamples + fixed
    budget = MEMORY_SHARE * avail
    if need <= budget:
        return
    most = int(max(budget - fixed, 0) // per)
    raise BootstrapError(
        f"n_resamples={n_resamples} needs about {_size(need)} of memory ({n_statistics} statistics per resample, "
        f"{n_rows} rows), more than the {_size(avail)} available; use at most about {most} resamples"
        + (" or fewer inner resamples" if inner else "")
        + (", fewer workers (n_jobs) or a smaller chunk_size" if fixed > budget / 2 else "")
    )


def _size(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} PiB"  # pragma: no cover - the loop returns
