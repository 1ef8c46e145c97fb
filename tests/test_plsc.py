"""Consistent PLS: population-exact recovery, bias of plain PLS, composites, ECSI data, admissibility.

Numbers: the population of :mod:`exact_population` (cSEM ``threecommonfactors``)
and the identity rho_A = (lambda'lambda)² / ((lambda'lambda)² + sum lambda²(1 - lambda²))
for Mode A weights proportional to lambda (Dijkstra & Henseler 2015a: rho_A is
the squared correlation of the composite with its factor), derived in the test.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import satisfaction_spec
from exact_population import exact_data, population, spec

import csi
from csi.core.pls import pls_inner, pls_weights
from csi.core.plsc import admissible, plsc, rho_a
from csi.spec.model import Construct, Item, ModelSpec, Path

ATOL = 1e-8


@pytest.fixture(scope="module")
def exact():
    return exact_data()


@pytest.mark.parametrize("scheme", ["path", "centroid", "factorial"])
def test_population_loadings_paths_correlations(exact, scheme):
    Sigma, lam, Phi, B = population()
    fit = csi.fit(spec(), exact, method="plsc", scheme=scheme)
    assert fit.method == "plsc" and fit.admissible and fit.converged
    np.testing.assert_allclose(fit.loadings.to_numpy(), lam, rtol=0, atol=ATOL)
    np.testing.assert_allclose(fit.paths.to_numpy(), B, rtol=0, atol=ATOL)
    np.testing.assert_allclose(fit.construct_correlations.to_numpy(), Phi, rtol=0, atol=ATOL)
    total = np.linalg.inv(np.eye(3) - B) - np.eye(3)
    np.testing.assert_allclose(fit.total_effects.to_numpy(), total, rtol=0, atol=ATOL)
    r2 = 1 - np.array([1 - 0.36, 1 - (0.4 * 0.61 + 0.35 * 0.59)])
    np.testing.assert_allclose(fit.r2.to_numpy(), r2, rtol=0, atol=ATOL)


def test_population_cross_loadings(exact):
    """cor(x_h, eta_k) = lambda_h Phi_jk in the population."""
    Sigma, lam, Phi, B = population()
    fit = csi.fit(spec(), exact, method="plsc")
    block = spec().block_index
    np.testing.assert_allclose(fit.cross_loadings.to_numpy(), lam[:, None] * Phi[block], rtol=0, atol=ATOL)


def test_population_rho_a(exact):
    Sigma, lam, Phi, B = population()
    fit = csi.fit(spec(), exact, method="plsc")
    block = spec().block_index
    expected = []
    for j in range(3):
        lj = lam[block == j]
        a = (lj @ lj) ** 2
        expected.append(a / (a + np.sum(lj**2 * (1 - lj**2))))
    np.testing.assert_allclose(fit.rho_a.to_numpy(), expected, rtol=0, atol=ATOL)
    # Equal loadings 0.7: rho_A equals standardised alpha 3r/(1 + 2r), r = 0.49.
    assert fit.rho_a["eta1"] == pytest.approx(3 * 0.49 / (1 + 2 * 0.49), abs=ATOL)


def test_weights_scores_unchanged(exact):
    pls = csi.fit(spec(), exact)
    plsc_ = csi.fit(spec(), exact, method="plsc")
    np.testing.assert_array_equal(pls.weights, plsc_.weights)
    np.testing.assert_array_equal(pls.scores, plsc_.scores)
    assert pls.rho_a is None and pls.admissible


def test_pls_is_biased_on_factor_data(exact):
    """Plain PLS overstates loadings and understates paths in a common-factor population."""
    Sigma, lam, Phi, B = population()
    fit = csi.fit(spec(), exact)
    assert np.all(fit.loadings.to_numpy() > lam + 0.05)
    mask = B != 0
    assert np.all(fit.paths.to_numpy()[mask] < B[mask] - 0.04)
    off = ~np.eye(3, dtype=bool)
    assert np.all(fit.construct_correlations.to_numpy()[off] < Phi[off])


def test_composite_block_keeps_rho_a_one(exact):
    Sigma, lam, Phi, B = population()
    s = spec(("A", "B", "A"))
    fit = csi.fit(s, exact, method="plsc")
    pls = csi.fit(s, exact)
    assert fit.rho_a["eta2"] == 1.0
    items = list(s.construct("eta2").item_names)
    np.testing.assert_allclose(fit.loadings[items], pls.loadings[items], rtol=0, atol=1e-14)
    # Mode A weights stay proportional to lambda, so the factor blocks are still recovered.
    block = s.block_index
    np.testing.assert_allclose(fit.loadings.to_numpy()[block != 1], lam[block != 1], rtol=0, atol=ATOL)


def test_single_item_block_keeps_rho_a_one(exact):
    s = ModelSpec(
        "single",
        (Construct("eta1", tuple(Item(f"x1{i}") for i in (1, 2, 3))), Construct("eta2", (Item("x21"),))),
        (Path("eta1", "eta2", "+"),),
    )
    fit = csi.fit(s, exact, method="plsc")
    assert fit.rho_a["eta2"] == 1.0
    assert fit.loadings["x21"] == pytest.approx(1.0, abs=1e-12)
    # Disattenuation only by eta1's Q: R~ = R / sqrt(rho_A(eta1)).
    pls = csi.fit(s, exact)
    r = pls.construct_correlations.loc["eta1", "eta2"] / np.sqrt(fit.rho_a["eta1"])
    assert fit.construct_correlations.loc["eta1", "eta2"] == pytest.approx(r, abs=1e-12)


def test_satisfaction_data(satisfaction):
    fit = csi.fit(satisfaction_spec(), satisfaction, method="plsc")
    pls = csi.fit(satisfaction_spec(), satisfaction)
    assert fit.method == "plsc" and fit.options["scheme"] == "path"
    assert np.all((fit.rho_a > 0) & (fit.rho_a < 1))
    # lambda_j = c_j w_j: loadings / weights is one constant c_j per block, and c_j² (w_j'w_j)² = rho_A.
    ratio = (fit.loadings / fit.weights).groupby(fit.outer_model["construct"], sort=False)
    np.testing.assert_allclose(ratio.max() - ratio.min(), 0, atol=1e-12)
    ww = (fit.weights**2).groupby(fit.outer_model["construct"], sort=False).sum()
    np.testing.assert_allclose(ratio.mean() ** 2 * ww**2, fit.rho_a, rtol=1e-12)
    # R~ = R / (Q_j Q_k)
    q = np.sqrt(fit.rho_a.to_numpy())
    off = ~np.eye(6, dtype=bool)
    expected = pls.construct_correlations.to_numpy() / np.outer(q, q)
    np.testing.assert_allclose(fit.construct_correlations.to_numpy()[off], expected[off], rtol=1e-12)
    assert "Admissible" in fit.summary()


def test_scaled_false_rejected(satisfaction):
    with pytest.raises(csi.EstimationError, match="scaled=True"):
        csi.fit(satisfaction_spec(), satisfaction, method="plsc", scaled=False)


def test_unknown_option_lists_plsc():
    with pytest.raises(csi.EstimationError, match="'plsc'"):
        csi.fit(spec(), exact_data(), method="nope")


def test_kernel_batched_equals_loop(exact):
    """A stack of moment matrices gives the same result as one at a time."""
    s = spec()
    M, D = s.block_mask, s.adjacency
    X = exact.to_numpy()
    rng = np.random.default_rng(3)
    S = np.stack([np.corrcoef(X[rng.integers(0, len(X), len(X))].T) for _ in range(4)])
    mode_a = np.ones(3, dtype=bool)
    w = pls_weights(S, M, D, ~mode_a).w
    inn = pls_inner(S, w, M, D)
    batched = plsc(S, w, M, D, mode_a, inn.loadings, inn.cross, inn.R)
    for b in range(4):
        one = pls_inner(S[b], w[b], M, D)
        single = plsc(S[b], w[b], M, D, mode_a, one.loadings, one.cross, one.R)
        for got, exp in zip(batched, single):
            np.testing.assert_allclose(got[b], exp, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rho_a(S, w, M, mode_a), batched.rho_a, rtol=1e-14)


def test_admissibility_checks():
    R = np.array([[1.0, 0.5], [0.5, 1.0]])
    lam = np.array([0.7, 0.8])
    rho = np.array([0.8, 1.0])
    assert admissible(rho, lam, R)
    assert not admissible(np.array([1.2, 1.0]), lam, R)
    assert not admissible(rho, np.array([1.01, 0.8]), R)
    assert not admissible(rho, lam, np.array([[1.0, 1.1], [1.1, 1.0]]))
    assert not admissible(np.array([np.nan, 1.0]), lam, R)
    R3 = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])  # |r| <= 1 but not PD
    assert not admissible(np.ones(3), lam, R3)
    batch = admissible(np.stack([rho, [1.2, 1.0]]), np.stack([lam, lam]), np.stack([R, R]))
    np.testing.assert_array_equal(batch, [True, False])


def test_inadmissible_fit_warns():
    """Heywood case: a weakly correlated item pair, one item tied to the other block, gives |lambda| > 1.

    Two-item block: c² = r12 / (w1 w2), so lambda_1 = sqrt(r12 w1 / w2) > 1 once w1 / w2 > 1 / r12.
    """
    Sigma = np.full((5, 5), 0.6)
    Sigma[:2, :] = Sigma[:, :2] = 0.0
    Sigma[0, 2:] = Sigma[2:, 0] = 0.5
    Sigma[1, 2:] = Sigma[2:, 1] = 0.02
    Sigma[0, 1] = Sigma[1, 0] = 0.1
    np.fill_diagonal(Sigma, 1.0)
    data = exact_data(Sigma=Sigma, columns=["a1", "a2", "b1", "b2", "b3"])
    s = ModelSpec(
        "heywood",
        (Construct("A", (Item("a1"), Item("a2"))), Construct("B", (Item("b1"), Item("b2"), Item("b3")))),
        (Path("A", "B", "+"),),
    )
    with pytest.warns(csi.AdmissibilityWarning):
        fit = csi.fit(s, data, method="plsc")
    assert not fit.admissible
    assert fit.loadings["a1"] > 1 or fit.rho_a["A"] > 1


def test_estimator_is_a_pls_subclass():
    from csi.estimators import ESTIMATORS, PLSc
    from csi.estimators.pls import PLS

    assert ESTIMATORS["plsc"] is PLSc and issubclass(PLSc, PLS)
    assert [f.name for f in dataclasses.fields(PLSc)] == [f.name for f in dataclasses.fields(PLS)]
