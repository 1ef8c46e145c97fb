"""The report of one survey: `csi fit --out` / `csi bootstrap --out` folders and fit objects, in English and Chinese.

The folders are written by the CLI from data simulated with this checkout's ACSI model file (which declares
COMPL lower-is-better and carries Chinese labels); every number checked is compared with the folder's own CSV
files or with the fit, never with a hard-coded value.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import csi
from csi.cli import main
from csi.errors import DataError
from csi.report import load_results, render_html, tables, write_xlsx
from csi.spec.toml_io import read_toml

ACSI = Path(__file__).resolve().parents[1] / "models" / "acsi.toml"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("survey")
    spec = read_toml(ACSI)
    data = csi.simulate(spec, 300, seed=5).data
    data.loc[[3, 7], "SATIS"] = np.nan  # two missing answers, dropped listwise
    data.to_csv(root / "survey.csv", index=False)
    out = {}
    for name, args in (("fit", ["fit", str(ACSI), str(root / "survey.csv"), "--missing", "listwise"]),
                       ("boot", ["bootstrap", str(ACSI), str(root / "survey.csv"), "--missing", "listwise",
                                 "--resamples", "120", "--seed", "3"])):  # fmt: skip
        assert main([*args, "--out", str(root / name)]) == 0
        out[name] = root / name
    return out


@functools.cache
def page(folder: Path, lang: str = "en") -> str:
    return render_html(folder, lang=lang)


def test_fit_folder_reads_as_one_survey(folders):
    data = load_results(folders["fit"])
    assert data.kind == "survey" and data.levels == ("national",) and data.target == "SAT"
    index = pd.read_csv(folders["fit"] / "index.csv").set_index("construct")["index"]
    got = data.index.set_index("construct")["index"]
    np.testing.assert_allclose(got[index.index], index, rtol=0, atol=0)
    assert data.index["ci_lower"].isna().all()  # no bootstrap, no intervals
    assert data.better("COMPL") == "lower" and data.label("SAT", "zh") == "顾客满意度"
    assert len(data.impacts) and set(data.impacts["target"]) >= {"SAT", "LOY"}


def test_bootstrap_folder_carries_index_intervals(folders):
    data = load_results(folders["boot"])
    boot = pd.read_csv(folders["boot"] / "bootstrap.csv")
    rows = boot[boot["op"] == "index"].set_index("lhs")
    got = data.index.set_index("construct")
    np.testing.assert_allclose(got.loc[rows.index, "ci_lower"], rows["ci_lower"], rtol=0, atol=0)
    h = tables.headline(data)
    text = page(folders["boot"])
    assert f'id="national-index">{h["index"]:.1f}<' in text
    assert f"[{h['ci_lower']:.1f}, {h['ci_upper']:.1f}]" in text


def test_single_survey_report_has_every_section(folders):
    text = page(folders["boot"])
    for anchor in ("headline", "model", "impacts", "quality", "items", "methodology"):
        assert f'id="{anchor}"' in text
    for fig in ("fig-path-diagram", "fig-ipma"):
        assert f'id="{fig}"' in text
    assert 'id="level-company"' not in text and "Wave" not in text  # one survey: no waves, no levels
    doc = json.loads((folders["boot"] / "results.json").read_text())
    assert doc["report"]["input_hash"] in text  # the input file named by its SHA-256
    sample = doc["report"]["sample"]
    assert (sample["n_input"], sample["n_dropped"], sample["n_used"]) == (300, 2, 298)
    assert "300 rows read; 298 used in the estimation (rows with a missing item removed); 2 dropped." in text
    items = re.findall(r'<table id="table-items">(.*?)</table>', text, re.S)[0]
    assert items.count("<tr>") == 1 + len(read_toml(ACSI).item_names)


def test_impacts_lead_with_the_headline_construct(folders):
    imp = tables.impacts_table(load_results(folders["boot"]))
    targets = list(dict.fromkeys(imp["target"]))
    assert targets[0] == "SAT"
    assert (imp[imp["target"] == "SAT"]["impact"].diff().dropna() <= 0).all()  # largest first


def test_report_of_a_fit_object_equals_the_folders_numbers(folders):
    spec = read_toml(ACSI)
    data = pd.read_csv(folders["fit"].parent / "survey.csv")
    fit = csi.fit(spec, data, missing="listwise")
    obj = load_results(fit)
    folder = load_results(folders["fit"])
    np.testing.assert_allclose(obj.index["index"], folder.index["index"], rtol=1e-12)
    pd.testing.assert_frame_equal(obj.impacts.reset_index(drop=True), folder.impacts.reset_index(drop=True),
                                  check_exact=False, rtol=1e-9)  # fmt: skip


def test_cli_report_from_a_fit_folder_in_both_languages(folders, tmp_path, capsys):
    assert main(["report", str(folders["fit"]), "--out", str(tmp_path / "en.html"), "--xlsx",
                 str(tmp_path / "en.xlsx")]) == 0  # fmt: skip
    assert main(["report", str(folders["fit"]), "--out", str(tmp_path / "zh.html"), "--lang", "zh"]) == 0
    zh = (tmp_path / "zh.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in zh and "顾客满意度" in zh and "方法说明" in zh
    assert "题项：描述统计与缺失数据" in zh and "总体满意度" in zh  # item text from the model's zh labels


def test_folder_without_model_text_still_reports(folders, tmp_path):
    import shutil

    from csi.results.files import seal

    shutil.copytree(folders["fit"], tmp_path / "f")
    doc = json.loads((tmp_path / "f" / "results.json").read_text())
    del doc["report"]
    (tmp_path / "f" / "results.json").write_text(json.dumps(doc))
    seal(tmp_path / "f")
    data = load_results(tmp_path / "f")
    assert data.spec is None and data.label("SAT") == "SAT" and data.impacts.empty
    assert "No impacts in these results." in render_html(tmp_path / "f")


def test_a_bad_results_json_is_named(folders, tmp_path):
    import shutil

    from csi.results.files import seal

    shutil.copytree(folders["fit"], tmp_path / "f")
    (tmp_path / "f" / "quality.csv").write_text("nothing,here\n1,2\n")
    seal(tmp_path / "f")
    with pytest.raises(DataError, match=r"quality.csv: missing column\(s\) 'construct'"):
        load_results(tmp_path / "f")


# ------------------------------------------------------------------ workbook


def test_workbook_formats_headers_panes_and_readme(folders, tmp_path):
    from openpyxl import load_workbook

    wb = load_workbook(write_xlsx(folders["boot"], tmp_path / "r.xlsx"))
    assert wb.sheetnames[0] == "README" and "Items" in wb.sheetnames and "Settings" in wb.sheetnames
    ws = wb["Indices"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["Construct", "Label", "Respondents", "Index (0–100)"]
    col = {h: i for i, h in enumerate(header)}
    rows = list(ws.iter_rows(min_row=2))
    assert {r[col["Index (0–100)"]].number_format for r in rows} == {"0.0"}
    assert {r[col["CI lower"]].number_format for r in rows} == {"0.0"}
    assert ws.freeze_panes == "B2" and ws.column_dimensions["B"].width > 12
    paths = wb["Paths"]
    ph = [c.value for c in paths[1]]
    assert {r[ph.index("Estimate")].number_format for r in paths.iter_rows(min_row=2)} == {"0.000"}
    assert isinstance(rows[0][col["Index (0–100)"]].value, float)  # full precision kept, only displayed rounded
    readme = [c.value for c in wb["README"]["A"]]
    assert "Number formats" in readme and "Sheet" in readme
    zh = load_workbook(write_xlsx(folders["boot"], tmp_path / "zh.xlsx", lang="zh"))
    assert zh.sheetnames[:2] == ["说明", "指数"] and [c.value for c in zh["指数"][1]][:2] == ["潜变量", "名称"]
