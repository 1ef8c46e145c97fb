"""The coverage study (csi.bench.coverage, ``csi bench coverage``) and a fixed-seed guard on the headline cell."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import csi
from csi.bench import coverage
from csi.cli import main
from csi.errors import CSIError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::csi.ConvergenceWarning")

REPS = 10
"""Replications of the CI guard: 10 two-wave panels of the headline design (8 companies x 150), ~15 s."""


@pytest.fixture(scope="module")
def headline() -> pd.DataFrame:
    h = coverage.HEADLINE
    return coverage.run_coverage(models=[h["model"]], companies=[h["companies"]], respondents=[h["respondents"]],
                                 shifts=[h["shift"]], reps=REPS, n_resamples=100, seed=7)  # fmt: skip


def test_headline_coverage_stays_in_its_band(headline):
    """Coverage of the default 95 % intervals within 3 Monte-Carlo SEs of 0.95, change-test size within 3 SEs of 5 %.

    The SE counts company cells, not intervals: the constructs of one cell share its sample, so
    ``k = REPS x 8 companies x 2 waves = 160`` (conservative), and the band is 0.95 ± 3 sqrt(0.95 · 0.05 / 160) =
    0.95 ± 0.052.  With the seed fixed the numbers are deterministic, so the test fails only when a change to the
    intervals (or to what they are computed from) moves the headline cell out of the band that its Monte-Carlo
    error allows; the full study (``csi bench coverage --reps 1000``) gives the precise numbers.
    """
    s = coverage.summarise(headline)
    comp = s[(s["constructs"] == "all") & (s["level"] == "company")].iloc[0]
    k = REPS * 8 * 2
    assert 0.9 * k * 6 <= comp["intervals"] <= k * 6  # flagged cells (a negative weight) are left out
    assert abs(comp["coverage"] - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / k), comp["coverage"]
    # change tests: the null holds (same population in both waves); k = REPS x 8 company changes
    assert 0.9 * REPS * 8 * 6 <= comp["changes"] <= REPS * 8 * 6
    assert abs(comp["rejection"] - 0.05) <= 3 * np.sqrt(0.05 * 0.95 / (REPS * 8)), comp["rejection"]
    # every level is in the study, and the aggregates' truth is the same in both waves
    assert set(s["level"]) == {"company", "industry", "sector", "national"}
    ch = headline[headline["kind"] == "change"]
    assert np.allclose(ch["truth"], 0.0, atol=1e-10)


def test_rows_are_reproducible_and_interval_types_share_draws(headline):
    again = coverage.run_coverage(companies=[4], respondents=[60], reps=2, n_resamples=30, seed=7,
                                  cis=["logit", "normal"])  # fmt: skip
    once = coverage.run_coverage(companies=[4], respondents=[60], reps=2, n_resamples=30, seed=7,
                                 cis=["logit", "normal"])  # fmt: skip
    pd.testing.assert_frame_equal(again, once)
    assert list(again.columns) == coverage.COLUMNS
    ix = again[again["kind"] == "index"]
    a, b = (ix[ix["ci"] == c].reset_index(drop=True) for c in ("logit", "normal"))
    np.testing.assert_allclose(a["se"], b["se"])  # common random numbers
    np.testing.assert_allclose(a["estimate"], b["estimate"])
    assert ((a["ci_upper"] - a["ci_lower"]) > 0).all()


def test_coverage_for_picks_the_nearest_design():
    summary = pd.DataFrame({"model": ["acsi"] * 3, "companies": [8, 8, 40], "respondents": [50, 150, 150],
                            "shift": [0.0] * 3, "ci": ["logit"] * 3, "coverage": [0.93, 0.95, 0.94]})  # fmt: skip
    got = coverage.coverage_for({"model": "acsi", "companies": 10, "respondents": 200}, summary)
    assert got["respondents"].tolist() == [150] and got["companies"].tolist() == [8]
    with pytest.raises(CSIError, match="ecsi"):
        coverage.coverage_for({"model": "ecsi", "companies": 10, "respondents": 200}, summary)


@pytest.mark.parametrize("kw, match", [(dict(companies=[1]), "companies"), (dict(respondents=[5]), "respondents"),
                                       (dict(cis=["studentized"]), "interval type"), (dict(reps=0), "reps"),
                                       (dict(models=["nosuchmodel"]), "nosuchmodel")])  # fmt: skip
def test_bad_designs_are_named(kw, match):
    with pytest.raises(CSIError, match=match):
        coverage.run_coverage(**kw)


def test_cli_quick_prints_and_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cov"
    assert main(["bench", "coverage", "--quick", "--reps", "2", "--shift", "0,0.3", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 two-wave panels per design" in text and "rejection" in text and "national" in text
    for name in ("raw.csv", "summary.csv", "study.json"):
        assert (out / name).stat().st_size > 0, name
    meta = json.loads((out / "study.json").read_text())
    assert meta["shifts"] == [0.0, 0.3] and meta["cis"] == [coverage.DEFAULT_INTERVAL]
    s = pd.read_csv(out / "summary.csv")
    assert set(s["shift"]) == {0.0, 0.3}


def test_cli_bad_interval_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "coverage", "--quick", "--ci", "studentized"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("csi: error:") and "interval type" in err and "Traceback" not in err


def test_used_truth_renormalises_over_the_children_that_entered():
    pop = pd.DataFrame({"level": "company", "unit": ["A", "B", "C"], "wave": "1", "construct": "SAT",
                        "truth": [70.0, 80.0, 90.0]})  # fmt: skip
    units = pd.DataFrame({"level": ["company"] * 3 + ["industry"] * 2 + ["national"],
                          "unit": ["A", "B", "C", "I1", "I2", "national"],
                          "parent_level": ["industry"] * 3 + ["national"] * 2 + [None],
                          "parent": ["I1", "I1", "I2", "national", "national", None], "wave": "1",
                          "weight": [0.25, 0.75, np.nan, 1.0, np.nan, np.nan]})  # fmt: skip
    # C was left out, so I2 has no index and no share, and the nation is I1 alone (as index_panel's units table says)
    t = coverage.used_truth(pop, units).set_index(["level", "unit"])
    assert t.loc[("industry", "I1"), "truth"] == pytest.approx(0.25 * 70 + 0.75 * 80)
    assert t.loc[("national", "national"), "truth"] == pytest.approx(0.25 * 70 + 0.75 * 80)
    assert bool(t.loc[("industry", "I1"), "complete"]) and not bool(t.loc[("national", "national"), "complete"])


def test_shipped_summary_gives_the_report_the_headline_design():
    """The report's methodology appendix calls coverage_for with the run's design and gets the shipped rows."""
    s = coverage.shipped_summary()
    assert {"coverage", "mcse", "coverage_all", "rejection", "mcse_rejection"} <= set(s.columns)
    rows = coverage.coverage_for({"model": "acsi", "companies": 9, "respondents": 160})
    assert set(rows["level"]) == {"company", "industry", "sector", "national"}
    assert (rows["companies"] == 8).all() and (rows["respondents"] == 150).all() and (rows["shift"] == 0).all()
    assert rows["intervals"].min() >= 500  # a real study, not a smoke run


def test_missing_data_grid_shares_panels_and_deletions():
    """Each missing-data method of a replication sees the same panel and the same MCAR deletions (common random
    numbers), and the deleted share is the rate asked for, within its binomial error."""
    p = coverage.simulate_panel("acsi", companies=4, respondents=60, waves=2, seed=5, industries=None, sectors=None)
    items = list(p.spec.item_names)
    a = coverage.delete_answers(p.data, items, 0.1, 5)
    b = coverage.delete_answers(p.data, items, 0.1, 5)
    pd.testing.assert_frame_equal(a, b)
    assert p.data[items].notna().all().all()  # the panel is not modified
    share = a[items].isna().to_numpy().mean()
    k = a[items].size
    assert abs(share - 0.1) <= 4 * np.sqrt(0.1 * 0.9 / k), share
    raw = coverage.run_coverage(companies=[4], respondents=[60], reps=1, n_resamples=20, seed=3, cis=["logit_t"],
                                missings=["listwise", "pairwise"], missing_rate=0.1)  # fmt: skip
    assert set(raw["missing"]) == {"listwise", "pairwise"} and set(raw["missing_rate"]) == {0.1}
    ix = raw[(raw["kind"] == "index") & (raw["level"] == "company")]
    # the rows of a unit and construct come wave by wave in index_panel's order
    ix = ix.assign(wave=ix.groupby(["missing", "unit", "construct"]).cumcount())
    lw, pw = (ix[ix["missing"] == m].set_index(["unit", "wave", "construct"]) for m in ("listwise", "pairwise"))
    both = lw.merge(pw, left_index=True, right_index=True, suffixes=("_lw", "_pw"))
    assert len(both) > 0
    np.testing.assert_array_equal(both["truth_lw"], both["truth_pw"])  # same panel, same population indices
    assert not np.allclose(both["estimate_lw"], both["estimate_pw"])  # the methods treat the deletions differently
    s = coverage.summarise(raw)
    assert set(s["missing"]) == {"listwise", "pairwise"}

def test_multiple_imputation_is_a_missing_data_method_of_the_study():
    """missing='mi' cells bootstrap every completed data set (Rubin's rules), on the panels and deletions the other
    methods see; the imputations asked for reach the cells."""
    kw = dict(companies=[2], respondents=[60], reps=1, n_resamples=20, seed=3, cis=["logit_tr"], missing_rate=0.1,
              industries=None, sectors=None)  # fmt: skip
    raw = coverage.run_coverage(missings=["em", "mi"], imputations=2, **kw)
    assert raw.attrs["imputations"] == 2
    ix = raw[(raw["kind"] == "index") & (raw["level"] == "company")]
    em, mi = (ix[ix["missing"] == m].set_index(["unit", "wave", "construct"]) for m in ("em", "mi"))
    both = em.merge(mi, left_index=True, right_index=True, suffixes=("_em", "_mi"))
    assert len(both) >= 6
    np.testing.assert_array_equal(both["truth_em"], both["truth_mi"])
    assert not np.allclose(both["estimate_em"], both["estimate_mi"])
    assert (both["se_mi"] > 0).all() and (both["ci_lower_mi"] < both["estimate_mi"]).all()
    assert not raw.equals(coverage.run_coverage(missings=["em", "mi"], imputations=3, **kw))


@pytest.mark.parametrize("kw, match", [(dict(methods=["plsc"]), "panel"), (dict(methods=["nosuch"]), "nosuch"),
                                       (dict(imputations=1), "imputations"), (dict(missings=["zap"]), "zap"),
                                       (dict(missing_rate=0.7), "missing_rate")])  # fmt: skip
def test_bad_grid_options_are_named(kw, match):
    with pytest.raises(CSIError, match=match):
        coverage.run_coverage(**kw)


def test_cli_missing_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "coverage", "--quick", "--reps", "1", "--resamples", "20", "--missing", "listwise",
                 "--missing-rate", "0.05", "--ci", "logit_t"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "listwise" in text and "logit_t" in text
    assert main(["bench", "coverage", "--quick", "--methods", "plsc"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("csi: error:") and "plsc" in err and "Traceback" not in err
    assert main(["bench", "coverage", "--quick", "--missing", "mi", "--imputations", "1"]) == 2
    assert "--imputations" in capsys.readouterr().err
    assert main(["bench", "coverage", "--quick", "--imputations", "3"]) == 2  # without mi it would be ignored
    err = capsys.readouterr().err
    assert err.startswith("csi: error:") and "--missing mi" in err and err.count("\n") == 1


def test_plsc_index_is_the_pls_index():
    """Why the study's estimator grid has only PLS: PLSc corrects loadings and paths, not the outer weights, so its
    0-100 indices are PLS's and so is their coverage (and fixed-weight estimators have no bootstrap)."""
    from csi.index.compute import compute_index

    p = coverage.simulate_panel("ecsi", companies=1, respondents=150, waves=1, seed=9, industries=None, sectors=None)
    data = p.data.drop(columns=["company", "wave"])
    pls, plsc = (compute_index(csi.fit(p.spec, data, method=m)).to_numpy() for m in ("pls", "plsc"))
    np.testing.assert_allclose(plsc, pls, rtol=1e-12)


def test_national_error_is_the_share_weighted_sum_of_the_company_errors(headline):
    """``national_share`` splits the national error into its companies' errors (shares of one wave sum to 1)."""
    ix = headline[headline["kind"] == "index"].assign(err=lambda d: d["estimate"] - d["truth"])
    assert ix.loc[ix["level"] != "company", "national_share"].isna().all()
    checked = 0
    for _, g in ix.groupby(["rep", "wave", "construct"]):
        comp, nat = g[g["level"] == "company"], g[g["level"] == "national"]
        if len(nat) != 1 or comp["national_share"].isna().any():
            continue  # a cell left out of the aggregate (flagged) has no share
        assert comp["national_share"].sum() == pytest.approx(1.0, abs=1e-12)
        assert (comp["national_share"] * comp["err"]).sum() == pytest.approx(nat["err"].iloc[0], abs=1e-9)
        checked += 1
    assert checked >= 0.8 * REPS * 2 * 6


def test_national_decomposition_adds_up(headline):
    d = coverage.national_decomposition(headline)
    assert set(d["construct"]) == set(headline["construct"]) and (d["k"] >= 0.8 * REPS * 2).all()
    np.testing.assert_allclose(d["own"] + d["cross"], d["ratio"], rtol=1e-10)
    # by hand for one construct
    ix = headline[(headline["kind"] == "index") & (headline["construct"] == "SAT")]
    ix = ix.assign(err=ix["estimate"] - ix["truth"])
    nat = ix[ix["level"] == "national"].set_index(["rep", "wave"])
    own = ix[ix["level"] == "company"].assign(o=lambda t: (t["national_share"] * t["err"]) ** 2).groupby(
        ["rep", "wave"])["o"].sum()
    got = d[d["construct"] == "SAT"].iloc[0]
    assert got["ratio"] == pytest.approx((nat["err"] ** 2).mean() / (nat["se"] ** 2).mean(), rel=1e-10)
    assert got["own"] == pytest.approx(own.loc[nat.index].mean() / (nat["se"] ** 2).mean(), rel=1e-10)
