"""Every writer of results through the API and the CLI: whole folders, verified readers, formula-safe CSV."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import csi
from csi.cli import main
from csi.errors import DataError
from csi.index.result import COLUMNS
from csi.report import load_results, write_report
from csi.results.export import write_results
from csi.results.files import seal, verify_folder

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::csi.ConvergenceWarning")

FORMULA = '=HYPERLINK("x")'
MINUS = "-5 Ltd"


@pytest.fixture(scope="module")
def panel() -> csi.SimulatedPanel:
    p = csi.simulate_panel("acsi", companies=3, respondents=80, waves=2, seed=3, industries=None, sectors=None)
    names = {"C001": FORMULA, "C002": MINUS}
    data = p.data.assign(company=p.data["company"].replace(names))
    weights = p.unit_weights.assign(unit=p.unit_weights["unit"].replace(names))
    return csi.SimulatedPanel(data, weights, p.population, p.spec, p.seed)


@pytest.fixture(scope="module")
def result(panel: csi.SimulatedPanel) -> csi.PanelIndexResult:
    return csi.index_panel(panel.data, "acsi", company="company", wave="wave", unit_weights=panel.unit_weights,
                           min_n=20, n_resamples=20, seed=5, national_resamples=0)  # fmt: skip


@pytest.fixture()
def folder(result: csi.PanelIndexResult, tmp_path: Path) -> Path:
    return result.write(tmp_path / "res")


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("csi: error: ") and "Traceback" not in err[0], err
    return err[0]


# ------------------------------------------------------------------ panel results: round trip


def test_round_trip_write_read_verify_is_exact_with_hostile_names(result, folder) -> None:
    doc = verify_folder(folder)
    assert set(doc["files"]) == {f"{t}.{ext}" for t in COLUMNS for ext in ("csv", "parquet")}
    assert all(e["kind"] and len(e["sha256"]) == 64 and e["bytes"] > 0 for e in doc["files"].values())
    for fmt in ("parquet", "csv"):
        back = csi.read_panel_result(folder, format=fmt)
        for name in COLUMNS:
            pd.testing.assert_frame_equal(getattr(back, name), getattr(result, name), check_exact=fmt == "parquet",
                                          rtol=1e-15)  # fmt: skip
        assert back.manifest == result.manifest  # the list of files is not part of the result's provenance
    assert {FORMULA, MINUS} <= set(csi.read_panel_result(folder, format="csv").units["unit"])
    assert {FORMULA, MINUS} <= set(load_results(folder).units["unit"])  # the report's reader too


def test_csv_cells_are_neutralised_and_numbers_stay_numeric(folder) -> None:
    raw = pd.read_csv(folder / "units.csv", dtype=str, keep_default_na=False)
    assert {"'" + FORMULA, "'" + MINUS} <= set(raw["unit"]) and FORMULA not in set(raw["unit"])
    est = pd.read_csv(folder / "estimates.csv")
    assert "'=~" in set(est["op"])  # the lavaan operator would be a formula too
    assert est["estimate"].dtype == float and est["se"].dtype == float
    idx = pd.read_csv(folder / "index.csv")
    assert idx["index"].dtype == float and idx["n"].dtype == "int64"
    assert set(pd.read_parquet(folder / "units.parquet")["unit"]) >= {FORMULA, MINUS}  # Parquet keeps text as is


def test_rewriting_is_refused_unless_overwrite_which_replaces_everything(result, folder) -> None:
    with pytest.raises(DataError, match="exists and is not empty"):
        result.write(folder)
    (folder / "index.csv").write_text("stale")  # overwrite must not care what is there
    result.write(folder, overwrite=True)
    verify_folder(folder)
    assert not list(folder.parent.glob(".res.*"))


def test_a_write_failing_midway_leaves_the_old_folder(result, folder, monkeypatch) -> None:
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    calls = []
    original = pd.DataFrame.to_parquet

    def dying(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", dying)
    changed = csi.PanelIndexResult(**{**result.tables(), "manifest": {**result.manifest, "seed": 99}})
    with pytest.raises(OSError, match="disk full"):
        changed.write(folder, overwrite=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert csi.read_panel_result(folder).manifest["seed"] == result.manifest["seed"]
    assert not list(folder.parent.glob(".res.*"))


# ------------------------------------------------------------------ panel results: damaged folders


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: (f / "estimates.csv").unlink(), "estimates.csv is missing"),
        (lambda f: (f / "index.parquet").write_bytes((f / "index.parquet").read_bytes()[:100]), r"index.parquet has 100 bytes.*truncated"),
        (lambda f: (f / "changes.csv").write_text(""), r"changes.csv has 0 bytes.*truncated"),
        (lambda f: (f / "draws.csv").write_text("old"), r"draws.csv is not listed.*foreign"),
        (lambda f: (f / "units.csv").write_bytes((f / "units.csv").read_bytes().replace(b"ok", b"ko", 1)), "units.csv was changed"),
        (lambda f: (f / "manifest.json").write_text(json.dumps({"seed": 1})), "lists no files"),
    ],
    ids=["deleted", "truncated-parquet", "empty-csv", "foreign", "changed-byte", "old-manifest"],
)  # fmt: skip
def test_tampering_is_named_by_every_reader(folder, capsys, damage, message) -> None:
    damage(folder)
    with pytest.raises(DataError, match=message):
        csi.read_panel_result(folder)
    with pytest.raises(DataError, match=message):
        load_results(folder)
    assert main(["report", str(folder), "--out", str(folder.parent / "r.html")]) == 2
    assert message.split(" ")[0].split(".")[0] in _one_error_line(capsys)
    assert not (folder.parent / "r.html").exists()


def test_unreadable_tables_in_a_consistent_manifest_are_csi_errors(folder, capsys) -> None:
    """A folder sealed around broken files (a tool that writes the contract badly): no pandas/pyarrow traceback."""
    (folder / "index.parquet").write_bytes((folder / "index.parquet").read_bytes()[:200])
    (folder / "changes.csv").write_text("")
    seal(folder)
    with pytest.raises(DataError, match=r"index.parquet .*cannot be read as PARQUET.*damaged"):
        csi.read_panel_result(folder)
    with pytest.raises(DataError, match=r"changes.csv .*(empty|cannot be read)"):
        csi.read_panel_result(folder, format="csv")
    with pytest.raises(DataError, match=r"changes.csv cannot be read as CSV"):
        load_results(folder)
    assert main(["report", str(folder), "--out", str(folder.parent / "r.html")]) == 2
    assert "changes.csv" in _one_error_line(capsys)


# ------------------------------------------------------------------ report files


def test_report_files_replace_whole_and_stay_out_of_the_results_folder(folder, tmp_path, capsys) -> None:
    html = tmp_path / "r.html"
    html.write_text("old")
    assert main(["report", str(folder), "--out", str(html), "--xlsx", str(tmp_path / "r.xlsx")]) == 0
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") and (tmp_path / "r.xlsx").stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.xlsx", "res"]  # no temporary files
    capsys.readouterr()
    assert main(["report", str(folder), "--out", str(folder / "report.html")]) == 2
    assert "inside the results folder" in _one_error_line(capsys)
    verify_folder(folder)
    with pytest.raises(csi.CSIError, match="inside the results folder"):
        write_report(folder, xlsx=folder / "sub" / "t.xlsx")


# ------------------------------------------------------------------ fit folders


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("survey") / "scsb.csv"
    csi.simulate(csi.load_model("scsb"), 200, seed=2).data.to_csv(path, index=False)
    return path


def test_fit_folder_has_a_manifest_and_a_rerun_never_mixes_runs(survey, tmp_path, capsys) -> None:
    out = tmp_path / "fit"
    assert main(["fit", "scsb", str(survey), "--bootstrap", "30", "--seed", "1", "--out", str(out)]) == 0
    doc = verify_folder(out)
    assert doc["kind"] == "csi fit results" and {"bootstrap.csv", "draws.csv", "results.json"} <= set(doc["files"])
    capsys.readouterr()
    # the case: a rerun without --bootstrap must not leave the old bootstrap beside the new estimates
    assert main(["fit", "scsb", str(survey), "--out", str(out)]) == 2
    assert "--overwrite" in _one_error_line(capsys)
    assert main(["fit", "scsb", str(survey), "--out", str(out), "--overwrite"]) == 0
    files = set(verify_folder(out)["files"])
    assert "bootstrap.csv" not in files and not (out / "bootstrap.csv").exists() and not (out / "draws.csv").exists()
    assert main(["bootstrap", "scsb", str(survey), "--resamples", "20", "--seed", "1", "--out", str(out)]) == 2
    assert "not empty" in _one_error_line(capsys)


def test_write_results_api_returns_what_it_wrote(survey, tmp_path) -> None:
    fit = csi.fit("scsb", pd.read_csv(survey))
    written = write_results(tmp_path / "w", fit, index=csi.compute_index(fit, negative="force"))
    assert sorted(p.name for p in written) == sorted(p.name for p in (tmp_path / "w").iterdir())
    assert set(verify_folder(tmp_path / "w")["files"]) == {p.name for p in written} - {"manifest.json"}
    with pytest.raises(DataError, match="not empty"):
        write_results(tmp_path / "w", fit)
    assert len(write_results(tmp_path / "w", fit, overwrite=True)) == len(written) - 1  # no index this time


def test_demo_folder_and_its_panel_verify(tmp_path, capsys) -> None:
    out = tmp_path / "demo"
    args = ["demo", "--n", "120", "--companies", "4", "--panel-bootstrap", "10", "--out", str(out)]
    assert main(args) == 0
    top = verify_folder(out)
    assert {"data.csv", "results.json", "report.html", "panel/manifest.json", "panel/index.parquet"} <= set(top["files"])
    csi.read_panel_result(out / "panel")  # the panel subfolder verifies on its own
    capsys.readouterr()
    assert main(args) == 2 and "not empty" in _one_error_line(capsys)
    shutil.rmtree(out / "panel")
    assert main([*args, "--overwrite"]) == 0
    verify_folder(out)
