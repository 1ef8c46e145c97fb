"""Simulated panels (csi.simulate_panel): exact population indices, reproducibility, layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import csi
from csi.errors import CSIError


def test_without_shifts_every_company_has_simulates_population_index():
    spec = csi.load_model("acsi")
    p = csi.simulate_panel(spec, companies=3, respondents=10, waves=2, seed=1, company_sd=0.0, wave_sd=0.0,
                           industries=None, sectors=None)  # fmt: skip
    expected = csi.simulate(spec, 10, seed=1).population_index
    comp = p.population[p.population["level"] == "company"]
    for (_, _), g in comp.groupby(["unit", "wave"]):
        np.testing.assert_allclose(g.set_index("construct")["index"][expected.index], expected, rtol=0, atol=1e-12)


def test_population_index_shifts_with_the_latent_mean_and_matches_large_samples():
    p = csi.simulate_panel("acsi", companies=2, respondents=40_000, waves=1, seed=7, company_sd=0.5,
                           industries=None, sectors=None)  # fmt: skip
    pop = p.population.query("level == 'company' and construct == 'SAT'").set_index("unit")["index"]
    assert abs(pop["C001"] - pop["C002"]) > 3  # companies differ
    for c in ("C001", "C002"):
        rows = p.data[p.data["company"] == c]
        est = csi.compute_index(csi.fit("acsi", rows))["SAT"]
        # n = 40,000: sampling SE of the index is about 0.1 points; the population weights are lambda/sd
        # (discretisation makes the PLS limit differ slightly), so 0.5 points.
        assert est == pytest.approx(pop[c], abs=0.5)


@pytest.mark.parametrize("model", ["acsi", "ecsi"])
def test_the_estimators_target_is_the_population_index(model):
    """PLS's index converges to the population index that the coverage study counts against, at every company level.

    The population index weights the discretised items by ``lambda_h / sd_h``; PLS's mode-A weights are
    proportional to the items' covariances with the inner proxy.  That the two agree is what lets the coverage
    study read a miss as the interval's fault: at 2,000,000 respondents per company the differences were at most
    0.035 points over ACSI's and ECSI's constructs and index levels 15-92.  Here, at 200,000, each construct's
    error must lie within 4 of its sampling SEs (the linearised SE of the index as a weighted item mean) plus 0.02,
    and their mean in SE units within 3 / sqrt(k) of 0 (a common bias of 0.2 points, about 4-5 SEs here, would
    fail both).
    """
    n = 200_000
    p = csi.simulate_panel(model, companies=3, respondents=n, waves=1, seed=11, company_sd=0.5, wave_sd=0.0,
                           industries=None, sectors=None)  # fmt: skip
    pop = p.population.query("level == 'company'").set_index(["unit", "construct"])["index"]
    items = {i.name: i for i in p.spec.items}
    levels, z = [], []
    for c, rows in p.data.groupby("company"):
        fit = csi.fit(p.spec, rows.drop(columns=["company", "wave"]))
        est = csi.compute_index(fit)
        for con in p.spec.constructs:
            u = {h: fit.weights[h] / fit.item_sds[h] for h in con.item_names}
            span = sum(u[h] * (items[h].scale_max - items[h].scale_min) for h in con.item_names)
            se = 100 * fit.scores[con.name].std() / np.sqrt(n) / abs(span)
            assert abs(est[con.name] - pop[(c, con.name)]) <= 4 * se + 0.02, (c, con.name, se)
            levels.append(pop[(c, con.name)])
            z.append((est[con.name] - pop[(c, con.name)]) / se)
    assert max(levels) - min(levels) > 20  # companies far apart on the scale
    assert abs(np.mean(z)) <= 3 / np.sqrt(len(z)), np.mean(z)


def test_aggregate_population_is_the_unit_weighted_mean():
    p = csi.simulate_panel("acsi", companies=6, respondents=5, waves=2, seed=3, industries=3, sectors=2)
    pop = p.population.set_index(["level", "unit", "wave", "construct"])["index"]
    uw = p.unit_weights.set_index(["level", "unit", "wave"])["weight"]
    members = p.data.groupby("industry")["company"].unique()
    for ind, comps in members.items():
        a = np.array([uw[("company", c, 2)] for c in comps])
        v = np.array([pop[("company", c, 2, "LOY")] for c in comps])
        assert pop[("industry", ind, 2, "LOY")] == pytest.approx(a @ v / a.sum(), abs=1e-12)
    sectors = p.data.groupby("sector")["industry"].unique()
    g = np.array([uw[("sector", s, 1)] for s in sectors.index])
    sec = np.array([pop[("sector", s, 1, "SAT")] for s in sectors.index])
    assert pop[("national", "national", 1, "SAT")] == pytest.approx(g @ sec / g.sum(), abs=1e-12)
    assert np.allclose(p.unit_weights.query("level == 'sector'").groupby("wave")["weight"].sum(), 1.0)


def test_layout_and_reproducibility():
    a = csi.simulate_panel("acsi", companies=4, respondents=[5, 6, 7, 8], waves=2, seed=5, respondent_weights=True)
    b = csi.simulate_panel("acsi", companies=4, respondents=[5, 6, 7, 8], waves=2, seed=5, respondent_weights=True)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert list(a.data.columns[:5]) == ["company", "industry", "sector", "wave", "weight"]
    assert list(a.data.columns[5:]) == list(csi.load_model("acsi").item_names)
    assert a.data.groupby(["company", "wave"]).size().tolist() == [5, 5, 6, 6, 7, 7, 8, 8]
    assert list(a.population.columns) == ["level", "unit", "wave", "construct", "index"]
    # A cell's respondents depend only on (seed, company, wave), not on the panel's size.
    c = csi.simulate_panel("acsi", companies=6, respondents=5, waves=1, seed=5)
    items = list(csi.load_model("acsi").item_names)
    first = a.data.query("company == 'C001' and wave == 1")[items].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, c.data.query("company == 'C001'")[items].reset_index(drop=True))
    pa = a.population.query("level == 'company' and unit == 'C001' and wave == 1")["index"].to_numpy()
    pc = c.population.query("level == 'company' and unit == 'C001' and wave == 1")["index"].to_numpy()
    np.testing.assert_array_equal(pa, pc)
    with pytest.raises(CSIError, match="one per company"):
        csi.simulate_panel("acsi", companies=3, respondents=[5, 5])


def test_reverse_coded_items_are_written_reversed_and_recoded_by_the_panel():
    from dataclasses import replace

    spec = csi.load_model("acsi")
    constructs = tuple(
        replace(c, items=tuple(replace(i, reverse=True) if i.name == "WRONGQ" else i for i in c.items))
        for c in spec.constructs
    )
    rev = replace(spec, constructs=constructs)
    p = csi.simulate_panel(rev, companies=1, respondents=20_000, waves=1, seed=2, industries=None, sectors=None)
    plain = csi.simulate_panel(spec, companies=1, respondents=20_000, waves=1, seed=2, industries=None, sectors=None)
    np.testing.assert_array_equal(p.data["WRONGQ"], 11 - plain.data["WRONGQ"])
    pd.testing.assert_frame_equal(p.population, plain.population)
    with pytest.warns(UserWarning, match="one company"):  # a one-company panel says its national index is C001's
        r = csi.index_panel(p.data, rev, company="company", wave="wave", n_resamples=0, national_fit=False)
    qual = r.index.query("level == 'company' and construct == 'QUAL'")["index"].iloc[0]
    pop = p.population.query("level == 'company' and construct == 'QUAL'")["index"].iloc[0]
    assert qual == pytest.approx(pop, abs=0.5)  # recoded: without the recode QUAL would sit near 50
