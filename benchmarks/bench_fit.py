"""Timing of single ECSI-7 PLS fits: a typical survey (n = 250) and a very large one.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_fit.py``
(``--quick`` for small sizes).  Data come from :func:`csi.demo.demo_data`; the
simulation time of the large sample is reported separately from its fit.  A fit
builds its labelled tables (weights, paths, scores, ...) when they are first
read, so "fit + its tables" also times reading each of them once.

``--peer-python PY`` also times plspm-python (the ``plspm`` package on PyPI,
0.5.x) on the same n = 250 data in the interpreter ``PY`` and prints the ratio.
plspm 0.5.7 fails under pandas 3, so give it a virtual environment of its own,
e.g. ``python -m venv peer && peer/bin/pip install "pandas<3" plspm``.  Its
estimates are printed beside csi's for information only: csi's reference for
PLS is R plspm (tests/test_plspm_parity.py and tests/reference/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
from _common import median_seconds, once_seconds, peak_rss_mib, print_table  # noqa: E402

import csi  # noqa: E402
from csi.demo import demo_data  # noqa: E402

PEER = """
import json, sys, time
import pandas as pd
import plspm.config as c
from plspm.mode import Mode
from plspm.plspm import Plspm
from plspm.scheme import Scheme
data = pd.read_csv(sys.argv[1]); blocks = json.loads(sys.argv[2]); paths = json.loads(sys.argv[3])
inner = pd.DataFrame(0, index=list(blocks), columns=list(blocks))
for source, target in paths:
    inner.loc[target, source] = 1
config = c.Config(inner, scaled=True)
for lv, items in blocks.items():
    config.add_lv(lv, Mode.A, *[c.MV(i) for i in items])
fit = Plspm(data, config, Scheme.PATH)
times = []
for _ in range(int(sys.argv[4])):
    t = time.perf_counter()
    Plspm(data, config, Scheme.PATH)
    times.append(time.perf_counter() - t)
coef = fit.path_coefficients()
print(json.dumps({"seconds": sorted(times)[len(times) // 2], "paths": [coef.loc[t, s] for s, t in paths]}))
"""


TARGET_SECONDS, TARGET_RATIO = 1e-3, 100
"""Single-fit speed target (issue 11): one ECSI fit at n = 250 in at most 1 ms, at least 100x plspm-python."""


ESTIMATE_TABLES = ("weights", "loadings", "cross_loadings", "paths", "construct_correlations", "total_effects",
                   "scores", "item_means", "item_sds", "block_quality")  # fmt: skip
"""The fit's own tables, each built on its first read (the derived ones, ``estimates``, ``quality``, ...,
always were)."""


def read_estimate_tables(fit: csi.FitResult) -> None:
    """Read every table of :data:`ESTIMATE_TABLES` once."""
    for name in ESTIMATE_TABLES:
        getattr(fit, name)


def peer_seconds(python: str, spec: csi.ModelSpec, data: object, repeat: int) -> tuple[float, np.ndarray]:
    """Median seconds of one plspm-python fit (path scheme, scaled, mode A) run by ``python``, and its paths."""
    blocks = {c.name: [i.name for i in c.items] for c in spec.constructs}
    paths = [(p.source, p.target) for p in spec.paths]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.csv")
        data.to_csv(path, index=False)
        args = [python, "-c", PEER, path, json.dumps(blocks), json.dumps(paths), str(repeat)]
        done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"plspm-python failed in {python}: {done.stderr.strip().splitlines()[-1:]}")
    got = json.loads(done.stdout)
    return got["seconds"], np.array(got["paths"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--n-small", type=int, default=250, help="respondents of the typical survey")
    parser.add_argument("--n-large", type=int, default=1_000_000, help="respondents of the large survey")
    parser.add_argument("--repeat", type=int, default=200, help="repeats of the small fit (median reported)")
    parser.add_argument("--peer-python", help="a Python interpreter with plspm-python installed, timed side by side")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_large, args.repeat = 20_000, 10

    spec = csi.load_model("ecsi")
    small = demo_data(args.n_small, seed=1).data
    t_small = median_seconds(lambda: csi.fit(spec, small), args.repeat)
    t_tables = median_seconds(lambda: read_estimate_tables(csi.fit(spec, small)), args.repeat)
    t_sim, sim = once_seconds(lambda: demo_data(args.n_large, seed=2))
    csi.fit(spec, sim.data.iloc[:1000])  # warm-up outside the timed call
    t_large, fit = once_seconds(lambda: csi.fit(spec, sim.data))

    print(f"csi {csi.__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, ECSI-7 (24 items, 7 constructs), path scheme")  # fmt: skip
    print_table(
        ["what", "n", "seconds", "note"],
        [
            ["fit", f"{args.n_small:,}", f"{t_small:.5f}", f"median of {args.repeat}"],
            ["fit + its tables", f"{args.n_small:,}", f"{t_tables:.5f}", "each read once (built on first read)"],
            ["simulate", f"{args.n_large:,}", f"{t_sim:.3f}", "csi.demo.demo_data, not part of the fit"],
            ["fit", f"{args.n_large:,}", f"{t_large:.3f}", f"one run, {fit.iterations} iterations"],
        ],
        text=("what", "note"),
    )
    print(f"peak memory (ru_maxrss): {peak_rss_mib():.0f} MiB; load average {os.getloadavg()[0]:.2f}")
    if args.peer_python:
        t_peer, peer_paths = peer_seconds(args.peer_python, spec, small, max(3, args.repeat // 20))
        ours = csi.fit(spec, small).paths
        gap = np.max(np.abs(peer_paths - [ours.loc[p.target, p.source] for p in spec.paths]))
        print(f"plspm-python: {t_peer:.4f} s per fit (n = {args.n_small:,}); csi is {t_peer / t_small:.0f}x faster; "
              f"largest path difference {gap:.4f}")  # fmt: skip
        met = t_small <= TARGET_SECONDS and t_peer / t_small >= TARGET_RATIO
        print(f"target (<= {TARGET_SECONDS * 1e3:g} ms per fit and >= {TARGET_RATIO}x plspm-python): "
              f"{'met' if met else 'NOT met'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
