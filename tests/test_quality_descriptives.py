"""Item descriptives (csi.quality.item_descriptives): observed answers before any imputation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import csi
from csi.demo import demo_data
from csi.errors import CSIError, DataError, EstimationError
from csi.quality import item_descriptives

pytestmark = pytest.mark.filterwarnings("ignore:missing='listwise' left out")


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    d = demo_data(150, seed=2).data.copy()
    rng = np.random.default_rng(0)
    d.loc[rng.choice(150, 25, replace=False), "IMAG1"] = np.nan
    d.loc[rng.choice(150, 10, replace=False), "CUEX2"] = 98  # a "don't know" code
    return d


def _spec() -> csi.ModelSpec:
    return csi.load_model("ecsi").with_missing_codes([98]).with_reverse(["CUSL2"])


def test_statistics_equal_scipy_and_pandas_on_the_observed_values(survey) -> None:
    spec = _spec()
    table = item_descriptives(survey, spec).set_index("item")
    assert list(table.columns) == ["construct", "n", "missing", "mean", "sd", "median", "min", "max", "skewness",
                                   "excess_kurtosis"]  # fmt: skip
    for item in spec.items:
        x = survey[item.name].replace(98, np.nan).dropna().to_numpy(dtype=float)
        if item.reverse:
            x = item.scale_min + item.scale_max - x
        row = table.loc[item.name]
        assert row["n"] == x.size and row["missing"] == len(survey) - x.size
        assert row["construct"] == spec.block_of(item.name)
        np.testing.assert_allclose(
            row[["mean", "sd", "median", "min", "max", "skewness", "excess_kurtosis"]].to_numpy(dtype=float),
            [x.mean(), x.std(ddof=1), np.median(x), x.min(), x.max(), stats.skew(x, bias=False),
             stats.kurtosis(x, fisher=True, bias=False)],
            rtol=1e-12,
        )  # fmt: skip
    assert table.loc["IMAG1", "missing"] == 25 and table.loc["CUEX2", "missing"] == 10


@pytest.mark.parametrize("missing", ["mean", "em", "listwise"])
def test_a_fit_describes_its_data_before_the_missing_data_policy(survey, missing) -> None:
    fit = csi.fit(_spec(), survey, missing=missing)
    from_fit = item_descriptives(fit)
    pd.testing.assert_frame_equal(from_fit, item_descriptives(survey, _spec()))
    if missing == "mean":  # mean imputation shrinks the SD the estimator sees; the descriptives keep the observed one
        assert fit.item_sds["IMAG1"] < from_fit.set_index("item").loc["IMAG1", "sd"]


def test_degenerate_items_give_nan_not_errors() -> None:
    d = demo_data(60, seed=1).data.copy()
    d["IMAG1"] = np.nan
    d["IMAG2"] = 5.0
    d.loc[:57, "IMAG3"] = np.nan  # two answers left
    t = item_descriptives(d, "ecsi").set_index("item")
    assert t.loc["IMAG1", "n"] == 0 and t.loc["IMAG1", ["mean", "sd"]].isna().all()
    assert t.loc["IMAG2", "sd"] == 0 and np.isnan(t.loc["IMAG2", "skewness"])
    assert t.loc["IMAG3", "n"] == 2 and np.isnan(t.loc["IMAG3", "skewness"]) and np.isfinite(t.loc["IMAG3", "sd"])


def test_bad_calls_name_what_is_wrong(survey) -> None:
    with pytest.raises(EstimationError, match="needs the model"):
        item_descriptives(survey)
    with pytest.raises(EstimationError, match="takes the fit's own model"):
        item_descriptives(csi.fit("ecsi", demo_data(80, seed=1).data), "ecsi")
    with pytest.raises(DataError, match="IMAG1"):
        item_descriptives(survey.drop(columns="IMAG1"), "ecsi")
    bad = survey.copy()
    bad.loc[3, "CUSA1"] = 11
    with pytest.raises(CSIError, match="column 'CUSA1' holds 11 at row 3"):
        item_descriptives(bad, _spec())


def test_csi_fit_prints_and_writes_the_descriptives(survey, tmp_path, capsys) -> None:
    from csi.cli import main

    path = tmp_path / "s.csv"
    survey.replace(98, np.nan).to_csv(path, index=False)
    assert main(["fit", "ecsi", str(path), "--out", str(tmp_path / "res")]) == 0
    assert "Item descriptives (observed answers, before any imputation)" in capsys.readouterr().out
    written = pd.read_csv(tmp_path / "res" / "item_descriptives.csv")
    api = item_descriptives(csi.fit("ecsi", pd.read_csv(path)))
    pd.testing.assert_frame_equal(written, api, check_exact=False, rtol=1e-12)
