"""The panel report's methodology appendix cites the coverage that the shipped coverage study measured for the run's
design (csi.bench.coverage.coverage_for), or says that none was measured."""

from __future__ import annotations

import dataclasses
import html

import pandas as pd
import pytest
import report_fixture

from csi.bench import coverage
from csi.report import methodology, render_html
from csi.report.i18n import Words, fmt_int, fmt_num
from csi.report.load import ReportData, load_results


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    return load_results(report_fixture.panel_dir(tmp_path_factory))


def with_ci(data: ReportData, ci: str, model_name: str | None = None) -> ReportData:
    manifest = dict(data.manifest)
    manifest["options"] = {**manifest["options"], "ci": ci}
    if model_name is not None:
        manifest["model_name"] = model_name
    return dataclasses.replace(data, manifest=manifest)


@pytest.mark.parametrize("ci", sorted({"percentile", "logit", "logit_t", coverage.DEFAULT_INTERVAL}))
def test_appendix_cites_the_shipped_coverage_of_the_nearest_design(data: ReportData, ci: str) -> None:
    d = with_ci(data, ci)
    latest = d.units[(d.units["level"] == "company") & (d.units["wave"] == d.latest_wave)]
    design = {"model": "acsi", "method": "pls", "ci": ci, "companies": len(latest),
              "respondents": float(latest["n"].median())}  # fmt: skip
    rows = coverage.coverage_for(design)
    rows = rows[rows["constructs"] == f"target {d.target}"].set_index("level")
    text = methodology.coverage_sentence(d, Words("en"))
    assert f"{rows['companies'].iloc[0]} companies of {rows['respondents'].iloc[0]} respondents" in text
    assert f"{ci} intervals" in text
    for lv in ("company", "industry", "sector", "national"):
        assert lv in d.levels
        word = Words("en")(f"level_{lv}").lower()
        cov = f"{fmt_num(100 * rows.at[lv, 'coverage'])} % ± {fmt_num(100 * rows.at[lv, 'mcse'])} ({word})"
        size = f"{fmt_num(100 * rows.at[lv, 'rejection'])} % ± {fmt_num(100 * rows.at[lv, 'mcse_rejection'])} ({word})"
        assert cov in text and size in text, (cov, size, text)
    assert f"{fmt_int(rows.at['national', 'changes'])} two-wave panels" in text
    assert text in methodology.paragraphs(d, Words("en"))


def test_appendix_says_when_no_study_applies(data: ReportData) -> None:
    assert "bca" not in set(coverage.shipped_summary()["ci"])
    none_ci = methodology.coverage_sentence(with_ci(data, "bca"), Words("en"))
    assert "not measured" in none_ci and "bca" in none_ci
    none_model = methodology.coverage_sentence(with_ci(data, "logit", model_name="My model"), Words("en"))
    assert "not measured" in none_model and "My model" in none_model


def test_the_sentence_reaches_the_html_in_both_languages(data: ReportData) -> None:
    d = with_ci(data, coverage.DEFAULT_INTERVAL)
    for lang in ("en", "zh"):
        text = methodology.coverage_sentence(d, Words(lang))
        page = render_html(d, lang=lang)
        assert html.escape(text, quote=False).replace("'", "&#39;") in page
    assert "覆盖" in methodology.coverage_sentence(d, Words("zh"))


def test_study_model_matches_file_and_declared_names() -> None:
    s = pd.DataFrame({"model": ["acsi", "ecsi"]})
    assert coverage.study_model("ACSI", s) == "acsi" and coverage.study_model("ECSI-7", s) == "ecsi"
    assert coverage.study_model("acsi", s) == "acsi" and coverage.study_model("SCSB", s) is None

