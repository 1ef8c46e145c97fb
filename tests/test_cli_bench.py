"""``csi bench``: the Monte-Carlo study and the speed table at smoke size."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from csi.cli import main
from csi.estimators import ESTIMATORS


def test_estimators_quick_writes_tables_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mc"
    args = ["bench", "estimators", "--quick", "--models", "ecsi", "--methods", "pls,sumscore", "--reps", "2",
            "--seed", "3", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "2 replications per cell" in text and "SAT index at n = 100" in text
    for name in ("raw.csv", "summary.csv", "headline.csv", "study.json", "summary.png", "summary.svg"):
        assert (out / name).stat().st_size > 0, name
    raw = pd.read_csv(out / "raw.csv")
    assert set(raw["method"]) == {"pls", "sumscore"} and set(raw["population"]) == {"common_factor", "composite"}
    assert raw.groupby(["population", "method"])["rep"].nunique().eq(2).all()
    head = pd.read_csv(out / "headline.csv")
    assert len(head) == 4 and {"path_rmse", "index_coverage", "median_ms"} <= set(head.columns)
    meta = json.loads((out / "study.json").read_text())
    assert meta["seed"] == 3 and meta["bootstrap"] == 49 and meta["ns"] == [100]
    # Same seed, same numbers: the table is reproducible from the command line.
    again = tmp_path / "again"
    assert main([*args[:-1], str(again), "--no-plot"]) == 0
    pd.testing.assert_frame_equal(raw.drop(columns=["seconds", "boot_seconds"]),
                                  pd.read_csv(again / "raw.csv").drop(columns=["seconds", "boot_seconds"]))  # fmt: skip
    assert not (again / "summary.png").exists()


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        (["--n", "5"], "sample sizes must be >= 10"),
        (["--n", "a,b"], "comma-separated integers"),
        (["--methods", "pls,plz"], "unknown method(s) 'plz'"),
        (["--populations", "mixed"], "unknown population(s) 'mixed'"),
        (["--models", "nosuchmodel"], "nosuchmodel"),
    ],
)
def test_estimators_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra, pattern) -> None:
    assert main(["bench", "estimators", "--quick", "--out", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("csi: error: ") and pattern in err[0], err


def test_speed_quick(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "speed", "--quick", "--repeat", "1", "--bootstrap", "10", "--n", "100"]) == 0
    out = capsys.readouterr().out
    assert "Median seconds" in out
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [r[:2] for r in rows] == [["fit", m] for m in ESTIMATORS] + [["bootstrap", "pls"]]
    assert all(float(r[4]) > 0 for r in rows)


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["bench", "--help"], ["bench", "estimators", "--help"], ["bench", "speed", "--help"]):
        assert main(argv) == 0
        assert "examples:" in capsys.readouterr().out
