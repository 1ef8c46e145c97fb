"""The ``csi`` command.

A thin front end (architecture principle 12): every number comes from the
public functions the tests cover (:func:`csi.fit`, :func:`csi.bootstrap`,
:func:`csi.compute_index`, :func:`csi.simulate`, :mod:`csi.demo`, ...); the
subcommand modules only parse arguments, format text and turn input errors
into one line on stderr with exit code 2.

Each subcommand lives in its own module with a ``register(sub, fmt)``
function; :data:`COMMANDS` lists them in the order ``csi --help`` shows.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import csi
from csi.cli._common import EXIT_INPUT, EXIT_OK, PROG, Parser, formatter
from csi.errors import CSIError

#: Subcommand modules under :mod:`csi.cli`, in help order.
COMMANDS = ("bind", "fit", "bootstrap", "index", "mga", "demo", "simulate", "models", "report", "bench")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    fmt = formatter()
    parser = Parser(
        prog=PROG,
        description="Customer satisfaction indices (SCSB, ACSI, ECSI): PLS, PLSc and CB-SEM path models, "
        "batched bootstrap, 0-100 indices, national panels and reports.",
        epilog="examples:\n  csi demo\n  csi fit ecsi survey.csv --bootstrap 5000 --seed 1 --out results/\n"
        "  csi bind ecsi survey.sav --out binding.toml && csi fit ecsi survey.sav --binding binding.toml\n"
        "  csi simulate acsi --companies 20 --n 250 --seed 1 --out panel.csv --unit-weights weights.csv\n"
        "  csi index --model acsi --data panel.csv --company company --wave wave --industry industry \\\n"
        "      --sector sector --unit-weights weights.csv --bootstrap 1000 --seed 1 --out results/\n"
        "  csi report results/ --out report.html --pdf report.pdf --xlsx report.xlsx\n"
        "  csi models\n\nRun 'csi COMMAND --help' for the options of a command.",
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {csi.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"csi.cli.{name}").register(sub, fmt)
    return parser


def _one_line(error: BaseException) -> str:
    # Syntax errors carry the source line and a caret on further lines; keep one line.
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip() and set(ln.strip()) != {"^"}]
    return " | ".join(lines) or type(error).__name__


def _show_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    print(f"{PROG}: warning: {_one_line(Exception(str(message)))}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``csi`` command.

    Parameters
    ----------
    argv
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 for bad input (usage, model, data, options), with one
        line ``csi: error: <reason>`` on stderr.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version and usage errors: argparse has printed already
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_INPUT
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return args.run(args)
        except BrokenPipeError:
            # The reader (e.g. `| head`) has gone: stop quietly, and keep Python's exit-time flush from failing.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        except (CSIError, OSError) as e:
            print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
            return EXIT_INPUT
        except MemoryError as e:  # a last resort: sizes are estimated and refused before allocating where known
            print(
                f"{PROG}: error: not enough memory: {_one_line(e)}; use less data or fewer resamples", file=sys.stderr
            )
            return EXIT_INPUT
