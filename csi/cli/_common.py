"""Shared pieces of the ``csi`` subcommands: the parser class, argument types, text helpers."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

import csi
from csi.data.prepare import DEFAULT_MISSING
from csi.errors import EstimationError, SpecError
from csi.resample.intervals import INTERVALS

EXIT_OK, EXIT_INPUT = 0, 2
PROG = "csi"
MISSING_HELP = (
    f"missing answers (default: {DEFAULT_MISSING}): em = EM means and covariances (valid under MAR), mi = multiple "
    "imputation (no bootstrap), pairwise, listwise, mean, error"
)
# csi.bootstrap runs no inner bootstrap, so studentized intervals are not offered.
CI_KINDS = [k for k in INTERVALS if k != "studentized"]


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other input error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def in_unit_interval(text: str) -> float:
    """Argument type: a float strictly between 0 and 1."""
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


def count(minimum: int) -> Any:
    """Argument type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its "invalid <type> value" message
    return parse


def formatter(width: int = 100) -> type[argparse.RawDescriptionHelpFormatter]:
    """A help formatter that keeps the examples' line breaks."""

    class Formatter(argparse.RawDescriptionHelpFormatter):
        def __init__(self, prog: str) -> None:
            super().__init__(prog, max_help_position=30, width=width)

    return Formatter


def bootstrap_options(p: argparse.ArgumentParser, default: int, seed: int | None = None) -> None:
    """``--bootstrap N`` and ``--seed S``."""
    p.add_argument("--bootstrap", type=count(0), default=default, metavar="N",
                   help="bootstrap resamples (default: 0, no bootstrap)")  # fmt: skip
    p.add_argument(
        "--seed", type=int, default=seed, help=f"random seed (default: {seed if seed is not None else 'fresh'})"
    )


def scheduler_option(p: argparse.ArgumentParser, default: str | None = "processes", jobs: bool = True) -> None:
    """``--scheduler``: where the work runs (:func:`csi.resample.scheduler.resolve_scheduler`)."""
    size = " of --jobs workers" if jobs else ""
    p.add_argument("--scheduler", default=default, metavar="WHERE",
                   help=f"where the work runs: {default or 'the estimator default'} (default), serial, threads, "
                   f"processes, dask (a Dask LocalCluster{size}, every core by default; prints the dashboard link) "
                   "or the address of a running Dask scheduler, e.g. tcp://HOST:8786")  # fmt: skip


def jobs_of(args: argparse.Namespace, default: int | None = 1) -> int | None:
    """``--jobs`` as given, else ``default``, or every core (None) for a Dask LocalCluster."""
    if args.jobs is not None:
        return int(args.jobs)
    return None if args.scheduler == "dask" else default


def json_arg(text: str, what: str) -> Any:
    """JSON given inline or as a file name."""
    path = Path(text)
    if not text.lstrip().startswith(("{", "[")) and path.is_file():
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"{what}: not valid JSON and not a file ({e.msg} at character {e.pos})") from e


def table(df: pd.DataFrame, digits: int = 3) -> str:
    """A frame as fixed-precision text."""
    return df.to_string(float_format=lambda x: f"{x:.{digits}f}", na_rep="")


def section(title: str, body: str) -> str:
    """A titled, underlined block of text."""
    return f"\n{title}\n{'=' * len(title)}\n{body}"


def has_scales(spec: csi.ModelSpec) -> bool:
    """Whether every item declares its scale, so 0-100 indices exist."""
    return all(i.has_scale for i in spec.items)


def index_or_note(fit: csi.FitResult) -> pd.Series | None:
    """The 0-100 indices, or None with a note when a block's weights make them meaningless."""
    if not has_scales(fit.spec):
        return None
    try:
        return csi.compute_index(fit)
    except EstimationError as e:
        print(f"{PROG}: note: no 0-100 index: {e}", file=sys.stderr)
        return None


def run_bootstrap(fit: csi.FitResult, n: int, seed: int | None, **options: Any) -> tuple[csi.BootstrapResult, float]:
    """Bootstrap ``fit`` and time it."""
    t0 = time.perf_counter()
    boot = csi.bootstrap(fit, n, seed=seed, **options)
    return boot, time.perf_counter() - t0


def boot_line(boot: csi.BootstrapResult, seconds: float) -> str:
    """One line describing a bootstrap run."""
    failed = f", {boot.n_failed} failed" if boot.n_failed else ""
    return (f"Bootstrap: {boot.n_resamples} resamples in {seconds:.2f} s (seed {boot.plan.get('seed_entropy')}"
            f"{failed}); {boot.ci} {100 * boot.level:g}% intervals")  # fmt: skip
