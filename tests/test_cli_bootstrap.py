"""``csi bootstrap``, run in-process through csi.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import csi
from csi.cli import main


@pytest.fixture(scope="module")
def ecsi_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "ecsi.csv"
    data = csi.simulate(csi.load_model("ecsi"), 200, seed=3).data
    data["region"] = np.where(np.arange(len(data)) % 3 == 0, "north", "south")
    data.to_csv(path, index=False)
    return path


def test_bootstrap_prints_summary_and_matches_the_api(ecsi_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bootstrap", "ecsi", str(ecsi_csv), "--resamples", "60", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "Bootstrap: 60 resamples" in out and "percentile 95% intervals" in out
    data = pd.read_csv(ecsi_csv)
    boot = csi.bootstrap(csi.fit("ecsi", data.drop(columns="region")), 60, seed=4)
    se = boot.estimates.set_index(["lhs", "op", "rhs"])["se"]
    # The summary prints SEs at three decimals, on the path's own row.
    for lhs, rhs in (("SAT", "VAL"), ("LOY", "SAT")):
        row = next(line for line in out.splitlines() if line.startswith(f"{lhs} <- {rhs} "))
        assert f" {se[(lhs, '~', rhs)]:.3f} " in row


def test_bootstrap_options_and_out_folder(ecsi_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "boot"
    argv = ["bootstrap", "ecsi", str(ecsi_csv), "--resamples", "40", "--seed", "2", "--ci", "bca", "--level", "0.9",
            "--sign-change", "construct", "--strata", "region", "--method", "plsc", "--out", str(out_dir)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "(plsc)" in out and "bca 90% intervals" in out and "sign change: construct" in out
    assert "stratified" in out
    doc = json.loads((out_dir / "results.json").read_text())
    assert doc["command"]["method"] == "plsc" and doc["command"]["strata"] == "region"
    assert (out_dir / "draws.csv").exists() and (out_dir / "bootstrap.csv").exists()


def test_bootstrap_studentized(ecsi_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bootstrap", "ecsi", str(ecsi_csv), "--resamples", "20", "--seed", "1", "--ci", "studentized",
            "--inner-resamples", "25"]  # fmt: skip
    assert main(argv) == 0
    assert "studentized 95% intervals" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "needle"),
    [(["--resamples", "0"], "--resamples"), (["--strata", "nope"], "nope"), (["--sign-change", "x"], "--sign-change")],
)
def test_bootstrap_input_errors_are_one_line(ecsi_csv: Path, capsys, extra, needle) -> None:
    assert main(["bootstrap", "ecsi", str(ecsi_csv), "--seed", "1", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("csi: error: ") and needle in err[0]


def test_fit_bootstrap_still_works(ecsi_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", "ecsi", str(ecsi_csv), "--bootstrap", "30", "--seed", "1"]) == 0
    assert "Bootstrap: 30 resamples" in capsys.readouterr().out
