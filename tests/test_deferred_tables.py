"""A fit builds its labelled tables on first read: same content and dtypes as eager tables, pickles unbuilt,
stays immutable, and two threads reading at once get equal tables.

The eager reference is computed here from the fit's own arrays with the labelling helpers that built every
table before they were deferred (:func:`csi.estimators.pls.structural_tables`, :func:`csi.estimators.pls.labels`),
and the scores from the prepared items and the outer weights (Tenenhaus et al. 2005, section 2.3).
"""

from __future__ import annotations

import dataclasses
import pickle
import threading

import numpy as np
import pandas as pd
import pytest

import csi
from csi.core.pls import ols_paths
from csi.core.schemes import path
from csi.estimators import ESTIMATORS, Estimator
from csi.estimators.pls import block_quality, labels, structural_tables
from csi.results.frozen import Deferred, replace

TABLES = ("weights", "loadings", "cross_loadings", "paths", "construct_correlations", "total_effects", "scores",
          "item_means", "item_sds", "block_quality")  # fmt: skip


def _unbuilt(fit: csi.FitResult) -> set[str]:
    return {name for name in TABLES if type(object.__getattribute__(fit, name)) is Deferred}


@pytest.fixture(scope="module")
def data(satisfaction: pd.DataFrame) -> pd.DataFrame:
    return satisfaction


@pytest.fixture(scope="module")
def spec() -> csi.ModelSpec:
    from conftest import satisfaction_spec

    return satisfaction_spec()


def _eager(fit: csi.FitResult) -> dict[str, pd.DataFrame | pd.Series]:
    """Every table of ``fit`` built eagerly from the estimates, as before tables were deferred."""
    spec, S = fit.spec, fit.moments
    items, lvs = labels(spec)
    w = fit.weights.to_numpy()
    M = spec.block_mask
    SW = (S * w[None, :]) @ M
    R = (SW * w[:, None]).T @ M
    cross = SW / np.sqrt(np.diag(S))[:, None]
    B, _, total = ols_paths(R, spec.adjacency)
    loadings = cross[np.arange(len(items)), spec.block_index]
    X = fit.data.X
    mean, sd = X.mean(axis=0), X.std(axis=0)
    return {
        "weights": pd.Series(w, index=items, name="weight"),
        **structural_tables(spec, loadings, cross, B, R, total),
        "scores": pd.DataFrame(((X - mean) / sd) @ (M * w[:, None]), index=fit.data.row_labels, columns=lvs),
        "item_means": pd.Series(mean, index=items, name="mean"),
        "item_sds": pd.Series(sd, index=items, name="sd"),
        "block_quality": block_quality(spec, np.corrcoef(X, rowvar=False)),
    }


def _assert_equal(a: pd.DataFrame | pd.Series, b: pd.DataFrame | pd.Series, name: str) -> None:
    # 1e-12: the reference recomputes moments and products in another grouping of the same sums.
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-12, obj=name)
    else:
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-12, obj=name)


def test_a_fit_builds_its_tables_on_first_read_with_the_eager_content(spec, data) -> None:
    fit = csi.fit(spec, data)
    assert _unbuilt(fit) == set(TABLES)  # nothing built by the fit itself
    expected = _eager(fit)
    for name in TABLES:
        _assert_equal(getattr(fit, name), expected[name], name)
    assert _unbuilt(fit) == set()  # each kept once built
    assert fit.paths.index.name == fit.paths.columns.name == "construct"
    assert fit.weights.index.name == "item" and fit.scores.index.equals(data.index)


def test_a_read_builds_only_that_table(spec, data) -> None:
    fit = csi.fit(spec, data)
    assert fit.paths.shape == (len(spec.constructs),) * 2
    assert _unbuilt(fit) == set(TABLES) - {"paths"}


def test_an_unbuilt_fit_pickles_as_arrays_and_unpickles_to_the_same_tables(spec, data) -> None:
    fresh = csi.fit(spec, data)
    blob = pickle.dumps(fresh)
    assert _unbuilt(fresh) == set(TABLES)  # pickling builds nothing
    back = pickle.loads(blob)
    assert _unbuilt(back) == set(TABLES)
    built = csi.fit(spec, data)
    for name in TABLES:
        getattr(built, name)
    assert len(blob) < len(pickle.dumps(built))  # cheaper than the built tables
    for name in TABLES:
        _assert_equal(getattr(back, name), getattr(built, name), name)
    pd.testing.assert_frame_equal(back.estimates, built.estimates)
    pd.testing.assert_series_equal(csi.compute_index(back), csi.compute_index(built))


def _read_in_two_threads(fit: csi.FitResult, name: str) -> list[pd.DataFrame]:
    got: list[pd.DataFrame] = []
    start = threading.Barrier(2)

    def read() -> None:
        start.wait()
        got.append(getattr(fit, name))

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


def test_two_threads_reading_one_unbuilt_table_get_equal_tables(spec, data) -> None:
    for name in ("scores", "paths", "block_quality"):
        for _ in range(3):
            fit = csi.fit(spec, data)
            first, second = _read_in_two_threads(fit, name)
            pd.testing.assert_frame_equal(first, second)
            pd.testing.assert_frame_equal(first, getattr(fit, name))


def test_a_built_table_is_still_handed_out_as_a_copy(spec, data) -> None:
    fit = csi.fit(spec, data)
    first = fit.paths
    first.iloc[:, :] = 99.0
    assert not (fit.paths == 99.0).any().any()
    assert not fit.moments.flags.writeable


def test_replace_keeps_deferred_tables_and_dataclasses_replace_builds_them(spec, data) -> None:
    fit = csi.fit(spec, data)
    kept = replace(fit, n=fit.n)
    assert _unbuilt(kept) == set(TABLES)
    built = dataclasses.replace(fit, n=fit.n)
    assert _unbuilt(built) == set()
    for name in TABLES:
        _assert_equal(getattr(kept, name), getattr(built, name), name)


@pytest.mark.parametrize("method", ["plsc", "sumscore", "pca"])
def test_other_composite_methods_defer_the_same_tables(spec, data, method) -> None:
    fit = csi.fit(spec, data, method=method)
    assert {"scores", "block_quality", "cross_loadings"} <= _unbuilt(fit)
    back = pickle.loads(pickle.dumps(fit))
    for name in TABLES:
        _assert_equal(getattr(back, name), getattr(fit, name), name)
    if method == "plsc":
        assert back.rho_a.name == "rho_a" and back.rho_a.index.name == "construct"


def test_options_equal_dataclasses_asdict_for_every_estimator() -> None:
    for cls in ESTIMATORS.values():
        est = cls()
        assert Estimator.options(est) == dataclasses.asdict(est)
        first = est.options()
        first["tol"] = -1
        assert est.options() != first  # a new dict every call


def _path_per_construct(R: np.ndarray, D: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The path scheme's inner weights, the OLS paths and R² with one solve per endogenous construct (their form
    before the solves were batched)."""
    E, B, r2 = R * D, np.zeros(R.shape), np.zeros(R.shape[:-1])
    for j in range(D.shape[0]):
        pred = np.flatnonzero(D[j])
        if pred.size:
            rpj = R[..., pred, j]
            beta = np.linalg.solve(R[..., pred[:, None], pred], rpj[..., None])[..., 0]
            E[..., pred, j] = B[..., j, pred] = beta
            r2[..., j] = np.sum(beta * rpj, axis=-1)
    return E, B, r2


@pytest.mark.parametrize("model", ["ecsi", "acsi"])
def test_batched_path_regressions_equal_one_solve_per_construct(model) -> None:
    D = csi.load_model(model).adjacency
    J = D.shape[0]
    rng = np.random.default_rng(7)
    R = np.stack([np.corrcoef(rng.standard_normal((J, J + 5))) for _ in range(40)]).reshape(5, 8, J, J)
    for batch in (R, R[0, 0]):
        E, B, r2 = _path_per_construct(batch, D)
        np.testing.assert_array_equal(path(batch, D), E)  # bit for bit: the padding adds exact zeros
        got = ols_paths(batch, D)
        np.testing.assert_array_equal(got[0], B)
        np.testing.assert_array_equal(got[1], r2)


def test_items_are_found_among_repeated_columns_that_are_not_items(spec, data) -> None:
    plain = csi.fit(spec, data)
    extra = data.copy()
    extra.insert(0, "note", "x")
    twice = pd.concat([extra, extra[["note"]]], axis=1).iloc[:, ::-1]  # a repeated non-item column, reversed order
    assert not twice.columns.is_unique
    other = csi.fit(spec, twice)
    pd.testing.assert_frame_equal(other.paths, plain.paths)
    np.testing.assert_array_equal(other.data.X, plain.data.X)


def test_the_arrays_behind_deferred_scores_are_read_only(spec, data) -> None:
    holes = data.copy()
    rng = np.random.default_rng(3)
    items = list(spec.item_names)
    for k in range(40):  # scattered missing answers, so EM completes the data the scores are built from
        holes.iloc[rng.integers(len(holes)), holes.columns.get_loc(items[k % len(items)])] = np.nan
    fit = csi.fit(spec, holes, missing="em")
    assert _unbuilt(fit) >= {"scores", "item_means"}
    for arr in (fit.missing_report.completed, fit.missing_report.em.mean, fit.data.X):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 99.0
    M = spec.block_mask
    X = fit.missing_report.completed
    expected = ((X - fit.item_means.to_numpy()) / fit.item_sds.to_numpy()) @ (M * fit.weights.to_numpy()[:, None])
    np.testing.assert_allclose(fit.scores.to_numpy(), expected, rtol=0, atol=1e-12)
