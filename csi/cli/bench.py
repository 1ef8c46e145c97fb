"""``csi bench``: the estimator Monte-Carlo study and a quick speed table.

Both are thin front ends of :mod:`csi.bench.montecarlo` and
:mod:`csi.bench.speed`; ``benchmarks/bench_estimators.py`` calls this command.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import pandas as pd

from csi.bench import missing_study, montecarlo, speed
from csi.cli._common import EXIT_OK, Parser, count, table


def _names(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return names


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(t) for t in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if any(n < 10 for n in sizes):
        raise argparse.ArgumentTypeError(f"sample sizes must be >= 10, got {text}")
    return sizes


_names.__name__ = "list"
_sizes.__name__ = "list of integers"


def register(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``bench`` subcommand with its ``estimators`` and ``speed`` actions."""
    p = sub.add_parser(
        "bench",
        help="benchmarks: estimator Monte-Carlo study, speed table",
        description="Benchmarks of csi itself: a Monte-Carlo comparison of estimators, or a quick speed table.",
        epilog="examples:\n  csi bench estimators --quick --out bench-smoke/\n"
        "  csi bench estimators --reps 500 --n 100,250,1000 --jobs 2 --out bench-estimators/\n"
        "  csi bench speed --quick",
        formatter_class=fmt,
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    e = actions.add_parser(
        "estimators",
        help="Monte-Carlo study: bias, RMSE, coverage and time of every estimator",
        description="Monte-Carlo study over ECSI/ACSI common-factor and composite populations (csi.bench.montecarlo): "
        "bias, RMSE, 95 % percentile-bootstrap coverage and fit time of path coefficients and 0-100 indices. "
        "Writes raw.csv, summary.csv, headline.csv, study.json and summary.png/.svg to --out and prints the "
        "headline table (paths into SAT and the SAT index). Methods missing from this installation are skipped "
        "with a warning.",
        epilog="examples:\n  csi bench estimators --quick --out bench-smoke/\n"
        "  csi bench estimators --reps 200 --n 250 --methods pls,plsc,sumscore --seed 7 --out mc/",
        formatter_class=fmt,
    )
    e.add_argument("--quick", action="store_true",
                   help="smoke size: n=100, 3 replications, 49 resamples (explicit options still win)")  # fmt: skip
    e.add_argument("--reps", type=count(1), help="replications per cell (default 500)")
    e.add_argument("--n", type=_sizes, metavar="N[,N...]", help="sample sizes (default 100,250,1000)")
    e.add_argument("--models", type=_names, default=list(montecarlo.MODELS), metavar="M[,M...]",
                   help="models (default ecsi,acsi)")  # fmt: skip
    e.add_argument("--populations", type=_names, default=list(montecarlo.POPULATIONS), metavar="P[,P...]",
                   help="population types (default common_factor,composite)")  # fmt: skip
    e.add_argument("--methods", type=_names, default=list(montecarlo.METHODS), metavar="M[,M...]",
                   help=f"estimators (default {','.join(montecarlo.METHODS)})")  # fmt: skip
    e.add_argument("--bootstrap", type=count(0), metavar="B",
                   help="bootstrap resamples per replication for the intervals (default 200; 0: none)")  # fmt: skip
    e.add_argument("--seed", type=int, default=20240601, help="master seed (default 20240601)")
    e.add_argument("--jobs", type=count(1), default=1, help="worker processes (default 1; results do not depend on it)")
    e.add_argument("--out", metavar="DIR", required=True, help="folder for the CSV files and the plot")
    e.add_argument("--no-plot", action="store_true", help="skip the figure (no matplotlib needed)")
    e.set_defaults(run=run_estimators)
    s = actions.add_parser(
        "speed",
        help="median time of one fit per method and of a PLS bootstrap",
        description="Median wall time of one fit of every registered method and of csi.bootstrap on demo data.",
        epilog="examples:\n  csi bench speed --quick\n  csi bench speed --n 1000 --bootstrap 5000",
        formatter_class=fmt,
    )
    s.add_argument("--quick", action="store_true", help="3 repeats and 100 resamples (explicit options still win)")
    s.add_argument("--model", default="ecsi", help="model (default ecsi)")
    s.add_argument("--n", type=count(10), default=250, help="respondents (default 250)")
    s.add_argument("--repeat", type=count(1), help="timed repeats per fit (default 20)")
    s.add_argument("--bootstrap", type=count(0), metavar="B", help="resamples of the timed bootstrap (default 1000)")
    s.set_defaults(run=run_speed)

    m = actions.add_parser(
        "missing",
        help="Monte-Carlo study of the missing-data methods",
        description="ECSI/ACSI common-factor populations, MCAR and MAR deletions at 5 % and 20 % of the item cells "
        "(csi.bench.missing_study): bias, RMSE and 95 % percentile-bootstrap coverage of the paths into SAT and the "
        "SAT index for listwise, mean, pairwise, em and mi (mi: no interval yet). Writes raw.csv, summary.csv and "
        "table.csv to --out and prints the table.",
        epilog="examples:\n  csi bench missing --quick --out bench-missing-smoke/\n"
        "  csi bench missing --reps 200 --bootstrap 100 --jobs 2 --out bench-missing/",
        formatter_class=fmt,
    )
    m.add_argument("--quick", action="store_true", help="2 replications, 20 resamples, 5 imputations, ECSI only")
    m.add_argument("--reps", type=count(1), help="replications per model and scenario (default 200)")
    m.add_argument("--n", type=count(10), default=250, help="respondents (default 250)")
    m.add_argument("--models", type=_names, metavar="M[,M...]", help="models (default ecsi,acsi)")
    m.add_argument("--scenarios", type=_names, metavar="S[,S...]",
                   help="e.g. 'MCAR 5%%,MAR 20%%' (default: MCAR and MAR at 5 %% and 20 %%)")  # fmt: skip
    m.add_argument("--methods", type=_names, default=list(missing_study.METHODS), metavar="M[,M...]",
                   help="missing-data methods (default all)")  # fmt: skip
    m.add_argument("--bootstrap", type=count(0), metavar="B", help="resamples per fit for the intervals (default 100)")
    m.add_argument("--imputations", type=count(2), metavar="M", help="imputations of mi (default 20)")
    m.add_argument("--seed", type=int, default=20240601, help="master seed (default 20240601)")
    m.add_argument("--jobs", type=count(1), default=1, help="worker processes (default 1; results do not depend on it)")
    m.add_argument("--out", metavar="DIR", required=True, help="folder for the CSV files")
    m.set_defaults(run=run_missing)


def run_estimators(args: argparse.Namespace) -> int:
    """Run the study, write the files, print the headline table."""
    size = dict(ns=montecarlo.NS, reps=500, bootstrap=200)
    if args.quick:
        size.update(montecarlo.QUICK)
    for key, value in (("ns", args.n), ("reps", args.reps), ("bootstrap", args.bootstrap)):
        if value is not None:
            size[key] = tuple(value) if key == "ns" else value
    t0 = time.perf_counter()
    raw = montecarlo.run_study(models=args.models, populations=args.populations, methods=args.methods,
                               seed=args.seed, n_jobs=args.jobs, **size)  # fmt: skip
    seconds = time.perf_counter() - t0
    files = montecarlo.write_results(raw, args.out, plot=not args.no_plot)
    head = pd.read_csv(f"{args.out}/headline.csv")
    n_head = 250 if 250 in size["ns"] else size["ns"][0]
    print(f"Monte-Carlo study: {raw.attrs['reps']} replications per cell, n in {list(size['ns'])}, "
          f"{size['bootstrap']} bootstrap resamples, seed {args.seed}, {seconds:.1f} seconds")  # fmt: skip
    print(f"Paths into SAT (mean |bias|, mean RMSE, mean coverage) and the SAT index at n = {n_head}:")
    print(table(head.set_index(["model", "population", "method"])))
    print(f"Wrote {', '.join(files)} to {args.out}")
    return EXIT_OK


def run_missing(args: argparse.Namespace) -> int:
    """Run the missing-data study, write the files, print the table."""
    from pathlib import Path

    quick = args.quick
    size = dict(
        reps=args.reps or (2 if quick else 200),
        bootstrap=args.bootstrap if args.bootstrap is not None else (20 if quick else 100),
        imputations=args.imputations or (5 if quick else 20),
        models=args.models or (["ecsi"] if quick else list(missing_study.MODELS)),
        scenarios=args.scenarios or list(missing_study.SCENARIOS),
    )
    t0 = time.perf_counter()
    raw = missing_study.run_study(n=args.n, methods=args.methods, seed=args.seed, n_jobs=args.jobs, **size)
    seconds = time.perf_counter() - t0
    summary = montecarlo.summarise(raw)
    result = missing_study.table(summary)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (("raw", raw), ("summary", summary), ("table", result)):
        frame.to_csv(folder / f"{name}.csv", index=False)
    print(f"Missing-data study: n = {args.n}, {size['reps']} replications per model and scenario, "
          f"{size['bootstrap']} bootstrap resamples, {size['imputations']} imputations, seed {args.seed}, "
          f"{seconds:.1f} seconds")  # fmt: skip
    print("Paths into SAT (mean |bias|, mean RMSE, mean coverage) and the SAT index:")
    print(table(result.set_index(["model", "scenario", "method"])))
    print(f"Wrote raw.csv, summary.csv, table.csv to {args.out}")
    return EXIT_OK


def run_speed(args: argparse.Namespace) -> int:
    """Time and print."""
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 20)
    boot = args.bootstrap if args.bootstrap is not None else (100 if args.quick else 1000)
    frame = speed.speed_table(model=args.model, n=args.n, repeat=repeat, bootstrap=boot)
    print(f"Median seconds ({repeat} repeats per fit), {args.model}, n = {args.n}:")
    print(frame.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    return EXIT_OK
