"""Estimation of higher-order constructs: each approach against manual csi fits, the exact population, both orders.

The manual fits are written out by hand here (model text and data frames), not made with
:mod:`csi.spec.hoc`, so that they check the rewriting as well as the estimation.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from exact_population import exact_data
from hoc_population import ITEM_LOADING, PATHS, SECOND_ORDER, TEXT, population, spec, survey

import csi
from csi.quality import htmt, reliability
from csi.results.hoc import HigherOrderFit
from csi.spec.lavaan import parse_lavaan

COMPS = list(SECOND_ORDER)
LOC_ITEMS = [f"{c[0].lower()}{i}" for c in COMPS for i in (1, 2, 3)]
ENDS = "\nQUAL ~ IMAG\nSAT ~ QUAL\n"
TIGHT = 1e-12
"""Two computations of the same PLS fit from the same moments (ours and the manual one) agree to rounding."""


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return survey(400, seed=3)


def _manual_ri(data: pd.DataFrame, mode: str = "A", scale: bool = True, weights: str | None = None
               ) -> tuple[csi.FitResult, pd.DataFrame]:  # fmt: skip
    """Repeated indicators by hand: the components' items duplicated as columns ``QUAL_x`` of QUAL's block."""
    dup = data.assign(**{f"QUAL_{n}": data[n] for n in LOC_ITEMS})
    op = "=~" if mode == "A" else "<~"
    links = "\n".join(f"{c} ~ QUAL" if mode == "A" else f"QUAL ~ {c}" for c in COMPS)
    text = (f"IMAG =~ i1 + i2 + i3\nQUAL {op} " + " + ".join(f"QUAL_{n}" for n in LOC_ITEMS) + "\n"
            "PROD =~ p1 + p2 + p3\nSERV =~ s1 + s2 + s3\nDELI =~ d1 + d2 + d3\nSAT =~ y1 + y2 + y3"
            + ENDS + links + ("\n#: scale 1 10\n" if scale else "\n"))  # fmt: skip
    return csi.fit(parse_lavaan(text), dup, weights=weights), dup


def _manual_disjoint(data: pd.DataFrame, weights: str | None = None) -> csi.FitResult:
    text = ("IMAG =~ i1 + i2 + i3\nPROD =~ p1 + p2 + p3\nSERV =~ s1 + s2 + s3\nDELI =~ d1 + d2 + d3\n"
            "SAT =~ y1 + y2 + y3\nPROD + SERV + DELI ~ IMAG\nSAT ~ PROD + SERV + DELI\n#: scale 1 10\n")  # fmt: skip
    return csi.fit(parse_lavaan(text), data, weights=weights)


def _manual_stage2(data: pd.DataFrame, s1: csi.FitResult, zero_100: bool = False, weights: str | None = None
                   ) -> csi.FitResult:  # fmt: skip
    """Stage 2 by hand: the stage-1 component scores (standardised, or their 0-100 form) as QUAL's items."""
    frame = data.loc[s1.scores.index, ["i1", "i2", "i3", "y1", "y2", "y3"]].copy()
    for c in COMPS:
        score = s1.scores[c]
        if zero_100:
            score = _zero_100(s1, c) + score * 100 / _range(s1, c)
        frame[f"{c}_score"] = score
    text = "IMAG =~ i1 + i2 + i3\nQUAL =~ PROD_score + SERV_score + DELI_score\nSAT =~ y1 + y2 + y3" + ENDS
    w = None if weights is None else data.loc[s1.scores.index, weights]
    return csi.fit(parse_lavaan(text), frame, weights=w)


def _range(fit: csi.FitResult, construct: str) -> float:
    """``R_k``: the component's raw composite range, sum of its unstandardised weights times the 1-10 range."""
    items = list(fit.spec.construct(construct).item_names)
    return float((fit.weights[items] / fit.item_sds[items]).sum() * 9)


def _zero_100(fit: csi.FitResult, construct: str) -> float:
    return float(csi.compute_index(fit, negative="force")[construct])


def _close(a: pd.Series | pd.DataFrame, b: pd.Series | pd.DataFrame, tol: float = TIGHT) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=0, atol=tol)


def test_repeated_indicators_equal_a_fit_with_duplicated_columns(data: pd.DataFrame) -> None:
    hoc = csi.fit(spec(), data, hoc="repeated")
    manual, _ = _manual_ri(data)
    assert isinstance(hoc, HigherOrderFit) and hoc.hoc == "repeated" and hoc.options["hoc"] == "repeated"
    _close(hoc.paths, manual.paths)
    _close(hoc.weights, manual.weights)
    _close(hoc.loadings, manual.loadings)
    _close(hoc.scores, manual.scores)
    # The HOC's index is the index of its repeated items.
    _close(csi.compute_index(hoc), csi.compute_index(manual), 1e-10)
    # Mode A: the HOC's loading on a component is its path to the component.
    _close(hoc.components["loading"], manual.paths.loc[COMPS, "QUAL"])


@pytest.mark.parametrize("approach", ["two-stage-embedded", "two-stage-disjoint"])
def test_two_stages_equal_two_manual_fits(data: pd.DataFrame, approach: str) -> None:
    hoc = csi.fit(spec(), data, hoc=approach)
    s1 = _manual_ri(data)[0] if approach == "two-stage-embedded" else _manual_disjoint(data)
    s2 = _manual_stage2(data, s1)
    names = {f"{c}_score": c for c in COMPS}
    _close(hoc.stage1.paths, s1.paths)
    _close(hoc.stage1.weights, s1.weights)
    _close(hoc.paths, s2.paths)
    _close(hoc.weights, s2.weights.rename(index=names))
    _close(hoc.loadings, s2.loadings.rename(index=names))
    _close(hoc.r2, s2.r2)
    _close(hoc.scores, s2.scores)
    _close(hoc.components["loading"], s2.loadings[list(names)])
    _close(hoc.components["weight"], s2.weights[list(names)])
    # The HOC's 0-100 index: the components' indices averaged with weights w_k R_k (module docstring).
    w2 = s2.weights[list(names)].to_numpy()
    R = np.array([_range(s1, c) for c in COMPS])
    idx = np.array([_zero_100(s1, c) for c in COMPS])
    expected = float(np.sum(w2 * R * idx) / np.sum(w2 * R))
    got = csi.compute_index(hoc)
    assert got["QUAL"] == pytest.approx(expected, abs=1e-10)
    _close(got[["IMAG", "SAT"]], csi.compute_index(s1)[["IMAG", "SAT"]], 1e-3)  # same items, other weights
    assert 1 <= got["QUAL"] and got["QUAL"] <= 100


def test_two_stage_with_missing_values_equals_two_manual_em_fits() -> None:
    data = survey(300, seed=5, missing=0.06)
    hoc = csi.fit(spec(), data, hoc="two-stage-disjoint")  # missing="em", the default
    s1 = _manual_disjoint(data)
    s2 = _manual_stage2(data, s1, zero_100=True)
    assert hoc.missing_report.method == "em" and s2.missing_report.raw is not None
    _close(hoc.paths, s2.paths)
    _close(hoc.weights.to_numpy(), s2.weights.to_numpy())
    _close(hoc.loadings.to_numpy(), s2.loadings.to_numpy())


def test_respondent_weights(data: pd.DataFrame) -> None:
    weighted = data.assign(w=np.random.default_rng(4).uniform(0.5, 2.0, len(data)))
    ri = csi.fit(spec(), weighted, hoc="repeated", weights="w")
    _close(ri.weights, _manual_ri(weighted, weights="w")[0].weights)
    dis = csi.fit(spec(), weighted, hoc="two-stage-disjoint", weights="w")
    s2 = _manual_stage2(weighted, _manual_disjoint(weighted, "w"), weights="w")
    _close(dis.paths, s2.paths)
    _close(dis.weights.to_numpy(), s2.weights.to_numpy())
    assert abs(dis.paths.loc["SAT", "QUAL"] - csi.fit(spec(), data, hoc="two-stage-disjoint").paths.loc["SAT", "QUAL"]) > 1e-4
    boot = csi.bootstrap(dis, 20, seed=1)
    assert np.isfinite(boot.draws.to_numpy()).all()


def test_assess_refuses_repeated_indicators(data: pd.DataFrame) -> None:
    with pytest.raises(csi.EstimationError, match="repeated-indicator fit repeats every item"):
        csi.assess(csi.fit(spec(), data))
    assert csi.assess(csi.fit(spec(), data, hoc="two-stage-embedded")).reliability.loc["QUAL", "rho_c"] > 0.7


@pytest.mark.parametrize("approach", ["repeated", "two-stage-embedded", "two-stage-disjoint"])
def test_missing_values_and_odd_names(approach: str) -> None:
    data = survey(300, seed=6, missing=0.05)
    rename = {n: f"Q {n} 质" for n in data.columns}
    odd = parse_lavaan(TEXT.replace("QUAL", "质量") + "#: scale 1 10\n").with_items(rename)
    assert odd.higher_order == ("质量",) and "Q p1 质" in odd.item_names
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about
        fit = csi.fit(odd, data.rename(columns=rename), hoc=approach)
    est = fit.estimates
    assert np.isfinite(est["estimate"]).all()
    assert "质量" in set(est["lhs"]) and np.isfinite(csi.compute_index(fit)).all()
    assert np.isfinite(fit.quality_by_order.drop(columns="mode").to_numpy(dtype=float)).all()
    if approach == "repeated":
        # The repeated block's moments are the first-order items' EM moments, duplicated exactly.
        names = list(fit.spec.item_names)
        rep = [names.index(f"Q {n} 质@质量") for n in LOC_ITEMS]
        own = [names.index(f"Q {n} 质") for n in LOC_ITEMS]
        assert np.array_equal(fit.moments[np.ix_(rep, rep)], fit.moments[np.ix_(own, own)])


def test_exact_population_recovers_the_second_order_structure() -> None:
    """On data whose moments are the population's, the composite correlations are exactly the construct
    correlations times each composite's correlation with its construct, ``R_jk = phi_jk a_j a_k`` with
    ``a_j = sum_h w_h l_h`` (l_h the item's population loading on the construct; for QUAL's repeated items
    0.9 lambda_k): dividing them out must give the population's second-order structure to rounding."""
    Sigma, names = population()
    data = exact_data(500, 2, Sigma, names)
    lam = {n: ITEM_LOADING for n in names} | {n: ITEM_LOADING * SECOND_ORDER[c] for c in COMPS
                                               for n in LOC_ITEMS if n[0] == c[0].lower()}  # fmt: skip
    phi = {("QUAL", "IMAG"): PATHS["QUAL ~ IMAG"], ("SAT", "QUAL"): PATHS["SAT ~ QUAL"],
           ("SAT", "IMAG"): PATHS["QUAL ~ IMAG"] * PATHS["SAT ~ QUAL"]}  # fmt: skip
    for approach in ("repeated", "two-stage-embedded", "two-stage-disjoint"):
        fit = csi.fit(spec(scale=False), data, hoc=approach)
        a = {}
        for c in ("IMAG", "SAT"):
            items = fit.spec.construct(c).item_names
            a[c] = sum(fit.weights[i] * lam[i] for i in items)
        if approach == "repeated":
            a["QUAL"] = sum(fit.weights[i] * lam[i.split("@")[0]] for i in fit.spec.construct("QUAL").item_names)
        else:  # the HOC is sum_k w2_k LOC_k, each LOC_k correlating a_k lambda_k with QUAL
            s1 = fit.stage1
            a["QUAL"] = sum(fit.weights[c] * SECOND_ORDER[c] * sum(s1.weights[i] * ITEM_LOADING
                            for i in s1.spec.construct(c).item_names) for c in COMPS)  # fmt: skip
        for (j, k), value in phi.items():
            got = fit.construct_correlations.loc[j, k] / (a[j] * a[k])
            assert got == pytest.approx(value, abs=1e-10), (approach, j, k)
        # The HOC's loadings on its components keep the population's order.  With repeated indicators they
        # exceed the population values (0.9, 0.85, 0.8) because the HOC's composite contains each component's
        # own items, unique variance included (Becker et al. 2012): by at most 0.07 here.
        lo = fit.components["loading"].to_numpy()
        pop = np.array(list(SECOND_ORDER.values()))
        assert np.all(np.diff(lo) < 0)
        assert np.all(lo > pop - 0.01) and np.all(lo < pop + 0.07), (approach, lo)


def test_formative_hoc_by_repeated_indicators_absorbs_its_antecedent() -> None:
    """The known limitation the two-stage approaches exist for (Becker, Klein & Wetzels 2012; Sarstedt et al.
    2019): a Mode B HOC is (nearly) a linear function of its components' items, so with repeated indicators
    its R² is about 1 and the path from its antecedent about 0; the two stages estimate that path."""
    Sigma, names = population()
    data = exact_data(500, 2, Sigma, names)
    ri = csi.fit(spec(False, "B"), data, hoc="repeated")
    assert ri.r2["QUAL"] > 0.999 and abs(ri.paths.loc["QUAL", "IMAG"]) < 0.01
    for approach in ("two-stage-embedded", "two-stage-disjoint"):
        two = csi.fit(spec(False, "B"), data, hoc=approach)
        assert 0.35 < two.paths.loc["QUAL", "IMAG"] < 0.5  # population 0.5, attenuated by the composites


def test_quality_of_both_orders(data: pd.DataFrame) -> None:
    ri = csi.fit(spec(), data, hoc="repeated")
    emb = csi.fit(spec(), data, hoc="two-stage-embedded")
    dis = csi.fit(spec(), data, hoc="two-stage-disjoint")
    q = dis.quality_by_order
    assert list(q.index) == list(spec().construct_names) and q.loc["QUAL", "order"] == 2
    # First order: the components' reliability is the first stage's; the HOC's is the second stage's block of
    # component scores (csi.quality.reliability on the two fits).
    rel1, rel2 = reliability(dis.stage1), reliability(dis)
    cols = ["cronbach_alpha", "rho_c", "ave"]
    _close(q.loc[COMPS, cols], rel1.loc[COMPS, cols], 1e-12)
    _close(q.loc[["QUAL"], cols], rel2.loc[["QUAL"], cols], 1e-12)
    assert q.loc["QUAL", "n_indicators"] == 3
    # HTMT: first order from the items alone; higher order built from the repeated-indicator fit equals the
    # second stage's HTMT of the embedded approach, whose first stage is that same fit.
    for fit in (ri, emb, dis):
        _close(fit.htmt_by_order()["first_order"], htmt(dis.stage1), 1e-12)
    _close(ri.htmt_by_order()["higher_order"], htmt(emb), 1e-10)
    text = emb.summary()
    for title in ("Higher-order constructs on their components", "Reliability and validity by order",
                  "HTMT, higher order", "First-order measurement of the components (stage 1)", "Higher order  "):
        assert title in text  # fmt: skip
    assert "first_order_outer_model" in emb.tables() and "higher_order" in ri.tables()


def test_bad_options_and_models(data: pd.DataFrame) -> None:
    with pytest.raises(csi.EstimationError, match="unknown hoc 'bogus'.*'repeated', 'two-stage-embedded'"):
        csi.fit(spec(), data, hoc="bogus")
    with pytest.raises(csi.EstimationError, match="hoc='repeated' applies to models with higher-order"):
        csi.fit("ecsi", csi.simulate("ecsi", 60, seed=1).data, hoc="repeated")
    lonely = parse_lavaan(spec().__str__().replace("QUAL ~ IMAG", "SAT ~ IMAG").replace("SAT ~ QUAL", ""))
    with pytest.raises(csi.EstimationError, match="QUAL take part in no path.*two-stage"):
        csi.fit(lonely, data, hoc="two-stage-embedded")
    assert csi.fit(lonely, data, hoc="repeated").paths.loc["PROD", "QUAL"] > 0.5
    third = parse_lavaan(spec().__str__().replace("QUAL =~ PROD + SERV + DELI", "CORE =~ PROD + SERV\nQUAL =~ CORE + DELI"))
    with pytest.raises(csi.EstimationError, match="second-order.*CORE|QUAL is of order 3"):
        csi.fit(third, data, hoc="two-stage-disjoint")
    assert csi.fit(third, data).spec.construct("QUAL").item_names[0] == "p1@QUAL"
    with pytest.raises(csi.DataError, match="duplicate labels"):
        csi.fit(spec(), data.set_axis([0] * len(data)), hoc="two-stage-disjoint")


def test_group_comparisons_refuse_two_stage_fits() -> None:
    """A permuted group of a two-stage fit would need stage 1 re-run in that group, which the batched permutation
    statistic does not do, so the comparison is refused; repeated indicators (one stage) are compared."""
    data = survey(300, seed=4).assign(seg=np.where(np.arange(300) % 2, "a", "b"))
    for hoc in ("two-stage-embedded", "two-stage-disjoint"):
        with pytest.raises(csi.EstimationError, match="two-stage higher-order"):
            csi.compare_groups(spec(), data, "seg", n_permutations=10, seed=1, hoc=hoc)
        with pytest.raises(csi.EstimationError, match="two-stage higher-order"):
            csi.micom(spec(), data, "seg", n_permutations=10, seed=1, hoc=hoc)
    res = csi.compare_groups(spec(), data, "seg", n_permutations=10, seed=1, hoc="repeated")
    assert res.table["p_value"].between(0, 1).all()
