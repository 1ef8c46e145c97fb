"""The report: reading a results folder, its tables, plots, HTML (escaping, no network), Excel and the CLI.

The results folders are written by tests/report_fixture.py from real csi fits of simulated panels
(contract of the panel index: docs in csi/report/load.py).  Browser and PDF checks: test_report_browser.py.
"""

from __future__ import annotations

import functools
import re
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import report_fixture
from report_fixture import FORMULA_COMPANY, HOSTILE_COMPANY, HOSTILE_LABEL, reseal

import csi
from csi.cli import main
from csi.errors import CSIError, DataError
from csi.report import load_results, plots, render_html, tables, write_xlsx

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def panel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report_fixture.panel_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report_fixture.hostile_dir(tmp_path_factory)


@functools.cache
def page_of(folder: Path) -> str:
    """The HTML report of a folder, rendered once per session (rendering draws a dozen figures)."""
    return render_html(folder)


# ------------------------------------------------------------------ reading


def test_load_reads_every_table_with_text_labels(hostile_dir: Path) -> None:
    data = load_results(hostile_dir)
    assert data.waves == ("2023", "2024")
    assert data.levels == ("national", "sector", "industry", "company")
    assert data.target == "SAT" and data.label("SAT") == HOSTILE_LABEL
    companies = set(data.index.loc[data.index["level"] == "company", "unit"])
    assert {"NA", "007", HOSTILE_COMPANY, FORMULA_COMPANY} <= companies  # not NaN, not 7
    raw = pd.read_csv(hostile_dir / "index.csv")
    np.testing.assert_array_equal(data.index["index"].to_numpy(), raw["index"].to_numpy())


def test_waves_sort_numerically_when_numbers(tmp_path: Path, panel_dir: Path) -> None:
    shutil.copytree(panel_dir, tmp_path / "r")
    for name in ("index", "units", "estimates", "impacts", "quality"):
        f = tmp_path / "r" / f"{name}.csv"
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        df["wave"] = df["wave"].map({"2022": "9", "2023": "10", "2024": "11"})
        df.to_csv(f, index=False)
    assert load_results(reseal(tmp_path / "r")).waves == ("9", "10", "11")


@pytest.mark.parametrize("drop", ["sector", "industry"])
def test_sector_and_industry_levels_are_optional(tmp_path: Path, panel_dir: Path, drop: str) -> None:
    """Either level may be absent; the report then has no section for it (rendered once: sector)."""
    shutil.copytree(panel_dir, tmp_path / "r")
    for name in ("index", "changes", "units"):
        f = tmp_path / "r" / f"{name}.csv"
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        df[df["level"] != drop].to_csv(f, index=False)
    data = load_results(reseal(tmp_path / "r"))
    assert drop not in data.levels
    assert tables.level_table(data, drop).empty and not tables.level_table(data, "company").empty
    if drop == "sector":
        page = render_html(data)
        assert f'id="level-{drop}"' not in page and 'id="level-company"' in page


def test_missing_column_is_named(tmp_path: Path, panel_dir: Path) -> None:
    shutil.copytree(panel_dir, tmp_path / "r")
    f = tmp_path / "r" / "changes.csv"
    pd.read_csv(f).drop(columns="p_value").to_csv(f, index=False)
    with pytest.raises(DataError, match=r"changes.csv has \d+ bytes.*\(truncated\)"):
        load_results(tmp_path / "r")
    with pytest.raises(DataError, match=r"changes.csv: missing column\(s\) 'p_value'"):
        load_results(reseal(tmp_path / "r"))


def test_missing_file_and_folder_are_named(tmp_path: Path, panel_dir: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_results(tmp_path / "nowhere")
    shutil.copytree(panel_dir, tmp_path / "r")
    (tmp_path / "r" / "impacts.csv").unlink()
    with pytest.raises(DataError, match="impacts.csv is missing"):
        load_results(tmp_path / "r")
    with pytest.raises(DataError, match="no impacts.csv"):
        load_results(reseal(tmp_path / "r"))


def test_bad_number_and_unknown_level_are_named(tmp_path: Path, panel_dir: Path) -> None:
    shutil.copytree(panel_dir, tmp_path / "r")
    f = tmp_path / "r" / "index.csv"
    df = pd.read_csv(f, dtype=str, keep_default_na=False)
    df.loc[3, "se"] = "abc"
    df.to_csv(f, index=False)
    with pytest.raises(DataError, match=r"column 'se', row 4: 'abc' is not a number"):
        load_results(reseal(tmp_path / "r"))
    df.loc[3, "se"] = "1"
    df.loc[0, "level"] = "region"
    df.to_csv(f, index=False)
    with pytest.raises(DataError, match="unknown level.*'region'"):
        load_results(reseal(tmp_path / "r"))


def test_an_object_with_the_tables_reads_like_the_folder(panel_dir: Path) -> None:
    data = load_results(panel_dir)

    class Result:  # what a PanelIndexResult offers
        index, changes, units = data.index, data.changes, data.units
        estimates, impacts, quality, manifest = data.estimates, data.impacts, data.quality, data.manifest

    again = load_results(Result())
    for name in ("index", "changes", "units", "estimates", "impacts", "quality"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(data, name))
    assert again.waves == data.waves and again.spec == data.spec
    pd.testing.assert_frame_equal(tables.level_table(again, "company"), tables.level_table(data, "company"))
    with pytest.raises(DataError, match="lacks"):
        load_results(object())


# ------------------------------------------------------------------ tables


def test_company_table_carries_the_files_numbers(panel_dir: Path) -> None:
    data = load_results(panel_dir)
    t = tables.level_table(data, "company").set_index("unit")
    ix = pd.read_csv(panel_dir / "index.csv")
    ix = ix[(ix["level"] == "company") & (ix["wave"] == 2024) & (ix["construct"] == "SAT")].set_index("unit")
    ok = ix["index"].notna()
    np.testing.assert_allclose(t.loc[ix.index[ok], "index"], ix.loc[ok, "index"], rtol=0, atol=0)
    np.testing.assert_allclose(t.loc[ix.index[ok], "ci_upper"], ix.loc[ok, "ci_upper"], rtol=0, atol=0)
    ch = pd.read_csv(panel_dir / "changes.csv")
    ch = ch[(ch["level"] == "company") & (ch["wave_to"] == 2024) & (ch["construct"] == "SAT")].set_index("unit")
    np.testing.assert_allclose(t.loc[ch.index, "change"], ch["change"], rtol=0, atol=0)
    assert (t.loc[ch.index, "significant"] == ch["significant"]).all()
    assert t.loc["Tiny Credit", "status"] == "suppressed" and np.isnan(t.loc["Tiny Credit", "index"])
    assert list(t.index)[-1] == "Tiny Credit"  # suppressed cells last


def test_headline_is_the_national_target_index(panel_dir: Path) -> None:
    data = load_results(panel_dir)
    h = tables.headline(data)
    ix = pd.read_csv(panel_dir / "index.csv")
    row = ix[(ix["level"] == "national") & (ix["wave"] == 2024) & (ix["construct"] == "SAT")].iloc[0]
    assert h["index"] == row["index"] and h["ci_lower"] == row["ci_lower"] and h["previous_wave"] == "2023"


# ------------------------------------------------------------------ HTML


def test_html_escapes_every_data_string(hostile_dir: Path) -> None:
    page = page_of(hostile_dir)
    assert "<script" not in page.lower()  # the report itself has no script at all
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page
    assert "Satisfaction &amp; &#34;value&#34; &lt;b&gt;bold&lt;/b&gt;" in page


def test_html_is_self_contained(panel_dir: Path) -> None:
    page = page_of(panel_dir)
    assert not re.search(r"""(src|href|xlink:href)\s*=\s*["']?\s*(https?:|//|file:)""", page, re.I)
    assert not re.search(r"<(link|script|iframe|img|object|embed)\b", page, re.I)
    assert "@import" not in page
    assert all(u.startswith("#") for u in re.findall(r"url\(\s*([^)]*)\)", page))  # SVG clip paths only
    assert page.count("<svg") >= 8


def test_html_is_reproducible_and_holds_the_key_numbers(panel_dir: Path) -> None:
    page = page_of(panel_dir)
    h = tables.headline(load_results(panel_dir))
    assert f'<div class="big" id="national-index">{h["index"]:.1f}</div>' in page
    assert f"[{h['ci_lower']:.1f}, {h['ci_upper']:.1f}]" in page
    for name in ("Methodology", "Impacts and priorities", "Measurement quality", "Path coefficients"):
        assert name in page
    manifest = load_results(panel_dir).manifest
    assert manifest["input_hash"] in page and f">{manifest['seed']}<" in page


def test_significant_changes_are_marked(hostile_dir: Path) -> None:
    data = load_results(hostile_dir)
    page = page_of(hostile_dir)
    t = tables.level_table(data, "company")
    assert t["significant"].any() and (~t["significant"] & t["index"].notna()).any()
    body = page[page.index('id="table-company"') :]
    body = body[: body.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)[1:]
    for r, row in zip(t.itertuples(), rows):
        marked = "▲" in row or "▼" in row
        assert marked == bool(r.significant), row
        if r.significant:
            assert ("▲" if r.change > 0 else "▼") in row


# ------------------------------------------------------------------ plots


def test_plots_return_the_axes_they_draw_on(panel_dir: Path) -> None:
    import matplotlib.pyplot as plt

    data = load_results(panel_dir)
    for plot in (plots.plot_trend, plots.plot_index_ci, plots.plot_ipma, plots.plot_path_diagram):
        fig, ax = plt.subplots()
        assert plot(data, ax) is ax and ax.has_data() or ax.patches
        new = plot(panel_dir)  # a folder works too, on a new figure
        assert new is not ax and new.figure is not fig
        plt.close("all")


def test_trend_plots_the_files_series(panel_dir: Path) -> None:
    ax = plots.plot_trend(panel_dir, level="company", unit="FreshMart")
    ix = pd.read_csv(panel_dir / "index.csv")
    want = ix[(ix["unit"] == "FreshMart") & (ix["construct"] == "SAT")]["index"].to_numpy()
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), want)
    with pytest.raises(DataError, match="unknown company unit 'Nobody'"):
        plots.plot_trend(panel_dir, level="company", unit="Nobody")


def test_path_diagram_from_fit_and_bootstrap_marks_significance() -> None:
    spec = csi.load_model("ecsi")
    fit = csi.fit(spec, csi.simulate(spec, 250, seed=3).data)
    ax = plots.plot_path_diagram(fit)
    labels = {t.get_text() for t in ax.texts}
    assert f"{fit.paths.loc['SAT', 'QUAL']:.2f}" in labels and not any(t.endswith("*") for t in labels)
    boot = csi.bootstrap(fit, 60, seed=1)
    e = boot.estimates[boot.estimates["op"] == "~"]
    sig = (e["ci_lower"] > 0) | (e["ci_upper"] < 0)
    texts = [t.get_text() for t in plots.plot_path_diagram(boot).texts if t.get_text()[:1] in "-0123456789"]
    assert sum(t.endswith("*") for t in texts) == int(sig.sum())
    assert sum(len(lbl) for lbl in texts) > 0


def test_dollar_names_are_not_mathtext(hostile_dir: Path) -> None:
    ax = plots.plot_trend(hostile_dir, level="company", unit="$100 Store")
    ax.figure.canvas.draw()  # mathtext would fail or eat the dollar
    assert ax.get_title() == r"\$100 Store"


# ------------------------------------------------------------------ Excel


def test_workbook_has_one_sheet_per_table_and_no_formulas(tmp_path: Path, hostile_dir: Path) -> None:
    from openpyxl import load_workbook

    path = write_xlsx(hostile_dir, tmp_path / "r.xlsx")
    wb = load_workbook(path)
    assert {"README", "National", "Sector", "Industry", "Company", "Paths", "Impacts", "Quality", "Settings"} <= set(
        wb.sheetnames
    )
    ws = wb["Company"]
    header = [c.value for c in ws[1]]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    units = [row[header.index("Unit")].value for row in ws.iter_rows(min_row=2)]
    assert FORMULA_COMPANY in units and HOSTILE_COMPANY in units and "NA" in units
    t = tables.level_table(load_results(hostile_dir), "company")
    got = {row[header.index("Unit")].value: row[header.index("Index (0–100)")].value for row in ws.iter_rows(min_row=2)}
    for r in t.itertuples():
        assert got[r.unit] == (None if np.isnan(r.index) else pytest.approx(r.index, abs=0))


# ------------------------------------------------------------------ CLI and PDF errors


def test_cli_writes_html_and_xlsx(tmp_path: Path, panel_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(panel_dir), "--out", str(tmp_path / "r.html"), "--xlsx", str(tmp_path / "r.xlsx")]) == 0
    # Byte-identical to a separate rendering: no timestamps, fixed SVG ids.
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == page_of(panel_dir)
    assert (tmp_path / "r.xlsx").stat().st_size > 0
    assert "wrote HTML" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "nothing to write"), (["--out", "x.html"], "does not exist")],
)
def test_cli_input_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["report", str(tmp_path / "none"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("csi: error: ") and message in err and err.count("\n") == 1


def test_cli_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--help"]) == 0
    assert "csi report results/ --out report.html" in capsys.readouterr().out


def test_pdf_without_chromium_says_what_to_install(
    tmp_path: Path, panel_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from csi.report import write_pdf

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CSI_CHROMIUM", raising=False)
    with pytest.raises(CSIError, match="apt-get install chromium"):
        write_pdf(panel_dir, tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_paths_without_intervals_have_unknown_significance(tmp_path: Path, panel_dir: Path) -> None:
    shutil.copytree(panel_dir, tmp_path / "r")
    f = tmp_path / "r" / "estimates.csv"
    est = pd.read_csv(f, dtype=str, keep_default_na=False)
    national = est["level"] == "national"
    est.loc[national, ["se", "ci_lower", "ci_upper"]] = ""  # national fits not bootstrapped
    est.to_csv(f, index=False)
    data = load_results(reseal(tmp_path / "r"))
    assert tables.paths_table(data)["significant"].isna().all()
    page = render_html(data)
    rows = re.findall(r'<table id="table-paths">(.*?)</table>', page, flags=re.S)[0]
    assert ">yes<" not in rows and ">no<" not in rows and rows.count(">–</td>") >= 3
    assert "--national-bootstrap" in page
    # with intervals the table says yes/no
    assert ">–</td></tr>" not in re.findall(r'<table id="table-paths">(.*?)</table>', page_of(panel_dir), flags=re.S)[0]
