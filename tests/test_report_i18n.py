"""Client-ready formatting: numbers, words in English and Chinese, direction colours, paper, significance display.

The display rules are checked as properties (hypothesis) where they are rules about numbers, and on rendered
panel reports where they are about what a reader sees: a flag, its arrow, the p-value and the interval printed
beside it never disagree, and a construct whose lower values are better is green when it falls.
"""

from __future__ import annotations

import re
import shutil
import string
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import report_fixture
from hypothesis import given
from hypothesis import strategies as st
from report_fixture import reseal

from csi.cli import main
from csi.errors import CSIError
from csi.report import fonts, load_results, render_html, tables
from csi.report.html import change_mark
from csi.report.i18n import MINUS, STRINGS, Words, fmt_ci, fmt_num, fmt_p, fmt_signed, wave_label
from csi.spec.toml_io import read_toml, to_toml

ACSI = Path(__file__).resolve().parents[1] / "models" / "acsi.toml"


@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report_fixture.panel_dir(tmp_path_factory)


def _with_model(src: Path, dst: Path, edit=None) -> Path:
    """A copy of a panel folder whose manifest carries this checkout's ACSI model (edited), resealed."""
    import json

    shutil.copytree(src, dst)
    spec = read_toml(ACSI)
    if edit is not None:
        spec = edit(spec)
    from csi.results.files import seal, without_files

    m = without_files(json.loads((dst / "manifest.json").read_text(encoding="utf-8")))
    m["model_text"] = to_toml(spec)
    seal(dst, m)
    return dst


# ------------------------------------------------------------------ numbers


@given(st.floats(-1e4, 1e4, allow_nan=False), st.integers(0, 3))
def test_one_minus_sign_and_no_negative_zero(x, digits):
    text = fmt_num(x, digits)
    assert "-" not in text and not re.fullmatch(f"{MINUS}0\\.?0*", text)
    assert float(text.replace(MINUS, "-")) == pytest.approx(round(x, digits), abs=10 ** -digits)
    signed = fmt_signed(x, digits)
    assert signed.lstrip("+") == text and (signed.startswith("+") == (float(text.replace(MINUS, "-")) > 0))


@given(st.floats(-50, 50, allow_nan=False), st.floats(0, 50, allow_nan=False))
def test_printed_interval_keeps_the_side_of_zero(lo, width):
    hi = lo + width
    a, b = fmt_ci(lo, hi)[1:-1].split(", ")
    for shown, value in ((a, lo), (b, hi)):
        v = float(shown.replace(MINUS, "-").replace("e-", "e-"))
        assert (v > 0) == (value > 0) and (v < 0) == (value < 0)


@given(st.floats(0, 1, allow_nan=False), st.sampled_from([0.01, 0.05, 0.1, 1 - 0.95]))
def test_printed_p_never_crosses_alpha(p, alpha):
    text = fmt_p(p, alpha)
    shown = 0.0 if text == "< 0.001" else float(text)
    assert (shown < alpha) == (p < alpha) or text == "< 0.001"


def test_issue_numbers():
    assert fmt_ci(-3.7, -0.04) == f"[{MINUS}3.7, {MINUS}0.04]" and fmt_ci(-0.04, 5.6) == f"[{MINUS}0.04, 5.6]"
    assert fmt_p(0.0503, 0.05) == "0.0503" and fmt_p(0.0499, 0.05) == "0.0499" and fmt_p(0.2) == "0.200"
    words = Words("en")
    assert wave_label("2", words) == "Wave 2" and wave_label("Q1-2024", words) == "Q1-2024"
    assert wave_label("2024", words) == "2024" and wave_label("2", Words("zh")) == "第2期"


def test_every_string_has_both_languages_with_the_same_fields():
    fields = lambda s: sorted(f for _, f, _, _ in string.Formatter().parse(s) if f)  # noqa: E731
    for key, (en, zh) in STRINGS.items():
        assert en and zh, key
        assert fields(en) == fields(zh), key


def test_unknown_language_and_paper_are_refused(panel_dir, capsys):
    with pytest.raises(CSIError, match="unknown report language 'fr'; accepted: en, zh"):
        render_html(panel_dir, lang="fr")
    with pytest.raises(CSIError, match="unknown paper size 'a5'; accepted: a4, letter"):
        render_html(panel_dir, paper="a5")
    assert main(["report", str(panel_dir), "--out", "x.html", "--lang", "fr"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("csi: error: ") and "invalid choice: 'fr'" in err and err.count("\n") == 1


# ------------------------------------------------------------------ direction


@pytest.mark.parametrize(("change", "sig", "better", "want"), [
    (2.0, True, "higher", ("▲", "good")), (-2.0, True, "higher", ("▼", "bad")),
    (2.0, True, "lower", ("▲", "bad")), (-2.0, True, "lower", ("▼", "good")),
    (2.0, False, "lower", ("", "")), (float("nan"), True, "higher", ("", "")),
])  # fmt: skip
def test_arrow_by_sign_colour_by_direction(change, sig, better, want):
    m = change_mark(change, sig, better)
    assert (m["arrow"], m["cls"]) == want


def _rows(page: str, table: str) -> list[str]:
    body = re.findall(rf'<table[^>]*id="{table}"[^>]*>(.*?)</table>', page, re.S)[0]
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)[1:]


def test_a_fall_of_a_lower_is_better_construct_is_good_news(panel_dir, tmp_path):
    data = load_results(panel_dir)
    nat = tables.national_table(data)
    sig = nat[nat["significant"]]
    assert len(sig), "the fixture has significant national changes"
    flip = str(sig["construct"].iloc[0])

    def lower(spec):
        from dataclasses import replace

        return replace(spec, constructs=tuple(replace(c, better="lower") if c.name == flip else c
                                              for c in spec.constructs))  # fmt: skip

    page = render_html(_with_model(panel_dir, tmp_path / "p", lower))
    rows = {re.search(r'<td class="t">([^<]*)</td>', r).group(1): r for r in _rows(page, "table-national")}
    for r in nat.itertuples():
        if not r.significant:
            continue
        good = (r.change > 0) == (r.construct != flip)
        assert f'<td class="{"good" if good else "bad"}">' in rows[r.construct], r.construct
    assert "lower is better" in page


# ------------------------------------------------------------------ significance as printed


def test_flag_arrow_p_and_interval_agree_on_the_page(panel_dir, tmp_path):
    # Put boundary cases into the company changes: p just below / above 0.05 with intervals that agree.
    shutil.copytree(panel_dir, tmp_path / "p")
    f = tmp_path / "p" / "changes.csv"
    ch = pd.read_csv(f, dtype=str, keep_default_na=False)
    rows = ch.index[(ch["level"] == "company") & (ch["construct"] == "SAT") & (ch["change"] != "")]
    cases = [("0.0499", "0.02", "4.1", "True"), ("0.0503", "-0.01", "4.0", "False"), ("0.04996", "0.001", "3.9", "True"),
             ("0.0501", "-8.0", "0.03", "False")]  # fmt: skip
    for i, (p, lo, hi, s) in zip(rows, cases):
        ch.loc[i, ["p_value", "ci_lower", "ci_upper", "significant"]] = [p, lo, hi, s]
    ch.to_csv(f, index=False)
    page = render_html(reseal(tmp_path / "p"))
    checked = 0
    for row in _rows(page, "table-company"):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if len(cells) < 8:
            continue  # a suppressed unit
        interval, p_text = cells[-2], cells[-1]
        if p_text == "–":
            continue
        lo, hi = (float(x.replace(MINUS, "-")) for x in interval.strip("[]").split(", "))
        p = 0.0 if p_text == "&lt; 0.001" else float(p_text)
        arrow = "▲" in row or "▼" in row
        assert arrow == (p < 0.05) == (lo > 0 or hi < 0), row
        checked += 1
    assert checked >= 4


# ------------------------------------------------------------------ language and paper


def test_chinese_panel_report(panel_dir, tmp_path):
    page = render_html(_with_model(panel_dir, tmp_path / "p"), lang="zh")
    assert '<html lang="zh-Hans">' in page
    for text in ("核心指标", "全国", "顾客满意度", "方法说明", "运行设置与来源", "样本量", "调查期"):  # the fixture's waves are years, shown as they are
        assert text in page
    body = re.sub(r"<svg.*?</svg>|<pre.*?</pre>|<style>.*?</style>", "", page, flags=re.S)
    for english in ("Headline", "Methodology", "Measurement quality", "Impacts and priorities", "Every construct",
                    "Sample sizes", "Run settings", "significant at"):  # fmt: skip
        assert english not in body, english


def test_waves_are_labelled_and_the_title_is_short(panel_dir):
    data = load_results(panel_dir)
    page = render_html(panel_dir)
    title = re.search(r'<h1 id="title">(.*?)</h1>', page).group(1)
    assert title == f"{data.model_name} index report" and title.count(data.model_name) == 1
    assert render_html(panel_dir, title="Retail 2024").count("Retail 2024") == 2  # <title> and <h1>
    for w in data.waves:
        assert wave_label(w, Words("en")) in page


@pytest.mark.parametrize(("paper", "css"), [("a4", "size: A4"), ("letter", "size: letter")])
def test_paper_size(panel_dir, paper, css):
    assert css in render_html(panel_dir, paper=paper)


def test_missing_cjk_font_warns_once_clearly(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_family", lambda: None)
    with pytest.warns(fonts.FontWarning, match="fonts-noto-cjk"):
        assert fonts.font_families("zh") == fonts.BASE_FAMILIES
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fonts.font_families("en") == fonts.BASE_FAMILIES


def test_n_at_every_level(panel_dir):
    t = tables.sample_table(load_results(panel_dir))
    assert t["respondents"].notna().all() and (t["respondents"] > 0).all()
    company = t[t["level"] == "company"].set_index("wave")["respondents"]
    national = t[t["level"] == "national"].set_index("wave")["respondents"]
    assert (national >= company - 1e-9).all() or np.allclose(national, company)
