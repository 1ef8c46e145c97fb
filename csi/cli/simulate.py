"""``csi simulate``: write survey data drawn from a model's population as CSV."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import csi
from csi.cli._common import EXIT_OK, count, json_arg
from csi.errors import SpecError


def register(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``simulate`` subcommand."""
    p = sub.add_parser(
        "simulate",
        help="simulate survey data from a model",
        description="Draw survey data from a common-factor population of MODEL (csi.simulate) and write it as CSV.",
        epilog="examples:\n  csi simulate scsb --n 500 --seed 1 --out scsb.csv\n"
        '  csi simulate ecsi --n 500 --seed 1 --out ecsi.csv --paths \'{"SAT ~ QUAL": 0.3, "SAT ~ IMAG": 0.2, '
        '"SAT ~ EXPE": 0.1, "SAT ~ VAL": 0.2}\'',
        formatter_class=fmt,
    )
    p.add_argument("model", metavar="MODEL", help="shipped model, .toml file or lavaan-style text file")
    p.add_argument("--n", type=count(1), required=True, help="respondents")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: fresh, printed)")
    p.add_argument("--paths", metavar="JSON", help='population path values, JSON text or file: {"SAT ~ QUAL": 0.3}')
    p.add_argument("--out", metavar="FILE", required=True, help="CSV file to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Simulate and write."""
    paths = json_arg(args.paths, "--paths") if args.paths else None
    try:
        sim = csi.simulate(csi.load_model(args.model), args.n, seed=args.seed, paths=paths)
    except SpecError as e:
        if "path values" not in str(e):
            raise
        raise SpecError(f"{e}: pass them with --paths (see 'csi simulate --help')") from e
    out = Path(args.out)
    sim.data.to_csv(out, index=False)
    print(f"Wrote {sim.n} respondents x {sim.data.shape[1]} items of {sim.spec.name} (seed {sim.seed}) to {out}")
    return EXIT_OK
