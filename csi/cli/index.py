"""``csi index``: 0-100 indices of a panel (companies x waves) with aggregation, CIs and changes."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import csi
from csi.cli._common import EXIT_OK, MISSING_HELP, count, in_unit_interval, jobs_of, scheduler_option
from csi.cli._data import binding_options, bound_model, name_list, read_options, read_survey
from csi.data.prepare import DEFAULT_MISSING, MISSING_POLICIES
from csi.index.matched import CHANGE_BASES
from csi.index.panel import DEFAULT_INTERVAL, PANEL_INTERVALS
from csi.index.partitioned import PartitionedPanel
from csi.index.status import FLAGGED_POLICIES
from csi.resample.scheduler import check_scheduler
from csi.results.files import check_target


def register(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``index`` subcommand."""
    p = sub.add_parser(
        "index",
        help="panel indices: companies x waves, aggregated, with CIs and changes",
        description="Fit MODEL per company x wave of a long respondent table, compute 0-100 indices, aggregate "
        "them company -> industry -> sector -> national with unit weights, bootstrap every level and test "
        "wave-over-wave changes (csi.index_panel).",
        epilog="examples:\n"
        "  csi index --model acsi --data panel.csv --company firm --wave year --industry industry \\\n"
        "      --sector sector --unit-weights weights.csv --bootstrap 1000 --seed 1 --out results/\n"
        "  csi index --model acsi --data panel.sav --binding acsi.toml --company firm --wave period \\\n"
        "      --wave-order spring,autumn --bootstrap 1000 --seed 1 --out results/\n\n"
        "The unit-weights file has columns level, unit, wave, weight (company revenue, industry revenue,\n"
        "sector share of GDP); without it every level uses equal weights.  DIR receives index, changes,\n"
        "units, estimates, impacts and quality as .csv and .parquet, and manifest.json (provenance and the\n"
        "size and SHA-256 of every file); it must be new or empty (--overwrite replaces a results folder).\n"
        "Cells whose fit did not converge, is inadmissible or has a negative outer weight keep their index\n"
        "with that status and are left out of the aggregates (--flagged include lets them in).",
        formatter_class=fmt,
    )
    p.add_argument(
        "--model", required=True, metavar="MODEL", help="shipped model, .toml file or lavaan-style text file"
    )
    p.add_argument("--data", required=True, metavar="PANEL",
                   help="long respondent table: .csv/.tsv, .xlsx, .parquet, .sav/.zsav/.por or .dta, or a folder "
                   "holding a Parquet dataset partitioned by wave and company (WAVE=.../COMPANY=.../*.parquet), "
                   "read by the workers cell by cell")  # fmt: skip
    p.add_argument("--company", required=True, metavar="COL", help="company column")
    p.add_argument("--wave", required=True, metavar="COL", help="wave column")
    p.add_argument("--wave-order", type=name_list, metavar="W1,W2,...",
                   help="the waves, earliest first, when their labels do not tell (numbers, years, quarters, "
                   "months, dates and w1, w2, ... do)")  # fmt: skip
    p.add_argument("--industry", metavar="COL", help="industry column (optional level)")
    p.add_argument("--sector", metavar="COL", help="sector column (optional level)")
    p.add_argument("--respondent-weight", metavar="COL", help="respondent weight column")
    p.add_argument("--respondent-id", metavar="COL",
                   help="respondent id column: ids recurring across a company's waves are resampled jointly "
                   "(paired or mixed panels; changes keep the within-respondent correlation)")  # fmt: skip
    p.add_argument("--unit-weights", metavar="FILE", help="table level, unit, wave, weight (.csv/.parquet/.xlsx)")
    p.add_argument(
        "--min-n", type=count(1), default=50, help="suppress company cells with fewer respondents (default: 50)"
    )
    p.add_argument("--bootstrap", type=count(0), required=True, metavar="B", help="bootstrap resamples per cell")
    p.add_argument("--seed", type=count(0), required=True, metavar="S", help="run seed")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (new or empty)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing results folder DIR as a whole")
    p.add_argument("--flagged", choices=FLAGGED_POLICIES, default="exclude",
                   help="company cells that did not converge, are inadmissible or have a negative outer weight: "
                   "exclude them from the aggregates (default) or include them")  # fmt: skip
    p.add_argument("--change-basis", choices=CHANGE_BASES, default="matched",
                   help="aggregates' changes over the companies usable in both waves (matched, default) or the "
                   "difference of the published aggregates")  # fmt: skip
    p.add_argument("--pooled", action="store_true", help="one model per industry x wave (needs --industry)")
    p.add_argument("--ci", choices=PANEL_INTERVALS, default=DEFAULT_INTERVAL,
                   help=f"interval type (default: {DEFAULT_INTERVAL}, the best in csi bench coverage)")  # fmt: skip
    p.add_argument("--level", type=in_unit_interval, default=0.95, help="confidence level (default: 0.95)")
    p.add_argument("--missing", choices=list(MISSING_POLICIES), default=DEFAULT_MISSING,
                   help=MISSING_HELP)  # fmt: skip
    p.add_argument("--national-bootstrap", type=count(0), default=None, metavar="B",
                   help="resamples of the pooled national fits, for intervals of their paths "
                   "(default: as --bootstrap; 0 for point estimates only)")  # fmt: skip
    p.add_argument("--jobs", type=count(1), default=None,
                   help="worker processes over cells (default: 1; with --scheduler dask every core)")  # fmt: skip
    scheduler_option(p)
    binding_options(p)
    read_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read, compute, write and print the national line."""
    check_target(args.out, args.overwrite)  # refuse before the work, not after it
    check_scheduler(args.scheduler)  # refuse a bad value before reading anything
    if Path(args.data).is_dir():
        # A partitioned dataset: the model is bound to its columns (schema); its rows stay on the workers.
        data: Any = PartitionedPanel(args.data)
        survey = csi.Survey(data.schema_frame(), data.name, "parquet")
    else:
        survey = read_survey(args, args.data)
        data = survey.data
    spec = bound_model(args, args.model, survey)
    unit_weights = csi.read_survey(args.unit_weights).data if args.unit_weights else None
    t0 = time.perf_counter()
    result = csi.index_panel(
        data, spec, company=args.company, wave=args.wave, wave_order=args.wave_order, industry=args.industry,
        sector=args.sector,
        respondent_weight=args.respondent_weight, respondent_id=args.respondent_id, unit_weights=unit_weights, min_n=args.min_n,
        n_resamples=args.bootstrap, seed=args.seed, pooled=args.pooled, ci=args.ci, level=args.level,
        missing=args.missing, national_resamples=args.national_bootstrap, flagged=args.flagged, n_jobs=jobs_of(args),
        scheduler=args.scheduler,
        change_basis=args.change_basis,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    out = result.write(args.out, overwrite=args.overwrite)
    print(result.summary())
    counts = result.manifest["counts"]
    print(f"\n{counts['cells']} company cells ({counts['suppressed']} suppressed, {counts['failed']} failed, "
          f"{counts['flagged']} flagged and {'excluded' if args.flagged == 'exclude' else 'included'}), "
          f"{args.bootstrap} resamples each, in {seconds:.1f} s; wrote {out}")  # fmt: skip
    return EXIT_OK
