"""CLI: ``csi fit --method cbsem`` with ``--missing fiml``, ``--group`` and ``--group-equal``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import reference_file
from test_cbsem import PD_MODEL

from csi.cli import main
from csi.results.files import verify_folder

HS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"


def test_fit_fiml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "pd.lav"
    model.write_text(PD_MODEL)
    data = str(reference_file("political_democracy_missing.csv"))
    assert main(["fit", str(model), data, "--method", "cbsem", "--missing", "fiml"]) == 0
    out = capsys.readouterr().out
    assert "missing=fiml" in out and "Chi-square    45.515 on 35 df" in out
    hs = tmp_path / "hs.lav"
    hs.write_text(HS + "textual ~ visual\nspeed ~ textual\n")
    assert main(["fit", str(hs), str(reference_file("holzinger_swineford_1939.csv")), "--missing", "fiml"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after any data warnings, one error line
    # The PLS estimator, not the CLI, refuses the option, naming what it accepts.
    assert last.startswith("csi: error: unknown missing-data policy 'fiml'; accepted:") and "'em'" in last


def test_fit_groups(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "hs.lav"
    model.write_text(HS)
    data = str(reference_file("holzinger_swineford_1939.csv"))
    out_dir = tmp_path / "out"
    args = ["fit", str(model), data, "--method", "cbsem", "--group", "school", "--group-equal", "loadings"]
    assert main([*args, "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "Chi-square    124.044 on 54 df" in out and "Group Grant-White" in out
    est = pd.read_csv(out_dir / "estimates.csv")
    assert set(est["group"]) == {"Pasteur", "Grant-White"}
    fm = pd.read_csv(out_dir / "fit_measures.csv", index_col=0)["value"]
    assert fm["df"] == 54
    listed = verify_folder(out_dir)["files"]  # written whole and sealed like every results folder
    assert set(listed) == {"estimates.csv", "fit_measures.csv"}
    assert main([*args, "--out", str(out_dir)]) == 2  # an existing folder is not overwritten silently
    capsys.readouterr()
    for bad, message in [
        (["--group-equal", "slopes"], "unknown group_equal 'slopes'"),
    ]:
        assert main([*args[:-2], *bad]) == 2
        err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("csi: error:")]
        assert len(err) == 1 and message in err[0]
    assert main(["fit", str(model), data, "--method", "cbsem", "--group-equal", "loadings"]) == 2
    assert "give --group" in capsys.readouterr().err


def test_bootstrap_groups_and_fiml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``csi bootstrap`` of a multiple-group fit (rows resampled within schools) writes its tables; a strata
    column on top of the groups is one error line; ``csi fit --bootstrap`` of a FIML fit runs."""
    model = tmp_path / "hs.lav"
    model.write_text(HS)
    data = str(reference_file("holzinger_swineford_1939.csv"))
    args = [str(model), data, "--method", "cbsem", "--group", "school", "--group-equal", "loadings"]
    out_dir = tmp_path / "boot"
    assert main(["bootstrap", *args, "--resamples", "8", "--seed", "1", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "stratified bootstrap" in out and "Pasteur: visual =~ x2" in out
    boot = pd.read_csv(out_dir / "bootstrap.csv")
    assert set(boot["group"]) == {"Pasteur", "Grant-White"} and len(pd.read_csv(out_dir / "draws.csv")) == 8
    assert set(verify_folder(out_dir)["files"]) == {"estimates.csv", "fit_measures.csv", "bootstrap.csv", "draws.csv"}
    assert main(["bootstrap", *args, "--resamples", "8", "--strata", "school"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("csi: error:")]
    assert len(err) == 1 and "within its groups" in err[0]
    pd_model = tmp_path / "pd.lav"
    pd_model.write_text(PD_MODEL)
    missing = str(reference_file("political_democracy_missing.csv"))
    assert main(["fit", str(pd_model), missing, "--method", "cbsem", "--missing", "fiml", "--bootstrap", "4",
                 "--seed", "2"]) == 0  # fmt: skip
    assert "Bootstrap: 4 resamples" in capsys.readouterr().out
