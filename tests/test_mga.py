"""Multi-group analysis (csi.compare_groups): parity with loops of single fits, calibration, power, determinism.

Reference computations here are plain loops of :func:`csi.fit` over the same permutations or bootstrap
resamples the batched code drew (the plans are public and seeded), with the published formulas written
out again in the simplest form (double sums, explicit t statistics).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import csi
from csi.estimators.replicates import StatisticLayout
from csi.resample.groups import child_seed, root_seed
from csi.resample.mga import adjust, omnibus_statistic, permutation_p
from csi.resample.permutation import PermutationPlan
from csi.resample.plans import OrdinaryPlan


def _two_groups(n_a: int = 60, n_b: int = 80, seed: int = 3, paths_b: dict | None = None) -> pd.DataFrame:
    a = csi.simulate("acsi", n=n_a, seed=seed).data
    b = csi.simulate("acsi", n=n_b, seed=seed + 1000, paths=paths_b).data
    return pd.concat([a.assign(seg="a"), b.assign(seg="b")], ignore_index=True)


def _estimates(fit: csi.FitResult, labels: list[str]) -> np.ndarray:
    own = StatisticLayout.of(fit)
    where = {label: i for i, label in enumerate(own.labels)}
    return own.original[[where[label] for label in labels]]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _two_groups()


def test_permutation_p_values_equal_a_loop_of_single_fits(data: pd.DataFrame) -> None:
    R = 12
    res = csi.compare_groups("acsi", data, "seg", n_permutations=R, seed=5, n_jobs=1)
    t = res.table
    labels = list(t["parameter"])
    fa = csi.fit("acsi", data[data.seg == "a"])
    fb = csi.fit("acsi", data[data.seg == "b"])
    d = _estimates(fa, labels) - _estimates(fb, labels)
    np.testing.assert_allclose(t["difference"], d, rtol=0, atol=1e-12)
    codes = (data["seg"] == "b").to_numpy().astype(np.int64)
    plan = PermutationPlan(codes, R, child_seed(root_seed(5), 0))
    perm = plan.labels()
    assert (np.bincount(perm[0]) == [60, 80]).all()  # sizes kept
    star = np.array([
        _estimates(csi.fit("acsi", data[perm[r] == 0]), labels) - _estimates(csi.fit("acsi", data[perm[r] == 1]), labels)
        for r in range(R)
    ])  # fmt: skip
    p = (1 + (np.abs(star) >= np.abs(d)).sum(axis=0)) / (1 + R)
    np.testing.assert_allclose(t["p_value"], p, rtol=0, atol=1e-10)
    assert (t["n_permutations"] == R).all()
    # With two groups there is one pair, so the Holm adjustment leaves the p-values as they are.
    np.testing.assert_array_equal(t["p_adjusted"], t["p_value"])


@pytest.mark.filterwarnings("ignore::csi.AdmissibilityWarning", "ignore::RuntimeWarning")
def test_plsc_permutations_equal_a_loop_and_leave_out_inadmissible_values() -> None:
    """PLSc groups run the NumPy kernels; an inadmissible permuted group has NaN statistics (as its single fit
    has), which are left out of that column's count of permutations only."""
    R = 8
    data = _two_groups(80, 90, seed=1)
    t = csi.compare_groups("acsi", data, "seg", n_permutations=R, seed=1, fit_method="plsc", n_jobs=1).table
    labels = list(t["parameter"])
    perm = PermutationPlan((data["seg"] == "b").to_numpy().astype(np.int64), R, child_seed(root_seed(1), 0)).labels()
    star = np.array([
        _estimates(csi.fit("acsi", data[perm[r] == 0], method="plsc"), labels)
        - _estimates(csi.fit("acsi", data[perm[r] == 1], method="plsc"), labels)
        for r in range(R)
    ])  # fmt: skip
    ok = ~np.isnan(star)
    d = t["difference"].to_numpy()
    p = (1 + ((np.abs(star) >= np.abs(d)) & ok).sum(axis=0)) / (1 + ok.sum(axis=0))
    np.testing.assert_allclose(t["p_value"], p, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(t["n_permutations"], ok.sum(axis=0))


def test_bootstrap_mga_p_values_equal_a_loop_of_single_fits(data: pd.DataFrame) -> None:
    B = 15
    res = {m: csi.compare_groups("acsi", data, "seg", method=m, n_resamples=B, seed=9, n_jobs=1).table
           for m in ("henseler", "parametric", "welch")}  # fmt: skip
    labels = list(res["henseler"]["parameter"])
    draws, sizes = [], []
    for k, g in enumerate(("a", "b")):
        part = data[data.seg == g].reset_index(drop=True)
        idx = OrdinaryPlan(len(part), B, child_seed(root_seed(9), 1000 + k)).indices()
        draws.append(np.array([_estimates(csi.fit("acsi", part.iloc[idx[r]]), labels) for r in range(B)]))
        sizes.append(len(part))
    a, b = draws
    # Henseler, Ringle & Sinkovics (2009, p. 309): the double sum written out.
    step = (2 * a.mean(0) - a)[:, None, :] - (2 * b.mean(0) - b)[None, :, :] > 0
    one = 1 - step.sum(axis=(0, 1)) / (B * B)
    fixed = np.isclose(a.std(0), 0) & np.isclose(b.std(0), 0)
    np.testing.assert_allclose(res["henseler"]["p_one_sided"][~fixed], one[~fixed], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res["henseler"]["p_value"][~fixed],
                               np.minimum(1, 2 * np.minimum(one, 1 - one))[~fixed], rtol=0, atol=1e-10)  # fmt: skip
    se_a, se_b = a.std(0, ddof=1), b.std(0, ddof=1)
    d = res["welch"]["difference"].to_numpy()
    m, n = sizes
    # Sarstedt, Henseler & Ringle (2011): parametric (pooled) and Welch-Satterthwaite t tests.
    t_par = d / (np.sqrt((m - 1) ** 2 / (m + n - 2) * se_a**2 + (n - 1) ** 2 / (m + n - 2) * se_b**2)
                 * np.sqrt(1 / m + 1 / n))  # fmt: skip
    va, vb = (m - 1) / m * se_a**2, (n - 1) / n * se_b**2
    t_w = d / np.sqrt(va + vb)
    # Welch's (1947) form of the Satterthwaite degrees of freedom, minus 2 and rounded, as cSEM's testMGD.
    df_w = np.round((va + vb) ** 2 / (va**2 / (m - 1) + vb**2 / (n - 1)) - 2)
    ok = ~fixed
    np.testing.assert_allclose(res["parametric"]["t"][ok], t_par[ok], rtol=1e-10)
    np.testing.assert_allclose(res["parametric"]["p_value"][ok], 2 * stats.t.sf(np.abs(t_par[ok]), m + n - 2),
                               rtol=1e-9, atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(res["welch"]["t"][ok], t_w[ok], rtol=1e-10)
    np.testing.assert_allclose(res["welch"]["df"][ok], df_w[ok], rtol=1e-10)
    np.testing.assert_allclose(res["welch"]["p_value"][ok], 2 * stats.t.sf(np.abs(t_w[ok]), df_w[ok]),
                               rtol=1e-9, atol=1e-12)  # fmt: skip


def test_exchangeable_groups_give_uniform_p_values() -> None:
    """One population split at random: the permutation p-value of a path is uniform on {1/100, ..., 1}.

    200 random splits (sizes 50/70) of one simulated ACSI sample, 99 permutations each.  The p-values are
    discrete on a grid of 1/100, so their distance from the continuous uniform (Kolmogorov-Smirnov D) carries
    up to 0.01 of grid error besides sampling error; the 1 % critical value of D for 200 draws is
    1.63 / sqrt(200) = 0.115 (Massey 1951), so D < 0.125 fails only for a miscalibrated test (e.g. counting
    with > instead of >=, or dividing by R instead of R + 1, shifts every p by about 0.01, and a test that
    does not keep the group sizes is not exchangeable).
    """
    base = csi.simulate("acsi", n=120, seed=11).data
    rng = np.random.default_rng(0)
    p = []
    for s in range(200):
        seg = np.where(rng.permutation(120) < 50, "a", "b")
        t = csi.compare_groups("acsi", base.assign(seg=seg), "seg", n_permutations=99, seed=s, n_jobs=1).table
        p.append(float(t.loc[t["parameter"] == "SAT ~ QUAL", "p_value"].iloc[0]))
    D = stats.kstest(p, "uniform").statistic
    assert D < 0.125, D
    assert min(p) >= 0.01 and max(p) <= 1


def test_different_populations_are_detected() -> None:
    """LOY ~ SAT is 0 in one population and 0.7 in the other (n = 150 each), in 10 samples.

    The power a normal approximation predicts is ``Φ(|Δ̄| / se_Δ - 1.96)``, with ``Δ̄`` the mean estimated
    difference over the samples (PLS estimates of the path, not the simulation's latent value) and ``se_Δ``
    from the two groups' bootstrap standard errors of the first sample (Welch's test).  The permutation test's
    detection rate must reach that power less three binomial standard errors; the unchanged path QUAL ~ EXP
    may be flagged in at most 3 of the 10 samples (expected 0.5; 4 or more has probability below 0.2 %).
    """

    def sample(s: int) -> pd.DataFrame:
        a = csi.simulate("acsi", n=150, seed=100 + s, paths={"LOY ~ SAT": 0.0}).data
        b = csi.simulate("acsi", n=150, seed=200 + s, paths={"LOY ~ SAT": 0.7}).data
        return pd.concat([a.assign(seg="a"), b.assign(seg="b")], ignore_index=True)

    w = csi.compare_groups("acsi", sample(0), "seg", method="welch", n_resamples=200, seed=1, n_jobs=1).table
    row = w.set_index("parameter").loc["LOY ~ SAT"]
    se = float(np.hypot(row["se_a"], row["se_b"]))
    diffs, hits, null_hits = [], 0, 0
    for s in range(10):
        t = csi.compare_groups("acsi", sample(s), "seg", n_permutations=199, seed=s, n_jobs=1).table
        t = t.set_index("parameter")
        diffs.append(t.loc["LOY ~ SAT", "difference"])
        hits += t.loc["LOY ~ SAT", "p_value"] < 0.05
        null_hits += t.loc["QUAL ~ EXP", "p_value"] < 0.05
    power = stats.norm.cdf(abs(np.mean(diffs)) / se - 1.96)
    assert power > 0.8  # the design has power worth testing
    assert hits / 10 >= power - 3 * np.sqrt(power * (1 - power) / 10), (hits, power)
    assert null_hits <= 3


def test_byte_identical_for_workers_and_chunk_sizes(data: pd.DataFrame) -> None:
    runs = [
        csi.compare_groups("acsi", data, "seg", n_permutations=150, seed=2, n_jobs=j, chunk_size=c).table
        for j, c in ((1, 64), (2, 64), (2, 128), (1, 1000))
    ]
    for other in runs[1:]:
        pd.testing.assert_frame_equal(other, runs[0], check_exact=True)


def test_three_groups_pairwise_holm_and_omnibus() -> None:
    df = pd.concat([csi.simulate("acsi", n=60, seed=k).data.assign(seg=f"g{k}") for k in range(3)],
                   ignore_index=True)  # fmt: skip
    res = csi.compare_groups("acsi", df, "seg", n_permutations=49, seed=1, n_jobs=1)
    t = res.table
    q = t["parameter"].nunique()
    assert len(t) == 3 * q
    assert list(zip(t["group_a"], t["group_b"]))[::q] == [("g0", "g1"), ("g0", "g2"), ("g1", "g2")]
    P = t["p_value"].to_numpy().reshape(3, q)
    A = t["p_adjusted"].to_numpy().reshape(3, q)
    for c in range(q):  # Holm (1979) by hand
        order = np.argsort(P[:, c], kind="stable")
        expect = np.minimum(1, np.maximum.accumulate([(3 - i) * P[order[i], c] for i in range(3)]))
        np.testing.assert_allclose(A[order, c], expect, rtol=0, atol=1e-15)
    np.testing.assert_allclose(adjust(P, "bonferroni"), np.minimum(1, 3 * P))
    om = res.omnibus
    assert om is not None and len(om) == q
    ests = np.stack([_estimates(f, list(om["parameter"])) for f in res.fits])
    sizes = res.groups["n_used"].to_numpy()
    mean = sizes @ ests / sizes.sum()
    np.testing.assert_allclose(om["statistic"], sizes @ (ests - mean) ** 2 / sizes.sum(), rtol=1e-12)
    np.testing.assert_allclose(omnibus_statistic(ests, sizes), om["statistic"], rtol=1e-12)
    assert ((om["p_value"] > 0) & (om["p_value"] <= 1)).all()
    assert "omnibus_p" in t and "Omnibus" in res.summary()


def test_missing_values_use_the_fit_method_per_group(data: pd.DataFrame) -> None:
    holed = data.copy()
    rng = np.random.default_rng(1)
    items = csi.load_model("acsi").item_names
    for col in items[:6]:
        holed.loc[rng.random(len(holed)) < 0.08, col] = np.nan
    em = csi.compare_groups("acsi", holed, "seg", n_permutations=20, seed=1, n_jobs=1, missing="em")
    assert list(em.groups["n_used"]) == [60, 80]
    fa = csi.fit("acsi", holed[holed.seg == "a"], missing="em")
    np.testing.assert_allclose(em.table["estimate_a"], _estimates(fa, list(em.table["parameter"])), atol=1e-12)
    lw = csi.compare_groups("acsi", holed, "seg", n_permutations=20, seed=1, n_jobs=1, missing="listwise")
    complete = holed[list(items)].notna().all(axis=1)
    assert list(lw.groups["n_used"]) == [int(complete[holed.seg == g].sum()) for g in ("a", "b")]
    with pytest.raises(csi.EstimationError, match="missing='mean'"):
        csi.compare_groups("acsi", holed, "seg", n_permutations=20, seed=1, missing="mean")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"group": "nope"}, csi.DataError, "group column 'nope' is not in the data"),
        ({"group": "one"}, csi.DataError, "fewer than two groups"),
        ({"group": "tiny"}, csi.DataError, "group 'x' of column 'tiny' has 3 row"),
        ({"group": "seg", "method": "bayes"}, csi.EstimationError, "accepted: permutation, henseler"),
        ({"group": "seg", "correction": "fdr"}, csi.EstimationError, "unknown correction 'fdr'"),
        ({"group": "seg", "n_permutations": 0}, csi.EstimationError, "n_permutations must be a positive"),
        ({"group": "seg", "fit_method": "cbsem"}, csi.EstimationError, "fit_method 'pls', 'plsc'"),
    ],
)
def test_bad_input(data: pd.DataFrame, kwargs: dict, error: type, match: str) -> None:
    frame = data.assign(one="x", tiny=np.where(np.arange(len(data)) < 3, "x", "y"))
    before = frame.copy()
    with pytest.raises(error, match=match):
        csi.compare_groups("acsi", frame, **kwargs)
    pd.testing.assert_frame_equal(frame, before)


def test_result_is_immutable_and_summarised(data: pd.DataFrame) -> None:
    res = csi.compare_groups("acsi", data, "seg", n_permutations=20, seed=1, n_jobs=1)
    t = res.table
    t.iloc[:, 7] = 99.0
    assert not (res.table["estimate_a"] == 99).any()
    with pytest.raises(AttributeError):
        res.method = "welch"  # type: ignore[misc]
    with pytest.raises(TypeError):
        res.plan["seed_entropy"] = 0  # type: ignore[index]
    with pytest.raises(AttributeError):  # nested parts of the record are read-only too
        res.plan["pairs"][0]["groups"].append(99)
    text = res.summary()
    assert "Chin & Dibbern" in text and "a (n = 60), b (n = 80)" in text
    assert len(repr(res)) < 200


def test_benchmark_runs_quick() -> None:
    """benchmarks/bench_mga.py --quick runs and prints positive timings and speed-ups (not timed here)."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "bench_mga.py"), "--quick"],
        capture_output=True, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for name in ("compare_groups", "micom"):
        row = next(line for line in proc.stdout.splitlines() if line.startswith(name))
        seconds, loop, ratio = re.findall(r"(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+)x", row)[0]
        assert float(seconds) > 0 and float(loop) > 0 and int(ratio) >= 1, row


def test_an_undefined_difference_has_no_p_value() -> None:
    """A NaN observed difference (an estimate undefined in one group) or a column without a usable permutation
    gets p = NaN, never the smallest p the permutations allow (which would list it as significant)."""
    perm = np.random.default_rng(0).normal(size=(99, 3)) * 0.05
    perm[:, 2] = np.nan
    p, valid = permutation_p(np.array([np.nan, 0.1, 0.1]), perm)
    assert np.isnan(p[0]) and np.isnan(p[2]) and 0 < p[1] < 1 and list(valid) == [99, 99, 0]
    assert np.isnan(adjust(p[:, None], "holm")[0, 0])


def test_comparisons_refuse_what_they_cannot_compare(data: pd.DataFrame) -> None:
    with pytest.raises(csi.EstimationError, match="did not converge"):  # non-converged group fits
        csi.compare_groups("acsi", data, "seg", n_permutations=10, seed=1, max_iter=2)
    with pytest.raises(csi.EstimationError, match="did not converge"):
        csi.micom("acsi", data, "seg", n_permutations=10, seed=1, max_iter=2)
    with pytest.raises(csi.EstimationError, match="chunk_size must be a positive integer"):
        csi.micom("acsi", data, "seg", n_permutations=10, seed=1, chunk_size=0)
    with pytest.raises(csi.EstimationError, match="fit_method"):
        csi.compare_groups("acsi", data, "seg", n_permutations=10, fit_method="cbsem")
