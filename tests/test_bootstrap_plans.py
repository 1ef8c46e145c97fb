"""Tests of csi.resample.plans: seeding contract, stratification, fixed indices."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REFERENCE

from csi.core.moments import counts_from_indices, moments, resample_moments
from csi.errors import BootstrapError, CSIError, DataError
from csi.resample.plans import (
    BLOCK,
    FixedPlan,
    OrdinaryPlan,
    StratifiedPlan,
    jackknife_counts,
    seed_sequence,
)

FIXED_INDICES = REFERENCE / "ecsi_satisfaction.boot500_resample_row_indices_1based.csv"


def _chunked(plan, cuts, what="counts"):
    edges = [0, *cuts, plan.n_resamples]
    get = getattr(plan, what)
    return np.concatenate([get(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)])


def test_ordinary_counts_are_chunk_independent():
    plan = OrdinaryPlan(250, 5000, seed=20240601)
    full = plan.counts(0, 5000)
    assert full.shape == (5000, 250) and full.dtype == np.float64
    np.testing.assert_array_equal(full.sum(axis=1), 250)
    np.testing.assert_array_equal(_chunked(plan, [37, 1000, 1001, 2048, 4999]), full)
    np.testing.assert_array_equal(_chunked(plan, list(range(500, 5000, 500))), full)
    np.testing.assert_array_equal(plan.counts(63, 65), full[63:65])  # straddles a block edge


def test_replicate_depends_only_on_seed_and_index():
    a = OrdinaryPlan(100, 300, seed=7)
    b = OrdinaryPlan(100, 1000, seed=7)  # more replicates: the first 300 unchanged
    np.testing.assert_array_equal(a.indices(), b.indices(0, 300))
    c = OrdinaryPlan(100, 300, seed=8)
    assert not np.array_equal(a.indices(), c.indices())


def test_documented_block_scheme():
    """The module docstring's recipe reproduces a block by hand."""
    plan = OrdinaryPlan(50, 200, seed=123)
    k = 2
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(123, spawn_key=(k,))))
    expected = rng.integers(0, 50, size=(BLOCK, 50), dtype=np.intp)
    np.testing.assert_array_equal(plan.indices(k * BLOCK, (k + 1) * BLOCK), expected)


def test_indices_and_counts_agree():
    plan = OrdinaryPlan(40, 130, seed=1)
    np.testing.assert_array_equal(plan.counts(5, 100), counts_from_indices(plan.indices(5, 100), 40))


def test_seed_none_records_entropy_and_repeats():
    plan = OrdinaryPlan(30, 70, seed=None)
    info = plan.describe()
    assert info["kind"] == "ordinary" and info["block_size"] == BLOCK
    again = OrdinaryPlan(30, 70, seed=info["seed_entropy"])
    np.testing.assert_array_equal(plan.indices(), again.indices())


def test_seed_from_generator_is_recorded():
    plan = OrdinaryPlan(30, 70, seed=np.random.default_rng(5))
    again = OrdinaryPlan(30, 70, seed=plan.describe()["seed_entropy"])
    np.testing.assert_array_equal(plan.indices(), again.indices())


def test_seed_sequence_with_spawn_key():
    root = np.random.SeedSequence(99).spawn(2)[1]
    plan = OrdinaryPlan(20, 10, seed=root)
    assert plan.describe()["spawn_key"] == [1]
    assert not np.array_equal(plan.indices(), OrdinaryPlan(20, 10, seed=99).indices())


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True])
def test_bad_seed(bad):
    with pytest.raises(BootstrapError, match="seed"):
        seed_sequence(bad)


@pytest.mark.parametrize("bad", [0, -3, 2.0, None])
def test_bad_n_resamples(bad):
    with pytest.raises(BootstrapError, match="n_resamples"):
        OrdinaryPlan(10, bad, seed=1)


def test_bad_range():
    plan = OrdinaryPlan(10, 100, seed=1)
    with pytest.raises(BootstrapError, match="outside"):
        plan.counts(50, 101)
    with pytest.raises(BootstrapError):
        plan.counts(60, 50)
    assert plan.counts(50, 50).shape == (0, 10)


def test_ordinary_is_uniform():
    # Each row's expected count is 1; over 5000 x 250 draws the mean is 1 +- ~0.003.
    F = OrdinaryPlan(250, 5000, seed=3).counts()
    assert abs(F.mean(axis=0) - 1).max() < 0.1
    assert abs(F.var() - (1 - 1 / 250)) < 0.02  # multinomial variance


def test_stratified_keeps_stratum_sizes_and_membership():
    rng = np.random.default_rng(0)
    strata = rng.choice(np.array(["north", "south", "east"]), size=200, p=[0.5, 0.3, 0.2])
    plan = StratifiedPlan(strata, 500, seed=11)
    idx = plan.indices()
    assert idx.shape == (500, 200)
    # position i holds a row of the same stratum as row i
    np.testing.assert_array_equal(strata[idx], np.broadcast_to(strata, idx.shape))
    F = plan.counts()
    np.testing.assert_array_equal(F, counts_from_indices(idx, 200))
    for lab in np.unique(strata):
        rows = strata == lab
        np.testing.assert_array_equal(F[:, rows].sum(axis=1), rows.sum())
    assert plan.describe()["strata"] == {lab: int((strata == lab).sum()) for lab in np.unique(strata)}
    np.testing.assert_array_equal(_chunked(plan, [1, 64, 100, 333]), F)
    # both strata are actually resampled (not the identity)
    assert (F != 1).any()


def test_stratified_numeric_labels_and_errors():
    plan = StratifiedPlan([1, 1, 2, 2, 2], 10, seed=0)
    assert plan.describe()["strata"] == {1: 2, 2: 3}
    with pytest.raises(DataError, match="missing"):
        StratifiedPlan([1.0, np.nan, 2.0], 10, seed=0)
    with pytest.raises(DataError, match="missing"):
        StratifiedPlan(np.array(["a", None, "b"], dtype=object), 10, seed=0)
    with pytest.raises(DataError, match="1-D"):
        StratifiedPlan(np.zeros((2, 2)), 10, seed=0)


def test_fixed_plan_roundtrip_and_validation():
    idx = np.array([[0, 1, 1], [2, 2, 0]])
    plan = FixedPlan(idx)
    assert plan.n_resamples == 2 and plan.n == 3
    np.testing.assert_array_equal(plan.counts(), [[1, 2, 0], [1, 0, 2]])
    np.testing.assert_array_equal(plan.indices(1, 2), idx[1:])
    assert plan.describe()["kind"] == "fixed" and len(plan.describe()["indices_sha256"]) == 64
    np.testing.assert_array_equal(FixedPlan.from_one_based(idx + 1).indices(), idx)
    assert FixedPlan(idx, n=10).counts().shape == (2, 10)  # m-out-of-n / wider data
    with pytest.raises(DataError, match="outside"):
        FixedPlan(idx + 1)  # 1-based given as 0-based: 3 is out of [0, 2]
    with pytest.raises(DataError, match="2-D"):
        FixedPlan(np.arange(3))
    with pytest.raises(DataError, match="whole numbers"):
        FixedPlan(np.array([[0.5, 1.0]]))
    with pytest.raises(DataError, match="integers"):
        FixedPlan(np.array([["a", "b"]]))
    with pytest.raises(CSIError):
        FixedPlan(np.array([[-1, 0]]))


def test_jackknife_counts():
    F = jackknife_counts(5)
    np.testing.assert_array_equal(F, 1 - np.eye(5))
    with pytest.raises(DataError):
        jackknife_counts(1)


def test_fixed_plan_reproduces_reference_indices():
    raw = np.genfromtxt(FIXED_INDICES, delimiter=",", skip_header=1)
    one_based = raw[:, 1:]  # first column is the resample number
    np.testing.assert_array_equal(raw[:, 0], np.arange(1, 501))
    plan = FixedPlan.from_one_based(one_based, n=250)
    assert plan.n_resamples == 500 and plan.n_draw == 250
    np.testing.assert_array_equal(plan.indices() + 1, one_based)
    F = plan.counts()
    for b in (0, 1, 250, 499):
        np.testing.assert_array_equal(F[b], np.bincount(one_based[b].astype(int) - 1, minlength=250))
    np.testing.assert_array_equal(_chunked(plan, [37, 100, 499]), F)

    data = np.genfromtxt(REFERENCE / "ecsi_satisfaction.csv", delimiter=",", skip_header=1)
    X = data[:, 1:28]  # row id, then the 27 items; gender is not numeric
    assert X.shape == (250, 27) and np.isfinite(X).all()
    _, covs = resample_moments(X, F)
    for b in (0, 499):
        np.testing.assert_allclose(covs[b], moments(X[plan.indices(b, b + 1)[0]])[1], rtol=1e-12, atol=1e-12)
