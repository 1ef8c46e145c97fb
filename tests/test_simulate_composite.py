"""The composite population of csi.simulate (methodology 7.2 (b)): exact algebra and large samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import csi
from csi import Construct, Item, ModelSpec, Path
from csi.simulate import composite_covariance, construct_correlations, path_matrix, simulate

N_BIG = 100_000


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    # Continuous items (no scale): the sample moments estimate Sigma itself.
    return ModelSpec(
        "comp",
        constructs=(
            Construct("A", (Item("a1"), Item("a2"), Item("a3"))),
            Construct("B", (Item("b1"), Item("b2"))),
            Construct("C", (Item("c1"), Item("c2"), Item("c3"), Item("c4"))),
            Construct("D", (Item("d1"),)),
        ),
        paths=(Path("A", "B"), Path("A", "C"), Path("B", "C"), Path("C", "D")),
    )


LOADINGS = {"a1": 0.9, "a2": 0.7, "a3": 0.5, "c1": 0.6, "c4": 0.85}


def test_composite_covariance_algebra(spec) -> None:
    B = path_matrix(spec)
    Phi, _ = construct_correlations(spec, B, 0.3)
    lam = np.array([LOADINGS.get(i, 0.8) for i in spec.item_names])
    Sigma, w = composite_covariance(spec, Phi, lam)
    M = spec.block_mask
    W = M * w[:, None]
    # Composite correlations equal Phi exactly, and each composite has unit variance.
    np.testing.assert_allclose(W.T @ Sigma @ W, Phi, atol=1e-12)
    np.testing.assert_allclose(np.diag(Sigma), 1.0)
    # Weights proportional to the loadings within every block.
    for j in range(M.shape[1]):
        h = np.flatnonzero(M[:, j])
        np.testing.assert_allclose(w[h] / w[h].sum(), lam[h] / lam[h].sum(), atol=1e-14)
    # Within-block correlations are the loading products.
    np.testing.assert_allclose(Sigma[0, 1], 0.9 * 0.7)


def test_large_sample_matches_population(spec) -> None:
    sim = simulate(spec, N_BIG, seed=5, loadings=LOADINGS, population="composite")
    assert sim.population == "composite"
    X = sim.data.to_numpy()
    B = path_matrix(spec)
    Phi, _ = construct_correlations(spec, B, 0.3)
    lam = np.array([LOADINGS.get(i, 0.8) for i in spec.item_names])
    Sigma, w = composite_covariance(spec, Phi, lam)
    # Sampling SD of a correlation is at most 1/sqrt(n) = 0.0032; 5 SD.
    np.testing.assert_allclose(np.corrcoef(X, rowvar=False), Sigma, atol=0.016)
    eta = X @ (spec.block_mask * w[:, None])
    np.testing.assert_allclose(np.corrcoef(eta, rowvar=False), sim.construct_correlations, atol=0.016)
    # Reported loadings are item-composite correlations.
    for h, item in enumerate(spec.item_names):
        j = spec.construct_names.index(spec.block_of(item))
        got = np.corrcoef(X[:, h], eta[:, j])[0, 1]
        assert got == pytest.approx(sim.loadings[f"{spec.block_of(item)} =~ {item}"], abs=0.016)


def test_sumscore_recovers_paths_in_equal_weight_composite_population(spec) -> None:
    # With equal loadings the population weights are equal, so the (continuous) sum score is the
    # construct itself and OLS paths are consistent; PLSc "corrects" an error that is not there
    # and overshoots (methodology 7.2's expected result).
    sim = simulate(spec, N_BIG, seed=2, population="composite")
    ss = csi.fit(spec, sim.data, method="sumscore")
    plsc = csi.fit(spec, sim.data, method="plsc")
    got = pd.Series([ss.paths.loc[p.target, p.source] for p in spec.paths], index=list(spec.path_labels()))
    # Sampling SD of a path at n = 100,000 is below 0.005; 4 SD.
    np.testing.assert_allclose(got, sim.paths, atol=0.02)
    corrected = pd.Series([plsc.paths.loc[p.target, p.source] for p in spec.paths], index=got.index)
    assert (corrected - sim.paths).abs().max() > 0.035  # about 8 sampling SDs


def test_true_weights_and_index_follow_population_weights(spec) -> None:
    scsb = csi.load_model("scsb")
    f = simulate(scsb, 10, seed=1)
    c = simulate(scsb, 10, seed=1, population="composite")
    # w proportional to the loadings: the normalised raw weights and the true index equal the factor population's.
    pd.testing.assert_series_equal(f.true_weights, c.true_weights)
    pd.testing.assert_series_equal(f.population_index, c.population_index)
