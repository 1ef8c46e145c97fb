"""``csi mga`` run in-process, and the group-comparison section ``csi report`` adds for its folder."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import csi
from csi.cli import main
from csi.report.html import render_html
from csi.results.files import verify_folder


@pytest.fixture(scope="module")
def survey_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "survey.csv"
    a = csi.simulate("acsi", n=120, seed=1).data
    b = csi.simulate("acsi", n=100, seed=2, paths={"LOY ~ SAT": 0.7}).data
    data = pd.concat([a.assign(segment="<b>north</b>"), b.assign(segment="south")], ignore_index=True)
    data["one"] = "x"
    data["tiny"] = np.where(np.arange(len(data)) < 4, "x", "y")
    data.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def mga_folder(survey_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "mga"
    argv = ["mga", "--model", "acsi", "--data", str(survey_csv), "--group", "segment", "--permutations", "199",
            "--seed", "3", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    return out


def test_folder_matches_the_api(mga_folder: Path, survey_csv: Path) -> None:
    manifest = verify_folder(mga_folder)
    assert {"group_comparison.csv", "group_sizes.csv", "micom.csv", "micom_configural.csv", "results.json"} <= set(
        manifest["files"]
    )
    data = pd.read_csv(survey_csv)
    api = csi.compare_groups("acsi", data, "segment", n_permutations=199, seed=3)
    written = pd.read_csv(mga_folder / "group_comparison.csv")
    np.testing.assert_allclose(written["p_value"], api.table["p_value"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(written["difference"], api.table["difference"], rtol=1e-12, atol=1e-12)
    micom = csi.micom("acsi", data, "segment", n_permutations=199, seed=3)
    assert list(pd.read_csv(mga_folder / "micom.csv")["verdict"]) == list(micom.table["verdict"])


def test_prints_the_table_and_the_verdicts(survey_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["mga", "--model", "acsi", "--data", str(survey_csv), "--group", "segment", "--permutations", "99",
            "--seed", "1", "--method", "welch", "--resamples", "50"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Welch-Satterthwaite" in out and "Measurement invariance (MICOM)" in out
    assert "LOY ~ SAT" in out  # the path that differs between the populations


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ("nope", "--group column 'nope' is not in survey.csv"),
        ("one", "fewer than two groups"),
        ("tiny", "group 'x' of column 'tiny' has 4 row(s)"),
    ],
)
def test_bad_input_is_one_line(survey_csv: Path, capsys: pytest.CaptureFixture[str], group: str, message: str) -> None:
    assert main(["mga", "--model", "acsi", "--data", str(survey_csv), "--group", group, "--permutations", "9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("csi: error: ") and message in err and err.count("\n") == 1
    assert "Traceback" not in err


def test_report_renders_the_group_section(mga_folder: Path) -> None:
    html = render_html(mga_folder)
    assert '<section id="groups">' in html and 'href="#groups"' in html
    comparison = pd.read_csv(mga_folder / "group_comparison.csv")
    n_sig = int((comparison["p_adjusted"] < 0.05).sum())
    body = html[html.index('<section id="groups">') : html.index('<section id="methodology">')]
    if n_sig:
        table = body[body.index('id="table-group-differences"') :]
        table = table[: table.index("</table>")]
        assert table.count("<tr>") - 1 == n_sig  # header row + one row per significant difference
    else:
        assert 'id="group-none-significant"' in body
    micom = pd.read_csv(mga_folder / "micom.csv")
    table = body[body.index('id="table-micom"') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") - 1 == len(micom)
    # The hostile group label is escaped, never markup.
    assert "<b>north</b>" not in body and "&lt;b&gt;north&lt;/b&gt;" in body
    zh = render_html(mga_folder, lang="zh")
    assert "分组比较" in zh and "测量不变性" in zh


def test_a_fit_folder_has_no_group_section(survey_csv: Path, tmp_path: Path) -> None:
    data = pd.read_csv(survey_csv)
    data.drop(columns=["segment", "one", "tiny"]).to_csv(tmp_path / "plain.csv", index=False)
    assert main(["fit", "acsi", str(tmp_path / "plain.csv"), "--out", str(tmp_path / "fit")]) == 0
    html = render_html(tmp_path / "fit")
    assert not re.search(r'id="groups"', html)


def test_workbook_has_the_group_sheets(mga_folder: Path, tmp_path: Path) -> None:
    import openpyxl

    from csi.report import write_xlsx

    path = write_xlsx(mga_folder, tmp_path / "mga.xlsx")
    wb = openpyxl.load_workbook(path)
    assert {"Group comparison", "Group sizes", "MICOM"} <= set(wb.sheetnames)
    rows = pd.read_csv(mga_folder / "group_comparison.csv")
    assert wb["Group comparison"].max_row == len(rows) + 1
    assert wb["Group comparison"]["K2"].number_format == "0.000"  # p-values at three decimals
