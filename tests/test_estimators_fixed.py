"""Fixed-weight estimators (sum scores, PCA) checked against hand-made composites and OLS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import csi
from csi.errors import EstimationError


@pytest.fixture(scope="module")
def sample() -> tuple[csi.ModelSpec, pd.DataFrame]:
    sim = csi.simulate(csi.load_model("ecsi"), 300, seed=11)
    return sim.spec, sim.data


def _standardise(a: np.ndarray) -> np.ndarray:
    return (a - a.mean(axis=0)) / a.std(axis=0)


def _ols_paths(spec: csi.ModelSpec, scores: pd.DataFrame) -> dict[str, float]:
    """Path coefficients by numpy least squares on standardised composites, one regression per equation."""
    Z = pd.DataFrame(_standardise(scores.to_numpy()), columns=scores.columns)
    out = {}
    for target in spec.endogenous:
        pred = list(spec.predecessors(target))
        beta, *_ = np.linalg.lstsq(Z[pred].to_numpy(), Z[target].to_numpy(), rcond=None)
        out.update({f"{target} ~ {p}": b for p, b in zip(pred, beta)})
    return out


def _paths(fit: csi.FitResult) -> dict[str, float]:
    return {f"{p.target} ~ {p.source}": fit.paths.loc[p.target, p.source] for p in fit.spec.paths}


def test_sumscore_paths_are_ols_on_hand_made_sum_scores(sample) -> None:
    spec, data = sample
    fit = csi.fit(spec, data, method="sumscore")
    sums = pd.DataFrame({c.name: data[[i.name for i in c.items]].sum(axis=1) for c in spec.constructs})
    expected = _ols_paths(spec, sums)
    got = _paths(fit)
    # Same least-squares problem solved two ways (normal equations on R vs lstsq on rows): rounding only.
    assert got == pytest.approx(expected, abs=1e-10)
    # Scores are the standardised sum scores; loadings their correlations with the items.
    np.testing.assert_allclose(fit.scores.to_numpy(), _standardise(sums.to_numpy()), atol=1e-10)
    for item in spec.item_names:
        c = spec.block_of(item)
        assert fit.loadings[item] == pytest.approx(np.corrcoef(data[item], sums[c])[0, 1], abs=1e-12)
    assert fit.r2.to_numpy() == pytest.approx(
        [np.corrcoef(fit.scores[c], fit.scores[list(spec.predecessors(c))] @ fit.paths.loc[c, list(spec.predecessors(c))])[0, 1] ** 2
         for c in spec.endogenous], abs=1e-10)  # fmt: skip
    assert fit.method == "sumscore" and fit.converged and fit.iterations == 0


def test_pca_weights_are_first_eigenvector_of_block_correlations(sample) -> None:
    spec, data = sample
    fit = csi.fit(spec, data, method="pca")
    for c in spec.constructs:
        items = [i.name for i in c.items]
        if len(items) < 2:
            continue
        R = np.corrcoef(data[items].to_numpy(), rowvar=False)
        # Power iteration as an independent route to the leading eigenvector.
        v = np.ones(len(items))
        for _ in range(500):
            v = R @ v
            v /= np.linalg.norm(v)
        v = v / np.sqrt(v @ R @ v)  # unit composite variance, as the fit reports weights
        v = v if v.sum() > 0 else -v
        np.testing.assert_allclose(fit.weights[items].to_numpy(), v, atol=1e-10)


def test_pca_paths_are_ols_on_first_component_scores(sample) -> None:
    spec, data = sample
    fit = csi.fit(spec, data, method="pca")
    X = _standardise(data[list(spec.item_names)].to_numpy())
    scores = pd.DataFrame(X @ (spec.block_mask * fit.weights.to_numpy()[:, None]), columns=spec.construct_names)
    assert _paths(fit) == pytest.approx(_ols_paths(spec, scores), abs=1e-10)


def test_indices_equal_the_classical_ones(sample) -> None:
    spec, data = sample
    eq = csi.classical.equal_weight_index(spec, data).index
    pc = csi.classical.pca_index(spec, data, method="first").index
    pd.testing.assert_series_equal(csi.compute_index(csi.fit(spec, data, method="sumscore")), eq,
                                   check_names=False, rtol=0, atol=1e-10)  # fmt: skip
    pd.testing.assert_series_equal(csi.compute_index(csi.fit(spec, data, method="pca")), pc,
                                   check_names=False, rtol=0, atol=1e-10)  # fmt: skip


@pytest.mark.parametrize("method", ["sumscore", "pca"])
def test_scaled_false_changes_only_the_metric(sample, method: str) -> None:
    spec, data = sample
    a = csi.fit(spec, data, method=method)
    b = csi.fit(spec, data, method=method, scaled=False)
    np.testing.assert_allclose(a.paths.to_numpy(), b.paths.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(csi.compute_index(a), csi.compute_index(b), atol=1e-10)
    np.testing.assert_allclose(b.weights * b.item_sds, a.weights, atol=1e-12)


def test_sumscore_with_mixed_scales_weights_items_equally_on_0_100() -> None:
    spec = csi.load_model("acsi")  # 1-10 items, a 0/1 complaint item and 0-50 price tolerances
    data = csi.simulate(spec, 200, seed=3).data
    fit = csi.fit(spec, data, method="sumscore")
    pd.testing.assert_series_equal(csi.compute_index(fit), csi.classical.equal_weight_index(spec, data).index,
                                   check_names=False, rtol=0, atol=1e-10)  # fmt: skip


def test_options_are_checked(sample) -> None:
    spec, data = sample
    with pytest.raises(EstimationError, match="no option 'scheme'.*accepted: scaled, missing"):
        csi.fit(spec, data, method="pca", scheme="centroid")
    with pytest.raises(EstimationError, match="scaled must be True or False"):
        csi.fit(spec, data, method="sumscore", scaled=1)
    assert set(csi.estimators.ESTIMATORS) >= {"pls", "plsc", "sumscore", "pca"}


def test_pca_rejects_tied_eigenvalues() -> None:
    spec = csi.load_model("scsb")
    data = csi.simulate(spec, 200, seed=1).data
    block = next(c for c in spec.constructs if len(c.items) >= 2)
    items = [i.name for i in block.items]
    # Orthogonal zero-mean contrasts of period 4: the block's correlation matrix is the identity, all eigenvalues 1.
    n = len(data)
    assert n % 4 == 0 and len(items) <= 3
    contrasts = np.array([[1, 1, -1, -1], [1, -1, 1, -1], [1, -1, -1, 1]])
    data = data.copy()
    for k, item in enumerate(items):
        data[item] = np.tile(contrasts[k], n // 4) + 2
    with pytest.raises(EstimationError, match=f"block {block.name}: the two largest eigenvalues"):
        csi.fit(spec, data, method="pca")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_estimator_names_itself_in_the_report_languages(lang: str) -> None:
    # The report's method line comes from the estimator, so a new estimator cannot be left unnamed.
    from csi.estimators import ESTIMATORS
    from csi.report.i18n import Words
    from csi.report.methodology import method_name

    words = Words(lang)
    for name, cls in ESTIMATORS.items():
        title = cls.titles[lang]
        assert title and title != name
        assert method_name(name, words) == title
    assert method_name("some-future-method", words) == "some-future-method"
