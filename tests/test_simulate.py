"""Tests of csi.simulate: exact population quantities against large samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr, ndtri
from scipy.stats import multivariate_normal

from csi import Construct, Item, ModelSpec, Path, SpecError
from csi.data import prepare_items
from csi.simulate import SATISFACTION_MARGINAL_10, construct_correlations, path_matrix, simulate

N_BIG = 200_000


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return ModelSpec(
        "sim",
        constructs=(
            Construct("EXP", (Item("e1", 1, 10), Item("e2", 1, 10), Item("e3", 1, 10, reverse=True))),
            Construct("QUAL", (Item("q1", 1, 5), Item("q2", 1, 7))),
            Construct("SAT", (Item("s1", 1, 10), Item("s2", 1, 10))),
            Construct("COMP", (Item("c1", 0, 1, type="binary"),)),
            Construct("LOY", (Item("l1"), Item("l2"), Item("l3"))),
        ),
        paths=(
            Path("EXP", "QUAL", "+"),
            Path("EXP", "SAT", "+"),
            Path("QUAL", "SAT", "+"),
            Path("SAT", "COMP", "-"),
            Path("SAT", "LOY", "+"),
            Path("COMP", "LOY", "?"),
        ),
        target="SAT",
    )


LOADINGS = {"l1": 0.9, "l2": 0.7, "l3": 0.6, "s1": 0.85, "q2": 0.7}


@pytest.fixture(scope="module")
def big(spec):
    return simulate(spec, N_BIG, seed=20240601, loadings=LOADINGS)


def test_same_seed_identical_bytes(spec):
    a = simulate(spec, 500, seed=7)
    b = simulate(spec, 500, seed=7)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.data.to_numpy().tobytes() == b.data.to_numpy().tobytes()
    c = simulate(spec, 500, seed=8)
    assert not a.data.equals(c.data)
    assert a.seed == 7


def test_seed_none_is_recorded(spec):
    a = simulate(spec, 50)
    assert isinstance(a.seed, int)
    pd.testing.assert_frame_equal(simulate(spec, 50, seed=a.seed).data, a.data)


def test_generator_accepted(spec):
    a = simulate(spec, 50, seed=np.random.default_rng(3))
    pd.testing.assert_frame_equal(a.data, simulate(spec, 50, seed=3).data)


def test_values_on_scale_and_dtypes(spec, big):
    data = big.data
    assert list(data.columns) == list(spec.item_names) and len(data) == N_BIG
    for item in spec.items:
        col = data[item.name]
        if item.has_scale:
            assert col.dtype == np.int64
            assert col.min() >= item.scale_min and col.max() <= item.scale_max
        else:
            assert col.dtype == np.float64
    # every category of a 1-10 item occurs
    assert set(data["e1"].unique()) == set(range(1, 11))


def test_item_means_match_within_5_sigma(big):
    emp = big.data.mean()
    bound = 5 * big.item_sds / np.sqrt(N_BIG)
    assert (np.abs(emp - big.item_means) <= bound).all(), (emp - big.item_means) / bound


def test_item_sds_match(big):
    # SE of a sample SD <= SD * sqrt(kurtosis_excess + 2) / (2 sqrt(n)); 0.01 relative is > 5 SE here
    np.testing.assert_allclose(big.data.std(ddof=1), big.item_sds, rtol=0.01)


def test_exact_means_of_known_marginals(big):
    assert big.item_means["e1"] == pytest.approx(np.arange(1, 11) @ SATISFACTION_MARGINAL_10)
    assert big.item_means["e1"] == pytest.approx(7.88)
    # 5-point items: F(c/5) of the piecewise-linear CDF gives 2/5/14/34/45 %
    assert big.item_means["q1"] == pytest.approx(np.arange(1, 6) @ [0.02, 0.05, 0.14, 0.34, 0.45])
    assert big.item_means["c1"] == pytest.approx(0.2)
    assert big.item_sds["c1"] == pytest.approx(0.4)
    assert big.item_means["l1"] == 0 and big.item_sds["l1"] == 1


def test_binary_rate(spec, big):
    assert set(big.data["c1"].unique()) == {0, 1}
    rate = big.data["c1"].mean()
    assert abs(rate - 0.2) <= 5 * np.sqrt(0.2 * 0.8 / N_BIG)
    other = simulate(spec, 20_000, seed=1, binary_rate=0.05)
    assert abs(other.data["c1"].mean() - 0.05) <= 5 * np.sqrt(0.05 * 0.95 / 20_000)


def _corr_bound(rho: float) -> float:
    return 5 * (1 - rho**2) / np.sqrt(N_BIG) + 1e-4


def test_continuous_items_within_block(big):
    r = big.data[["l1", "l2", "l3"]].corr().to_numpy()
    lam = np.array([0.9, 0.7, 0.6])
    for a in range(3):
        for b in range(a + 1, 3):
            rho = lam[a] * lam[b]
            assert abs(r[a, b] - rho) <= _corr_bound(rho)


def test_continuous_items_between_blocks(spec):
    # all items continuous: corr = lambda_a lambda_b Phi_jk
    plain = ModelSpec(
        "plain",
        constructs=tuple(
            Construct(c.name, tuple(Item(i.name, type="interval") for i in c.items if not i.reverse))
            for c in spec.constructs
            if c.name != "COMP"
        ),
        paths=tuple(p for p in spec.paths if "COMP" not in (p.source, p.target)),
    )
    sim = simulate(plain, N_BIG, seed=5, loadings={"l1": 0.9, "e1": 0.6})
    phi = sim.construct_correlations
    r = sim.data.corr()
    lam = dict(zip(plain.item_names, sim.loadings.to_numpy(), strict=True))
    for a, b in [("e1", "s1"), ("e2", "l1"), ("q1", "l2"), ("e1", "e2"), ("s1", "l1")]:
        rho = lam[a] * lam[b] * phi.loc[plain.block_of(a), plain.block_of(b)]
        assert abs(r.loc[a, b] - rho) <= _corr_bound(rho), (a, b, r.loc[a, b], rho)


def _exact_discrete_corr(tau_a, tau_b, sd_a, sd_b, rho):
    """Pearson correlation of two unit-step ordinal items cut from a bivariate normal.

    x = v0 + sum_c 1{z > tau_c}; Cov(1{za > s}, 1{zb > t}) = Phi2(s, t; rho) - Phi(s) Phi(t).
    """
    s, t = np.meshgrid(tau_a, tau_b, indexing="ij")
    pts = np.column_stack([s.ravel(), t.ravel()])
    phi2 = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf(pts)
    cov = np.sum(phi2 - ndtr(pts[:, 0]) * ndtr(pts[:, 1]))
    return cov / (sd_a * sd_b)


def test_discretized_items_match_exact_correlation(big):
    knots = np.concatenate([[0.0], np.cumsum(SATISFACTION_MARGINAL_10)])

    tau10 = ndtri(knots[1:-1])
    lam_s1, lam_s2, lam_e1 = 0.85, 0.8, 0.8
    phi = big.construct_correlations.loc["SAT", "EXP"]
    for a, b, rho in [("s1", "s2", lam_s1 * lam_s2), ("s1", "e1", lam_s1 * lam_e1 * phi)]:
        exact = _exact_discrete_corr(tau10, tau10, big.item_sds[a], big.item_sds[b], rho)
        emp = big.data[a].corr(big.data[b])
        assert 0 < exact < rho  # discretization attenuates
        assert abs(emp - exact) <= _corr_bound(exact), (a, b, emp, exact)


def test_reverse_items(spec, big):
    e = big.data
    assert e["e3"].corr(e["e2"]) < 0
    assert big.item_means["e3"] == pytest.approx(11 - big.item_means["e2"])
    prepared = prepare_items(spec, e.iloc[:20_000])
    X = pd.DataFrame(prepared.X, columns=list(spec.item_names))
    assert X["e3"].corr(X["e2"]) > 0.4
    assert abs(X["e3"].mean() - big.item_means["e2"]) <= 5 * big.item_sds["e2"] / np.sqrt(20_000)


def test_phi_matches_closed_form(spec, big):
    B = path_matrix(spec)
    Phi, psi = construct_correlations(spec, B, 0.3)
    Psi = np.diag(psi)  # a single exogenous construct, so Psi is diagonal with Psi[EXP] = 1
    Psi[0, 0] = 1.0
    inv = np.linalg.inv(np.eye(len(B)) - B)
    np.testing.assert_allclose(inv @ Psi @ inv.T, Phi, atol=1e-12)
    np.testing.assert_allclose(np.diag(Phi), 1.0)
    np.testing.assert_allclose(big.construct_correlations.to_numpy(), Phi)
    assert big.r_squared["SAT"] == pytest.approx(1 - psi[2])


def test_correlated_exogenous_blocks():
    spec = ModelSpec(
        "exo",
        constructs=tuple(Construct(n, (Item(n.lower() + "1"),)) for n in ("A", "B", "C", "Y")),
        paths=(Path("A", "Y", "+"), Path("B", "Y", "+"), Path("C", "Y", "-")),
    )
    B = path_matrix(spec)
    Phi, psi = construct_correlations(spec, B, 0.5)
    Psi = np.diag(psi)
    Psi[:3, :3] = 0.5 + 0.5 * np.eye(3)
    inv = np.linalg.inv(np.eye(4) - B)
    np.testing.assert_allclose(inv @ Psi @ inv.T, Phi, atol=1e-12)
    b = np.array([0.5, 0.5, -0.3]) / np.sqrt(3)  # defaults shrink with the number of drivers
    assert 1 - psi[3] == pytest.approx(b @ Psi[:3, :3] @ b)


def test_default_and_overridden_paths(spec):
    sim = simulate(spec, 10, seed=0, paths={"SAT ~ QUAL": 0.5, ("COMP", "LOY"): -0.1})
    assert sim.paths["SAT ~ EXP"] == pytest.approx(0.5 / np.sqrt(len(spec.predecessors("SAT"))))
    assert sim.paths["SAT ~ QUAL"] == 0.5
    assert sim.paths["COMP ~ SAT"] == -0.3
    assert sim.paths["LOY ~ COMP"] == -0.1
    assert list(sim.paths.index) == list(spec.path_labels())
    assert sim.loadings["LOY =~ l1"] == 0.8


def test_true_weights_and_index(spec, big):
    w = big.true_weights
    block = pd.Series([spec.block_of(i) for i in spec.item_names], index=spec.item_names)
    np.testing.assert_allclose(w.groupby(block).sum(), 1.0)
    u = big.loadings.to_numpy() / big.item_sds.to_numpy()
    assert w["s1"] / w["s2"] == pytest.approx(u[5] / u[6])
    # equal loadings and one marginal: the index is (7.88 - 1) / 9 * 100
    assert big.population_index["EXP"] == pytest.approx((7.88 - 1) / 9 * 100)
    assert big.population_index["COMP"] == pytest.approx(20.0)
    assert np.isnan(big.population_index["LOY"])
    # the index equals the formula of methodology 3.2 applied to population means
    q = np.array([big.item_means["q1"], big.item_means["q2"]])
    wq = w[["q1", "q2"]].to_numpy()
    expected = 100 * (wq @ q - wq @ [1, 1]) / (wq @ [4, 6])
    assert big.population_index["QUAL"] == pytest.approx(expected)


def test_symmetric_marginal(spec):
    sim = simulate(spec, 10, seed=0, skew=False)
    assert sim.item_means["e1"] == pytest.approx(5.5)
    assert sim.item_means["q1"] == pytest.approx(3.0)
    assert sim.population_index["EXP"] == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"paths": {"SAT ~ EXP": 0.8, "SAT ~ QUAL": 0.7}}, r"SAT .*R² = .* >= 1"),
        ({"paths": {"LOY ~ EXP": 0.3}}, "not in model"),
        ({"paths": {"SAT -> EXP": 0.3}}, "not understood"),
        ({"paths": {"SAT ~ EXP": "big"}}, "must be a number"),
        ({"loadings": {"s1": 1.2}}, r"\(0, 1\]"),
        ({"loadings": {"zz": 0.5}}, "unknown item 'zz'"),
        ({"population": "formative"}, "unknown population type 'formative'.*'factor', 'composite'"),
        ({"binary_rate": 1.0}, "binary_rate"),
    ],
)
def test_invalid_parameters(spec, kwargs, pattern):
    with pytest.raises(SpecError, match=pattern):
        simulate(spec, 10, seed=0, **kwargs)


def test_invalid_exogenous_correlation():
    spec = ModelSpec(
        "exo",
        constructs=tuple(Construct(n, (Item(n.lower() + "1"),)) for n in ("A", "B", "C", "Y")),
        paths=(Path("A", "Y"), Path("B", "Y"), Path("C", "Y")),
    )
    with pytest.raises(SpecError, match="strictly between -0.5 and 1"):
        simulate(spec, 10, seed=0, exogenous_correlation=-0.6)


def test_bad_n_and_scale(spec):
    with pytest.raises(ValueError, match="positive integer"):
        simulate(spec, 0)
    odd = ModelSpec("odd", constructs=(Construct("A", (Item("a1", 0.5, 4.5), Item("a2", 1, 5))),))
    with pytest.raises(SpecError, match="integer scale bounds"):
        simulate(odd, 10, seed=0)


def test_simulated_data_pass_prepare(spec):
    sim = simulate(spec, 300, seed=11)
    prepared = prepare_items(spec, sim.data)
    assert prepared.n_used == 300
