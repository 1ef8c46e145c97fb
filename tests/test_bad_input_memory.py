"""Streaming moments and bootstrap memory: the same numbers in bounded memory, and impossible sizes refused.

The row chunk (:data:`csi.core.moments.ROW_CHUNK_BYTES`) and the streaming threshold
(:data:`csi.resample.stream.STREAM_ROWS`) are shrunk here so that a few thousand rows span several chunks;
the code paths are those a million-respondent survey takes.  Peak memory itself is measured by
``benchmarks/bench_memory.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import csi
from csi.core import moments as mom
from csi.errors import BootstrapError
from csi.resample import stream
from csi.resample.options import bootstrap_memory, check_memory
from csi.resample.plans import BLOCK, OrdinaryPlan, StratifiedPlan


@pytest.fixture()
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows per chunk drop to the minimum (1024) and every plan is replayed replicate by replicate."""
    monkeypatch.setattr(mom, "ROW_CHUNK_BYTES", 1)
    monkeypatch.setattr(stream, "STREAM_ROWS", 0)


def _likert(n: int, p: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.round(6 + 2 * rng.normal(size=(n, 1)) + rng.normal(size=(n, p))), 1, 10)


@pytest.mark.parametrize(("start", "stop"), [(0, BLOCK), (10, 150), (BLOCK, BLOCK + 1), (0, 3)])
def test_streamed_counts_equal_the_plan_counts(small_chunks, start: int, stop: int) -> None:
    n = 700
    strata = np.random.default_rng(1).integers(0, 9, size=n)
    for plan in (OrdinaryPlan(n, 200, seed=4), StratifiedPlan(strata, 200, seed=4)):
        got = stream.chunk_counts(plan, start, stop)
        assert got.dtype == np.uint8  # compact: one byte per count
        np.testing.assert_array_equal(got, plan.counts(start, stop))


def test_streamed_counts_widen_when_a_count_exceeds_a_byte() -> None:
    # A row drawn 300 times (possible in principle) must not wrap around to 44.
    out = stream._store(np.zeros((2, 3), dtype=np.uint8), 1, slice(None), np.array([1, 300, 2]))
    assert out.dtype == np.uint16 and out[1].tolist() == [1, 300, 2] and out[0].tolist() == [0, 0, 0]
    out = stream._store(out, 0, np.array([0, 2]), np.array([70_000, 1]))
    assert out[0].tolist() == [70_000, 0, 1] and out[1].tolist() == [1, 300, 2]


def test_exact_moment_sums_do_not_depend_on_row_chunks(small_chunks) -> None:
    X = _likert(5000, 6)
    basis = mom.moment_basis(X)
    assert basis.exact
    F = OrdinaryPlan(5000, 40, seed=3).counts()
    chunked = mom.moment_sums(basis, F)
    whole = F.astype(basis.dtype) @ basis.R  # one product: the numbers before streaming
    np.testing.assert_array_equal(chunked, whole.astype(np.float64))  # exact integers: bit for bit


def test_weighted_moment_sums_stream_to_the_same_moments(small_chunks) -> None:
    X = _likert(5000, 5) + 0.25
    w = np.random.default_rng(5).uniform(0.5, 2.0, size=5000)
    F = OrdinaryPlan(5000, 30, seed=3).counts()
    means, covs = mom.resample_moments(X, F, w)
    for b in (0, 17):
        v = F[b] * w
        ref_mean = v @ X / v.sum()
        Z = X - ref_mean
        ref_cov = (Z * v[:, None]).T @ Z / v.sum()
        # Two summation orders of 5000 terms of size ~100: agreement to about 1e-13 relative.
        np.testing.assert_allclose(means[b], ref_mean, rtol=1e-12)
        np.testing.assert_allclose(covs[b], ref_cov, rtol=1e-10, atol=1e-12)
    # Results do not depend on how replicates are chunked, only on the fixed row chunks.
    m2, c2 = mom.resample_moments(X, F[:13], w)
    assert m2.tobytes() == means[:13].tobytes() and c2.tobytes() == covs[:13].tobytes()


@pytest.mark.parametrize("weighted", [False, True])
def test_streamed_fit_moments_match_the_two_pass_formula(small_chunks, weighted: bool) -> None:
    X = _likert(4000, 4) * 1.5
    w = np.random.default_rng(2).uniform(0.2, 3, size=4000) if weighted else None
    mean, cov = mom.moments(X, w)
    v = np.ones(4000) if w is None else w
    ref_mean = v @ X / v.sum()
    ref_cov = ((X - ref_mean) * v[:, None]).T @ (X - ref_mean) / v.sum()
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-13)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-11)
    scores = mom.standardised_product(X, mean, 2.0, np.eye(4)[:, :2])
    np.testing.assert_allclose(scores, (X[:, :2] - mean[:2]) / 2.0, rtol=1e-13, atol=1e-13)


def test_bootstrap_is_bit_identical_when_streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PLS bootstrap of whole-number items gives the same bytes with and without streaming (exact sums)."""
    spec = csi.load_model("ecsi")
    data = csi.simulate(spec, 1500, seed=3).data
    fit = csi.fit(spec, data)
    plain = csi.bootstrap(fit, 70, seed=9, n_jobs=1).draws.to_numpy()
    monkeypatch.setattr(mom, "ROW_CHUNK_BYTES", 1)
    monkeypatch.setattr(stream, "STREAM_ROWS", 0)
    streamed = csi.bootstrap(csi.fit(spec, data), 70, seed=9, n_jobs=2, chunk_size=BLOCK).draws.to_numpy()
    assert plain.tobytes() == streamed.tobytes()


def test_weighted_bootstrap_streamed_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = csi.load_model("ecsi")
    data = csi.simulate(spec, 1500, seed=3).data
    w = pd.Series(np.random.default_rng(0).uniform(0.5, 2, len(data)), index=data.index)
    plain = csi.bootstrap(csi.fit(spec, data, weights=w), 40, seed=9, n_jobs=1).draws.to_numpy()
    monkeypatch.setattr(mom, "ROW_CHUNK_BYTES", 1)
    monkeypatch.setattr(stream, "STREAM_ROWS", 0)
    streamed = csi.bootstrap(csi.fit(spec, data, weights=w), 40, seed=9, n_jobs=1).draws.to_numpy()
    # Other summation order of the weighted sums (1e-16 relative), amplified by the PLS iterations.
    np.testing.assert_allclose(streamed, plain, rtol=1e-9, atol=1e-10)


def test_memory_estimate_grows_with_resamples_and_refuses_what_cannot_fit() -> None:
    per, fixed = bootstrap_memory(1000, 100, 50, 64, 2)
    assert per == 8 * 50 * 3 and fixed > 0
    per_inner, fixed_inner = bootstrap_memory(1000, 100, 50, 64, 2, inner=100)
    assert per_inner > per and fixed_inner > fixed
    check_memory(1000, 100, 50, 64, 2, available=2**30)  # 1 GiB is plenty
    with pytest.raises(BootstrapError, match=r"n_resamples=10000000 needs about .* more than the 1\.0 MiB available"):
        check_memory(1000, 10_000_000, 50, 64, 2, available=2**20)


def test_an_impossible_number_of_resamples_is_refused_before_any_allocation() -> None:
    fit = csi.fit("ecsi", csi.simulate("ecsi", 100, seed=1).data)
    with pytest.raises(BootstrapError, match="use at most about"):
        csi.bootstrap(fit, 10**12, seed=1)


def test_memory_benchmark_runs_quick() -> None:
    """benchmarks/bench_memory.py --quick runs each case in its own process and prints both figures."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "bench_memory.py"), "--quick"],
        capture_output=True, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "resident before MiB" in proc.stdout and "increase / data" in proc.stdout
    assert {line.split()[0] for line in proc.stdout.splitlines() if line.split()[:1] in (["fit"], ["bootstrap"])} == {
        "fit",
        "bootstrap",
    }
