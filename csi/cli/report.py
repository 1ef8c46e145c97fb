"""``csi report``: the HTML, PDF and Excel report of a panel-index or one-survey results folder."""

from __future__ import annotations

import argparse
from typing import Any

from csi.cli._common import EXIT_OK, PROG


def register(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser(
        "report",
        help="write the HTML/PDF/Excel report of a results folder",
        description="Write the report of a panel-index run (the folder 'csi index --out DIR' writes): headline "
        "national index, sector, industry and company tables with intervals and significant changes, trends, "
        "the path diagram, impacts and the importance-performance map, measurement quality and a methodology "
        "appendix; or of one survey (the folder 'csi fit --out DIR' or 'csi bootstrap --out DIR' writes): "
        "indices with intervals, the path diagram, impacts, measurement quality, item descriptives and missing "
        "data. The HTML is one self-contained file; the PDF is that HTML printed by headless Chromium; the "
        "workbook has one sheet per table and a README sheet. English or Simplified Chinese (--lang zh).",
        epilog="examples:\n  csi report results/ --out report.html\n"
        "  csi report results/ --out report.html --pdf report.pdf --xlsx report.xlsx\n"
        '  csi report results/ --xlsx tables.xlsx --title "Retail satisfaction 2024"\n'
        "  csi fit acsi survey.csv --bootstrap 2000 --seed 1 --out fit/ && csi report fit/ --out fit.html\n"
        "  csi report results/ --lang zh --paper a4 --pdf report-zh.pdf",
        formatter_class=fmt,
    )
    p.add_argument("results", metavar="RESULTS_DIR",
                   help="folder written by 'csi index --out DIR', 'csi fit --out DIR' or 'csi bootstrap --out DIR'")
    p.add_argument("--out", metavar="FILE", help="HTML report to write")
    p.add_argument("--pdf", metavar="FILE", help="PDF report to write (needs Chromium)")
    p.add_argument("--xlsx", metavar="FILE", help="Excel workbook to write, one sheet per table")
    p.add_argument("--title", help="report title (default: '<model> index report')")
    p.add_argument("--lang", choices=("en", "zh"), default="en",
                   help="language: en (English) or zh (Simplified Chinese; figures need a CJK font) (default: en)")
    p.add_argument("--paper", choices=("a4", "letter"), default="a4",
                   help="page size of the printed report and the PDF (default: a4)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the folder once and write each requested output."""
    from csi.errors import CSIError
    from csi.report import write_report

    if not (args.out or args.pdf or args.xlsx):
        raise CSIError("nothing to write: give --out FILE.html, --pdf FILE.pdf and/or --xlsx FILE.xlsx")
    # The folder is verified against its manifest and read once, inside write_report.
    written = write_report(args.results, args.out, pdf=args.pdf, xlsx=args.xlsx, title=args.title,
                           lang=args.lang, paper=args.paper)  # fmt: skip
    for kind, path in written.items():
        print(f"{PROG}: wrote {kind.upper()} {path}")
    return EXIT_OK
