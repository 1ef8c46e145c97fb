"""Peak memory of a single ECSI-7 fit and of its bootstrap on a very large survey.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_memory.py``
(``--quick`` for a small size).  Each case runs in its own Python process, so
one case's peak cannot hide another's: the child loads the survey from a
temporary ``.npy`` file the parent wrote once, warms up, reads its resident
memory, resets the kernel's peak counter (``/proc/self/clear_refs``, Linux;
elsewhere the peak so far, ``ru_maxrss``, is used), runs the case and reads the
peak (``VmHWM``).  The table shows both figures, the increase, and the increase
in units of the data's size (the n x p float64 item matrix, what ``csi.fit``
works on).  The replicate moments a
bootstrap must hold, ``B (1 + p + p (p + 1) / 2)`` float64, are printed too.
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
from _common import peak_rss_mib, print_table  # noqa: E402

CASES = ("fit", "bootstrap")


def _status_mib(key: str) -> float | None:
    """A ``/proc/self/status`` figure (``VmRSS``, ``VmHWM``) in MiB, or None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> float:
    """Resident memory now (MiB), after resetting the peak counter where the kernel allows it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        now = _status_mib("VmRSS")
        if now is not None:
            return now
    except OSError:
        pass
    return peak_rss_mib()


def _peak() -> float:
    hwm = _status_mib("VmHWM")
    return hwm if hwm is not None else peak_rss_mib()


def _child(case: str, path: str, n_resamples: int) -> None:
    """Run one case on the saved survey and print a JSON line with the peaks (MiB)."""
    import pandas as pd

    import csi

    spec = csi.load_model("ecsi")
    X = np.load(path)
    data = pd.DataFrame(X, columns=list(spec.item_names), copy=False)
    csi.fit(spec, data.iloc[:500])  # imports, compiled kernels and allocator warm-up outside the measured step
    if case == "bootstrap":
        fit = csi.fit(spec, data)
        csi.bootstrap(fit, 2, seed=1, progress=False)  # warm-up: the compiled kernels, the thread pool
    before = _reset_peak()
    fit = csi.fit(spec, data)
    if case == "bootstrap":
        csi.bootstrap(fit, n_resamples, seed=1, progress=False)
    print(json.dumps({"case": case, "before": before, "after": _peak()}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small size (smoke test)")
    parser.add_argument("--n", type=int, default=1_000_000, help="respondents")
    parser.add_argument("--resamples", type=int, default=200, help="bootstrap resamples B")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], args.resamples)
        return 0
    if args.quick:
        args.n, args.resamples = 20_000, 20

    import csi
    from csi.demo import demo_data

    spec = csi.load_model("ecsi")
    X = demo_data(args.n, seed=2).data[list(spec.item_names)].to_numpy(dtype=np.float64)
    n, p = X.shape
    data_mib = X.nbytes / 2**20
    moments_mib = args.resamples * (1 + p + p * (p + 1) // 2) * 8 / 2**20
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "items.npy")
        np.save(path, X)
        del X
        for case in CASES:
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])),
            }
            proc = subprocess.run(
                [sys.executable, __file__, "--child", case, path, "--resamples", str(args.resamples)],
                capture_output=True, text=True, env=env, check=False,
            )  # fmt: skip
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            extra = r["after"] - r["before"]
            rows.append([case, f"{r['before']:.0f}", f"{r['after']:.0f}", f"{extra:.0f}", f"{extra / data_mib:.2f}"])
    print(f"csi {csi.__version__}, numpy {np.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs; "
          f"ECSI-7, n = {n:,}, p = {p}, B = {args.resamples}")  # fmt: skip
    print(
        f"data (n x p float64): {data_mib:.1f} MiB; replicate moments (B x (1 + p + p(p+1)/2)): {moments_mib:.1f} MiB"
    )
    print_table(["case", "resident before MiB", "peak during MiB", "increase MiB", "increase / data"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
