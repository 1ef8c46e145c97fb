"""Equal-weight and PCA indices (methodology §3.2, §6.3) against hand computations.

Data are built so their sample correlation matrix (divisor N) equals a chosen
matrix exactly (the cSEM "population-exact" idea), so eigenvectors are known
in closed form.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import csi
from csi.classical import equal_weight_index, pca_index
from csi.errors import DataError, EstimationError
from csi.spec.model import Construct, Item, ModelSpec


def exact_data(corr, sd, mean, n=300, seed=0, names=None) -> pd.DataFrame:
    """N rows whose (divisor-N) correlation matrix is ``corr`` exactly, with the given sds and means."""
    corr = np.asarray(corr, dtype=float)
    p = corr.shape[0]
    Z = np.random.default_rng(seed).standard_normal((n, p))
    Z -= Z.mean(axis=0)
    L = np.linalg.cholesky(Z.T @ Z / n)
    Z = Z @ np.linalg.inv(L).T  # sample covariance exactly I
    X = Z @ np.linalg.cholesky(corr).T * np.asarray(sd) + np.asarray(mean)
    return pd.DataFrame(X, columns=names or [f"x{h + 1}" for h in range(p)])


def one_block(names, lo=0.0, hi=10.0) -> ModelSpec:
    return ModelSpec("t", (Construct("B", tuple(Item(n, lo, hi) for n in names)),))


def test_equal_weight_index_is_mean_of_rescaled_item_means():
    df = pd.DataFrame({"a": [1, 5, 9, 7], "b": [2, 3, 4, 5], "c": [10, 40, 20, 30]})
    spec = ModelSpec("t", (Construct("Q", (Item("a", 1, 10), Item("b", 1, 5))), Construct("P", (Item("c", 0, 50),))))
    res = equal_weight_index(spec, df)
    hand_q = (100 * (5.5 - 1) / 9 + 100 * (3.5 - 1) / 4) / 2
    assert res.index["Q"] == pytest.approx(hand_q)
    assert res.index["P"] == pytest.approx(100 * 25 / 50)
    # Raw-metric weights are 1/(max - min), normalised: (1/9, 1/4) / (1/9 + 1/4).
    assert res.weights["a"] == pytest.approx((1 / 9) / (1 / 9 + 1 / 4))
    assert res.weights.groupby(res.to_frame()["construct"]).sum().to_numpy() == pytest.approx([1, 1])


def test_equal_weight_matches_compute_index_equal_on_a_common_scale():
    df = exact_data(np.eye(3) * 0.5 + 0.5, [0.8, 0.8, 0.8], [4, 5, 6], names=["a", "b", "c"])
    df["d"] = df["a"] * 0.5 + df["b"] * 0.5 + 0.3 * exact_data(np.eye(1), [0.8], [0], seed=2).iloc[:, 0]
    spec = ModelSpec(
        "t",
        (Construct("X", (Item("a", 0, 10), Item("b", 0, 10))), Construct("Y", (Item("c", 0, 10), Item("d", 0, 10)))),
        (csi.Path("X", "Y"),),
    )
    ours = equal_weight_index(spec, df).index
    pls = csi.compute_index(csi.fit(spec, df), weighting="equal")
    np.testing.assert_allclose(ours.to_numpy(), pls.to_numpy(), atol=1e-12)


def test_pca_weights_equal_for_equal_correlations():
    corr = np.full((4, 4), 0.45) + 0.55 * np.eye(4)
    df = exact_data(corr, [0.7] * 4, [5, 6, 7, 4])
    res = pca_index(one_block(list(df.columns)), df)
    np.testing.assert_allclose(res.weights.to_numpy(), 0.25, atol=1e-12)
    assert res.index["B"] == pytest.approx(100 * np.mean([5, 6, 7, 4]) / 10)
    assert res.components.loc["B", "eigenvalues"][0] == pytest.approx(1 + 3 * 0.45)


def test_pca_first_component_hand_computation():
    # R = [[1,a,0],[a,1,a],[0,a,1]]: l1 = 1 + a√2, u1 = (1, √2, 1)/2.
    a = 0.5
    corr = [[1, a, 0], [a, 1, a], [0, a, 1]]
    sd, mean = np.array([1.0, 0.5, 0.9]), np.array([6.0, 5.0, 4.0])
    df = exact_data(corr, sd, mean)
    res = pca_index(one_block(list(df.columns)), df)
    v = np.array([1, np.sqrt(2), 1]) / 2 / sd
    w = v / v.sum()
    np.testing.assert_allclose(res.weights.to_numpy(), w, atol=1e-12)
    assert res.index["B"] == pytest.approx(100 * (w @ mean) / 10)
    assert res.components.loc["B", "eigenvalues"][0] == pytest.approx(1 + a * np.sqrt(2))
    assert res.components.loc["B", "retained"] == 1


def test_pca_retain_weights_components_by_variance_share():
    # Block-diagonal R with r = .8 and .6: l = 1.8, 1.6, .4, .2; Kaiser keeps 2 (85 % >= 80 %).
    corr = np.eye(4)
    corr[0, 1] = corr[1, 0] = 0.8
    corr[2, 3] = corr[3, 2] = 0.6
    sd = np.array([1.0, 0.8, 0.6, 0.9])
    df = exact_data(corr, sd, [5, 5, 5, 5])
    res = pca_index(one_block(list(df.columns)), df, method="retain")
    v = np.array([1.8, 1.8, 1.6, 1.6]) / 3.4 / np.sqrt(2) / sd
    np.testing.assert_allclose(res.weights.to_numpy(), v / v.sum(), atol=1e-12)
    assert res.components.loc["B", "retained"] == 2
    assert res.components.loc["B", "explained"] == pytest.approx(3.4 / 4)
    assert res.method == "pca-retain" and res.options["min_cumulative"] == 0.8


def test_pca_one_item_block_is_the_rescaled_mean_like_pls():
    df = exact_data(np.eye(1), [0.5], [7.0], names=["z"])
    res = pca_index(one_block(["z"]), df)
    assert res.weights["z"] == 1.0
    assert res.index["B"] == pytest.approx(70.0)


def test_pca_negative_weight_is_an_error_naming_the_item():
    corr = [[1, 0.6, -0.3], [0.6, 1, -0.3], [-0.3, -0.3, 1]]
    df = exact_data(corr, [1, 1, 1], [5, 5, 5])
    spec = one_block(list(df.columns))
    with pytest.raises(EstimationError, match=r"x3 \(B\).*negative='force'"):
        pca_index(spec, df)
    with pytest.warns(UserWarning, match="computed anyway"):
        res = pca_index(spec, df, negative="force")
    assert res.weights["x3"] < 0


def test_pca_tied_eigenvalues_are_an_error():
    df = exact_data(np.eye(2), [1, 1], [5, 5])
    with pytest.raises(EstimationError, match=r"block B: eigenvalues \[1.0, 1.0\] of its correlation matrix tie"):
        pca_index(one_block(list(df.columns)), df)


def test_pca_options_are_validated():
    df = exact_data(np.eye(2) * 0.5 + 0.5, [1, 1], [5, 5])
    spec = one_block(list(df.columns))
    with pytest.raises(EstimationError, match="unknown PCA method 'varimax'; accepted: 'first', 'retain'"):
        pca_index(spec, df, method="varimax")
    with pytest.raises(EstimationError, match="unknown negative-weight policy"):
        pca_index(spec, df, negative="drop")
    with pytest.raises(EstimationError, match="scale_min/scale_max"):
        pca_index(ModelSpec("t", (Construct("B", ("x1", "x2")),)), df)
    with pytest.raises(DataError, match="x2"):
        pca_index(spec, df.drop(columns="x2"))


def test_indices_do_not_modify_the_data():
    df = exact_data(np.eye(3) * 0.5 + 0.5, [1, 1, 1], [5, 5, 5])
    before = df.copy()
    with pytest.raises(EstimationError, match=r"retained component\(s\) are not unique"):
        pca_index(one_block(list(df.columns)), df, method="retain")  # l = 2, .5, .5 and 80 % needs 2 of them
    pca_index(one_block(list(df.columns)), df)
    equal_weight_index(one_block(list(df.columns)), df)
    pd.testing.assert_frame_equal(df, before)


def test_respondent_weights_enter_the_means():
    df = pd.DataFrame({"a": [2.0, 4.0, 6.0], "b": [1.0, 3.0, 8.0]})
    res = equal_weight_index(one_block(["a", "b"]), df, weights=[1.0, 1.0, 2.0])
    assert res.item_means["a"] == pytest.approx((2 + 4 + 12) / 4)
    assert res.index["B"] == pytest.approx(100 * ((18 / 4) + (20 / 4)) / 2 / 10)


def test_pca_equal_and_pls_indices_are_comparable_on_the_satisfaction_data(satisfaction):
    # Same formula and bounds: on the plspm satisfaction data (one dominant component per block) the three
    # weightings differ by well under 2 index points (observed max 0.7: IMAG, PCA vs PLS).
    from conftest import satisfaction_spec

    spec = satisfaction_spec()
    pls = csi.compute_index(csi.fit(spec, satisfaction))
    for res in (pca_index(spec, satisfaction), equal_weight_index(spec, satisfaction)):
        np.testing.assert_allclose(res.index.to_numpy(), pls.to_numpy(), atol=2.0)
