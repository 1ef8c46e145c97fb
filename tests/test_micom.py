"""MICOM (csi.micom): every step against a hand computation over the same permutations, calibration on random
splits of one population, detection of a mean shift, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import csi
from csi.resample.groups import child_seed, root_seed
from csi.resample.permutation import PermutationPlan


def _split(n_a: int, n_b: int, seed: int) -> pd.DataFrame:
    base = csi.simulate("acsi", n=n_a + n_b, seed=seed).data
    return base.assign(seg=np.where(np.arange(n_a + n_b) < n_a, "a", "b"))


def _c(X: np.ndarray, fit_g: csi.FitResult, fit_h: csi.FitResult, spec: csi.ModelSpec) -> np.ndarray:
    """corr(X w_g, X w_h) per construct, with X the pooled data standardised (divisor n)."""
    out = []
    for j, name in enumerate(spec.construct_names):
        cols = np.flatnonzero(spec.block_index == j)
        items = [spec.item_names[i] for i in cols]
        a, b = X[:, cols] @ fit_g.weights[items].to_numpy(), X[:, cols] @ fit_h.weights[items].to_numpy()
        out.append(np.corrcoef(a, b)[0, 1])
        assert name
    return np.array(out)


def test_steps_equal_a_hand_computation() -> None:
    R = 15
    data = _split(70, 90, seed=4)
    res = csi.micom("acsi", data, "seg", n_permutations=R, seed=8, n_jobs=1)
    spec = csi.load_model("acsi")
    items = data[list(spec.item_names)].to_numpy(float)
    X = (items - items.mean(0)) / items.std(0)
    pooled = csi.fit("acsi", data)
    scores = pooled.scores.to_numpy()
    codes = (data["seg"] == "b").to_numpy().astype(np.int64)
    labels = PermutationPlan(codes, R, child_seed(root_seed(8), 0)).labels()

    def step3(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frame = pd.DataFrame(scores).assign(g=lab)
        mean, var = frame.groupby("g").mean(), frame.groupby("g").var(ddof=1)
        return (mean.loc[0] - mean.loc[1]).to_numpy(), np.log(var.loc[0] / var.loc[1]).to_numpy()

    c_star, m_star, v_star = [], [], []
    for r in range(R):
        fg = csi.fit("acsi", data[labels[r] == 0])
        fh = csi.fit("acsi", data[labels[r] == 1])
        c_star.append(_c(X, fg, fh, spec))
        m, v = step3(labels[r])
        m_star.append(m)
        v_star.append(v)
    t = res.table
    c = _c(X, csi.fit("acsi", data[codes == 0]), csi.fit("acsi", data[codes == 1]), spec)
    np.testing.assert_allclose(t["c"], c, rtol=0, atol=1e-10)
    np.testing.assert_allclose(t["c_quantile"], np.quantile(c_star, 0.05, axis=0), rtol=0, atol=1e-10)
    m0, v0 = step3(codes)
    np.testing.assert_allclose(t["mean_difference"], m0, rtol=0, atol=1e-10)
    np.testing.assert_allclose(t["log_variance_ratio"], v0, rtol=0, atol=1e-10)
    lo, hi = np.quantile(m_star, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(t["mean_lower"], lo, rtol=0, atol=1e-10)
    np.testing.assert_allclose(t["mean_upper"], hi, rtol=0, atol=1e-10)
    lo, hi = np.quantile(v_star, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(t["variance_lower"], lo, rtol=0, atol=1e-10)
    np.testing.assert_allclose(t["variance_upper"], hi, rtol=0, atol=1e-10)
    expect = np.where(
        t["c"] < t["c_quantile"] - 1e-10, "no", np.where(t["equal_means"] & t["equal_variances"], "full", "partial")
    )
    np.testing.assert_array_equal(t["verdict"], expect)
    assert res.configural["passed"].all()


def test_random_splits_are_invariant_about_95_percent() -> None:
    """One population split at random 40 times (sizes 90/110), 99 permutations each.

    Each step is an exact permutation test at 5 % when the split is random, so each passes in about 95 %
    of the cases: over 40 splits x 5 multi-item constructs (step 2; the single-item COMPL has c = 1) or x 6
    constructs (step 3) the binomial standard error is about 1.5 % (more with the dependence between the
    constructs of one split), so each rate must lie within [0.88, 0.995].  A construct is fully invariant
    when all three pass, about 0.95³ = 86 % if independent; the rate of "full" must reach 0.75.
    """
    step2, means, variances, full = [], [], [], []
    rng = np.random.default_rng(1)
    base = csi.simulate("acsi", n=200, seed=21).data
    multi = csi.load_model("acsi").block_mask.sum(axis=0) > 1
    for s in range(40):
        seg = np.where(rng.permutation(200) < 90, "a", "b")
        t = csi.micom("acsi", base.assign(seg=seg), "seg", n_permutations=99, seed=s, n_jobs=1).table
        step2 += list(t["compositional"][multi])
        means += list(t["equal_means"])
        variances += list(t["equal_variances"])
        full += list(t["verdict"] == "full")
    for name, rate in (("step 2", np.mean(step2)), ("means", np.mean(means)), ("variances", np.mean(variances))):
        assert 0.88 <= rate <= 0.995, (name, rate)
    assert np.mean(full) >= 0.75


def test_a_mean_shift_is_detected_and_the_result_is_deterministic() -> None:
    data = _split(120, 120, seed=6)
    spec = csi.load_model("acsi")
    sat = [i.name for c in spec.constructs if c.name == "SAT" for i in c.items]
    shifted = data.copy()
    shifted.loc[shifted.seg == "b", sat] = (shifted.loc[shifted.seg == "b", sat] - 2).clip(lower=1)
    runs = [
        csi.micom("acsi", shifted, "seg", n_permutations=199, seed=3, n_jobs=j, chunk_size=c)
        for j, c in ((1, 64), (2, 128))
    ]
    pd.testing.assert_frame_equal(runs[0].table, runs[1].table, check_exact=True)
    row = runs[0].table.set_index("construct").loc["SAT"]
    assert not row["equal_means"] and row["verdict"] != "full"
    text = runs[0].summary()
    assert "Step 1 (configural invariance): established" in text and "SAT" in text
    assert "MicomResult(" in repr(runs[0])


def test_micom_bad_input() -> None:
    data = _split(40, 40, seed=1)
    with pytest.raises(csi.EstimationError, match="level must lie strictly between 0 and 0.5"):
        csi.micom("acsi", data, "seg", level=0.7)
    with pytest.raises(csi.DataError, match="group column 'x' is not in the data"):
        csi.micom("acsi", data, "x")
