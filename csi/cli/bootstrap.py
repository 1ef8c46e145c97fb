"""``csi bootstrap``: fit a model and bootstrap every estimate and 0-100 index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import csi
from csi.cli._common import (
    CI_KINDS,
    EXIT_OK,
    boot_line,
    count,
    in_unit_interval,
    index_or_note,
    run_bootstrap,
    scheduler_option,
)
from csi.cli._data import read_survey
from csi.cli.fit import fit_from_args, model_data_options, write_group_results
from csi.estimators.cbsem_groups import GroupFit
from csi.resample.mi_boot import MI_INTERVALS
from csi.resample.options import MIN_INNER_RESAMPLES
from csi.resample.scheduler import check_scheduler
from csi.resample.statistics import SIGN_CHANGES
from csi.results.export import write_results
from csi.results.files import check_target


def register(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``bootstrap`` subcommand."""
    p = sub.add_parser(
        "bootstrap",
        help="bootstrap a model's estimates and indices",
        description="Fit a customer-satisfaction model and bootstrap it: standard errors, confidence intervals "
        "and p-values of every estimate and 0-100 index.  A seed makes the run repeatable exactly.",
        epilog="examples:\n  csi bootstrap ecsi survey.csv --resamples 5000 --seed 1\n"
        "  csi bootstrap acsi survey.csv --resamples 2000 --seed 7 --ci bca --level 0.9 --out boot/\n"
        "  csi bootstrap ecsi survey.csv --resamples 1000 --seed 1 --strata region --method plsc\n\n"
        "--ci studentized runs an inner bootstrap of --inner-resamples resamples per resample.\n"
        "With --out DIR (new or empty; --overwrite replaces a results folder): the fit's tables plus\n"
        "bootstrap.csv and draws.csv, results.json and manifest.json.",
        formatter_class=fmt,
    )
    model_data_options(p)
    p.add_argument("--resamples", type=count(1), default=5000, metavar="N", help="bootstrap resamples (default: 5000)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: fresh, printed for reuse)")
    p.add_argument("--ci", choices=CI_KINDS + ["studentized"], default=None,
                   help="interval type (default: percentile; rubin for the Rubin bootstrap of a --missing mi fit)")  # fmt: skip
    p.add_argument("--level", type=in_unit_interval, default=0.95, help="confidence level (default: 0.95)")
    p.add_argument("--inner-resamples", type=count(MIN_INNER_RESAMPLES), default=None, metavar="M",
                   help=f"inner resamples per resample for --ci studentized (default: 100; at least {MIN_INNER_RESAMPLES})")  # fmt: skip
    p.add_argument("--sign-change", choices=list(SIGN_CHANGES), default="none",
                   help="sign-change correction of the replicates (default: none)")  # fmt: skip
    p.add_argument("--strata", metavar="COL", help="resample within the groups of this data column")
    p.add_argument("--mi-interval", choices=list(MI_INTERVALS), default=None,
                   help="--missing mi only: rubin (impute, then bootstrap every completed data set, Rubin's rules; "
                        "default) or boot-mi (bootstrap, then impute every resample)")  # fmt: skip
    p.add_argument("--out", metavar="DIR", help="write every table as CSV, results.json and manifest.json into DIR "
                   "(a new or empty folder)")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an existing results folder DIR as a whole")
    scheduler_option(p, default=None, jobs=False)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Fit, bootstrap, print the summary and optionally write the tables."""
    check_scheduler(args.scheduler)
    if args.out:
        check_target(args.out, args.overwrite)  # refuse before the work, not after it
    fit = fit_from_args(args)
    strata = None
    if args.strata:
        frame = read_survey(args, args.data).data
        if args.strata not in frame.columns:
            raise csi.DataError(f"--strata column {args.strata!r} is not in {Path(args.data).name}")
        strata = frame[args.strata]
    options: dict[str, Any] = {"ci": args.ci, "level": args.level, "sign_change": args.sign_change, "strata": strata,
                               "scheduler": args.scheduler}  # fmt: skip
    if args.inner_resamples is not None:
        options["inner_resamples"] = args.inner_resamples
    if args.mi_interval is not None:
        options["mi_interval"] = args.mi_interval
    boot, seconds = run_bootstrap(fit, args.resamples, args.seed, progress=sys.stderr.isatty(), **options)
    print(boot_line(boot, seconds))
    print()
    print(boot.summary())
    if isinstance(fit, GroupFit):
        if args.out:
            names = write_group_results(args.out, fit, boot, overwrite=args.overwrite)
            print(f"\nWrote {len(names)} files to {args.out}: {', '.join(names)}")
        return EXIT_OK
    if args.out:
        index = index_or_note(fit)
        extra = {"command": {"model": args.model, "data": Path(args.data).name, "bootstrap": args.resamples,
                             "seed": boot.plan.get("seed_entropy"), "ci": boot.ci, "level": args.level,
                             "sign_change": args.sign_change, "strata": args.strata, "method": args.method,
                             "mi_interval": args.mi_interval}}  # fmt: skip
        from csi.report.survey import survey_facts  # on demand: the report package is not needed otherwise

        extra["report"] = survey_facts(fit, args.data)  # what `csi report` needs for a one-survey report
        files = write_results(args.out, fit, boot, index, extra=extra, overwrite=args.overwrite)
        print(f"\nWrote {len(files)} files to {args.out}: {', '.join(f.name for f in files)}")
    return EXIT_OK
