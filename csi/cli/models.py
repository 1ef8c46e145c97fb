"""``csi models``: list the shipped models."""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

import csi
from csi.cli._common import EXIT_OK


def register(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``models`` subcommand."""
    p = sub.add_parser("models", help="list the shipped models", description="List the shipped models.",
                       epilog="example:\n  csi models", formatter_class=fmt)  # fmt: skip
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the shipped models with their sizes."""
    rows = []
    for key in csi.list_models():
        spec = csi.load_model(key)
        rows.append((key, spec.name, len(spec.constructs), len(spec.item_names), len(spec.paths), spec.label))
    frame = pd.DataFrame(rows, columns=["MODEL", "name", "constructs", "items", "paths", "description"])
    print(frame.to_string(index=False))
    return EXIT_OK
