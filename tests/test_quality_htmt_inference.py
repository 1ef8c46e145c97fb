"""HTMT_inference: the batched replicate path against a plain loop over resampled rows.

No published package's HTMT bootstrap draws are available in the reference
folder, so the checks are (a) every replicate equals HTMT recomputed by hand
(loop over item pairs, ``np.corrcoef`` of the resampled rows), (b) the bounds
equal numpy's type-7 percentiles of those looped values, and (c) seeding and
chunking invariance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import satisfaction_spec

import csi
from csi.core.moments import moments
from csi.errors import BootstrapError
from csi.quality import htmt_bootstrap
from csi.resample.plans import OrdinaryPlan


def _htmt_by_hand(R: np.ndarray, blocks: dict[str, list[int]]) -> dict[tuple[str, str], float]:
    """HTMT of every pair from a correlation matrix, by explicit loops (Henseler et al. 2015, eq. 6)."""
    A = np.abs(R)

    def mono(ix):
        return np.mean([A[h, k] for a, h in enumerate(ix) for k in ix[a + 1 :]])

    names = list(blocks)
    out = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            hetero = np.mean([A[h, g] for h in blocks[a] for g in blocks[b]])
            out[(a, b)] = hetero / np.sqrt(mono(blocks[a]) * mono(blocks[b]))
    return out


@pytest.fixture(scope="module")
def sat_fit(satisfaction):
    return csi.fit(satisfaction_spec(), satisfaction)


def _blocks(fit):
    names = fit.spec.item_names
    return {c.name: [names.index(i) for i in c.item_names] for c in fit.spec.constructs}


def test_replicates_equal_loop_over_fixed_indices(sat_fit):
    idx = OrdinaryPlan(sat_fit.n, 40, seed=11).indices()
    res = htmt_bootstrap(sat_fit, indices=idx)
    X = sat_fit.data.X
    blocks = _blocks(sat_fit)
    for b in range(idx.shape[0]):
        expected = _htmt_by_hand(np.corrcoef(X[idx[b]].T), blocks)
        got = res.draws.iloc[b]
        for (a, c), v in expected.items():
            assert got[f"{a}~{c}"] == pytest.approx(v, abs=1e-12)


def test_bounds_are_percentiles_of_looped_values(sat_fit):
    idx = OrdinaryPlan(sat_fit.n, 60, seed=5).indices()
    res = htmt_bootstrap(sat_fit, indices=idx, level=0.95)
    blocks = _blocks(sat_fit)
    looped = pd.DataFrame([_htmt_by_hand(np.corrcoef(sat_fit.data.X[i].T), blocks) for i in idx])
    for _, row in res.table.iterrows():
        vals = looped[(row["construct_a"], row["construct_b"])].to_numpy()
        lo, hi = np.quantile(vals, [0.05, 0.95])  # numpy's default = type 7
        assert row["ci_lower"] == pytest.approx(lo, abs=1e-12)
        assert row["ci_upper"] == pytest.approx(hi, abs=1e-12)
        for t in (0.85, 0.90, 1.0):
            assert bool(row[f"below_{t:.2f}"]) == (hi < t)
    # The point estimate is the fit's HTMT.
    H = csi.quality.htmt(sat_fit)
    for _, row in res.table.iterrows():
        assert row["htmt"] == H.loc[row["construct_a"], row["construct_b"]]


def test_seeded_byte_identical_whatever_chunk_size(sat_fit):
    ref = htmt_bootstrap(sat_fit, 150, seed=7)
    for chunk in (1, 37, 64, 1000):
        other = htmt_bootstrap(sat_fit, 150, seed=7, chunk_size=chunk)
        assert other.draws.to_numpy().tobytes() == ref.draws.to_numpy().tobytes()
    pd.testing.assert_frame_equal(htmt_bootstrap(sat_fit, 150, seed=7).table, ref.table)
    assert not np.array_equal(htmt_bootstrap(sat_fit, 150, seed=8).draws, ref.draws)
    # Same resamples as the plan of the same seed (the bootstrap's seeding contract).
    fixed = htmt_bootstrap(sat_fit, indices=OrdinaryPlan(sat_fit.n, 150, seed=7).indices())
    np.testing.assert_allclose(fixed.draws.to_numpy(), ref.draws.to_numpy(), rtol=0, atol=1e-13)
    assert ref.plan["seed_entropy"] == 7 and ref.plan["kind"] == "ordinary"


def test_respondent_weights_use_weighted_correlations(satisfaction):
    w = np.linspace(0.5, 2.0, len(satisfaction))
    fit = csi.fit(satisfaction_spec(), satisfaction, weights=w)
    idx = OrdinaryPlan(fit.n, 5, seed=2).indices()
    res = htmt_bootstrap(fit, indices=idx)
    blocks = _blocks(fit)
    for b in range(5):
        _, cov = moments(fit.data.X[idx[b]], w[idx[b]])
        sd = np.sqrt(np.diag(cov))
        for (a, c), v in _htmt_by_hand(cov / np.outer(sd, sd), blocks).items():
            assert res.draws.iloc[b][f"{a}~{c}"] == pytest.approx(v, abs=1e-12)


def test_singular_replicate_counted_and_dropped(sat_fit):
    idx = OrdinaryPlan(sat_fit.n, 20, seed=3).indices()
    idx[4] = 0  # every draw the same row: every item constant
    with pytest.warns(UserWarning, match="1 of 20 HTMT bootstrap replicates"):
        res = htmt_bootstrap(sat_fit, indices=idx)
    assert res.n_singular == 1 and res.draws.iloc[4].isna().all()
    assert res.table["ci_upper"].notna().all()


def test_single_item_block_gives_na_verdict():
    spec = csi.load_model("""
        A =~ a1 + a2
        B =~ b1
        B ~ A
    """)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(80, 1))
    data = pd.DataFrame(z + rng.normal(size=(80, 3)), columns=["a1", "a2", "b1"])
    res = htmt_bootstrap(csi.fit(spec, data), 10, seed=1)
    assert np.isnan(res.table.loc[0, "htmt"]) and res.table["below_0.90"].isna().all()


@pytest.mark.parametrize("bad", [{"level": 0.4}, {"level": 1.0}, {"thresholds": ()}, {"chunk_size": 0}])
def test_bad_options(sat_fit, bad):
    with pytest.raises(BootstrapError):
        htmt_bootstrap(sat_fit, 10, seed=1, **bad)


def test_strata_resample_within_groups(sat_fit):
    from csi.resample.plans import StratifiedPlan

    strata = np.arange(sat_fit.n) % 3
    res = htmt_bootstrap(sat_fit, 30, seed=6, strata=strata)
    idx = StratifiedPlan(strata, 30, seed=6).indices()
    fixed = htmt_bootstrap(sat_fit, indices=idx)
    np.testing.assert_allclose(res.draws.to_numpy(), fixed.draws.to_numpy(), rtol=0, atol=1e-13)
    assert res.plan["kind"] == "stratified"
    with pytest.raises(BootstrapError, match="either indices or strata"):
        htmt_bootstrap(sat_fit, indices=idx, strata=strata)
