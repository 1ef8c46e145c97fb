"""PDF from the HTML report, printed by headless Chromium.

The PDF is the HTML report as a browser prints it (the template's print CSS
applies), so both show the same content.  Chromium is found on ``PATH`` under
its usual names, or given by the ``CSI_CHROMIUM`` environment variable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from csi.errors import CSIError
from csi.report.html import render_html
from csi.results.files import staged_file

#: Executable names tried in order.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

#: Flags for a quiet, offline, throw-away browser profile.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
)


def find_chromium() -> str:
    """The Chromium executable, or a :class:`~csi.errors.CSIError` saying what to install."""
    given = os.environ.get("CSI_CHROMIUM")
    if given:
        found = shutil.which(given)
        if found is None:
            raise CSIError(f"CSI_CHROMIUM={given!r} is not an executable")
        return found
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise CSIError(
        "PDF output needs Chromium or Google Chrome, and none was found on PATH "
        f"(tried {', '.join(BROWSERS)}); install it (Debian/Ubuntu: apt-get install chromium) "
        "or set CSI_CHROMIUM to its path"
    )


def html_to_pdf(html_path: str | os.PathLike[str], pdf_path: str | os.PathLike[str], timeout: float = 120) -> Path:
    """Print an HTML file to PDF with headless Chromium; returns the PDF path."""
    browser = find_chromium()
    pdf_path = Path(pdf_path).resolve()
    with tempfile.TemporaryDirectory(prefix="csi-chromium-") as profile:
        cmd = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf_path}",
            Path(html_path).resolve().as_uri(),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise CSIError(f"Chromium did not print the PDF within {timeout:g} s") from e
    if done.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise CSIError(f"Chromium could not print {pdf_path.name} (exit {done.returncode}): {tail}")
    return pdf_path


def write_pdf(
    result: Any, path: str | os.PathLike[str], *, title: str | None = None, lang: str = "en", paper: str = "a4"
) -> Path:
    """Write the report as PDF (the HTML report printed by headless Chromium on ``paper``); returns the path."""
    find_chromium()  # fail before the work if there is no browser
    with tempfile.TemporaryDirectory(prefix="csi-report-") as tmp:
        html = Path(tmp) / "report.html"
        html.write_text(render_html(result, title=title, lang=lang, paper=paper), encoding="utf-8")
        with staged_file(path) as staged:
            html_to_pdf(html, staged)
        return Path(path)
