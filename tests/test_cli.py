"""The csi command, run in-process through csi.cli.main (plus one real ``python -m csi``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import csi
from csi.cli import main
from csi.results.files import verify_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scsb_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "scsb.csv"
    csi.simulate(csi.load_model("scsb"), 300, seed=3).data.to_csv(path, index=False)
    return path


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("csi: error: ")
    return lines[0]


def test_demo_prints_indices_next_to_population(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--n", "200", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "Customer satisfaction indices (0-100)" in out
    assert "population" in out and "Customer satisfaction" in out
    sat = next(line for line in out.splitlines() if line.startswith("SAT ") and "Customer satisfaction" in line)
    estimate, population = (float(v) for v in sat.split()[-3:-1])
    assert 0 < estimate < 100 and abs(estimate - population) < 10


def test_demo_bootstrap_prints_intervals_and_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--n", "150", "--bootstrap", "64", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ci_lower" in out and "64 resamples" in out
    assert {"data.csv", "results.json", "index.csv", "bootstrap.csv"} <= {p.name for p in tmp_path.iterdir()}
    assert len(pd.read_csv(tmp_path / "data.csv")) == 150
    # the national-panel part: results folder, report, and the printed table against the population
    assert "National panel (ACSI)" in out and "National SAT change" in out
    national = pd.read_csv(tmp_path / "panel" / "index.csv").query("level == 'national' and construct == 'SAT'")
    assert len(national) == 2 and national["ci_lower"].lt(national["index"]).all()
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"{national['index'].iloc[-1]:.1f}" in page


def test_demo_panel_part_can_be_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--n", "100", "--companies", "0"]) == 0
    assert "National panel" not in capsys.readouterr().out


def test_fit_writes_every_table(scsb_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    rc = main(["fit", "scsb", str(scsb_csv), "--bootstrap", "50", "--seed", "1", "--ci", "basic", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "SCSB" in text and "Bootstrap of SCSB" in text and "Indices (0-100)" in text
    tables = set(csi.fit("scsb", pd.read_csv(scsb_csv)).tables())
    expected = {f"{t}.csv" for t in tables} | {"index.csv", "bootstrap.csv", "draws.csv", "results.json",
                                               "item_descriptives.csv", "model_fit.csv"}  # fmt: skip
    assert {p.name for p in out.iterdir()} == expected | {"manifest.json"}
    assert set(verify_folder(out)["files"]) == expected
    assert list(pd.read_csv(out / "estimates.csv").columns) == ["lhs", "op", "rhs", "estimate"]
    assert list(pd.read_csv(out / "index.csv").columns) == ["construct", "index"]
    boot = pd.read_csv(out / "bootstrap.csv")
    assert {"estimate", "se", "ci_lower", "ci_upper"} <= set(boot.columns)
    assert len(pd.read_csv(out / "draws.csv")) == 50
    doc = json.loads((out / "results.json").read_text())
    assert doc["model"] == "SCSB" and doc["n"] == 300 and doc["converged"] is True
    assert doc["options"]["scheme"] == "path" and 0 < doc["gof"] < 1 and doc["iterations"] >= 1
    assert doc["bootstrap"]["ci"] == "basic" and set(tables) <= set(doc["tables"])
    assert doc["tables"]["estimates"][0].keys() == {"lhs", "op", "rhs", "estimate"}


def test_fit_parquet_and_options(scsb_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parquet = tmp_path / "scsb.parquet"
    pd.read_csv(scsb_csv).to_parquet(parquet)
    assert main(["fit", "scsb", str(parquet), "--scheme", "centroid", "--unscaled", "--missing", "listwise"]) == 0
    assert "scheme=centroid, scaled=False" in capsys.readouterr().out


def test_fit_lavaan_file_with_items(scsb_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "small.lav"
    model.write_text("PERF =~ a + b\nCSB =~ OVERALL + CONFIRM + IDEAL\nCSB ~ PERF\n")
    items = json.dumps({"a": "PRICEQ", "b": "QUALP"})
    assert main(["fit", str(model), str(scsb_csv), "--items", items]) == 0
    out = capsys.readouterr().out
    assert "Model         small" in out and "PRICEQ" in out
    assert "Indices" not in out  # no scales declared: no index


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["fit", "scbs", "DATA"], "unknown model 'scbs'"),
        (["fit", "scsb", "missing.csv"], "no data file"),
        (["fit", "scsb", "DATA", "--level", "2"], "--level"),
        (["fit", "scsb", "DATA", "--items", "{oops"], "--items"),
        (
            ["simulate", "ecsi", "--n", "5", "--out", "OUT", "--paths", '{"SAT ~ VAL": 0.9, "SAT ~ QUAL": 0.9}'],
            "--paths",
        ),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    argv: list[str], reason: str, scsb_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.csv"  # never the working directory: a failed command must not leave files behind
    argv = [str(scsb_csv) if a == "DATA" else str(out) if a == "OUT" else a for a in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert reason in _one_error_line(captured.err)
    assert "Traceback" not in captured.err
    assert not out.exists()


def test_missing_column_is_one_line(scsb_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "short.csv"
    pd.read_csv(scsb_csv).drop(columns="IDEAL").to_csv(data, index=False)
    assert main(["fit", "scsb", str(data)]) == 2
    assert "IDEAL" in _one_error_line(capsys.readouterr().err)


def test_syntax_error_in_model_file_is_one_line(scsb_csv: Path, tmp_path: Path, capsys) -> None:
    model = tmp_path / "bad.lav"
    model.write_text("CSB =~ OVERALL + \nLOY =~ REPUR\n")
    assert main(["fit", str(model), str(scsb_csv)]) == 2
    assert "line 2" in _one_error_line(capsys.readouterr().err)


def test_simulate_writes_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "acsi.csv"
    assert main(["simulate", "acsi", "--n", "40", "--seed", "2", "--out", str(out)]) == 0
    data = pd.read_csv(out)
    assert data.shape == (40, len(csi.load_model("acsi").item_names))
    pd.testing.assert_frame_equal(data, csi.simulate(csi.load_model("acsi"), 40, seed=2).data)


def test_models_lists_shipped(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in csi.list_models())


@pytest.mark.parametrize("command", [[], ["fit"], ["demo"], ["simulate"], ["models"]])
def test_help_exits_0_with_example(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: csi" in out and "example" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"csi {csi.__version__}"


def test_python_dash_m_entry_point() -> None:
    env_path = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "csi", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": env_path, "PATH": ""},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: csi" in proc.stdout and "demo" in proc.stdout


def test_fit_accepts_model_name_path_and_text(scsb_csv: Path, tmp_path: Path) -> None:
    data = pd.read_csv(scsb_csv)
    reference = csi.fit(csi.load_model("scsb"), data)
    by_name = csi.fit("scsb", data)
    pd.testing.assert_frame_equal(by_name.estimates, reference.estimates)
    text = "PERF =~ PRICEQ + QUALP\nCSB =~ OVERALL + CONFIRM + IDEAL\nCSB ~ PERF\n"
    model = tmp_path / "small.lav"
    model.write_text(text)
    by_path = csi.fit(model, data)
    by_text = csi.fit(text, data)
    pd.testing.assert_frame_equal(by_path.estimates, by_text.estimates)
    with pytest.raises(csi.SpecError, match="unknown model"):
        csi.fit("no-such-model", data)
    with pytest.raises(csi.EstimationError, match="ModelSpec"):
        csi.fit(42, data)


def test_fit_test_writes_the_bollen_stine_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``csi fit --fit-test N`` prints and writes the same table as csi.quality.model_fit with that seed;
    CB-SEM fits carry their own fit measures, so asking for the test on one is one error line."""
    data = tmp_path / "ecsi.csv"
    csi.simulate("ecsi", n=150, seed=4).data.to_csv(data, index=False)
    out = tmp_path / "out"
    assert main(["fit", "ecsi", str(data), "--fit-test", "40", "--seed", "9", "--out", str(out)]) == 0
    assert "exact-fit test by 40 Bollen-Stine resamples" in capsys.readouterr().out
    written = pd.read_csv(out / "model_fit.csv").set_index("criterion")
    expected = csi.quality.model_fit(csi.fit("ecsi", pd.read_csv(data)), 40, 9)
    pd.testing.assert_frame_equal(written, expected, check_exact=False, rtol=1e-12, check_names=False)
    assert main(["fit", "ecsi", str(data), "--method", "cbsem", "--fit-test", "10"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("csi: error:")]
    assert len(err) == 1 and "drop --fit-test" in err[0]
    with pytest.raises(csi.EstimationError, match="carry their own fit measures"):
        csi.quality.model_fit(csi.fit("ecsi", pd.read_csv(data), method="cbsem"))
    with pytest.raises(csi.EstimationError, match="give n_resamples"):  # a seed alone would be silently unused
        csi.quality.model_fit(csi.fit("ecsi", pd.read_csv(data)), seed=1)
    assert main(["fit", "ecsi", str(data), "--method", "plsc", "--fit-test", "10"]) == 2
    captured = capsys.readouterr()
    assert "Observations" not in captured.out and "drop --fit-test" in captured.err  # refused before any fitting
