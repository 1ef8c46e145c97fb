"""Bollen-Stine test of exact fit (csi.quality.model_fit with n_resamples; csi.quality.bollen_stine)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import csi
from csi.core.moments import moments
from csi.demo import demo_data
from csi.errors import EstimationError
from csi.quality import model_fit
from csi.quality._common import correlation_and_weights
from csi.quality.bollen_stine import bollen_stine, bollen_stine_data
from csi.quality.model_fit import implied
from csi.resample.intervals import quantiles
from csi.resample.plans import OrdinaryPlan

pytestmark = pytest.mark.filterwarnings("ignore::csi.ConvergenceWarning")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    d = demo_data(200, seed=4).data
    return d.assign(w=np.random.default_rng(1).uniform(0.5, 2.0, len(d)))


def _free(spec: csi.ModelSpec) -> csi.ModelSpec:
    """The model without scales, codes or reverse flags: the transformed data are on no survey scale."""
    return replace(spec, constructs=tuple(
        replace(c, items=tuple(replace(i, scale_min=None, scale_max=None, reverse=False, missing_codes=())
                               for i in c.items)) for c in spec.constructs))  # fmt: skip


@pytest.mark.parametrize("options", [{}, {"weights": "w"}, {"scaled": False}, {"scheme": "factorial"}])
def test_transformed_data_reproduce_the_implied_matrix_exactly(data, options) -> None:
    fit = csi.fit("ecsi", data, **options)
    w = fit.data.weights
    for model in ("saturated", "estimated"):
        _, cov = moments(bollen_stine_data(fit, model), w)
        d = np.sqrt(np.diag(cov))
        np.testing.assert_allclose(cov / np.outer(d, d), implied(fit, model), rtol=0, atol=1e-12)
        if not options.get("scaled", True):  # unscaled fits keep the items' spreads
            np.testing.assert_allclose(d, np.sqrt(np.diag(moments(np.asarray(fit.data.X), w)[1])), rtol=1e-12)


@pytest.mark.parametrize("options", [{}, {"weights": "w"}, {"scaled": False}])
def test_replicates_equal_a_loop_of_fresh_fits_over_the_same_resamples(data, options) -> None:
    fit = csi.fit("ecsi", data, **options)
    B = 40
    idx = OrdinaryPlan(fit.n, B, seed=3).indices()
    table = model_fit(fit, indices=idx)
    draws = table.attrs["bollen_stine"]["draws"]
    spec = _free(fit.spec)
    names = list(spec.item_names)
    w = None if fit.data.weights is None else np.asarray(fit.data.weights)
    fit_options = {k: v for k, v in options.items() if k != "weights"}
    loop = np.empty((B, 6))
    for k, model in enumerate(("saturated", "estimated")):
        Z = bollen_stine_data(fit, model)
        for b in range(B):
            frame = pd.DataFrame(Z[idx[b]], columns=names)
            weights = None if w is None else w[idx[b]]
            refit = csi.fit(spec, frame, weights=weights, **fit_options)
            S, _ = correlation_and_weights(refit)
            Sigma = implied(refit, model)
            # d_ULS and d_G by their definitions (Dijkstra & Henseler 2015), SRMR over the lower triangle.
            off = (S - Sigma)[np.tril_indices(len(S))]
            phi = np.linalg.eigvals(np.linalg.inv(S) @ Sigma).real
            loop[b, 3 * k : 3 * k + 3] = [np.sqrt(np.mean(off**2)), 0.5 * np.sum((S - Sigma) ** 2),
                                          0.5 * np.sum(np.log(phi) ** 2)]  # fmt: skip
    # Batched and single fits run the same iterations on moments equal to about 1e-15; d_G's eigenvalues
    # through inv(S) @ Sigma lose a few more digits.
    np.testing.assert_allclose(draws.to_numpy(), loop, rtol=1e-9, atol=1e-12)
    hi95, hi99 = quantiles(loop, [0.95, 0.99])
    for k, model in enumerate(("saturated", "estimated")):
        np.testing.assert_allclose(table[f"{model}_hi95"].to_numpy(), hi95[3 * k : 3 * k + 3], rtol=1e-9)
        np.testing.assert_allclose(table[f"{model}_hi99"].to_numpy(), hi99[3 * k : 3 * k + 3], rtol=1e-9)
        exceed = (loop[:, 3 * k : 3 * k + 3] >= table[model].to_numpy()).sum(axis=0)
        np.testing.assert_array_equal(table[f"{model}_p"].to_numpy(), (1 + exceed) / (1 + B))
    # The observed values are the plain model_fit's.
    pd.testing.assert_frame_equal(table[["saturated", "estimated"]], model_fit(fit))


def test_seeded_runs_do_not_depend_on_chunking_and_keep_the_contract(data) -> None:
    fit = csi.fit("ecsi", data)
    a, plan = bollen_stine(fit, 150, seed=7, chunk_size=64, n_jobs=2)
    b, _ = bollen_stine(fit, 150, seed=7, chunk_size=150, n_jobs=1)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert plan["kind"] == "ordinary" and plan["seed_entropy"] == 7
    table = model_fit(fit, n_resamples=150, seed=7)
    pd.testing.assert_frame_equal(table.attrs["bollen_stine"]["draws"], a)
    assert (table["saturated_hi99"] >= table["saturated_hi95"]).all()


def test_a_model_that_holds_is_rarely_rejected_and_a_wrong_one_is() -> None:
    """Composite population data (the model holds): exact fit of the saturated model is not rejected; scrambling
    one block's items into another (a misspecified measurement model) is rejected."""
    ok = csi.simulate("ecsi", 400, seed=2, population="composite").data
    good = model_fit(csi.fit("ecsi", ok), n_resamples=300, seed=1)
    assert good.loc["srmr", "saturated"] < good.loc["srmr", "saturated_hi99"]
    spec = csi.load_model("ecsi")
    swapped = ok.rename(columns={spec.constructs[0].items[0].name: "_t"})
    swapped = swapped.rename(columns={spec.constructs[-1].items[0].name: spec.constructs[0].items[0].name})
    swapped = swapped.rename(columns={"_t": spec.constructs[-1].items[0].name})
    bad = model_fit(csi.fit("ecsi", swapped), n_resamples=300, seed=1)
    assert bad.loc["srmr", "saturated"] > bad.loc["srmr", "saturated_hi99"]
    assert bad.loc["srmr", "saturated_p"] == pytest.approx(1 / 301)


def test_bollen_stine_needs_a_pls_fit_of_complete_data(data) -> None:
    with pytest.raises(EstimationError, match="refits composite PLS in every replicate, which method 'plsc' fits"):
        model_fit(csi.fit("ecsi", data, method="plsc"), n_resamples=10, seed=1)
    holes = data.copy()
    holes.iloc[3, 0] = np.nan
    with pytest.raises(EstimationError, match="needs complete item rows"):
        model_fit(csi.fit("ecsi", holes, missing="em"), n_resamples=10, seed=1)
