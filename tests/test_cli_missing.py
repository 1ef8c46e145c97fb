"""A panel with MCAR and MAR missing answers through every command with default options, and --missing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import mcar_mar_panel

import csi
from csi.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def panel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = mcar_mar_panel(80, seed=21, missing_seed=22, mcar=0.04)  # MCAR cells, and MAR on the last items
    path = tmp_path_factory.mktemp("missing") / "panel.csv"
    data.to_csv(path, index=False)
    return path


def test_every_command_runs_with_default_options(panel_file, tmp_path, capsys):
    assert main(["fit", "acsi", str(panel_file)]) == 0
    text = capsys.readouterr().out
    assert "missing" in text.lower() and "Little MCAR" in text and "480 of 480 respondents used" in text
    assert main(["bootstrap", "acsi", str(panel_file), "--resamples", "20", "--seed", "1"]) == 0
    capsys.readouterr()
    out = tmp_path / "res"
    args = ["index", "--model", "acsi", "--data", str(panel_file), "--company", "company", "--wave", "wave",
            "--min-n", "30", "--bootstrap", "10", "--seed", "2", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    index = pd.read_csv(out / "index.csv")
    companies = index[(index["level"] == "company") & (index["construct"] == "SAT")]
    assert (companies["n"] == 80).all() and companies["index"].notna().all() and companies["ci_lower"].notna().all()
    assert main(["report", str(out), "--out", str(tmp_path / "report.html")]) == 0


def test_fit_out_records_the_missing_data_diagnostics(panel_file, tmp_path, capsys):
    import json

    assert main(["fit", "acsi", str(panel_file), "--out", str(tmp_path / "fit")]) == 0
    doc = json.loads((tmp_path / "fit" / "results.json").read_text())["missing"]
    data = pd.read_csv(panel_file)
    items = list(csi.load_model("acsi").item_names)
    assert doc["method"] == "em" and doc["n_used"] == doc["n_input"] == len(data)
    assert doc["item_rate"] == pytest.approx(data[items].isna().mean().to_dict())
    assert doc["little_mcar"]["df"] > 0 and 0 <= doc["little_mcar"]["p_value"] <= 1


@pytest.mark.parametrize("method", ["listwise", "mean", "pairwise", "em", "mi"])
def test_fit_accepts_every_method(panel_file, method, capsys):
    assert main(["fit", "acsi", str(panel_file), "--missing", method]) == 0
    assert f"missing={method}" in capsys.readouterr().out


def test_methods_that_cannot_run_are_one_line(panel_file, capsys):
    assert main(["fit", "acsi", str(panel_file), "--method", "cbsem"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("csi: error:") and "missing='em'" in err and len(err.strip().splitlines()) == 1


def test_index_bootstraps_multiple_imputation(panel_file, tmp_path, capsys):
    """``csi index --missing mi`` with a bootstrap: impute, then bootstrap each completed data set (Rubin)."""
    out = tmp_path / "mi"
    args = ["index", "--model", "acsi", "--data", str(panel_file), "--company", "company", "--wave", "wave",
            "--min-n", "30", "--bootstrap", "10", "--seed", "1", "--out", str(out), "--missing", "mi"]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    index = pd.read_csv(out / "index.csv")
    national = index[(index["level"] == "national") & (index["construct"] == "SAT")]
    assert national["ci_lower"].lt(national["index"]).all() and national["index"].lt(national["ci_upper"]).all()
    again = tmp_path / "mi2"
    assert main([*args[:-3], str(again), "--missing", "mi"]) == 0
    pd.testing.assert_frame_equal(index, pd.read_csv(again / "index.csv"), check_exact=True)  # seeded imputations


@pytest.mark.parametrize("mi_interval", [None, "boot-mi"])
def test_bootstrap_of_mi_takes_the_interval_method(panel_file, tmp_path, mi_interval, capsys):
    """``csi bootstrap --missing mi``: Rubin's rules by default (impute, then bootstrap: m x B draws, df_rubin
    column), bootstrap-then-impute with ``--mi-interval boot-mi`` (B draws); results.json records the choice."""
    out = tmp_path / "boot"
    args = ["bootstrap", "acsi", str(panel_file), "--missing", "mi", "--resamples", "8", "--seed", "3",
            "--out", str(out)] + ([] if mi_interval is None else ["--mi-interval", mi_interval])  # fmt: skip
    assert main(args) == 0
    draws = pd.read_csv(out / "draws.csv")
    estimates = pd.read_csv(out / "bootstrap.csv")
    if mi_interval is None:
        assert len(draws) % 8 == 0 and len(draws) > 8 and "df_rubin" in estimates.columns
    else:
        assert len(draws) == 8 and "df_rubin" not in estimates.columns
    command = json.loads((out / "results.json").read_text())["command"]
    assert command["mi_interval"] == mi_interval
    assert command["ci"] == ("rubin" if mi_interval is None else "percentile")  # --ci's default is the fit's


def test_bootstrap_of_mi_keeps_an_explicit_percentile_interval(panel_file, tmp_path, capsys):
    """``--ci percentile`` on a Rubin bootstrap summarises the imputations' pooled draws (no df_rubin column)."""
    out = tmp_path / "boot"
    assert main(["bootstrap", "acsi", str(panel_file), "--missing", "mi", "--resamples", "8", "--seed", "3",
                 "--ci", "percentile", "--out", str(out)]) == 0  # fmt: skip
    assert "percentile 95% intervals" in capsys.readouterr().out
    assert "df_rubin" not in pd.read_csv(out / "bootstrap.csv").columns
    assert json.loads((out / "results.json").read_text())["command"]["ci"] == "percentile"
