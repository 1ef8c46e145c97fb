"""The ``csi`` command: fit, demo, simulate, models.

A thin front end (architecture principle 12): every number comes from the
public functions the tests cover (:func:`csi.fit`, :func:`csi.bootstrap`,
:func:`csi.compute_index`, :func:`csi.simulate`, :mod:`csi.demo`,
:func:`write_results`); this module only parses arguments,
formats text and turns input errors into one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

import csi
from csi.core.schemes import SCHEMES
from csi.data.io import read_data
from csi.data.prepare import MISSING_POLICIES
from csi.errors import CSIError, EstimationError, SpecError
from csi.resample.intervals import INTERVALS
from csi.results.export import write_results

EXIT_OK, EXIT_INPUT = 0, 2
PROG = "csi"
# csi.bootstrap runs no inner bootstrap, so studentized intervals are not offered.
CI_KINDS = [k for k in INTERVALS if k != "studentized"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other input error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _in_unit_interval(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


def _count(minimum: int) -> Any:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its "invalid <type> value" message
    return parse


def _formatter(width: int = 100) -> type[argparse.RawDescriptionHelpFormatter]:
    class Formatter(argparse.RawDescriptionHelpFormatter):
        def __init__(self, prog: str) -> None:
            super().__init__(prog, max_help_position=30, width=width)

    return Formatter


# --------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    fmt = _formatter()
    parser = _Parser(
        prog=PROG,
        description="Customer satisfaction indices (SCSB, ACSI, ECSI): PLS path models, bootstrap, 0-100 indices.",
        epilog="examples:\n  csi demo\n  csi fit ecsi survey.csv --bootstrap 5000 --seed 1 --out results/\n"
        "  csi models\n\nRun 'csi COMMAND --help' for the options of a command.",
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {csi.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "fit",
        help="fit a model to survey data",
        description="Fit a customer-satisfaction model by PLS path modelling and print its summary; "
        "optionally bootstrap it and write every table to a folder.",
        epilog="examples:\n  csi fit ecsi survey.csv\n"
        "  csi fit acsi survey.parquet --bootstrap 5000 --seed 1 --ci bca --out results/\n"
        '  csi fit my_model.lav survey.csv --items \'{"SAT": ["q1", "q2", "q3"]}\'\n\n'
        "With --out DIR: one CSV per table (estimates, outer_model, inner_model, effects, quality,\n"
        "cross_loadings, scores; index when every item has a scale; bootstrap and draws when\n"
        "bootstrapped) and results.json with the model, options, n, convergence, GoF and the tables.",
        formatter_class=fmt,
    )
    p.add_argument("model", metavar="MODEL", help=f"shipped model ({', '.join(csi.list_models())}), .toml file or "
                   "lavaan-style text file")  # fmt: skip
    p.add_argument("data", metavar="DATA", help="survey data: .csv or .parquet (.xlsx if pandas can read it)")
    p.add_argument("--scheme", choices=list(SCHEMES), default="path", help="inner weighting scheme (default: path)")
    p.add_argument("--unscaled", action="store_true", help="centre but do not standardise the items")
    p.add_argument("--missing", choices=list(MISSING_POLICIES), default="error",
                   help="missing-value policy (default: error)")  # fmt: skip
    p.add_argument("--items", metavar="JSON", help="bind the model to the data's columns: JSON text or a JSON file, "
                   "construct -> [columns] or item -> column")  # fmt: skip
    _bootstrap_options(p, default=0)
    p.add_argument("--ci", choices=CI_KINDS, default="percentile", help="bootstrap interval (default: percentile)")
    p.add_argument("--level", type=_in_unit_interval, default=0.95, help="confidence level (default: 0.95)")
    p.add_argument("--out", metavar="DIR", help="write every table as CSV plus results.json into DIR")
    p.set_defaults(run=cmd_fit)

    p = sub.add_parser(
        "demo",
        help="simulate ECSI survey data, fit it, compare with the truth",
        description="The built-in demo: draw an ECSI survey from a population whose indices and paths are known, "
        "fit the ECSI-7 model by PLS (path scheme) and show the 0-100 indices next to the population values.",
        epilog="examples:\n  csi demo\n  csi demo --n 1000 --bootstrap 2000 --seed 7\n  csi demo --out demo-results/",
        formatter_class=fmt,
    )
    p.add_argument("--n", type=_count(1), default=250, help="respondents to simulate (default: 250)")
    _bootstrap_options(p, default=0, seed=1)
    p.add_argument("--out", metavar="DIR", help="also write the data (data.csv) and every table into DIR")
    p.set_defaults(run=cmd_demo)

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
    p.add_argument("--n", type=_count(1), required=True, help="respondents")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: fresh, printed)")
    p.add_argument("--paths", metavar="JSON", help='population path values, JSON text or file: {"SAT ~ QUAL": 0.3}')
    p.add_argument("--out", metavar="FILE", required=True, help="CSV file to write")
    p.set_defaults(run=cmd_simulate)

    p = sub.add_parser("models", help="list the shipped models", description="List the shipped models.",
                       epilog="example:\n  csi models", formatter_class=fmt)  # fmt: skip
    p.set_defaults(run=cmd_models)
    return parser


def _bootstrap_options(p: argparse.ArgumentParser, default: int, seed: int | None = None) -> None:
    p.add_argument("--bootstrap", type=_count(0), default=default, metavar="N",
                   help="bootstrap resamples (default: 0, no bootstrap)")  # fmt: skip
    p.add_argument(
        "--seed", type=int, default=seed, help=f"random seed (default: {seed if seed is not None else 'fresh'})"
    )


# ------------------------------------------------------------------- helpers
def _json_arg(text: str, what: str) -> Any:
    """JSON given inline or as a file name."""
    path = Path(text)
    if not text.lstrip().startswith(("{", "[")) and path.is_file():
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"{what}: not valid JSON and not a file ({e.msg} at character {e.pos})") from e


def _table(df: pd.DataFrame, digits: int = 3) -> str:
    return df.to_string(float_format=lambda x: f"{x:.{digits}f}", na_rep="")


def _section(title: str, body: str) -> str:
    return f"\n{title}\n{'=' * len(title)}\n{body}"


def _has_scales(spec: csi.ModelSpec) -> bool:
    return all(i.has_scale for i in spec.items)


def _index_or_note(fit: csi.FitResult) -> pd.Series | None:
    """The 0-100 indices, or None with a note when a block's weights make them meaningless."""
    if not _has_scales(fit.spec):
        return None
    try:
        return csi.compute_index(fit)
    except EstimationError as e:
        print(f"{PROG}: note: no 0-100 index: {e}", file=sys.stderr)
        return None


def _bootstrap(fit: csi.FitResult, n: int, seed: int | None, **options: Any) -> tuple[csi.BootstrapResult, float]:
    t0 = time.perf_counter()
    boot = csi.bootstrap(fit, n, seed=seed, **options)
    return boot, time.perf_counter() - t0


def _boot_line(boot: csi.BootstrapResult, seconds: float) -> str:
    failed = f", {boot.n_failed} failed" if boot.n_failed else ""
    return (f"Bootstrap: {boot.n_resamples} resamples in {seconds:.2f} s (seed {boot.plan.get('seed_entropy')}"
            f"{failed}); {boot.ci} {100 * boot.level:g}% intervals")  # fmt: skip


# ------------------------------------------------------------------ commands
def cmd_fit(args: argparse.Namespace) -> int:
    """``csi fit``: fit, print, optionally bootstrap and write."""
    items = _json_arg(args.items, "--items") if args.items else None
    spec = csi.load_model(args.model, items=items)
    data = read_data(args.data)
    fit = csi.fit(spec, data, scheme=args.scheme, scaled=not args.unscaled, missing=args.missing)
    print(fit.summary())
    index = _index_or_note(fit)
    if index is not None:
        table = pd.DataFrame({"label": [c.label for c in spec.constructs], "index": index})
        print(_section("Indices (0-100)", _table(table, 1)))
    boot = None
    if args.bootstrap:
        boot, seconds = _bootstrap(fit, args.bootstrap, args.seed, ci=args.ci, level=args.level)
        print(_section("Bootstrap", _boot_line(boot, seconds) + "\n\n" + boot.summary()))
    if args.out:
        extra = {"command": {"model": args.model, "data": Path(args.data).name, "bootstrap": args.bootstrap,
                             "seed": args.seed, "ci": args.ci, "level": args.level}}  # fmt: skip
        files = write_results(args.out, fit, boot, index, extra=extra)
        print(f"\nWrote {len(files)} files to {args.out}: {', '.join(f.name for f in files)}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """``csi demo``: simulate ECSI data, fit, compare with the population."""
    from csi.demo import DEMO_MODEL, compare_index, compare_paths, demo_data

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
        boot, seconds = _bootstrap(fit, args.bootstrap, args.seed)
    index = compare_index(fit, sim, boot)
    paths = compare_paths(fit, sim, boot)
    ci_note = "" if boot is None else f"; {100 * boot.level:g}% {boot.ci} bootstrap intervals"
    print(_section("Path coefficients", _table(paths, 3)))
    print("PLS composites carry measurement error, so under this common-factor population the paths\n"
          "are expected to be somewhat attenuated relative to the population values.")  # fmt: skip
    print(_section("Customer satisfaction indices (0-100)", _table(index, 1)))
    print(f"estimate: this sample; population: the true index of the simulated population{ci_note}")
    print(f"\nFit: {fit_seconds * 1e3:.1f} ms." + (f" {_boot_line(boot, seconds)}." if boot is not None else ""))
    if args.out:
        out = Path(args.out)
        files = write_results(out, fit, boot, _index_or_note(fit),
                                                 extra={"command": {"demo": DEMO_MODEL, "n": args.n,
                                                                    "seed": args.seed, "bootstrap": args.bootstrap}})  # fmt: skip
        sim.data.to_csv(out / "data.csv", index=False)
        print(f"Wrote data.csv and {len(files)} result files to {out}")
    print(f"\nNext: csi fit {DEMO_MODEL} your_survey.csv --bootstrap 5000 --seed 1 --out results/")
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    """``csi simulate``: write simulated survey data as CSV."""
    paths = _json_arg(args.paths, "--paths") if args.paths else None
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


def cmd_models(args: argparse.Namespace) -> int:
    """``csi models``: the shipped models with their sizes."""
    rows = []
    for key in csi.list_models():
        spec = csi.load_model(key)
        rows.append((key, spec.name, len(spec.constructs), len(spec.item_names), len(spec.paths), spec.label))
    table = pd.DataFrame(rows, columns=["MODEL", "name", "constructs", "items", "paths", "description"])
    print(table.to_string(index=False))
    return EXIT_OK


# ---------------------------------------------------------------------- main
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
