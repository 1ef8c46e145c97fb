"""Consistency checks of the batched bootstrap: batched = looped, chunking and workers
do not change a seeded run, interval types change without resampling, failures counted."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import csi
from csi.errors import CSIError, EstimationError
from csi.resample.plans import OrdinaryPlan, StratifiedPlan


@pytest.fixture(scope="module")
def demo():
    spec = csi.load_model("ecsi")
    data = csi.simulate(spec, 300, seed=11).data
    return spec, data, csi.fit(spec, data)


def test_batched_equals_loop_of_single_fits(demo):
    spec, data, fit = demo
    result = csi.bootstrap(fit, 40, seed=3)
    idx = OrdinaryPlan(len(data), 40, 3).indices(0, 40)
    for r in (0, 17, 39):
        single = csi.fit(spec, data.iloc[idx[r]].reset_index(drop=True))
        expected = pd.concat([single.estimates["estimate"], csi.compute_index(single)], ignore_index=True)
        np.testing.assert_allclose(result.draws.iloc[r].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)


def test_same_seed_is_byte_identical_whatever_chunks_and_workers(demo):
    _, _, fit = demo
    a = csi.bootstrap(fit, 300, seed=5, chunk_size=300, n_jobs=1).draws.to_numpy()
    b = csi.bootstrap(fit, 300, seed=5, chunk_size=37, n_jobs=2).draws.to_numpy()
    c = csi.bootstrap(fit, 300, seed=5, chunk_size=128, n_jobs=2).draws.to_numpy()
    assert a.tobytes() == b.tobytes() == c.tobytes()


def test_prefix_of_a_longer_run_is_identical(demo):
    _, _, fit = demo
    # Replicate r depends only on (seed, r): a longer run extends a shorter one.
    short = csi.bootstrap(fit, 100, seed=9).draws.to_numpy()
    long = csi.bootstrap(fit, 250, seed=9).draws.to_numpy()
    np.testing.assert_allclose(short, long[:100], rtol=0, atol=1e-12)


def test_different_seeds_differ_and_seed_is_recorded(demo):
    _, _, fit = demo
    a = csi.bootstrap(fit, 50, seed=1)
    b = csi.bootstrap(fit, 50, seed=2)
    assert not np.array_equal(a.draws.to_numpy(), b.draws.to_numpy())
    fresh = csi.bootstrap(fit, 50)
    again = csi.bootstrap(fit, 50, seed=fresh.plan["seed_entropy"])
    np.testing.assert_array_equal(fresh.draws.to_numpy(), again.draws.to_numpy())


def test_draws_are_labelled_like_estimates(demo):
    _, _, fit = demo
    result = csi.bootstrap(fit, 20, seed=1)
    est = result.estimates
    assert list(result.draws.columns) == [f"{a} {o} {b}" for a, o, b in zip(est["lhs"], est["op"], est["rhs"])]
    assert {"SAT ~ VAL", "SAT =~ CUSA1", "SAT <~ CUSA1", "SAT r2 SAT", "SAT index SAT"} <= set(result.draws.columns)
    assert {"se", "ci_lower", "ci_upper"} <= set(est.columns)


def test_interval_type_and_level_change_without_resampling(demo):
    _, _, fit = demo
    result = csi.bootstrap(fit, 400, seed=2)
    wide = result.estimates
    narrow = result.with_ci(level=0.8).estimates
    assert np.all(narrow["ci_upper"] - narrow["ci_lower"] <= wide["ci_upper"] - wide["ci_lower"] + 1e-12)
    bca = result.with_ci("bca")
    # the same draws, not resampled (handed out as lazy copies, so compare memory rather than identity)
    assert np.shares_memory(bca.draws.to_numpy(), result.draws.to_numpy())
    varying = (result.draws.std() > 0).to_numpy()  # indirect effects of direct-only pairs are constant 0
    assert np.all(np.isfinite(bca.estimates["ci_lower"][varying]))
    assert not np.allclose(bca.estimates["ci_lower"][varying], wide["ci_lower"][varying])
    with pytest.raises(CSIError, match="percentile"):
        result.with_ci("nonsense")


def test_standard_errors_shrink_with_sample_size():
    spec = csi.load_model("ecsi")
    small = csi.bootstrap(csi.fit(spec, csi.simulate(spec, 200, seed=1).data), 300, seed=1).estimates["se"]
    large = csi.bootstrap(csi.fit(spec, csi.simulate(spec, 3200, seed=1).data), 300, seed=1).estimates["se"]
    ratio = np.median((large / small)[small > 0])
    assert 0.15 < ratio < 0.4  # about sqrt(200 / 3200) = 0.25


def test_singular_resamples_are_counted_and_dropped():
    spec = csi.load_model("ecsi")
    data = csi.simulate(spec, 12, seed=4).data
    data["CUSCO"] = [1] * 10 + [2, 3]  # most resamples of 12 rows miss the rare values
    fit = csi.fit(spec, data)
    with pytest.warns(UserWarning, match="singular"):
        result = csi.bootstrap(fit, 64, seed=1)
    assert result.n_singular > 0
    assert result.n_failed == result.n_singular
    assert np.isnan(result.draws.to_numpy()).all(axis=1).sum() == result.n_singular
    assert np.all(np.isfinite(result.estimates["se"]))


def test_non_converged_replicates_policy(demo):
    spec, data, _ = demo
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = csi.fit(spec, data, max_iter=2, tol=1e-14)
    with pytest.raises(EstimationError, match="did not converge"):
        csi.bootstrap(fit, 10, seed=1, failed="raise")
    with pytest.warns(csi.ConvergenceWarning):
        dropped = csi.bootstrap(fit, 10, seed=1, failed="drop")
    assert dropped.n_not_converged == 10 and dropped.n_failed == 10
    with pytest.warns(csi.ConvergenceWarning):
        kept = csi.bootstrap(fit, 10, seed=1, failed="keep")
    assert kept.n_failed == 0 and kept.n_not_converged == 10


@pytest.mark.parametrize("sign_change", ["individual", "construct"])
def test_sign_change_options_apply_their_rule(demo, sign_change):
    """Each correction equals its documented rule applied to the uncorrected replicates of the same seed.

    On the demo data few replicates flip; the next test uses a block that does flip, so an ignored
    correction fails there.
    """
    _, _, fit = demo
    none = csi.bootstrap(fit, 60, seed=1).draws
    result = csi.bootstrap(fit, 60, seed=1, sign_change=sign_change)
    est = result.estimates
    original = est["estimate"].to_numpy()
    D = none.to_numpy()
    if sign_change == "individual":
        flippable = est["op"].isin(["~", "=~", "<~", "ind", "total"]).to_numpy()
        expected = np.where(flippable & (np.sign(D) != np.sign(original)), -D, D)
        np.testing.assert_array_equal(result.draws.to_numpy(), expected)
    else:
        # construct: flip a replicate's block when |sum(lambda0 - lambda)| > |sum(lambda0 + lambda)|; the
        # flipped block's loadings and weights change sign, everything else is recomputed from them.
        spec = fit.spec
        lam_cols = [f"{spec.block_of(i)} =~ {i}" for i in spec.item_names]
        lam, lam0 = none[lam_cols].to_numpy(), fit.loadings.to_numpy()
        M = spec.block_mask
        flip = np.abs((lam0 - lam) @ M) > np.abs((lam0 + lam) @ M)
        sign = np.where(flip, -1.0, 1.0)[:, spec.block_index]
        np.testing.assert_allclose(result.draws[lam_cols].to_numpy(), lam * sign, atol=1e-10)
        w_cols = [f"{spec.block_of(i)} <~ {i}" for i in spec.item_names]
        np.testing.assert_allclose(result.draws[w_cols].to_numpy(), none[w_cols].to_numpy() * sign, atol=1e-10)
    loadings = result.draws[[c for c in result.draws.columns if " =~ " in c]]
    assert (loadings.to_numpy() > 0).all()


def test_sign_change_flips_replicates_of_an_unstable_block():
    """On a block with a near-zero item the corrections act: 'individual' makes every draw's sign the
    original's, while uncorrected draws of that item's loading take both signs."""
    rng = np.random.default_rng(3)
    n = 60
    f = rng.normal(size=(n, 2))
    data = pd.DataFrame({
        "a1": f[:, 0] + 0.5 * rng.normal(size=n), "a2": f[:, 0] + 0.5 * rng.normal(size=n),
        "b1": f[:, 1] + 0.5 * rng.normal(size=n), "b2": 0.02 * f[:, 1] + rng.normal(size=n),
    })  # fmt: skip
    fit = csi.fit("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A", data)
    none = csi.bootstrap(fit, 200, seed=2).draws["B =~ b2"].to_numpy()
    ind = csi.bootstrap(fit, 200, seed=2, sign_change="individual").draws["B =~ b2"].to_numpy()
    sign0 = np.sign(fit.loadings["b2"])
    assert (np.sign(none) != sign0).any()  # the uncorrected replicates do cross zero
    assert (np.sign(ind) == sign0).all()
    np.testing.assert_array_equal(np.abs(ind), np.abs(none))


def test_individual_sign_change_follows_the_original_sign(demo):
    _, _, fit = demo
    result = csi.bootstrap(fit, 100, seed=1, sign_change="individual")
    est = result.estimates
    flippable = est["op"].isin(["~", "=~", "<~", "ind", "total"]).to_numpy()
    signs = np.sign(result.draws.to_numpy()[:, flippable]) == np.sign(est["estimate"].to_numpy()[flippable])
    assert signs.all()


def test_stratified_resampling_keeps_strata(demo):
    _, data, fit = demo
    labels = np.where(np.arange(len(data)) < 100, "a", "b")
    strata = pd.Series(labels, index=data.index)
    result = csi.bootstrap(fit, 50, seed=1, strata=strata)
    assert result.plan["kind"] == "stratified"
    # Every replicate draws exactly as many rows from each stratum as it has, and only from it ...
    plan = StratifiedPlan(labels, 50, seed=1)
    idx = plan.indices()
    assert ((idx < 100).sum(axis=1) == 100).all() and ((idx >= 100).sum(axis=1) == len(data) - 100).all()
    # ... and the bootstrap used exactly these resamples.
    fixed = csi.bootstrap(fit, indices=idx)
    np.testing.assert_array_equal(result.draws.to_numpy(), fixed.draws.to_numpy())
    assert not np.array_equal(result.draws.to_numpy(), csi.bootstrap(fit, 50, seed=1).draws.to_numpy())
    with pytest.raises(EstimationError, match="one label per fitted row"):
        csi.bootstrap(fit, 50, seed=1, strata=np.zeros(3))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sign_change="flip"), "sign_change"),
        (dict(failed="ignore"), "failed-replicate policy"),
        (dict(ci="wild"), "interval"),
        (dict(chunk_size=0), "chunk_size"),
        (dict(n_resamples=0), "n_resamples"),
        (dict(indices=np.array([[0, 1, 10_000]])), "outside"),
    ],
)
def test_bad_arguments_get_clear_errors(demo, kwargs, match):
    _, _, fit = demo
    kwargs.setdefault("n_resamples", 10)
    with pytest.raises(CSIError, match=match):
        csi.bootstrap(fit, seed=1, **kwargs)
