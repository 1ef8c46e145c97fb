"""``csi mga``: compare groups (multi-group analysis) and assess measurement invariance (MICOM)."""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import Any

import csi
from csi.cli._common import EXIT_OK, MISSING_HELP, count, in_unit_interval, index_or_note, scheduler_option, section
from csi.cli._data import binding_options, bound_model, read_options, read_survey
from csi.core.schemes import SCHEMES
from csi.data.prepare import DEFAULT_MISSING, MISSING_POLICIES
from csi.resample.groups import group_methods
from csi.resample.mga import METHODS
from csi.resample.scheduler import check_scheduler, resolve_scheduler
from csi.results.csv_text import to_csv
from csi.results.export import MANIFEST_HEAD, fill_results
from csi.results.files import MANIFEST, check_target, write_folder

GROUP_FILES = {
    "group_comparison.csv": "one row per parameter and pair of groups: estimates, difference, p, adjusted p (CSV)",
    "group_sizes.csv": "rows and used rows per group (CSV)",
    "group_omnibus.csv": "omnibus permutation test per parameter over all groups (CSV)",
    "micom.csv": "MICOM steps 2 and 3 and the verdict per construct and pair of groups (CSV)",
    "micom_configural.csv": "MICOM step 1 checks per group (CSV)",
}
"""What ``csi mga --out`` adds to a fit folder (the pooled fit's tables and results.json)."""


def register(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``mga`` subcommand."""
    p = sub.add_parser(
        "mga",
        help="compare groups: multi-group analysis and measurement invariance (MICOM)",
        description="Fit MODEL in every group of a column (segment, industry, wave, ...), test every path, "
        "outer weight, loading, R² and 0-100 index for differences between each pair of groups "
        "(csi.compare_groups), and assess the measurement invariance of the composites (csi.micom).",
        epilog="examples:\n  csi mga --model ecsi --data survey.csv --group segment --permutations 5000 --seed 1\n"
        "  csi mga --model acsi --data panel.csv --group wave --method henseler --resamples 2000 --seed 1 \\\n"
        "      --out mga/ && csi report mga/ --out mga.html\n\n"
        "With --out DIR (new or empty; --overwrite replaces a results folder): the pooled fit's tables and\n"
        "results.json, group_comparison.csv, group_sizes.csv, micom.csv, micom_configural.csv (and\n"
        "group_omnibus.csv for more than two groups), and manifest.json; 'csi report DIR' adds a\n"
        "group-comparison section to the one-survey report of the pooled data.",
        formatter_class=fmt,
    )
    p.add_argument("--model", required=True, metavar="MODEL", help="shipped model, .toml file or lavaan-style text")
    p.add_argument("--data", required=True, metavar="DATA", help="survey data with the grouping column")
    p.add_argument("--group", required=True, metavar="COL", help="grouping column (two or more groups)")
    p.add_argument("--method", choices=list(METHODS), default="permutation",
                   help="test of the differences (default: permutation)")  # fmt: skip
    p.add_argument("--permutations", type=count(1), default=5000, metavar="N",
                   help="permutations of the permutation, omnibus and MICOM tests (default: 5000)")  # fmt: skip
    p.add_argument("--resamples", type=count(1), default=1000, metavar="N",
                   help="bootstrap resamples per group of --method henseler/parametric/welch (default: 1000)")  # fmt: skip
    p.add_argument("--seed", type=count(0), default=None, metavar="S", help="random seed (default: fresh, recorded)")
    p.add_argument("--correction", choices=("holm", "bonferroni", "none"), default="holm",
                   help="familywise adjustment over the pairs of groups (default: holm)")  # fmt: skip
    p.add_argument("--no-micom", action="store_true", help="skip the invariance assessment")
    p.add_argument(
        "--alpha", type=in_unit_interval, default=0.05, help="level of the printed differences (default: 0.05)"
    )
    p.add_argument("--fit-method", choices=group_methods(), default="pls", help="estimator (default: pls)")
    p.add_argument("--scheme", choices=list(SCHEMES), default="path", help="inner weighting scheme (default: path)")
    p.add_argument("--missing", choices=list(MISSING_POLICIES), default=DEFAULT_MISSING, help=MISSING_HELP)
    p.add_argument("--jobs", type=count(1), default=None, metavar="N", help="threads (default: every core)")
    scheduler_option(p, default=None)
    p.add_argument("--out", metavar="DIR", help="write the tables, results.json and manifest.json into DIR")
    p.add_argument("--overwrite", action="store_true", help="replace an existing results folder DIR as a whole")
    binding_options(p)
    read_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Compare, print and optionally write."""
    if args.out:
        check_target(args.out, args.overwrite)  # refuse before the work, not after it
    survey = read_survey(args, args.data)
    spec = bound_model(args, args.model, survey)
    data = survey.data
    if args.group not in data.columns:
        raise csi.DataError(f"--group column {args.group!r} is not in {Path(args.data).name}")
    check_scheduler(args.scheduler)
    options = {"scheme": args.scheme, "missing": args.missing, "fit_method": args.fit_method, "n_jobs": args.jobs}
    t0 = time.perf_counter()
    where = resolve_scheduler(args.scheduler, args.jobs) if args.scheduler else contextlib.nullcontext()
    with where as executor:  # one cluster for the comparison and MICOM
        comparison = csi.compare_groups(
            spec, data, args.group, args.method, n_permutations=args.permutations, n_resamples=args.resamples,
            seed=args.seed, correction=None if args.correction == "none" else args.correction, scheduler=executor,
            **options,
        )  # fmt: skip
        seed = comparison.plan["seed_entropy"]
        invariance = None
        if not args.no_micom:
            invariance = csi.micom(spec, data, args.group, n_permutations=args.permutations, seed=seed,
                                   scheduler=executor, **options)  # fmt: skip
    seconds = time.perf_counter() - t0
    print(comparison.summary(args.alpha))
    if invariance is not None:
        verdicts = invariance.table[["construct", "group_a", "group_b", "c", "c_quantile", "equal_means", "equal_variances",
                                     "verdict"]]  # fmt: skip
        print(section("Measurement invariance (MICOM)", verdicts.to_string(index=False, float_format="%.3f")))
    print(f"\n{seconds:.2f} s (seed {seed})")
    if args.out:
        written = write_mga(args, comparison, invariance, seed)
        print(f"\nWrote {len(written)} files to {args.out}: {', '.join(written)}")
    return EXIT_OK


def write_mga(args: argparse.Namespace, comparison: Any, invariance: Any, seed: int) -> list[str]:
    """The results folder: the pooled fit as ``csi fit --out`` writes it, plus the group tables."""
    fit = comparison.pooled
    index = index_or_note(fit)
    extra: dict[str, Any] = {
        "command": {
            "command": "mga",
            "model": args.model,
            "data": Path(args.data).name,
            "group": args.group,
            "method": args.method,
            "permutations": args.permutations,
            "resamples": args.resamples,
            "seed": seed,
            "correction": args.correction,
            "micom": invariance is not None,
            "fit_method": args.fit_method,
        },  # fmt: skip
        "group_comparison": {
            "group": args.group,
            "method": comparison.method,
            "correction": comparison.correction,
            "n_permutations": comparison.n_permutations,
            "n_resamples": comparison.n_resamples,
            "n_failed": comparison.n_failed,
            "seed": seed,
            "micom_permutations": invariance.n_permutations if invariance is not None else 0,
        },  # fmt: skip
    }
    from csi.report.survey import survey_facts  # on demand: the report package is not needed otherwise

    extra["report"] = survey_facts(fit, args.data)
    names: list[str] = []

    def fill(tmp: Path) -> dict[str, str]:
        kinds = fill_results(tmp, fit, None, index, extra)
        frames = {"group_comparison.csv": comparison.table, "group_sizes.csv": comparison.groups}
        if comparison.omnibus is not None:
            frames["group_omnibus.csv"] = comparison.omnibus
        if invariance is not None:
            frames["micom.csv"] = invariance.table
            frames["micom_configural.csv"] = invariance.configural
        for name, frame in frames.items():
            to_csv(frame, tmp / name, index=False)
            kinds[name] = GROUP_FILES[name]
        names.extend([*kinds, MANIFEST])
        return kinds

    write_folder(args.out, fill, {**MANIFEST_HEAD, "group_comparison": True}, overwrite=args.overwrite)
    return names
