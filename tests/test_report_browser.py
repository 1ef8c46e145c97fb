"""The HTML report in a real browser (headless Chromium through chromedriver), and the PDF it prints.

Skipped only when Chromium or chromedriver is missing AND the environment variable
CSI_REQUIRE_BROWSER is unset; CI sets it (.ci/run), so a missing browser fails CI instead.
"""

from __future__ import annotations

import io
import os
import shutil
import unicodedata
from pathlib import Path

import pytest
import report_fixture
from report_fixture import HOSTILE_COMPANY, HOSTILE_LABEL

from csi.report import load_results, tables, write_html, write_pdf
from csi.report.pdf import BROWSERS, CHROMIUM_FLAGS


def _browser_or_skip() -> tuple[str, str]:
    browser = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    missing = " and ".join(n for n, p in (("chromium", browser), ("chromedriver", driver)) if not p)
    if os.environ.get("CSI_REQUIRE_BROWSER"):
        pytest.fail(f"CSI_REQUIRE_BROWSER is set but {missing} is not installed (Debian: chromium chromium-driver)")
    pytest.skip(f"{missing} not installed (Debian: apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory):
    browser, chromedriver = _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1200,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield d
    d.quit()


@pytest.fixture(scope="module")
def panel_html(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = report_fixture.panel_dir(tmp_path_factory)
    return folder, write_html(folder, tmp_path_factory.mktemp("html") / "report.html")


@pytest.fixture(scope="module")
def hostile_html(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = report_fixture.hostile_dir(tmp_path_factory)
    return folder, write_html(folder, tmp_path_factory.mktemp("html") / "hostile.html")


def _open(driver, path: Path) -> list[dict]:
    driver.get_log("browser")  # drop entries from earlier pages
    driver.get(path.resolve().as_uri())
    return driver.get_log("browser")


def test_report_loads_cleanly_with_its_numbers(driver, panel_html: tuple[Path, Path]) -> None:
    from selenium.webdriver.common.by import By

    folder, html = panel_html
    logs = _open(driver, html)
    assert driver.execute_script("return document.readyState") == "complete"
    assert [e for e in logs if e["level"] in ("SEVERE", "WARNING")] == []
    data = load_results(folder)
    h = tables.headline(data)
    assert driver.find_element(By.ID, "national-index").text == f"{h['index']:.1f}"
    assert driver.find_element(By.ID, "national-ci").text == f"[{h['ci_lower']:.1f}, {h['ci_upper']:.1f}]"
    # Every reported company's index is on the page, in its own row.
    rows = {
        r.find_elements(By.TAG_NAME, "td")[0].text: r.text
        for r in driver.find_elements(By.CSS_SELECTOR, "#table-company tbody tr")
    }
    for r in tables.level_table(data, "company").itertuples():
        assert (f"{r.index:.1f}" if r.status == "ok" else "suppressed") in rows[r.unit]
    # Figures are laid out with a real size (matplotlib SVG inline, nothing to fetch).
    svgs = driver.find_elements(By.CSS_SELECTOR, "figure svg")
    assert len(svgs) >= 8 and all(s.size["width"] > 100 and s.size["height"] > 50 for s in svgs)
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources == []


def test_screenshot_is_not_blank(driver, panel_html: tuple[Path, Path]) -> None:
    from PIL import Image

    _open(driver, panel_html[1])
    image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000)
    assert len(colours) > 50  # text, headline panel, chart
    white = max(count for count, rgb in colours if rgb == (255, 255, 255))
    assert white < 0.97 * image.width * image.height


def test_hostile_names_show_as_text_and_run_nothing(driver, hostile_html: tuple[Path, Path]) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    logs = _open(driver, hostile_html[1])
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    assert driver.find_elements(By.TAG_NAME, "script") == []
    assert [e for e in logs if e["level"] == "SEVERE"] == []
    cells = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#table-company td")]
    assert HOSTILE_COMPANY in cells
    labels = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#table-national td")]
    assert HOSTILE_LABEL in labels
    assert driver.find_elements(By.CSS_SELECTOR, "#table-national b") == []
    # The chart text (SVG) shows the name as text too.
    svg_text = " ".join(t.get_attribute("textContent") for t in driver.find_elements(By.CSS_SELECTOR, "svg text"))
    assert HOSTILE_COMPANY in svg_text


def test_pdf_has_pages_and_text(tmp_path: Path, panel_html: tuple[Path, Path]) -> None:
    _browser_or_skip()
    from pypdf import PdfReader

    folder = panel_html[0]
    pdf = write_pdf(folder, tmp_path / "report.pdf")
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 3
    text = " ".join(page.extract_text() for page in reader.pages)
    h = tables.headline(load_results(folder))
    for needle in (f"{h['index']:.1f}", "Methodology", "Measurement quality", "FreshMart", "Impacts and priorities"):
        assert needle in text


# ------------------------------------------------------------------ English and Chinese, as a client sees them

ACSI = Path(__file__).resolve().parents[1] / "models" / "acsi.toml"


@pytest.fixture(scope="module")
def zh_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The panel fixture with this checkout's ACSI model file (Chinese labels) in its manifest."""
    import json

    from csi.results.files import seal, without_files
    from csi.spec.toml_io import read_toml, to_toml

    folder = tmp_path_factory.mktemp("zh") / "panel"
    shutil.copytree(report_fixture.panel_dir(tmp_path_factory), folder)
    m = without_files(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
    m["model_text"] = to_toml(read_toml(ACSI))
    seal(folder, m)
    return folder


def _ink(png: bytes) -> tuple[int, int]:
    """(pixels not near-white, all pixels) of a screenshot."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return int((pixels < 200).sum()), int(pixels.size)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_screenshots_have_drawn_figures_and_no_tofu(driver, zh_folder: Path, tmp_path: Path, lang: str) -> None:
    from selenium.webdriver.common.by import By

    from csi.report.fonts import cjk_family

    if lang == "zh" and cjk_family() is None and not os.environ.get("CSI_REQUIRE_BROWSER"):
        pytest.skip("no CJK font installed (Debian: apt-get install fonts-noto-cjk)")
    html = write_html(zh_folder, tmp_path / f"report-{lang}.html", lang=lang)
    logs = _open(driver, html)
    assert [e for e in logs if e["level"] == "SEVERE"] == []
    figures = driver.find_elements(By.CSS_SELECTOR, "figure svg")
    assert len(figures) >= 8
    for fig in figures:  # every figure is drawn: lines, points and text, not an empty frame
        driver.execute_script("arguments[0].scrollIntoView()", fig)
        ink, area = _ink(fig.screenshot_as_png)
        assert ink > 0.01 * area, fig.get_attribute("id")
    if lang == "zh":
        # The Chinese headline in the page's own font stack against five code points no font has: glyphs of a
        # CJK font differ from the missing-glyph boxes ("tofu"); without a CJK font both would be boxes.
        heading = driver.find_element(By.CSS_SELECTOR, "#headline h2").text
        assert "顾客满意度" in heading
        shots = []
        for text in ("顾客满意度", "\U0010fffd" * 5):
            el = driver.execute_script(
                "const s = document.createElement('span'); s.style.fontSize = '40px'; s.textContent = arguments[0];"
                "document.body.prepend(s); return s;",
                text,
            )
            shots.append(_ink(el.screenshot_as_png)[0])
        assert shots[0] > 1.3 * shots[1], shots
        svg_text = " ".join(t.get_attribute("textContent") for t in driver.find_elements(By.CSS_SELECTOR, "svg text"))
        assert "第" not in svg_text or "期" in svg_text  # wave labels of the figures are Chinese words too
        assert "路径系数" in svg_text


def test_chinese_pdf_has_the_chinese_headline(tmp_path: Path, zh_folder: Path) -> None:
    _browser_or_skip()
    from pypdf import PdfReader

    pdf = write_pdf(zh_folder, tmp_path / "report-zh.pdf", lang="zh", paper="a4")
    reader = PdfReader(pdf)
    # NFKC: the PDF's text map gives some ideographs as their Kangxi-radical twins (⽅ for 方), same glyph.
    text = unicodedata.normalize("NFKC", " ".join(page.extract_text() for page in reader.pages))
    h = tables.headline(load_results(zh_folder), "zh")
    for needle in (h["label"], "指数报告", "方法说明", f"{h['index']:.1f}"):
        assert needle in text, needle
    box = reader.pages[0].mediabox  # A4: 595 x 842 pt
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_letter_pdf_is_letter_sized(tmp_path: Path, zh_folder: Path) -> None:
    _browser_or_skip()
    from pypdf import PdfReader

    box = PdfReader(write_pdf(zh_folder, tmp_path / "r.pdf", paper="letter")).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
