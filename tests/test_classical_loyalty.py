"""Dick & Basu loyalty segments (methodology §6.6) on hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csi.classical import loyalty_segments
from csi.errors import DataError

ATT = pd.Series([10.0, 20.0, 30.0, 40.0], index=list("abcd"))
PAT = pd.Series([1.0, 4.0, 2.0, 3.0], index=list("abcd"))


def test_median_split_hand_worked():
    res = loyalty_segments(ATT, PAT)
    assert res.thresholds == {"attitude": 25.0, "patronage": 2.5}
    assert res.segment.tolist() == ["no loyalty", "spurious loyalty", "latent loyalty", "true loyalty"]
    np.testing.assert_allclose(res.shares, 0.25)
    assert res.grid.loc["high", "low"] == 0.25  # latent: high attitude, low patronage


def test_fixed_thresholds_inclusive_and_labels():
    labels = {"true": "premium", "latent": "latent", "spurious": "inertia", "none": "no"}
    res = loyalty_segments(ATT, PAT, attitude_threshold=30, patronage_threshold=2, labels=labels)
    assert res.segment.tolist() == ["no", "inertia", "premium", "premium"]
    assert res.counts.to_dict() == {"premium": 2, "latent": 0, "inertia": 1, "no": 1}
    strict = loyalty_segments(ATT, PAT, attitude_threshold=30, patronage_threshold=2, inclusive=False)
    assert strict.segment["c"] == "no loyalty"


def test_weights_missing_and_alignment():
    pat = PAT.iloc[::-1].copy()  # aligned by label, not position
    pat["a"] = np.nan
    res = loyalty_segments(ATT, pat, attitude_threshold="mean", patronage_threshold=2.5, weights=[1, 1, 1, 2])
    assert pd.isna(res.segment["a"]) and res.counts.sum() == 3
    assert res.thresholds["attitude"] == pytest.approx((20 + 30 + 2 * 40) / 4)  # weighted mean over b, c, d
    assert res.shares["true loyalty"] == pytest.approx(2 / 4)  # d (weight 2) of b, c, d


def test_loyalty_errors():
    with pytest.raises(DataError, match="unknown attitude threshold 'mode'; accepted: median, mean or a number"):
        loyalty_segments(ATT, PAT, attitude_threshold="mode")
    with pytest.raises(DataError, match="labels must give all of true, latent, spurious, none"):
        loyalty_segments(ATT, PAT, labels={"true": "x"})
    with pytest.raises(DataError, match="attitude has 4 values, patronage 3"):
        loyalty_segments(ATT.to_numpy(), [1, 2, 3])
    with pytest.raises(DataError, match="attitude holds 'high' at row 0"):
        loyalty_segments(["high", 1], [1, 2])
