"""0-100 index against R plspm's rescale route (reference README §4).

Source: ``ecsi_satisfaction.plspm_R.A_{centroid,path}_unscaled.{csi_index_0to100,normalized_weights}.csv``:
``plspm::rescale`` on a ``scaled=FALSE`` fit, items on 0..10, index = 100 (Σ w̃ x̄ − 0) / 10.
Same algorithm, so 1e-6.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file, satisfaction_spec

import csi
from csi.errors import EstimationError
from csi.index import unstandardised_weights

OPTS = dict(scaled=False, tol=1e-6, max_iter=100, stop="plspm", sign_rule="majority")


@pytest.mark.parametrize("scheme", ["centroid", "path"])
def test_index_matches_plspm_rescale(scheme, satisfaction):
    expected = pd.read_csv(
        reference_file(f"ecsi_satisfaction.plspm_R.A_{scheme}_unscaled.csi_index_0to100.csv"), index_col=0
    )
    got = csi.compute_index(csi.fit(satisfaction_spec(), satisfaction, scheme=scheme, **OPTS))
    np.testing.assert_allclose(got[expected.index], expected["index_0to100"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("scheme", ["centroid", "path"])
def test_normalised_weights_match_plspm(scheme, satisfaction):
    expected = pd.read_csv(
        reference_file(f"ecsi_satisfaction.plspm_R.A_{scheme}_unscaled.normalized_weights.csv"), index_col=0
    )
    got = unstandardised_weights(csi.fit(satisfaction_spec(), satisfaction, scheme=scheme, **OPTS))
    np.testing.assert_allclose(got[expected.index], expected["weight_normalized_sum1"], rtol=0, atol=1e-6)


def test_index_equals_hand_formula(satisfaction):
    fit = csi.fit(satisfaction_spec(), satisfaction)
    u = fit.weights / fit.item_sds
    sat = [f"sat{i}" for i in range(1, 5)]
    hand = 100 * (u[sat] @ satisfaction[sat].mean()) / (u[sat].sum() * 10)
    assert csi.compute_index(fit)["SAT"] == pytest.approx(hand, abs=1e-10)


def test_equal_weighting_is_mean_of_item_means(satisfaction):
    fit = csi.fit(satisfaction_spec(), satisfaction)
    sat = [f"sat{i}" for i in range(1, 5)]
    assert csi.compute_index(fit, weighting="equal")["SAT"] == pytest.approx(10 * satisfaction[sat].mean().mean())


def test_scale_override_and_missing_scale(satisfaction):
    fit = csi.fit(satisfaction_spec(), satisfaction)
    a = csi.compute_index(fit)
    b = csi.compute_index(fit, scale=(0, 20))
    np.testing.assert_allclose(b, a / 2)
    nos = csi.fit(satisfaction_spec().with_scale(0, 10), satisfaction)
    bare = csi.ModelSpec(
        nos.spec.name,
        tuple(csi.Construct(c.name, tuple(csi.Item(i.name) for i in c.items)) for c in nos.spec.constructs),
        nos.spec.paths,
    )
    with pytest.raises(EstimationError, match="theoretical scale"):
        csi.compute_index(csi.fit(bare, satisfaction))


def test_equal_weighting_matches_classical_equal_weight_index_on_mixed_scales():
    # ACSI mixes 1-10 ratings, a 0/1 complaint item and 0-50 % price tolerance.
    spec = csi.load_model("acsi")
    data = csi.simulate(spec, 400, seed=3).data
    from_fit = csi.compute_index(csi.fit(spec, data), weighting="equal")
    classical = csi.equal_weight_index(spec, data).index
    np.testing.assert_allclose(from_fit[classical.index], classical, rtol=0, atol=1e-10)
