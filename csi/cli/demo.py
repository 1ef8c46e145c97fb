"""``csi demo``: simulate ECSI data, fit it and compare with the known population."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import csi
from csi.cli._common import (
    EXIT_OK,
    boot_line,
    bootstrap_options,
    count,
    index_or_note,
    run_bootstrap,
    section,
    table,
)
from csi.results.csv_text import to_csv
from csi.results.export import fill_results
from csi.results.files import check_target, read_manifest, seal, write_folder


def register(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="simulate ECSI survey data, fit it, compare with the truth",
        description="The built-in demo: draw an ECSI survey from a population whose indices and paths are known, "
        "fit the ECSI-7 model by PLS (path scheme) and show the 0-100 indices next to the population values; then "
        "draw an ACSI national panel (companies in industries and sectors, two waves), index it with bootstrap "
        "intervals at every level and compare with the population indices.",
        epilog="examples:\n  csi demo\n  csi demo --n 1000 --bootstrap 2000 --seed 7\n  csi demo --out demo-results/",
        formatter_class=fmt,
    )
    p.add_argument("--n", type=count(1), default=250, help="respondents to simulate (default: 250)")
    bootstrap_options(p, default=0, seed=1)
    p.add_argument("--companies", type=count(0), default=12,
                   help="companies of the national-panel part (default: 12; 0 skips it)")  # fmt: skip
    p.add_argument("--panel-bootstrap", type=count(2), default=200, metavar="B",
                   help="resamples per company x wave in the panel part (default: 200)")  # fmt: skip
    p.add_argument("--out", metavar="DIR", help="also write the data (data.csv), every table, the panel's results "
                   "(panel/) and its report (report.html) into DIR, a new or empty folder")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an existing results folder DIR as a whole")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Simulate, fit, print the comparison, optionally write."""
    from csi.demo import DEMO_MODEL, compare_index, compare_paths, demo_data

    if args.out:
        check_target(args.out, args.overwrite)  # refuse before the work, not after it
    sim = demo_data(args.n, seed=args.seed)
    spec = sim.spec
    print(f"csi {csi.__version__} demo: {spec.label or spec.name}")
    print(f"Simulated {sim.n} respondents (seed {sim.seed}) answering {len(spec.item_names)} items on a 1-10 scale,")
    print("drawn from a population model whose true indices and paths are known; fitted by PLS (path scheme).\n")
    t0 = time.perf_counter()
    fit = csi.fit(spec, sim.data, scheme="path")
    fit_seconds = time.perf_counter() - t0
    print(fit.summary())
    boot = None
    if args.bootstrap:
        boot, seconds = run_bootstrap(fit, args.bootstrap, args.seed)
    index = compare_index(fit, sim, boot)
    paths = compare_paths(fit, sim, boot)
    ci_note = "" if boot is None else f"; {100 * boot.level:g}% {boot.ci} bootstrap intervals"
    print(section("Path coefficients", table(paths, 3)))
    print("PLS composites carry measurement error, so under this common-factor population the paths\n"
          "are expected to be somewhat attenuated relative to the population values.")  # fmt: skip
    print(section("Customer satisfaction indices (0-100)", table(index, 1)))
    print(f"estimate: this sample; population: the true index of the simulated population{ci_note}")
    print(f"\nFit: {fit_seconds * 1e3:.1f} ms." + (f" {boot_line(boot, seconds)}." if boot is not None else ""))
    result = _panel_part(args) if args.companies else None
    if args.out:
        extra = {"command": {"demo": DEMO_MODEL, "n": args.n, "seed": args.seed, "bootstrap": args.bootstrap}}
        out = write_folder(args.out, lambda folder: _fill(folder, fit, boot, extra, sim.data, result),
                           {"kind": "csi demo results"}, overwrite=args.overwrite)  # fmt: skip
        what = "data.csv, the fit's tables" + (", the panel's results (panel/) and its report" if result else "")
        print(f"\nWrote {what} to {out}")
    print(f"\nNext: csi fit {DEMO_MODEL} your_survey.csv --bootstrap 5000 --seed 1 --out results/")
    return EXIT_OK


def _fill(folder: Path, fit: csi.FitResult, boot: csi.BootstrapResult | None, extra: dict[str, Any],
          data: Any, result: Any) -> dict[str, str]:  # fmt: skip
    """Every file of ``csi demo --out`` into the staged folder; returns what each file is."""
    kinds = fill_results(folder, fit, boot, index_or_note(fit), extra=extra)
    to_csv(data, folder / "data.csv")
    kinds["data.csv"] = "the simulated ECSI survey (CSV)"
    if result is not None:
        from csi.report import write_report

        panel = folder / "panel"
        panel.mkdir()
        seal(panel, result.manifest, result.fill(panel))
        write_report(result, folder / "report.html")
        kinds.update({f"panel/{k}": v["kind"] for k, v in read_manifest(panel)["files"].items()})
        kinds["panel/manifest.json"] = "the panel results' own manifest (JSON)"
        kinds["report.html"] = "HTML report of the panel (csi report panel/)"
    return kinds


def _panel_part(args: argparse.Namespace) -> Any:
    from csi.demo import compare_panel, demo_panel, run_demo_panel

    t0 = time.perf_counter()
    panel = demo_panel(args.companies, seed=args.seed)
    result = run_demo_panel(panel, args.panel_bootstrap, seed=args.seed)
    seconds = time.perf_counter() - t0
    cells = result.units["level"].eq("company").sum()
    print(section(
        "National panel (ACSI)",
        f"Simulated {args.companies} companies in {panel.data['industry'].nunique()} industries and "
        f"{panel.data['sector'].nunique()} sectors, 2 waves, {len(panel.data):,} respondents; fitted per company "
        f"and wave ({cells} cells), {args.panel_bootstrap} resamples each, aggregated with revenue and GDP-share "
        f"weights in {seconds:.1f} s.",
    ))  # fmt: skip
    table = compare_panel(result, panel)
    print(
        f"\nSAT index (0-100) of every industry, sector and the nation, {100 * result.manifest['options']['level']:g}% intervals:"
    )
    print(table.to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    change = result.changes.query("level == 'national' and construct == 'SAT'")
    for r in change.itertuples():
        verdict = "significant" if r.significant else "not significant"
        print(f"National SAT change, wave {r.wave_from} -> {r.wave_to}: {r.change:+.1f} "
              f"[{r.ci_lower:+.1f}, {r.ci_upper:+.1f}], p = {r.p_value:.3f} ({verdict})")  # fmt: skip
    return result
