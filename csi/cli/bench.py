"""``csi bench``: the estimator Monte-Carlo study, the index coverage study and a quick speed table.

All are thin front ends of :mod:`csi.bench.montecarlo`, :mod:`csi.bench.coverage`
and :mod:`csi.bench.speed`; ``benchmarks/bench_estimators.py`` calls this command.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import pandas as pd

from csi.bench import coverage, missing_study, montecarlo, speed
from csi.cli._common import EXIT_OK, Parser, count, jobs_of, scheduler_option, table
from csi.errors import CSIError
from csi.results.files import check_target, write_folder


def _names(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return names


def _shifts(text: str) -> list[float]:
    try:
        return [float(t) for t in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _counts(text: str) -> list[int]:
    try:
        return [int(t) for t in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


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
_counts.__name__ = "list of integers"
_shifts.__name__ = "list of numbers"


JOBS_HELP = "worker processes (default 1; with --scheduler dask every core; results do not depend on it)"


def register(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``bench`` subcommand with its ``estimators`` and ``speed`` actions."""
    p = sub.add_parser(
        "bench",
        help="benchmarks: estimator Monte-Carlo study, index coverage study, speed table",
        description="Benchmarks of csi itself: a Monte-Carlo comparison of estimators, the coverage study of "
        "panel index intervals and change tests, or a quick speed table.",
        epilog="examples:\n  csi bench estimators --quick --out bench-smoke/\n"
        "  csi bench estimators --reps 500 --n 100,250,1000 --jobs 2 --out bench-estimators/\n"
        "  csi bench coverage --quick\n  csi bench speed --quick",
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
    e.add_argument("--jobs", type=count(1), default=None, help=JOBS_HELP)
    scheduler_option(e)
    e.add_argument("--out", metavar="DIR", required=True, help="folder for the CSV files and the plot")
    e.add_argument("--overwrite", action="store_true", help="replace an existing results folder DIR as a whole")
    e.add_argument("--no-plot", action="store_true", help="skip the figure (no matplotlib needed)")
    e.set_defaults(run=run_estimators)
    c = actions.add_parser(
        "coverage",
        help="coverage study: do 95 %% index intervals cover 95 %%, do change tests keep their size",
        description="Coverage study of panel index intervals (csi.bench.coverage): two-wave panels from "
        "csi.simulate_panel with exact population indices, indexed with csi.index_panel; prints, per design, "
        "interval type and level, the coverage of the intervals with its Monte-Carlo SE, their mean width, the "
        "bias and SD of the errors, and the rejection rate of the change test (its size under --shift 0, its "
        "power otherwise). With --out writes raw.csv, summary.csv and study.json.",
        epilog="examples:\n  csi bench coverage --quick\n"
        "  csi bench coverage --reps 1000 --companies 8,40 --respondents 50,150,500 --jobs 2 --out cov/\n"
        "  csi bench coverage --reps 200 --ci percentile,normal --shift 0,0.1\n"
        "  csi bench coverage --reps 50 --missing em,listwise,pairwise --missing-rate 0.05",
        formatter_class=fmt,
    )
    c.add_argument("--quick", action="store_true",
                   help="smoke size: 4 companies of 60, 3 replications, 50 resamples (explicit options still win)")
    c.add_argument("--reps", type=count(1), help="panel replications per design (default 200)")
    c.add_argument("--models", type=_names, metavar="M[,M...]", help="models (default acsi)")
    c.add_argument("--companies", type=_counts, metavar="C[,C...]", help="companies per panel (default 8)")
    c.add_argument("--respondents", type=_counts, metavar="N[,N...]",
                   help="respondents per company and wave (default 150)")  # fmt: skip
    c.add_argument("--shift", type=_shifts, metavar="S[,S...]",
                   help="common latent shift between the waves; 0 is the null of the change test (default 0)")
    c.add_argument("--ci", type=_names, metavar="CI[,CI...]",
                   help=f"interval types, all on the same draws (default {coverage.DEFAULT_INTERVAL}; accepted: "
                   f"{', '.join(coverage.PANEL_INTERVALS)})")  # fmt: skip
    c.add_argument("--methods", type=_names, metavar="M[,M...]",
                   help="estimators of the panel cells (default pls; only estimators with a panel bootstrap)")
    c.add_argument("--missing", type=_names, metavar="M[,M...]",
                   help="missing-data methods run in every cell (default em; listwise, pairwise, mean, em, mi)")
    c.add_argument("--imputations", type=count(2), metavar="M",
                   help="completed data sets per cell under --missing mi (default 5)")
    c.add_argument("--missing-rate", type=float, metavar="R",
                   help="share of item answers deleted at random (MCAR) from every panel (default 0)")
    c.add_argument("--resamples", type=count(10), help="bootstrap resamples per cell (default 200)")
    c.add_argument("--seed", type=int, default=20261130, help="master seed (default 20261130)")
    c.add_argument("--jobs", type=count(1), default=None, help=JOBS_HELP)
    scheduler_option(c)
    c.add_argument("--all-constructs", action="store_true", help="also print the rows pooled over all constructs")
    c.add_argument("--out", metavar="DIR", help="folder for raw.csv, summary.csv and study.json")
    c.add_argument("--overwrite", action="store_true", help="replace an existing results folder DIR as a whole")
    c.set_defaults(run=run_coverage)
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
        "(csi.bench.missing_study): bias, RMSE and 95 % interval coverage of the paths into SAT and the SAT index "
        "for listwise, mean, pairwise, em and mi (percentile bootstrap; mi: Rubin's rules over the bootstrap of "
        "every completed data set). Writes raw.csv, summary.csv and table.csv to --out and prints the table. "
        "Runs over disjoint --first-rep ranges can be combined with --from-raw.",
        epilog="examples:\n  csi bench missing --quick --out bench-missing-smoke/\n"
        "  csi bench missing --reps 200 --bootstrap 200 --jobs 14 --out bench-missing/\n"
        "  csi bench missing --reps 100 --first-rep 100 --bootstrap 200 --jobs 14 --out bench-missing-b/\n"
        "  csi bench missing --from-raw bench-missing-a,bench-missing-b --out bench-missing-all/",
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
    m.add_argument("--mi-interval", choices=["rubin", "boot-mi"], default="rubin",
                   help="intervals of mi: rubin (impute, then bootstrap; default) or boot-mi (bootstrap, then impute; "
                   "slow)")  # fmt: skip
    m.add_argument("--first-rep", type=count(0), default=0, metavar="R",
                   help="first replication (default 0): runs over disjoint ranges combine with --from-raw")
    m.add_argument("--from-raw", type=_names, metavar="DIR[,DIR...]",
                   help="run nothing: combine the raw.csv of these result folders, print the table (and write the "
                   "files to --out if given)")  # fmt: skip
    m.add_argument("--seed", type=int, default=20240601, help="master seed (default 20240601)")
    m.add_argument("--jobs", type=count(1), default=None, help=JOBS_HELP)
    scheduler_option(m)
    m.add_argument("--out", metavar="DIR", help="folder for the CSV files (required unless --from-raw)")
    m.add_argument("--overwrite", action="store_true", help="replace an existing results folder DIR as a whole")
    m.set_defaults(run=run_missing)


def run_estimators(args: argparse.Namespace) -> int:
    """Run the study, write the files, print the headline table."""
    check_target(args.out, args.overwrite)  # refuse before the work, not after it
    size = dict(ns=montecarlo.NS, reps=500, bootstrap=200)
    if args.quick:
        size.update(montecarlo.QUICK)
    for key, value in (("ns", args.n), ("reps", args.reps), ("bootstrap", args.bootstrap)):
        if value is not None:
            size[key] = tuple(value) if key == "ns" else value
    t0 = time.perf_counter()
    raw = montecarlo.run_study(models=args.models, populations=args.populations, methods=args.methods,
                               seed=args.seed, n_jobs=jobs_of(args), scheduler=args.scheduler,
                               **size)  # fmt: skip
    seconds = time.perf_counter() - t0
    files = montecarlo.write_results(raw, args.out, plot=not args.no_plot, overwrite=args.overwrite)
    head = pd.read_csv(f"{args.out}/headline.csv")
    n_head = 250 if 250 in size["ns"] else size["ns"][0]
    print(f"Monte-Carlo study: {raw.attrs['reps']} replications per cell, n in {list(size['ns'])}, "
          f"{size['bootstrap']} bootstrap resamples, seed {args.seed}, {seconds:.1f} seconds")  # fmt: skip
    print(f"Paths into SAT (mean |bias|, mean RMSE, mean coverage) and the SAT index at n = {n_head}:")
    print(table(head.set_index(["model", "population", "method"])))
    print(f"Wrote {', '.join(files)} to {args.out}")
    return EXIT_OK


def run_coverage(args: argparse.Namespace) -> int:
    """Run the coverage study and print its table."""
    if args.out:
        check_target(args.out, args.overwrite)  # refuse before the work, not after it
    size: dict[str, Any] = dict(models=list(coverage.MODELS), companies=list(coverage.COMPANIES),
                                respondents=list(coverage.RESPONDENTS), shifts=list(coverage.SHIFTS), reps=200,
                                cis=[coverage.DEFAULT_INTERVAL], n_resamples=200)  # fmt: skip
    if args.quick:
        size.update(coverage.QUICK)
    given = {"models": args.models, "companies": args.companies, "respondents": args.respondents,
             "shifts": args.shift, "reps": args.reps, "cis": args.ci, "n_resamples": args.resamples,
             "methods": args.methods, "missings": args.missing, "missing_rate": args.missing_rate,
             "imputations": args.imputations}  # fmt: skip
    size.update({k: v for k, v in given.items() if v is not None})
    if args.imputations is not None and "mi" not in size.get("missings", coverage.MISSINGS):
        raise CSIError("--imputations applies to --missing mi only; add mi to --missing or leave --imputations out")
    raw = coverage.run_coverage(seed=args.seed, n_jobs=jobs_of(args), scheduler=args.scheduler, **size)
    summary = coverage.summarise(raw)
    shown = summary if args.all_constructs else summary[summary["constructs"] != "all"]
    cols = ["intervals", "coverage", "mcse", "coverage_all", "width", "bias", "sd_error", "median_se", "var_ratio",
            "rejection", "mcse_rejection"]  # fmt: skip
    print(f"Coverage of {100 * raw.attrs['level']:.0f} % index intervals and change-test rejection rates: "
          f"{raw.attrs['reps']} two-wave panels per design, {raw.attrs['n_resamples']} resamples per cell, "
          f"seed {args.seed}, {raw.attrs['seconds']:.1f} seconds")  # fmt: skip
    print("(coverage: of the population index over the units that entered; coverage_all: over all units; "
          "rejection: share of change tests significant, the size when shift = 0, else the power)")
    print(table(shown.set_index([*coverage.DESIGN, "ci", "constructs", "level"])[cols]))
    if args.out:
        files = coverage.write_results(raw, args.out, overwrite=args.overwrite)
        print(f"Wrote {', '.join(files)} to {args.out}")
    return EXIT_OK


def run_missing(args: argparse.Namespace) -> int:
    """Run the missing-data study (or combine earlier runs), write the files, print the table."""
    from pathlib import Path

    if args.from_raw:
        return _combine_missing(args)
    if not args.out:
        raise CSIError("csi bench missing needs --out DIR (or --from-raw DIR,... to combine earlier runs)")
    check_target(args.out, args.overwrite)  # refuse before the work, not after it
    quick = args.quick
    size = dict(
        reps=args.reps or (2 if quick else 200),
        bootstrap=args.bootstrap if args.bootstrap is not None else (20 if quick else 100),
        imputations=args.imputations or (5 if quick else 20),
        models=args.models or (["ecsi"] if quick else list(missing_study.MODELS)),
        scenarios=args.scenarios or list(missing_study.SCENARIOS),
    )
    t0 = time.perf_counter()
    raw = missing_study.run_study(n=args.n, methods=args.methods, seed=args.seed, n_jobs=jobs_of(args),
                                  scheduler=args.scheduler, mi_interval=args.mi_interval, first_rep=args.first_rep,
                                  **size)  # fmt: skip
    seconds = time.perf_counter() - t0
    summary = montecarlo.summarise(raw)
    result = missing_study.table(summary)

    def fill(folder: Path) -> dict[str, str]:
        for name, frame in (("raw", raw), ("summary", summary), ("table", result)):
            frame.to_csv(folder / f"{name}.csv", index=False)
        return {"raw.csv": "one row per replication, method and quantity (CSV)",
                "summary.csv": "bias, RMSE and coverage per cell (CSV)", "table.csv": "the printed table (CSV)"}

    write_folder(args.out, fill, {"kind": "csi missing-data study"}, overwrite=args.overwrite)
    print(f"Missing-data study: n = {args.n}, {size['reps']} replications per model and scenario, "
          f"{size['bootstrap']} bootstrap resamples, {size['imputations']} imputations, seed {args.seed}, "
          f"{seconds:.1f} seconds")  # fmt: skip
    print("Paths into SAT (mean |bias|, mean RMSE, mean coverage) and the SAT index:")
    print(table(result.set_index(["model", "scenario", "method"])))
    print(f"Wrote raw.csv, summary.csv, table.csv to {args.out}")
    return EXIT_OK


def _combine_missing(args: argparse.Namespace) -> int:
    """``--from-raw``: one table from the raw.csv files of earlier runs."""
    from pathlib import Path

    if args.out:
        check_target(args.out, args.overwrite)
    frames = []
    for folder in args.from_raw:
        path = Path(folder) / "raw.csv"
        if not path.is_file():
            raise CSIError(f"--from-raw: {path} does not exist (expected a result folder of 'csi bench missing')")
        frames.append(pd.read_csv(path, keep_default_na=True))
    raw = missing_study.combine(frames)
    summary = montecarlo.summarise(raw)
    result = missing_study.table(summary)
    if args.out:
        def fill(folder: Path) -> dict[str, str]:
            for name, frame in (("raw", raw), ("summary", summary), ("table", result)):
                frame.to_csv(folder / f"{name}.csv", index=False)
            return {"raw.csv": "combined raw rows (CSV)", "summary.csv": "bias, RMSE and coverage per cell (CSV)",
                    "table.csv": "the printed table (CSV)"}  # fmt: skip

        write_folder(args.out, fill, {"kind": "csi missing-data study (combined)"}, overwrite=args.overwrite)
    reps = raw.groupby(["model", "population"])["rep"].nunique()
    print(f"Missing-data study combined from {', '.join(args.from_raw)}: {reps.min()}-{reps.max()} replications "
          "per model and scenario")  # fmt: skip
    print("Paths into SAT (mean |bias|, mean RMSE, mean coverage) and the SAT index:")
    print(table(result.set_index(["model", "scenario", "method"])))
    return EXIT_OK


def run_speed(args: argparse.Namespace) -> int:
    """Time and print."""
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 20)
    boot = args.bootstrap if args.bootstrap is not None else (100 if args.quick else 1000)
    frame = speed.speed_table(model=args.model, n=args.n, repeat=repeat, bootstrap=boot)
    print(f"Median seconds ({repeat} repeats per fit), {args.model}, n = {args.n}:")
    print(frame.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    return EXIT_OK
