"""The HTML report in a real browser (headless Chromium through chromedriver), and the PDF it prints.

Skipped only when Chromium or chromedriver is missing AND the environment variable
CSI_REQUIRE_BROWSER is unset; CI sets it (.ci/run), so a missing browser fails CI instead.
"""

from __future__ import annotations

import io
import os
import shutil
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
