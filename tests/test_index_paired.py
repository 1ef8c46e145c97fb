"""Paired and overlapping waves: respondents resampled jointly across waves (csi.index.paired, ClusterPlan)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import csi
from csi.errors import DataError, EstimationError
from csi.index.compute import scale_bounds, unstandardised_weights
from csi.resample.intervals import bootstrap_se
from csi.resample.plans import ClusterPlan, OrdinaryPlan
from csi.spec.parameters import index_label

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::csi.ConvergenceWarning")

N, PI = 400, 0.6


@pytest.fixture(scope="module")
def waves() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two waves of one population in which a respondent's wave-2 answers are, with probability PI, their
    wave-1 answers and otherwise a fresh draw: any score has within-respondent correlation exactly PI."""
    w0 = csi.simulate("acsi", N, seed=1).data
    fresh = csi.simulate("acsi", N, seed=2).data
    copy = np.random.default_rng(3).random(N) < PI
    w1 = fresh.copy()
    w1[copy] = w0[copy].to_numpy()
    return w0, w1


def panel(w0: pd.DataFrame, w1: pd.DataFrame, ids1: np.ndarray, company: str = "A") -> pd.DataFrame:
    a = w0.assign(company=company, wave=1, rid=np.arange(len(w0)))
    b = w1.assign(company=company, wave=2, rid=ids1)
    return pd.concat([a, b], ignore_index=True)


OPTS = dict(company="company", wave="wave", seed=5, national_fit=False, min_n=10)


# -- the plan ----------------------------------------------------------------------------------------------------


def test_cluster_plan_keeps_slot_sizes_and_draws_a_respondent_in_both_slots() -> None:
    clusters = np.array(["a", "b", "c", "a", "b", "d", "e"])
    slots = np.array([1, 1, 1, 2, 2, 2, 2])
    plan = ClusterPlan(clusters, slots, 200, seed=3)
    idx = plan.indices()
    assert idx.shape == (200, 7)
    assert (slots[idx] == slots).all()  # every position draws a row of its own slot
    # a and b answered both waves: the rows drawn at a's positions belong to one cluster in both waves.
    assert (clusters[idx[:, 0]] == clusters[idx[:, 3]]).all() and (clusters[idx[:, 1]] == clusters[idx[:, 4]]).all()
    assert set(clusters[idx[:, [0, 1]]].ravel()) == {"a", "b"}  # paired respondents are drawn among themselves
    assert set(clusters[idx[:, 2]]) == {"c"} and set(clusters[idx[:, [5, 6]]].ravel()) == {"d", "e"}


def test_cluster_plan_replicates_do_not_depend_on_chunking_and_restriction_is_the_slot() -> None:
    rng = np.random.default_rng(0)
    clusters = rng.integers(0, 50, 80)
    slots = np.repeat([0, 1], 40)
    clusters[40:] = rng.permutation(np.unique(clusters[:40]).tolist() + list(range(100, 140)))[:40]
    clusters[:40] = rng.permutation(np.arange(40))  # unique within slot 0
    plan = ClusterPlan(clusters, slots, 300, seed=9)
    whole = plan.indices()
    assert np.array_equal(np.vstack([plan.indices(0, 70), plan.indices(70, 129), plan.indices(129, 300)]), whole)
    assert np.array_equal(plan.counts(17, 200), ClusterPlan(clusters, slots, 300, seed=9).counts()[17:200])
    sub = plan.restrict(np.flatnonzero(slots == 1))
    assert np.array_equal(sub.indices() + 40, whole[:, 40:])
    assert sub.describe()["kind"] == "cluster (restricted)"


def test_cluster_plan_of_singletons_is_an_ordinary_bootstrap_in_distribution() -> None:
    # Every cluster in one slot: each replicate draws n rows with replacement, like OrdinaryPlan (other stream).
    n, B = 30, 4000
    counts = ClusterPlan(np.arange(n), np.zeros(n), B, seed=1).counts()
    ordinary = OrdinaryPlan(n, B, seed=1).counts()
    assert (counts.sum(axis=1) == n).all()
    # Var of a row's count is n * (1/n) * (1 - 1/n) in both; 4000 replicates give about 2.2 % relative MC error.
    assert counts.var(axis=0).mean() == pytest.approx(ordinary.var(axis=0).mean(), rel=0.05)


def test_cluster_plan_rejects_a_cluster_twice_in_one_slot() -> None:
    with pytest.raises(DataError, match=r"cluster 'a' has two rows \(positions 0 and 2\) in slot 1"):
        ClusterPlan(np.array(["a", "b", "a"]), np.array([1, 1, 1]), 10, seed=0)


# -- the panel ---------------------------------------------------------------------------------------------------


def test_disjoint_ids_give_exactly_the_independent_samples_result(waves) -> None:
    w0, w1 = waves
    plain = csi.index_panel(panel(w0, w1, np.arange(N)), "acsi", n_resamples=128, **OPTS)
    disjoint = csi.index_panel(panel(w0, w1, np.arange(N) + N), "acsi", respondent_id="rid", n_resamples=128, **OPTS)
    for name in ("index", "changes", "estimates", "impacts", "quality"):
        pd.testing.assert_frame_equal(getattr(plain, name), getattr(disjoint, name))
    assert disjoint.manifest["paired_respondents"] == {}


def _scores(data: pd.DataFrame) -> np.ndarray:
    """Each respondent's linear index score (the index is their mean with the fit's outer weights held fixed)."""
    spec = csi.load_model("acsi")
    lo, hi = scale_bounds(spec)
    M = np.asarray(spec.block_mask, dtype=float)
    fit = csi.fit(spec, data)
    u = unstandardised_weights(fit).to_numpy()
    return np.asarray(fit.data.X) @ (100 * u[:, None] * M / ((u * (hi - lo)) @ M)[None, :])


def test_full_overlap_narrows_the_change_interval_by_the_within_respondent_correlation(waves) -> None:
    w0, w1 = waves
    B = 2000
    data = panel(w0, w1, np.arange(N))
    indep = csi.index_panel(data, "acsi", n_resamples=B, ci="normal", **OPTS).changes
    paired = csi.index_panel(data, "acsi", respondent_id="rid", n_resamples=B, ci="normal", **OPTS).changes
    ratio = ((paired.ci_upper - paired.ci_lower) / (indep.ci_upper - indep.ci_lower)).to_numpy()[:6]
    # The change of two means of scores y0, y1 has variance (var y0 + var y1 - 2 cov) / n when paired and
    # (var y0 + var y1) / n when independent; the normal intervals' widths are proportional to the SDs.
    y0, y1 = _scores(w0), _scores(w1)
    implied = np.sqrt((y1 - y0).var(axis=0) / (y0.var(axis=0) + y1.var(axis=0)))
    # MC error: each bootstrap SD has relative SE about 1 / sqrt(2 B), their ratio 1 / sqrt(B) = 2.2 %; 4 SE.
    # (The scores hold the outer weights fixed; the replicates re-estimate them, a second-order difference.)
    np.testing.assert_allclose(ratio, implied, rtol=4 / np.sqrt(B))
    # The population correlation of any score is PI, so the population ratio is sqrt(1 - PI) (= 0.63): looser,
    # the sample correlation of 400 pairs has SE about (1 - PI^2) / sqrt(N) = 0.03, 4 % of the ratio.
    np.testing.assert_allclose(ratio, np.sqrt(1 - PI), rtol=4 * 0.04 + 4 / np.sqrt(B))
    # The point change does not depend on the design.
    np.testing.assert_array_equal(paired.change, indep.change)


def test_national_change_of_a_fully_paired_panel_inherits_the_pairing(waves) -> None:
    """Two fully paired companies: the national replicates are weighted sums of the company replicates, so the
    national change interval narrows by about sqrt(1 - PI) too."""
    w0, w1 = waves
    b0 = csi.simulate("acsi", N, seed=11).data
    fresh = csi.simulate("acsi", N, seed=12).data
    copy = np.random.default_rng(13).random(N) < PI
    b1 = fresh.copy()
    b1[copy] = b0[copy].to_numpy()
    data = pd.concat([panel(w0, w1, np.arange(N)), panel(b0, b1, np.arange(N), company="B")], ignore_index=True)
    B = 1000
    # Percentile intervals: in company B a few replicates of the LOY block (items on 1-10 and 0-50 scales) put
    # a near-zero weight on one item and move its index by tens of points, which an SD-based interval magnifies.
    indep = csi.index_panel(data, "acsi", n_resamples=B, ci="percentile", **OPTS).changes
    paired = csi.index_panel(data, "acsi", respondent_id="rid", n_resamples=B, ci="percentile", **OPTS).changes
    nat = (indep.level == "national").to_numpy()
    ratio = ((paired.ci_upper - paired.ci_lower) / (indep.ci_upper - indep.ci_lower)).to_numpy()[nat]
    # sqrt(1 - PI) = 0.63.  MC error of a ratio of two 95 % percentile widths from 1,000 replicates is about 5 %,
    # the sample correlation's about 3 % (800 pairs): 4 combined SE is 0.25 of the ratio, far from 1.
    np.testing.assert_allclose(ratio, np.sqrt(1 - PI), rtol=0.25)


@pytest.fixture(scope="module")
def mixed(waves) -> pd.DataFrame:
    """Company A: half of wave 2 re-interviewed (mixed); company B: fresh respondents only."""
    w0, w1 = waves
    ids1 = np.where(np.arange(N) % 2 == 0, np.arange(N), np.arange(N) + N)
    b0, b1 = csi.simulate("acsi", 300, seed=7).data, csi.simulate("acsi", 300, seed=8).data
    other = panel(b0, b1, np.arange(300) + 300, company="B")
    return pd.concat([panel(w0, w1, ids1), other], ignore_index=True)


def test_mixed_panel_is_byte_identical_for_any_workers_and_leaves_unpaired_companies_alone(mixed) -> None:
    one = csi.index_panel(mixed, "acsi", respondent_id="rid", n_resamples=100, n_jobs=1, **OPTS)
    two = csi.index_panel(mixed, "acsi", respondent_id="rid", n_resamples=100, n_jobs=2, **OPTS)
    plain = csi.index_panel(mixed, "acsi", n_resamples=100, **OPTS)
    for name in ("index", "changes"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name))
    assert one.manifest["paired_respondents"] == {"A": N // 2}
    b = lambda r: r.index[r.index.unit == "B"]  # noqa: E731
    pd.testing.assert_frame_equal(b(one), b(plain))
    a = lambda r: r.changes[r.changes.unit == "A"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_series_equal(a(one).change, a(plain).change)  # same point changes, other intervals
    assert not np.array_equal(a(one).ci_lower.to_numpy(), a(plain).ci_lower.to_numpy())


def test_paired_company_index_draws_are_its_fit_bootstrapped_over_the_plan(mixed) -> None:
    """The company cell bootstraps through csi.bootstrap with its wave's part of the company's cluster plan."""
    from csi.index.cells import cell_seed

    res = csi.index_panel(mixed, "acsi", respondent_id="rid", n_resamples=64, ci="percentile", **OPTS)
    rows = mixed[mixed.company == "A"].reset_index(drop=True)
    plan = ClusterPlan(rows.rid.astype(str).to_numpy(), rows.wave.astype(str).to_numpy(), 64,
                       cell_seed(int(res.manifest["seed"]), "company", "A", "respondents"))  # fmt: skip
    w2 = np.flatnonzero(rows.wave == 2)
    fit = csi.fit("acsi", rows.iloc[w2].reset_index(drop=True)[list(csi.load_model("acsi").item_names)])
    boot = csi.bootstrap(fit, indices=plan.restrict(w2).indices(), ci="percentile", n_jobs=1)
    got = res.index[(res.index.unit == "A") & (res.index.wave == "2") & (res.index.level == "company")]
    draws = boot.draws[[index_label(c) for c in got.construct]].to_numpy()
    np.testing.assert_array_equal(got.se.to_numpy(), bootstrap_se(draws))


def test_an_id_twice_in_one_company_and_wave_is_an_error_naming_column_id_and_rows(waves) -> None:
    w0, w1 = waves
    data = panel(w0, w1, np.arange(N))
    data.loc[N + 7, "rid"] = 3  # wave 2 already has id 3 at row N + 3
    with pytest.raises(DataError, match=rf"respondent id '3' of column 'rid' appears 2 times in company 'A', "
                                        rf"wave '2' \(rows {N + 3}, {N + 7}\)"):  # fmt: skip
        csi.index_panel(data, "acsi", respondent_id="rid", n_resamples=10, **OPTS)


def test_respondent_id_options_are_checked(waves) -> None:
    w0, w1 = waves
    data = panel(w0, w1, np.arange(N)).assign(industry="I")
    with pytest.raises(EstimationError, match="n_resamples must be an integer"):
        csi.index_panel(data, "acsi", respondent_id="rid", n_resamples=-1, **OPTS)
    with pytest.raises(DataError, match="respondent id column 'rdi' is not in the data"):
        csi.index_panel(data, "acsi", respondent_id="rdi", n_resamples=10, **OPTS)
    with pytest.raises(DataError, match="one column is given for two roles"):
        csi.index_panel(data, "acsi", respondent_id="company", n_resamples=10, **OPTS)


def test_cli_respondent_id_pairs_the_waves_and_bad_ids_are_one_line(mixed, tmp_path, capsys) -> None:
    from csi.cli import main

    path = tmp_path / "panel.csv"
    mixed.to_csv(path, index=False)
    base = ["index", "--model", "acsi", "--data", str(path), "--company", "company", "--wave", "wave", "--min-n",
            "10", "--bootstrap", "64", "--seed", "5", "--ci", "percentile"]  # fmt: skip
    assert main([*base, "--respondent-id", "rid", "--out", str(tmp_path / "res")]) == 0
    back = csi.read_panel_result(tmp_path / "res")
    api = csi.index_panel(pd.read_csv(path), "acsi", respondent_id="rid", n_resamples=64, ci="percentile",
                          **{**OPTS, "national_fit": True})  # fmt: skip
    pd.testing.assert_frame_equal(back.changes, api.changes)
    assert back.manifest["options"]["respondent_id"] == "rid" and back.manifest["paired_respondents"] == {"A": N // 2}
    bad = mixed.copy()
    bad.loc[1, "rid"] = 0
    bad.to_csv(path, index=False)
    capsys.readouterr()
    assert main([*base, "--respondent-id", "rid", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("csi: error: respondent id '0' of column 'rid' appears 2 times")


def test_pooled_fits_pair_respondents_within_company_across_an_industrys_waves(waves) -> None:
    w0, w1 = waves
    b0 = csi.simulate("acsi", 300, seed=21).data
    fresh = csi.simulate("acsi", 300, seed=22).data
    copy = np.random.default_rng(23).random(300) < PI
    b1 = fresh.copy()
    b1[copy] = b0[copy].to_numpy()
    # Both companies number their respondents 0, 1, ...: ids are matched within a company only.
    data = pd.concat([panel(w0, w1, np.arange(N)), panel(b0, b1, np.arange(300), company="B")],
                     ignore_index=True).assign(industry="I")  # fmt: skip
    opts = dict(OPTS, industry="industry", pooled=True, ci="percentile", n_resamples=1000)
    plain = csi.index_panel(data, "acsi", **opts)
    disjoint = data.assign(rid=np.where(data.wave == 2, data.rid + 10_000, data.rid))
    pd.testing.assert_frame_equal(csi.index_panel(disjoint, "acsi", respondent_id="rid", **opts).changes,
                                  plain.changes)  # fmt: skip
    paired = csi.index_panel(data, "acsi", respondent_id="rid", **opts)
    assert paired.manifest["paired_respondents"] == {"A": N, "B": 300}
    assert "industries with recurring ids (1)" in paired.manifest["options"]["change_test"]
    pd.testing.assert_series_equal(paired.changes.change, plain.changes.change)
    ratio = ((paired.changes.ci_upper - paired.changes.ci_lower) / (plain.changes.ci_upper - plain.changes.ci_lower))
    # Every unit's change narrows by about sqrt(1 - PI) = 0.63 (tolerance as in the national test above).
    np.testing.assert_allclose(ratio.to_numpy(), np.sqrt(1 - PI), rtol=0.25)


@pytest.mark.parametrize("labels", ["text", "duplicated"])
def test_a_row_without_answers_leaves_its_respondent_unpaired_whatever_the_row_labels(waves, labels) -> None:
    w0, w1 = waves
    data = panel(w0, w1, np.arange(N))
    items = list(csi.load_model("acsi").item_names)
    data.loc[N + 5, items] = np.nan  # respondent 5 answered nothing in wave 2: absent there
    data.index = [f"r{i}" for i in range(len(data))] if labels == "text" else np.zeros(len(data), dtype=int)
    res = csi.index_panel(data, "acsi", respondent_id="rid", n_resamples=64, **OPTS)
    assert res.manifest["paired_respondents"] == {"A": N - 1}
    assert set(res.index[res.index.level == "company"].groupby("wave")["n"].first()) == {N, N - 1}
    assert (res.units.status == "ok").all()
