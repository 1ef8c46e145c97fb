"""The consultant's command-line flow: simulate a panel, index it, report it; and --method on fit."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import csi
from csi.cli import main


def test_simulate_index_report_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    panel, weights, truth = tmp_path / "panel.csv", tmp_path / "weights.csv", tmp_path / "truth.csv"
    argv = ["simulate", "acsi", "--companies", "6", "--waves", "2", "--n", "80", "--seed", "5", "--out", str(panel),
            "--unit-weights", str(weights), "--population", str(truth)]  # fmt: skip
    assert main(argv) == 0
    expected = csi.simulate_panel("acsi", companies=6, respondents=80, waves=2, seed=5, industries=4, sectors=2)
    pd.testing.assert_frame_equal(pd.read_csv(panel), expected.data, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(weights), expected.unit_weights, check_dtype=False)

    out = tmp_path / "results"
    argv = ["index", "--model", "acsi", "--data", str(panel), "--company", "company", "--wave", "wave",
            "--industry", "industry", "--sector", "sector", "--unit-weights", str(weights), "--min-n", "50",
            "--bootstrap", "50", "--seed", "1", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    index = pd.read_csv(out / "index.csv")
    assert set(index["level"]) == {"company", "industry", "sector", "national"}
    # the national pooled fits are bootstrapped by default, as many resamples as the cells
    paths = pd.read_csv(out / "estimates.csv").query("level == 'national' and op == '~'")
    assert len(paths) and paths[["se", "ci_lower", "ci_upper"]].notna().all().all()
    assert json.loads((out / "manifest.json").read_text())["options"]["national_resamples"] == 50

    html = tmp_path / "report.html"
    assert main(["report", str(out), "--out", str(html)]) == 0
    national = index[(index["level"] == "national") & (index["construct"] == "SAT") & (index["wave"] == 2)]
    assert f"{national['index'].iloc[0]:.1f}" in html.read_text(encoding="utf-8")
    capsys.readouterr()


def test_panel_only_options_need_a_panel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "acsi", "--n", "50", "--out", str(tmp_path / "x.csv"), "--unit-weights", str(tmp_path / "w")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["csi: error: --unit-weights needs a panel: add --companies N"]


@pytest.mark.parametrize("method", ["plsc", "cbsem", "sumscore"])
def test_fit_method(method: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = csi.simulate(csi.load_model("scsb"), 300, seed=3).data
    path = tmp_path / "scsb.csv"
    data.to_csv(path, index=False)
    assert main(["fit", "scsb", str(path), "--method", method, "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert f"Method        {method}" in text
    ours = pd.read_csv(tmp_path / "out" / "estimates.csv")
    direct = csi.fit("scsb", data, method=method).estimates
    pd.testing.assert_series_equal(ours["estimate"], direct["estimate"].reset_index(drop=True), check_names=False)


def test_scheme_is_refused_for_methods_without_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "scsb.csv"
    csi.simulate(csi.load_model("scsb"), 100, seed=3).data.to_csv(path, index=False)
    assert main(["fit", "scsb", str(path), "--method", "cbsem", "--scheme", "centroid"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no option 'scheme'" in err[0]
