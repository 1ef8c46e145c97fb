"""``csi index``: writes exactly the documented folder; input errors are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import csi
from csi.cli import main
from csi.index.result import COLUMNS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("panel")
    p = csi.simulate_panel("acsi", companies=4, respondents=[90, 90, 90, 30], waves=2, seed=6, industries=2, sectors=1)
    p.data.rename(columns={"company": "firm", "wave": "year"}).to_csv(folder / "panel.csv", index=False)
    p.unit_weights.to_parquet(folder / "weights.parquet", index=False)
    return folder / "panel.csv", folder / "weights.parquet"


def test_index_writes_the_documented_folder(files, tmp_path, capsys):
    panel, weights = files
    out = tmp_path / "res"
    args = ["index", "--model", "acsi", "--data", str(panel), "--company", "firm", "--wave", "year", "--industry",
            "industry", "--sector", "sector", "--unit-weights", str(weights), "--min-n", "40", "--bootstrap", "40",
            "--seed", "3", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "national" in text and "1 suppressed" not in text and "2 suppressed" in text
    names = {f"{t}.{ext}" for t in COLUMNS for ext in ("csv", "parquet")} | {"manifest.json"}
    assert {f.name for f in out.iterdir()} == names
    index = pd.read_csv(out / "index.csv")
    assert list(index.columns) == ["level", "unit", "wave", "construct", "index", "se", "ci_lower", "ci_upper", "n"]
    changes = pd.read_csv(out / "changes.csv")
    assert list(changes.columns) == ["level", "unit", "construct", "wave_from", "wave_to", "change", "ci_lower",
                                     "ci_upper", "p_value", "significant"]  # fmt: skip
    assert set(index["level"]) == {"company", "industry", "sector", "national"}
    for t, cols in COLUMNS.items():
        assert tuple(pd.read_parquet(out / f"{t}.parquet").columns) == cols
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["counts"]["suppressed"] == 2 and manifest["options"]["min_n"] == 40
    back = csi.read_panel_result(out)
    assert len(back.index) == len(index)
    # the same run through the API gives the same numbers
    api = csi.index_panel(pd.read_csv(panel), "acsi", company="firm", wave="year", industry="industry",
                          sector="sector", unit_weights=pd.read_parquet(weights), min_n=40, n_resamples=40, seed=3)  # fmt: skip
    pd.testing.assert_frame_equal(back.index, api.index)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--company", "nope"], "company column 'nope'"),
        (["--industry", "industri"], "closest: 'industry'"),
    ],
)
def test_index_input_errors_are_one_line(files, tmp_path, capsys, extra, message):
    panel, _ = files
    args = ["index", "--model", "acsi", "--data", str(panel), "--company", "firm", "--wave", "year", "--bootstrap",
            "0", "--seed", "1", "--out", str(tmp_path / "x"), *extra]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("csi: error: ") and message in err[0]


def test_index_help_has_an_example(capsys):
    assert main(["index", "--help"]) == 0
    assert "csi index --model acsi" in capsys.readouterr().out


def test_index_passes_interval_type_and_change_basis(files, tmp_path):
    panel, weights = files
    out = tmp_path / "res"
    args = ["index", "--model", "acsi", "--data", str(panel), "--company", "firm", "--wave", "year", "--unit-weights",
            str(weights), "--industry", "industry", "--sector", "sector", "--min-n", "40", "--bootstrap", "20",
            "--seed", "3", "--ci", "percentile", "--change-basis", "published", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    options = json.loads((out / "manifest.json").read_text())["options"]
    assert options["ci"] == "percentile" and options["change_basis"] == "published"
