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
        '"SAT ~ EXPE": 0.1, "SAT ~ VAL": 0.2}\'\n'
        "  csi simulate acsi --companies 20 --waves 2 --n 250 --seed 1 --out panel.csv --unit-weights weights.csv",
        formatter_class=fmt,
    )
    p.add_argument("model", metavar="MODEL", help="shipped model, .toml file or lavaan-style text file")
    p.add_argument("--n", type=count(1), required=True, help="respondents")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: fresh, printed)")
    p.add_argument("--paths", metavar="JSON", help='population path values, JSON text or file: {"SAT ~ QUAL": 0.3}')
    p.add_argument("--out", metavar="FILE", required=True, help="CSV file to write")
    panel = p.add_argument_group("panel (csi.simulate_panel): companies x waves, for 'csi index'")
    panel.add_argument("--companies", type=count(1), help="simulate a panel of this many companies; --n is then "
                       "the respondents per company and wave")  # fmt: skip
    panel.add_argument("--waves", type=count(1), default=2, help="waves of the panel (default: 2)")
    panel.add_argument("--industries", type=count(1), default=4, help="industries of the panel (default: 4)")
    panel.add_argument("--sectors", type=count(1), default=2, help="sectors of the panel (default: 2)")
    panel.add_argument("--unit-weights", metavar="FILE", help="also write the unit weights (level, unit, wave, weight)")
    panel.add_argument("--population", metavar="FILE", help="also write every unit's true population index")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Simulate and write."""
    if args.companies is not None:
        return _run_panel(args)
    for flag, value in (("--unit-weights", args.unit_weights), ("--population", args.population)):
        if value is not None:
            raise SpecError(f"{flag} needs a panel: add --companies N")
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


def _run_panel(args: argparse.Namespace) -> int:
    if args.paths:
        raise SpecError("--paths applies to single surveys; a panel uses the model's default paths")
    industries = min(args.industries, args.companies)
    sectors = min(args.sectors, industries)
    panel = csi.simulate_panel(args.model, companies=args.companies, respondents=args.n, waves=args.waves,
                               seed=args.seed, industries=industries, sectors=sectors)  # fmt: skip
    panel.data.to_csv(Path(args.out), index=False)
    written = [args.out]
    if args.unit_weights:
        panel.unit_weights.to_csv(Path(args.unit_weights), index=False)
        written.append(args.unit_weights)
    if args.population:
        panel.population.to_csv(Path(args.population), index=False)
        written.append(args.population)
    print(f"Wrote a panel of {args.companies} companies x {args.waves} waves x {args.n} respondents of "
          f"{panel.spec.name} (seed {panel.seed}) to {', '.join(written)}")  # fmt: skip
    return EXIT_OK
