"""``csi bind``: propose how a model's items map to the columns of a survey file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import csi
from csi.cli._common import EXIT_OK
from csi.cli._data import read_options, read_survey


def register(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``bind`` subcommand."""
    p = sub.add_parser(
        "bind",
        help="propose how a model's items map to a data file's columns",
        description="Match every item of MODEL to a column of DATA (by name, ignoring case and separators, "
        "after a common prefix, or block by block), find the scale (value labels, the model, the answers) "
        "and the missing codes (user-missing values, codes such as 98/99/999 in the answers), and write a "
        "binding file to check, edit and pass to fit, bootstrap or index with --binding.",
        epilog="examples:\n  csi bind ecsi survey.sav --out binding.toml\n"
        "  csi fit ecsi survey.sav --binding binding.toml\n"
        "  csi bind acsi panel.csv --sep ';' --out acsi.toml\n\n"
        "Without --out the binding file is printed.",
        formatter_class=fmt,
    )
    p.add_argument("model", metavar="MODEL", help="shipped model, .toml file or lavaan-style text file")
    p.add_argument("data", metavar="DATA", help="survey data: .csv/.tsv, .xlsx, .parquet, .sav/.zsav/.por or .dta")
    p.add_argument("--out", metavar="FILE", help="write the binding to FILE (default: print it)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    read_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Propose, then print or write the binding."""
    survey = read_survey(args, args.data)
    proposal = csi.propose_binding(args.model, survey)
    out = Path(args.out) if args.out else None
    command = f"csi fit {args.model} {Path(args.data).name} --binding {out.name if out else 'binding.toml'}"
    text = proposal.to_toml(command)
    if out is None:
        print(text, end="")
        return EXIT_OK
    if out.exists() and not args.force:
        raise csi.DataError(f"{str(out)!r} exists (it may hold your edits); pass --force to overwrite it")
    out.write_text(text, encoding="utf-8")
    print(proposal.summary())
    if proposal.scale is None:
        print("No scale found: no 0-100 index will be computed until you set scale = [min, max] under [defaults].")
    print(f"\nWrote {out}; check and edit it, then run: {command}")
    return EXIT_OK
