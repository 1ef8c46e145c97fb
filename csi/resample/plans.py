"""Resampling plans: which rows each bootstrap replicate draws, reproducibly.

A plan answers one question: for replicates ``[start, stop)``, how often is each
of the ``n`` rows drawn?  The answer is a frequency matrix ``F`` of shape
``(stop - start, n)`` that :func:`csi.core.moments.resample_moments` turns into
moment matrices with one matrix product (Efron & Tibshirani 1993, section 6.2;
Davison & Hinkley 1997, section 2.4, "frequency array").

Seeding contract
----------------
Random plans (:class:`OrdinaryPlan`, :class:`StratifiedPlan`, :class:`ClusterPlan`) cut the
replicates into fixed blocks of :data:`BLOCK` = 64 consecutive replicates.
Block ``k`` (replicates ``64 k ... 64 k + 63``) draws all of its indices from
its own generator::

    np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(entropy, spawn_key=spawn_key + (k,))))

where ``entropy`` and ``spawn_key`` come from the user's seed (see
:func:`seed_sequence`).  Within a block the draws are one call
``rng.integers(0, m, size=(64, m))`` per stratum (``m`` rows in the stratum;
the whole sample for :class:`OrdinaryPlan`), row ``j`` of the result being
replicate ``64 k + j``.  Hence replicate ``r``'s indices depend only on
``(seed, r)`` -- never on the chunk size, the number of workers, the machine or
on ``n_resamples`` -- and any chunking ``[0, a) + [a, b) + ...`` reproduces the
same replicates bit for bit (architecture principle 6).

``seed`` may be

* an ``int`` >= 0: ``entropy = seed``;
* ``None``: fresh OS entropy from ``np.random.SeedSequence()``; the drawn
  entropy is **recorded** in :meth:`describe` so the run can be repeated by
  passing it back as the seed;
* a ``np.random.SeedSequence``: its entropy and spawn key are used;
* a ``np.random.Generator``: one 128-bit integer is drawn from it and used as
  the entropy (recorded, so the run is repeatable without the generator).

Changing :data:`BLOCK`, the bit generator or the draw call changes every
replicate; treat them as part of the file format of a seed.

:class:`FixedPlan` replays user-given indices (e.g. the resamples R drew) and
has no randomness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from csi.core.moments import counts_from_indices
from csi.errors import BootstrapError, DataError

__all__ = [
    "BLOCK",
    "ClusterPlan",
    "FixedPlan",
    "OrdinaryPlan",
    "ResamplingPlan",
    "StratifiedPlan",
    "SubPlan",
    "jackknife_counts",
    "seed_sequence",
]

BLOCK = 64
"""Replicates per seeded block (part of the seeding contract)."""

SeedLike = int | None | np.random.SeedSequence | np.random.Generator


def seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """Turn a user seed into the root ``SeedSequence`` of a plan.

    Parameters
    ----------
    seed : int >= 0, None, numpy.random.SeedSequence or numpy.random.Generator
        See the module's seeding contract.

    Returns
    -------
    numpy.random.SeedSequence
        Its ``entropy`` (an int) is what :meth:`ResamplingPlan.describe`
        records; for ``None`` it is the fresh OS entropy.

    Raises
    ------
    BootstrapError
        For a negative or non-integer seed.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        # Draw the entropy instead of sharing the generator, so blocks stay
        # independent of each other and of the order in which they are made.
        entropy = int(seed.integers(0, 2**64, dtype=np.uint64)) << 64
        entropy |= int(seed.integers(0, 2**64, dtype=np.uint64))
        return np.random.SeedSequence(entropy)
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise BootstrapError(
            f"seed must be a non-negative int, None, a numpy SeedSequence or Generator; got {type(seed).__name__}"
        )
    if seed < 0:
        raise BootstrapError(f"seed must be non-negative; got {seed}")
    return np.random.SeedSequence(int(seed))


def _check_n_resamples(n_resamples: Any) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise BootstrapError(f"n_resamples must be a positive int; got {n_resamples!r}")
    return int(n_resamples)


class ResamplingPlan:
    """Common interface of all plans.

    Subclasses provide :meth:`indices`; :meth:`counts` derives the frequency
    matrix from it.

    Attributes
    ----------
    n : int
        Rows in the data (width of :meth:`counts`).
    n_resamples : int
        Number of replicates ``B``.
    """

    n: int
    n_resamples: int
    block: int = BLOCK
    """Replicates per frequency product: statistics take their moments over whole blocks and slice them."""

    def _check_range(self, start: int, stop: int) -> None:
        if not (0 <= start <= stop <= self.n_resamples):
            raise BootstrapError(
                f"replicate range [{start}, {stop}) is outside [0, {self.n_resamples}) or empty with start > stop"
            )

    def indices(self, start: int = 0, stop: int | None = None) -> NDArray[np.intp]:
        """Drawn row indices (0-based) of replicates ``[start, stop)``.

        Returns
        -------
        ndarray of intp, shape (stop - start, n_draw)
        """
        raise NotImplementedError

    def stream_counts(
        self, start: int, stop: int, dtype: type = np.float64
    ) -> NDArray[np.integer] | NDArray[np.floating]:
        """:meth:`counts` of replicates ``[start, stop)``, for long ordinary and stratified plans replayed a
        replicate at a time into compact integers (:func:`csi.resample.stream.chunk_counts`)."""
        from csi.resample.stream import chunk_counts  # stream imports this module

        return chunk_counts(self, start, stop, dtype)

    def counts(self, start: int = 0, stop: int | None = None, dtype: type = np.float64) -> NDArray[np.floating]:
        """Draw frequencies of replicates ``[start, stop)`` (``dtype`` float64 or float32).

        Returns
        -------
        ndarray of float64, shape (stop - start, n)
            ``F[b, i]`` = how often row ``i`` is drawn in replicate ``start + b``.
        """
        return counts_from_indices(self.indices(start, stop), self.n, dtype)

    def describe(self) -> dict[str, Any]:
        """Provenance of the plan: enough to rebuild it exactly."""
        raise NotImplementedError


class _BlockPlan(ResamplingPlan):
    """A random plan generated in seeded blocks of :data:`BLOCK` replicates."""

    kind = ""
    n_draw: int

    def __init__(self, n_resamples: int, seed: SeedLike) -> None:
        self.n_resamples = _check_n_resamples(n_resamples)
        self._root = seed_sequence(seed)

    @property
    def seed_entropy(self) -> int:
        """Entropy of the root seed (pass it back as ``seed`` to repeat the run)."""
        return int(self._root.entropy)  # type: ignore[arg-type]

    def _block_rng(self, k: int) -> np.random.Generator:
        ss = np.random.SeedSequence(self._root.entropy, spawn_key=(*self._root.spawn_key, k))
        return np.random.Generator(np.random.PCG64(ss))

    def _draw_block(self, rng: np.random.Generator) -> NDArray[np.intp]:
        """Indices (BLOCK, n_draw) of one block; the subclass's draw rule."""
        raise NotImplementedError

    def _blocks(self, start: int, stop: int) -> Iterator[tuple[int, int, NDArray[np.intp]]]:
        """Yield ``(lo, hi, rows)``: indices of replicates ``[lo, hi)`` block by block."""
        for k in range(start // BLOCK, -(-stop // BLOCK)):
            # Always draw the whole block, then keep the rows in range: this is
            # what makes replicate r independent of how the range was cut.
            block = self._draw_block(self._block_rng(k))
            lo, hi = max(start, k * BLOCK), min(stop, (k + 1) * BLOCK)
            yield lo, hi, block[lo - k * BLOCK : hi - k * BLOCK]

    def indices(self, start: int = 0, stop: int | None = None) -> NDArray[np.intp]:
        stop = self.n_resamples if stop is None else stop
        self._check_range(start, stop)
        out = np.empty((stop - start, self.n_draw), dtype=np.intp)
        for lo, hi, rows in self._blocks(start, stop):
            out[lo - start : hi - start] = rows
        return out

    def counts(self, start: int = 0, stop: int | None = None, dtype: type = np.float64) -> NDArray[np.floating]:
        stop = self.n_resamples if stop is None else stop
        self._check_range(start, stop)
        out = np.empty((stop - start, self.n), dtype=dtype)
        # Count block by block so the (B, n_draw) index matrix is never built.
        for lo, hi, rows in self._blocks(start, stop):
            out[lo - start : hi - start] = counts_from_indices(rows, self.n, dtype)
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n": self.n,
            "n_resamples": self.n_resamples,
            "seed_entropy": self.seed_entropy,
            "spawn_key": list(self._root.spawn_key),
            "block_size": BLOCK,
            "bit_generator": "PCG64",
        }


class OrdinaryPlan(_BlockPlan):
    """Ordinary (nonparametric) bootstrap: ``n`` rows drawn with replacement.

    Efron & Tibshirani (1993, algorithm 6.1); Davison & Hinkley (1997, section 2.3).

    Parameters
    ----------
    n : int
        Number of rows (respondents); each replicate draws ``n`` of them.
    n_resamples : int
        Number of replicates ``B``.
    seed : int, None, SeedSequence or Generator
        See the module's seeding contract.
    """

    kind = "ordinary"

    def __init__(self, n: int, n_resamples: int, seed: SeedLike = None) -> None:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise DataError(f"n must be a positive int (number of rows); got {n!r}")
        self.n = self.n_draw = int(n)
        super().__init__(n_resamples, seed)

    def _draw_block(self, rng: np.random.Generator) -> NDArray[np.intp]:
        return rng.integers(0, self.n, size=(BLOCK, self.n), dtype=np.intp)


class StratifiedPlan(_BlockPlan):
    """Stratified bootstrap: rows are resampled within each stratum.

    Each replicate keeps every stratum's size; position ``i`` of a replicate
    holds a row of the same stratum as row ``i`` (so ``strata[indices] ==
    strata`` row-wise).  Davison & Hinkley (1997, section 3.7).

    Parameters
    ----------
    strata : array_like, shape (n,)
        Stratum label of each row (any sortable, non-missing labels).  Strata
        are visited in ``np.unique`` order within each block.
    n_resamples : int
        Number of replicates ``B``.
    seed : int, None, SeedSequence or Generator
        See the module's seeding contract.
    """

    kind = "stratified"

    def __init__(self, strata: ArrayLike, n_resamples: int, seed: SeedLike = None) -> None:
        labels = np.asarray(strata)
        if labels.ndim != 1 or labels.size == 0:
            raise DataError(f"strata must be a non-empty 1-D array of labels; got shape {labels.shape}")
        if labels.dtype.kind == "f" and np.isnan(labels).any():
            raise DataError("strata contain missing (NaN) labels; every row needs a stratum")
        if labels.dtype.kind == "O" and any(v is None or v != v for v in labels):
            raise DataError("strata contain missing (None/NaN) labels; every row needs a stratum")
        try:
            self.labels, inverse = np.unique(labels, return_inverse=True)
        except TypeError as exc:
            raise DataError(f"strata labels cannot be sorted (mixed types?): {exc}") from exc
        self.n = self.n_draw = labels.size
        # Rows of each stratum, in data order.
        self._rows = [np.flatnonzero(inverse == h) for h in range(self.labels.size)]
        super().__init__(n_resamples, seed)

    @property
    def stratum_sizes(self) -> dict[Any, int]:
        """Rows per stratum (kept in every replicate)."""
        return {
            lab.item() if hasattr(lab, "item") else lab: rows.size
            for lab, rows in zip(self.labels, self._rows, strict=True)
        }

    def _draw_block(self, rng: np.random.Generator) -> NDArray[np.intp]:
        out = np.empty((BLOCK, self.n), dtype=np.intp)
        for rows in self._rows:
            picks = rng.integers(0, rows.size, size=(BLOCK, rows.size), dtype=np.intp)
            out[:, rows] = rows[picks]
        return out

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["strata"] = self.stratum_sizes
        return info


class FixedPlan(ResamplingPlan):
    """Replay given resample indices (e.g. drawn by another program).

    Parameters
    ----------
    indices : array_like of int, shape (B, n_draw)
        0-based row indices; row ``b`` is replicate ``b``.  Integral floats are
        accepted (CSV readers often give floats).
    n : int, optional
        Rows in the data; defaults to ``n_draw``.  Every index must lie in
        ``[0, n)``.

    Raises
    ------
    DataError
        Wrong shape, non-integral values or indices out of range.
    """

    kind = "fixed"

    def __init__(self, indices: ArrayLike, n: int | None = None) -> None:
        idx = np.asarray(indices)
        if idx.ndim != 2 or idx.shape[0] < 1 or idx.shape[1] < 1:
            raise DataError(f"resample indices must be a 2-D array (resamples x draws); got shape {idx.shape}")
        if idx.dtype.kind == "f":
            if not np.all(np.isfinite(idx)) or np.any(idx != np.round(idx)):
                raise DataError("resample indices must be whole numbers (0-based row positions)")
        elif idx.dtype.kind not in "iu":
            raise DataError(f"resample indices must be integers; got dtype {idx.dtype}")
        self.n = int(idx.shape[1] if n is None else n)
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= self.n:
            bad = np.argwhere((idx < 0) | (idx >= self.n))[0]
            raise DataError(
                f"resample index {idx[tuple(bad)]!r} at resample {bad[0]}, draw {bad[1]} (0-based) is outside "
                f"[0, {self.n - 1}]; indices are 0-based row positions (use FixedPlan.from_one_based for 1-based)"
            )
        self._indices = idx.astype(np.intp)
        self._indices.setflags(write=False)
        self.n_resamples, self.n_draw = self._indices.shape

    @classmethod
    def from_one_based(cls, indices: ArrayLike, n: int | None = None) -> FixedPlan:
        """Build from 1-based indices (R's ``sample.int`` convention)."""
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iuf":
            raise DataError(f"resample indices must be numeric; got dtype {idx.dtype}")
        return cls(idx - 1, n)

    def indices(self, start: int = 0, stop: int | None = None) -> NDArray[np.intp]:
        stop = self.n_resamples if stop is None else stop
        self._check_range(start, stop)
        return self._indices[start:stop]

    def describe(self) -> dict[str, Any]:
        digest = hashlib.sha256(np.ascontiguousarray(self._indices, dtype=np.int64).tobytes()).hexdigest()
        return {
            "kind": self.kind,
            "n": self.n,
            "n_resamples": self.n_resamples,
            "n_draw": self.n_draw,
            "indices_sha256": digest,
        }


def jackknife_counts(n: int) -> NDArray[np.float64]:
    """Leave-one-out frequency matrix, for the jackknife through the moment path.

    Row ``i`` drops observation ``i``: ``F = 1 1ᵀ - I``.  Feeding it to
    :func:`csi.core.moments.resample_moments` gives the ``n`` jackknife
    replicates used for the BCa acceleration (Efron & Tibshirani 1993,
    eq. 14.15; Davison & Hinkley 1997, eq. 5.25).

    Parameters
    ----------
    n : int
        Number of rows (>= 2).

    Returns
    -------
    ndarray of float64, shape (n, n)
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise DataError(f"the jackknife needs n >= 2 rows; got {n!r}")
    F = np.ones((n, n))
    np.fill_diagonal(F, 0.0)
    return F


class JackknifePlan(ResamplingPlan):
    """The ``n`` leave-one-out replicates (BCa acceleration): replicate ``i`` drops row ``i``.

    Its frequency matrix is :func:`jackknife_counts`, built a slice at a time.
    """

    block = 512

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
            raise DataError(f"the jackknife needs n >= 2 rows; got {n!r}")
        self.n = int(n)
        self.n_resamples = self.n
        self.n_draw = self.n - 1

    def counts(self, start: int = 0, stop: int | None = None, dtype: type = np.float64) -> NDArray[np.floating]:
        stop = self.n_resamples if stop is None else stop
        self._check_range(start, stop)
        F = np.ones((stop - start, self.n), dtype=dtype)
        F[np.arange(stop - start), np.arange(start, stop)] = 0.0
        return F

    def indices(self, start: int = 0, stop: int | None = None) -> NDArray[np.intp]:
        stop = self.n_resamples if stop is None else stop
        self._check_range(start, stop)
        rows = np.arange(self.n, dtype=np.intp)
        return np.stack([np.delete(rows, i) for i in range(start, stop)]) if stop > start else rows[:0, None]

    def describe(self) -> dict[str, Any]:
        return {"kind": "jackknife", "n": self.n, "n_resamples": self.n_resamples}


class ClusterPlan(_BlockPlan):
    """Cluster bootstrap: whole clusters (respondents) drawn with replacement, each bringing all of its rows.

    Every row belongs to one cluster (a respondent id) and one slot (a wave);
    a cluster has at most one row per slot.  Clusters are grouped into strata
    by their *pattern*, the set of slots in which they have a row (and by
    ``strata`` when given), and each replicate draws, within every stratum of
    ``m`` clusters, ``m`` clusters with replacement (Davison & Hinkley 1997,
    section 3.8, "multistage sampling": resample the first-stage units).  Row
    ``(k, s)`` of the replicate (cluster ``k`` of the stratum in slot ``s``)
    holds the row of the drawn cluster in the same slot, so

    * every slot keeps its size, and restricted to one slot the plan is an
      ordinary (or, with ``strata``, stratified) bootstrap of that slot's rows;
    * a respondent seen in two waves is drawn in both waves together, which
      keeps the within-respondent correlation in the replicates of a change;
    * respondents seen once (fresh) are resampled on their own within their
      slot: a mixed panel.

    Seeding follows the module's contract: block ``k`` draws from its own
    generator, one call ``rng.integers(0, m, size=(64, m))`` per stratum with
    strata visited in sorted order of ``(stratum label, slot codes)``; clusters
    within a stratum are in sorted order of their labels.

    Parameters
    ----------
    clusters, slots : array_like, shape (n,)
        Cluster and slot label of every row (sortable, non-missing); each
        ``(cluster, slot)`` pair at most once.
    n_resamples : int
        Number of replicates ``B``.
    seed : int, None, SeedSequence or Generator
        See the module's seeding contract.
    strata : array_like, shape (n,), optional
        An outer stratum per row, constant within a cluster.

    Raises
    ------
    DataError
        Shapes differ, a ``(cluster, slot)`` pair repeats, or a cluster spans
        two strata.
    """

    kind = "cluster"

    def __init__(self, clusters: ArrayLike, slots: ArrayLike, n_resamples: int, seed: SeedLike = None,
                 strata: ArrayLike | None = None) -> None:  # fmt: skip
        c = np.asarray(clusters)
        s = np.asarray(slots)
        if c.ndim != 1 or c.size == 0 or s.shape != c.shape:
            raise DataError(f"clusters and slots must be non-empty 1-D arrays of one shape; got {c.shape}, {s.shape}")
        h = np.zeros(c.size, dtype=np.intp) if strata is None else np.unique(np.asarray(strata), return_inverse=True)[1]
        if h.shape != c.shape:
            raise DataError(f"strata must have one label per row ({c.size}); got shape {np.shape(strata)}")
        cluster_labels, ci = np.unique(c, return_inverse=True)
        _, si = np.unique(s, return_inverse=True)
        n_slots = int(si.max()) + 1
        table = np.full((cluster_labels.size, n_slots), -1, dtype=np.intp)  # row of cluster k in slot s, or -1
        order = np.lexsort((si, ci))
        pair = ci[order] * n_slots + si[order]
        dup = np.flatnonzero(pair[1:] == pair[:-1])
        if dup.size:
            rows = order[dup[0] : dup[0] + 2]
            raise DataError(f"cluster {c[rows[0]].item()!r} has two rows (positions {rows[0]} and {rows[1]}) in "
                            f"slot {s[rows[0]].item()!r}; each cluster may have one row per slot")  # fmt: skip
        table[ci, si] = np.arange(c.size)
        outer = np.full(cluster_labels.size, -1, dtype=np.intp)
        outer[ci] = h
        if np.any(outer[ci] != h):
            bad = int(np.flatnonzero(outer[ci] != h)[0])
            raise DataError(f"cluster {c[bad].item()!r} spans two strata; a cluster must lie within one stratum")
        pattern = table >= 0
        keys = np.column_stack([outer, pattern.astype(np.intp)])
        groups, gi = np.unique(keys, axis=0, return_inverse=True)
        gi = np.asarray(gi).ravel()
        # Per stratum: (m, slots used) rows of its clusters, clusters in label order.
        self._strata = [table[np.flatnonzero(gi == g)][:, pattern[np.flatnonzero(gi == g)[0]]]
                        for g in range(groups.shape[0])]  # fmt: skip
        self.n = self.n_draw = int(c.size)
        self.n_clusters = int(cluster_labels.size)
        super().__init__(n_resamples, seed)

    @property
    def stratum_sizes(self) -> list[int]:
        """Clusters per stratum, in the order the strata are drawn."""
        return [int(t.shape[0]) for t in self._strata]

    def _draw_block(self, rng: np.random.Generator) -> NDArray[np.intp]:
        out = np.empty((BLOCK, self.n), dtype=np.intp)
        for rows in self._strata:
            picks = rng.integers(0, rows.shape[0], size=(BLOCK, rows.shape[0]), dtype=np.intp)
            for col in range(rows.shape[1]):
                out[:, rows[:, col]] = rows[picks, col]
        return out

    def restrict(self, rows: ArrayLike) -> SubPlan:
        """The plan of the rows ``rows`` alone (e.g. one slot's), positions renumbered ``0 .. len(rows) - 1``."""
        return SubPlan(self, rows)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["clusters"] = self.n_clusters
        info["stratum_sizes"] = self.stratum_sizes
        return info


class SubPlan(ResamplingPlan):
    """The columns ``rows`` of a parent plan that maps those rows onto themselves (one slot of a
    :class:`ClusterPlan`), renumbered; replicate ``r`` is the parent's replicate ``r`` restricted."""

    def __init__(self, parent: ResamplingPlan, rows: ArrayLike) -> None:
        self.parent = parent
        self.rows = np.asarray(rows, dtype=np.intp)
        if self.rows.ndim != 1 or self.rows.size == 0 or np.unique(self.rows).size != self.rows.size:
            raise DataError("a sub-plan needs a non-empty 1-D array of distinct row positions")
        self._local = np.full(parent.n, -1, dtype=np.intp)
        self._local[self.rows] = np.arange(self.rows.size)
        self.n = self.n_draw = int(self.rows.size)
        self.n_resamples = parent.n_resamples

    @property
    def _root(self) -> np.random.SeedSequence:
        """The parent's root seed (nested bootstraps seed their inner streams from it)."""
        return self.parent._root  # type: ignore[attr-defined,no-any-return]

    def indices(self, start: int = 0, stop: int | None = None) -> NDArray[np.intp]:
        stop = self.n_resamples if stop is None else stop
        self._check_range(start, stop)
        local = self._local[self.parent.indices(start, stop)[:, self.rows]]
        if (local < 0).any():
            raise DataError("the rows of a sub-plan must be drawn only from themselves (one slot of a cluster plan)")
        return local

    def describe(self) -> dict[str, Any]:
        digest = hashlib.sha256(np.ascontiguousarray(self.rows, dtype=np.int64).tobytes()).hexdigest()
        return {**self.parent.describe(), "kind": f"{self.parent.describe()['kind']} (restricted)", "n": self.n,
                "rows_sha256": digest}  # fmt: skip
