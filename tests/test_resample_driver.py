"""The resampling driver: any statistic over any plan, the same numbers whatever the backend and chunking."""

from __future__ import annotations

import numpy as np
import pytest

from csi.errors import EstimationError
from csi.resample.driver import Processes, Serial, Threads, run_plan
from csi.resample.plans import JackknifePlan, OrdinaryPlan, jackknife_counts


class WeightedMeans:
    """Replicate means of the columns of X (a statistic any backend can run; picklable)."""

    what = ""

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        self.width = X.shape[1]

    def prepare(self, plan) -> None:
        pass

    def evaluate(self, plan, a, b, out=None):
        F = plan.counts(a, b)
        # einsum, not a BLAS product: each row's sum must not depend on how many rows the chunk has
        stats = np.einsum("bn,np->bp", F, self.X) / F.sum(axis=1, keepdims=True)
        conv = np.ones(b - a, dtype=bool)
        conv[(np.arange(a, b) % 7) == 3] = False  # every seventh replicate "fails to converge"
        if out is not None:
            out[...] = stats
            return out, conv, None
        return stats, conv, None


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(40, 3))


def test_backends_and_chunking_give_identical_results(X) -> None:
    plan = OrdinaryPlan(40, 150, seed=5)
    ref = run_plan(plan, WeightedMeans(X), chunk_size=150, failed=None)
    expected = (plan.counts() @ X) / 40
    np.testing.assert_allclose(ref.stats, expected, rtol=1e-12)
    for backend, size in ((Serial(), 7), (Threads(3), 64), (Processes(2), 50)):
        got = run_plan(plan, WeightedMeans(X), chunk_size=size, backend=backend, failed=None)
        np.testing.assert_array_equal(got.stats, ref.stats)
        np.testing.assert_array_equal(got.converged, ref.converged)


def test_failure_policies(X) -> None:
    plan = OrdinaryPlan(40, 30, seed=1)
    with pytest.warns(UserWarning, match="did not converge"):
        dropped = run_plan(plan, WeightedMeans(X), chunk_size=8, failed="drop")
    bad = (np.arange(30) % 7) == 3
    assert np.isnan(dropped.stats[bad]).all() and not np.isnan(dropped.stats[~bad]).any()
    np.testing.assert_array_equal(dropped.not_converged, bad)
    with pytest.warns(UserWarning, match="kept"):
        kept = run_plan(plan, WeightedMeans(X), chunk_size=8, failed="keep")
    assert not np.isnan(kept.stats).any()
    with pytest.raises(EstimationError, match="first: replicate 3"):
        run_plan(plan, WeightedMeans(X), chunk_size=8, failed="raise")
    with pytest.raises(EstimationError, match="accepted: drop, keep, raise"):
        run_plan(plan, WeightedMeans(X), chunk_size=8, failed="ignore")
    with pytest.raises(EstimationError, match="chunk_size"):
        run_plan(plan, WeightedMeans(X), chunk_size=0)


def test_jackknife_plan_is_leave_one_out(X) -> None:
    plan = JackknifePlan(40)
    np.testing.assert_array_equal(plan.counts(), jackknife_counts(40))
    np.testing.assert_array_equal(plan.counts(5, 9), jackknife_counts(40)[5:9])
    assert plan.indices(2, 3).tolist() == [[i for i in range(40) if i != 2]]
    got = run_plan(plan, WeightedMeans(X), chunk_size=16, failed=None).stats
    np.testing.assert_allclose(got, (X.sum(axis=0) - X) / 39, rtol=1e-13)
