"""Options shared by the commands that read a survey file and bind a model to it."""

from __future__ import annotations

import argparse
from typing import Any

import csi
from csi.cli._common import json_arg


def number_list(text: str) -> list[float]:
    """Argument type: comma-separated numbers such as ``98,99``."""
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 98,99, got {text!r}") from None


number_list.__name__ = "number list"


def name_list(text: str) -> list[str]:
    """Argument type: comma-separated names such as ``CUEX3,PERQ2``."""
    return [t.strip() for t in text.split(",") if t.strip()]


def read_options(p: argparse.ArgumentParser) -> None:
    """``--sep``, ``--encoding`` and ``--sheet``: how to read the data file."""
    g = p.add_argument_group("reading the data file")
    g.add_argument("--sep", metavar="CHAR", help="delimiter of a CSV/TSV file, e.g. ';' or tab (default: detected)")
    g.add_argument("--encoding", metavar="NAME", help="text encoding of a CSV/TSV file, e.g. cp1252 "
                   "(default: detected: UTF-8 with or without BOM, else cp1252)")  # fmt: skip
    g.add_argument("--sheet", metavar="SHEET", help="Excel sheet: name or number from 1 (default: the first)")


def binding_options(p: argparse.ArgumentParser) -> None:
    """``--binding``, ``--items``, ``--scale``, ``--missing-codes``, ``--reverse``: how the model meets the file."""
    g = p.add_argument_group("binding the model to the file (see csi bind)")
    g.add_argument("--binding", metavar="FILE", help="binding TOML file written by 'csi bind' and edited")
    g.add_argument("--items", metavar="JSON", help="bind the model to the data's columns: JSON text or a JSON file, "
                   "construct -> [columns] or item -> column")  # fmt: skip
    g.add_argument("--scale", nargs=2, type=float, metavar=("MIN", "MAX"),
                   help="scale end points of every item, e.g. --scale 0 10")  # fmt: skip
    g.add_argument("--missing-codes", type=number_list, metavar="CODES",
                   help="codes that mean no answer for every item, e.g. 98,99")  # fmt: skip
    g.add_argument("--reverse", type=name_list, metavar="ITEMS", help="reverse-worded items, e.g. CUEX3,PERQ2")


def read_survey(args: argparse.Namespace, path: str) -> csi.Survey:
    """The data file named on the command line, read with ``--sep/--encoding/--sheet``."""
    return csi.read_survey(path, sep=args.sep, encoding=args.encoding, sheet=args.sheet)


def bound_model(args: argparse.Namespace, model: str, survey: csi.Survey) -> csi.ModelSpec:
    """The model bound to the file with the binding options (:func:`csi.bind_model`)."""
    items: Any = json_arg(args.items, "--items") if args.items else None
    return csi.bind_model(model, survey, binding=args.binding, items=items, scale=args.scale,
                          missing_codes=args.missing_codes, reverse=args.reverse)  # fmt: skip
