"""PLSpredict: batched fold predictions against a fold-by-fold hand computation.

No published PLSpredict numbers are in the reference folder (seminr and cSEM
are R/GPL and their outputs were not generated), so the checks are: every
fold's PLS prediction equals one computed by hand from an ordinary
``csi.fit`` on the training rows (Shmueli et al. 2016, earliest antecedents),
the linear-model benchmark equals ``numpy.linalg.lstsq`` on the training rows,
the metrics equal their formulas, seeding is reproducible, and a model with a
strong true structure predicts better than the training mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import satisfaction_spec
from exact_population import spec

import csi
from csi.errors import EstimationError
from csi.quality import cv_predictions, fold_labels, plspredict

ENDO_ITEMS = ["x21", "x22", "x23", "x31", "x32", "x33"]
EXO_ITEMS = ["x11", "x12", "x13"]


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return csi.simulate(spec(), 90, seed=4).data


def _hand_prediction(train: csi.FitResult, test: pd.DataFrame) -> pd.DataFrame:
    """Earliest-antecedent prediction from a fit's public tables (Shmueli et al. 2016)."""
    scaled = train.options["scaled"]
    Z = test[list(train.spec.item_names)] - train.item_means
    Xs = Z / train.item_sds if scaled else Z
    score_eta1 = Xs[EXO_ITEMS] @ train.weights[EXO_ITEMS]
    out = {}
    for item in ENDO_ITEMS:
        lv = train.spec.block_of(item)
        eta_hat = train.total_effects.loc[lv, "eta1"] * score_eta1
        out[item] = train.item_means[item] + train.item_sds[item] * train.loadings[item] * eta_hat
    return pd.DataFrame(out)


@pytest.mark.filterwarnings(
    "ignore::csi.AdmissibilityWarning"
)  # one PLSc training fold is inadmissible; irrelevant here
@pytest.mark.parametrize(("method", "scaled"), [("pls", True), ("pls", False), ("plsc", True)])
def test_fold_predictions_equal_hand_computation(sim, method, scaled):
    fit = csi.fit(spec(), sim, method=method, scaled=scaled)
    folds = np.arange(len(sim)) % 3
    pred = cv_predictions(fit, folds)
    for f in range(3):
        train = csi.fit(spec(), sim[folds != f], method=method, scaled=scaled)
        expected = _hand_prediction(train, sim[folds == f])
        np.testing.assert_allclose(pred.pls[folds == f][ENDO_ITEMS], expected, rtol=0, atol=1e-10)
        np.testing.assert_allclose(pred.naive[folds == f], np.tile(train.item_means[ENDO_ITEMS], (30, 1)), atol=1e-12)
    np.testing.assert_array_equal(pred.observed.to_numpy(), sim[ENDO_ITEMS].to_numpy())


def test_lm_benchmark_equals_lstsq(sim):
    fit = csi.fit(spec(), sim)
    folds = np.arange(len(sim)) % 4
    pred = cv_predictions(fit, folds)
    for f in range(4):
        tr, te = sim[folds != f], sim[folds == f]
        A = np.column_stack([np.ones(len(tr)), tr[EXO_ITEMS]])
        coef = np.linalg.lstsq(A, tr[ENDO_ITEMS].to_numpy(), rcond=None)[0]
        expected = np.column_stack([np.ones(len(te)), te[EXO_ITEMS]]) @ coef
        np.testing.assert_allclose(pred.lm[folds == f].to_numpy(), expected, rtol=0, atol=1e-10)


def test_metrics_follow_their_formulas(sim):
    fit = csi.fit(spec(), sim)
    folds = np.stack([np.arange(90) % 5, (np.arange(90) * 7) % 5])
    res = plspredict(fit, folds=folds)
    pred = cv_predictions(fit, folds)
    # Two repetitions: predictions averaged per respondent.
    one = [cv_predictions(fit, f) for f in folds]
    np.testing.assert_allclose(pred.pls, (one[0].pls + one[1].pls) / 2, atol=1e-12)
    y = pred.observed.to_numpy()
    for name, p, q2 in (("pls", pred.pls, "q2_predict"), ("lm", pred.lm, "lm_q2_predict")):
        e = y - p.to_numpy()
        np.testing.assert_allclose(res[q2], 1 - (e**2).sum(0) / ((y - pred.naive.to_numpy()) ** 2).sum(0), atol=1e-12)
        np.testing.assert_allclose(res[f"{name}_rmse"], np.sqrt((e**2).mean(0)), atol=1e-12)
        np.testing.assert_allclose(res[f"{name}_mae"], np.abs(e).mean(0), atol=1e-12)
    assert list(res["item"]) == ENDO_ITEMS and list(res["construct"]) == ["eta2"] * 3 + ["eta3"] * 3
    assert res.attrs["repetitions"] == 2 and res.attrs["k"] == 5


def test_constant_respondent_weights_change_nothing(sim):
    a = plspredict(csi.fit(spec(), sim), seed=1)
    b = plspredict(csi.fit(spec(), sim, weights=np.full(len(sim), 2.5)), seed=1)
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-10)


def test_seeded_reproducibility(sim):
    fit = csi.fit(spec(), sim)
    a = plspredict(fit, k=5, repetitions=3, seed=12)
    pd.testing.assert_frame_equal(a, plspredict(fit, k=5, repetitions=3, seed=12), check_exact=True)
    assert a.attrs["seed_entropy"] == 12
    assert not np.allclose(a["pls_rmse"], plspredict(fit, k=5, repetitions=3, seed=13)["pls_rmse"])
    F = fold_labels(90, 7, 3, seed=12)
    np.testing.assert_array_equal(F[:2], fold_labels(90, 7, 2, seed=12))  # repetition r independent of the count
    for r in F:
        assert set(np.bincount(r)) <= {12, 13}  # balanced folds
    assert not np.array_equal(F[0], F[1])


def test_strong_structure_predicts_better_than_mean():
    data = csi.simulate(spec(), 400, seed=9, paths={"eta2 ~ eta1": 0.8, "eta3 ~ eta1": 0.5, "eta3 ~ eta2": 0.4},
                        loadings=dict.fromkeys(EXO_ITEMS + ENDO_ITEMS, 0.9)).data  # fmt: skip
    res = plspredict(csi.fit(spec(), data), k=10, seed=3)
    assert (res["q2_predict"] > 0.3).all()
    # With a true common-factor structure PLS should be close to the LM benchmark.
    assert (res["pls_rmse"] < 1.05 * res["lm_rmse"]).all()


def test_satisfaction_runs_with_repetitions(satisfaction):
    res = plspredict(csi.fit(satisfaction_spec(), satisfaction), k=10, repetitions=2, seed=1)
    assert len(res) == 22 and res[["q2_predict", "lm_q2_predict"]].notna().all().all()


@pytest.mark.parametrize(
    "kwargs",
    [{"k": 1}, {"k": 91}, {"repetitions": 0}, {"folds": np.zeros(90, dtype=int)}, {"folds": np.zeros(5, dtype=int)},
     {"folds": np.linspace(0, 1, 90)}],
)  # fmt: skip
def test_bad_options(sim, kwargs):
    with pytest.raises(EstimationError):
        plspredict(csi.fit(spec(), sim), seed=1, **kwargs)


def test_fit_without_data_is_refused(sim):
    import dataclasses

    bare = dataclasses.replace(csi.fit(spec(), sim), data=None)
    with pytest.raises(EstimationError, match="refit with csi.fit"):
        plspredict(bare, seed=1)
    with pytest.raises(EstimationError, match="refit with csi.fit"):
        csi.quality.htmt_bootstrap(bare, 10, seed=1)
