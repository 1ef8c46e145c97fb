"""``csi fit``: fit a model to survey data, optionally bootstrap it and write every table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

import csi
from csi.cli._common import (
    CI_KINDS,
    EXIT_OK,
    MISSING_HELP,
    boot_line,
    bootstrap_options,
    count,
    in_unit_interval,
    index_or_note,
    run_bootstrap,
    section,
    table,
)
from csi.cli._data import binding_options, bound_model, read_options, read_survey
from csi.core.schemes import SCHEMES
from csi.data.prepare import DEFAULT_MISSING, MISSING_POLICIES
from csi.errors import EstimationError
from csi.estimators import ESTIMATORS
from csi.estimators.cbsem_groups import GroupFit
from csi.quality._common import check_composite_fit, composite_fit_refusal
from csi.quality.descriptives import item_descriptives
from csi.quality.model_fit import model_fit
from csi.resample.run import DEFAULT_CI
from csi.results.csv_text import to_csv
from csi.results.export import write_results
from csi.results.files import MANIFEST, check_target, write_folder
from csi.spec.hoc import HOC_APPROACHES


def register(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``fit`` subcommand."""
    p = sub.add_parser(
        "fit",
        help="fit a model to survey data",
        description="Fit a customer-satisfaction model by PLS path modelling and print its summary; "
        "optionally bootstrap it and write every table to a folder.",
        epilog="examples:\n  csi fit ecsi survey.csv\n"
        "  csi fit acsi survey.parquet --bootstrap 5000 --seed 1 --ci bca --out results/\n"
        "  csi fit ecsi survey.csv --method cbsem\n"
        "  csi fit ecsi survey.csv --method cbsem --missing fiml\n"
        "  csi fit ecsi waves.csv --method cbsem --group wave --group-equal loadings,intercepts\n"
        '  csi fit my_model.lav survey.csv --items \'{"SAT": ["q1", "q2", "q3"]}\'\n'
        "  csi fit ecsi survey.sav --binding binding.toml     (binding.toml from 'csi bind', edited)\n"
        "  csi fit ecsi survey.csv --sep ';' --scale 0 10 --missing-codes 98,99 --reverse CUEX3\n"
        "  csi fit hoc_model.lav survey.csv --hoc two-stage-embedded   (QUAL =~ PROD + SERV in the model)\n\n"
        "With --out DIR: one CSV per table (estimates, outer_model, inner_model, effects, quality,\n"
        "cross_loadings, scores, item_descriptives; index when every item has a scale; bootstrap and draws when\n"
        "bootstrapped), results.json with the model, options, n, convergence, GoF and the tables, and\n"
        "manifest.json with the size and SHA-256 of every file. DIR must be new or empty (--overwrite\n"
        "replaces a results folder as a whole).",
        formatter_class=fmt,
    )
    model_data_options(p)
    bootstrap_options(p, default=0)
    p.add_argument("--ci", choices=CI_KINDS, default=None,
                   help="bootstrap interval (default: percentile; rubin for a --missing mi fit)")
    p.add_argument("--level", type=in_unit_interval, default=0.95, help="confidence level (default: 0.95)")
    p.add_argument("--out", metavar="DIR", help="write every table as CSV, results.json and manifest.json into DIR "
                   "(a new or empty folder)")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an existing results folder DIR as a whole")
    p.add_argument("--fit-test", type=count(0), default=0, metavar="N",
                   help="test exact model fit by N Bollen-Stine resamples: HI95, HI99 and p of SRMR, d_ULS and "
                   "d_G (Dijkstra & Henseler 2015; PLS fits of complete data; seeded by --seed)")  # fmt: skip
    p.set_defaults(run=run)


def model_data_options(p: argparse.ArgumentParser) -> None:
    """MODEL, DATA and the estimation options shared by ``fit`` and ``bootstrap``."""
    p.add_argument("model", metavar="MODEL", help=f"shipped model ({', '.join(csi.list_models())}), .toml file or "
                   "lavaan-style text file")  # fmt: skip
    p.add_argument("data", metavar="DATA", help="survey data: .csv/.tsv, .xlsx, .parquet, .sav/.zsav/.por or .dta")
    p.add_argument("--method", choices=list(ESTIMATORS), default="pls",
                   help="estimator (default: pls; scheme and --unscaled apply to pls and plsc)")  # fmt: skip
    p.add_argument("--scheme", choices=list(SCHEMES), default="path", help="inner weighting scheme (default: path)")
    p.add_argument("--unscaled", action="store_true", help="centre but do not standardise the items")
    p.add_argument("--missing", choices=[*MISSING_POLICIES, "fiml"], default=DEFAULT_MISSING,
                   help=MISSING_HELP + "; fiml: full-information ML (--method cbsem)")  # fmt: skip
    p.add_argument("--group", metavar="COLUMN", help="multiple-group CB-SEM (--method cbsem): one group per level "
                   "of COLUMN")  # fmt: skip
    p.add_argument("--group-equal", metavar="LIST", help="with --group: comma-separated parameter classes equal "
                   "across groups (loadings,intercepts,means,residuals,regressions,...; default: none)")  # fmt: skip
    p.add_argument("--hoc", choices=HOC_APPROACHES, help="models with higher-order constructs (QUAL =~ PROD + SERV): "
                   "repeated indicators (default) or the embedded or disjoint two-stage approach (--method pls)")  # fmt: skip
    binding_options(p)
    read_options(p)


def fit_from_args(args: argparse.Namespace) -> csi.FitResult:
    """Read the data, bind the model to them as the command line says, and fit."""
    survey = read_survey(args, args.data)
    spec = bound_model(args, args.model, survey)
    options: dict[str, Any] = {}
    if getattr(args, "group", None) is not None or getattr(args, "group_equal", None) is not None:
        # Which methods take groups is the estimator's to say (it rejects options it does not have).
        if args.group is None:
            raise EstimationError("--group-equal constrains parameters across groups; give --group COLUMN as well")
        options["group"] = args.group
        options["group_equal"] = tuple(x.strip() for x in (args.group_equal or "").split(",") if x.strip())
    if getattr(args, "hoc", None) is not None:
        options["hoc"] = args.hoc
    return csi.fit(
        spec, survey.data, method=args.method, scheme=args.scheme, scaled=not args.unscaled, missing=args.missing,
        **options,
    )


def write_group_results(
    out: str, fit: GroupFit, boot: csi.BootstrapResult | None, *, overwrite: bool = False
) -> list[str]:
    """A multiple-group fit's tables (and its bootstrap's) as one sealed results folder."""
    kinds = {"estimates.csv": "parameter estimates of every group (CSV)",
             "fit_measures.csv": "chi-square, CFI, RMSEA and the other fit measures (CSV)"}  # fmt: skip
    if boot is not None:
        kinds["bootstrap.csv"] = "bootstrap standard errors and intervals of every group's estimates (CSV)"
        kinds["draws.csv"] = "every bootstrap replicate of every estimate (CSV)"

    def fill(folder: Path) -> dict[str, str]:
        to_csv(fit.estimates, folder / "estimates.csv", index=False)
        to_csv(fit.fit_measures.to_frame(), folder / "fit_measures.csv", index=True)
        if boot is not None:
            to_csv(boot.estimates, folder / "bootstrap.csv", index=False)
            to_csv(boot.draws, folder / "draws.csv", index=True)
        return kinds

    write_folder(out, fill, {"kind": "csi multiple-group CB-SEM fit"}, overwrite=overwrite)
    return [*kinds, MANIFEST]


def model_fit_table(fit: csi.FitResult, fit_test: int, seed: int | None) -> pd.DataFrame | None:
    """Print and return the composite-model fit criteria (with the Bollen-Stine test when ``fit_test``).

    None, with nothing printed, for fits the criteria do not apply to (they carry their own measures); asking
    for the test on such a fit is an error.
    """
    if composite_fit_refusal(fit, "--fit-test") is not None:
        if fit_test:
            check_composite_fit(fit, "--fit-test")
        return None
    got = model_fit(fit, fit_test, seed) if fit_test else model_fit(fit)
    title = "Model fit (composite model; saturated and estimated)"
    if fit_test:
        title += f", exact-fit test by {fit_test} Bollen-Stine resamples"
    print(section(title, table(got, 4)))
    return got.reset_index()


def run(args: argparse.Namespace) -> int:
    """Fit, print, optionally bootstrap and write."""
    if args.out:
        check_target(args.out, args.overwrite)  # refuse before the work, not after it
    if args.fit_test and not ESTIMATORS[args.method].capabilities.pls_refit:
        raise EstimationError(
            f"--fit-test refits composite PLS in every Bollen-Stine resample, which method {args.method!r} does not "
            "allow; drop --fit-test"
        )
    fit = fit_from_args(args)
    spec = fit.spec
    print(fit.summary())
    if isinstance(fit, GroupFit):
        boot = None
        if args.bootstrap:
            boot, seconds = run_bootstrap(fit, args.bootstrap, args.seed, ci=args.ci, level=args.level)
            print(section("Bootstrap", boot_line(boot, seconds) + "\n\n" + boot.summary()))
        if args.out:
            names = write_group_results(args.out, fit, boot, overwrite=args.overwrite)
            print(f"\nWrote {len(names)} files to {args.out}: {', '.join(names)}")
        return EXIT_OK
    index = index_or_note(fit)
    if index is not None:
        frame = pd.DataFrame({"label": [c.label for c in spec.constructs], "index": index})
        print(section("Indices (0-100)", table(frame, 1)))
    items = item_descriptives(fit) if fit.data is not None else None
    if items is not None:
        print(section("Item descriptives (observed answers, before any imputation)",
                      table(items.set_index("item"), 3)))  # fmt: skip
    more: dict[str, pd.DataFrame] = {} if items is None else {"item_descriptives": items}
    fit_table = model_fit_table(fit, args.fit_test, args.seed)
    if fit_table is not None:
        more["model_fit"] = fit_table
    boot = None
    if args.bootstrap:
        boot, seconds = run_bootstrap(fit, args.bootstrap, args.seed, ci=args.ci, level=args.level)
        print(section("Bootstrap", boot_line(boot, seconds) + "\n\n" + boot.summary()))
    if args.out:
        extra = {"command": {"model": args.model, "data": Path(args.data).name, "method": args.method,
                             "bootstrap": args.bootstrap,
                             "seed": args.seed, "ci": (args.ci or DEFAULT_CI) if boot is None else boot.ci,
                             "level": args.level}}  # fmt: skip
        from csi.report.survey import survey_facts  # on demand: the report package is not needed otherwise

        extra["report"] = survey_facts(fit, args.data)  # what `csi report` needs for a one-survey report
        files = write_results(args.out, fit, boot, index, extra=extra, overwrite=args.overwrite, tables=more or None)
        print(f"\nWrote {len(files)} files to {args.out}: {', '.join(f.name for f in files)}")
    return EXIT_OK
