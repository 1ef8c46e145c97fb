"""Speed of this checkout against an earlier commit, side by side in one run.

Run from the repository root: ``PYTHONPATH=. python benchmarks/compare_commits.py --base REF``
(``--quick`` for small sizes).  The base commit is checked out into a temporary
git worktree; each case (one ECSI fit, an ECSI bootstrap, a small national
panel) runs in a fresh interpreter per tree, the two trees alternating round by
round so that load on the machine hits both alike.  Each round reports the
median of several timed calls after a warm-up (numba compilation and caches are
outside the timing); the table gives the median over rounds and the ratio
``new / old`` (below 1 is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))

from _common import print_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

CASE_CODE = r"""
import json, sys, time
import csi
from csi.bench.speed import median_seconds

case, quick, root = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
# Models from the tree's own files: an installed csi would otherwise serve its own version of the shipped models.
spec = csi.load_model(root + "/models/ecsi.toml")
if case == "fit":
    data = csi.simulate(spec, 250, seed=1).data
    seconds = median_seconds(lambda: csi.fit(spec, data), 20 if quick else 200)
elif case == "bootstrap":
    fit = csi.fit(spec, csi.simulate(spec, 250, seed=1).data)
    B = 500 if quick else 5000
    csi.bootstrap(fit, 200, seed=1, progress=False)
    seconds = median_seconds(lambda: csi.bootstrap(fit, B, seed=1, progress=False), 3 if quick else 7)
elif case == "index":
    companies = 6 if quick else 40
    acsi = csi.load_model(root + "/models/acsi.toml")
    panel = csi.simulate_panel(acsi, companies=companies, respondents=200, waves=2, seed=1)
    opts = dict(company="company", wave="wave", industry="industry", sector="sector",
                unit_weights=panel.unit_weights, n_resamples=100 if quick else 500, seed=1, n_jobs=2)
    csi.index_panel(panel.data, acsi, **{**opts, "n_resamples": 20, "national_resamples": 20})
    seconds = median_seconds(lambda: csi.index_panel(panel.data, acsi, **opts), 1 if quick else 3)
else:
    raise SystemExit(f"unknown case {case!r}")
print(json.dumps({"seconds": seconds}))
"""

CASES = {
    "fit": "csi.fit, ECSI-7, n = 250 (median of 200)",
    "bootstrap": "csi.bootstrap, ECSI-7, n = 250, B = 5,000 (median of 7)",
    "index": "csi.index_panel, ACSI, 40 companies x 200 x 2 waves, B = 500, 2 jobs",
}


def time_case(tree: Path, case: str, quick: bool) -> float:
    """Seconds of one round of ``case`` in a fresh interpreter importing csi from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", CASE_CODE, case, "1" if quick else "0", str(tree)],
        cwd=tree, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{case} failed in {tree}:\n{out.stderr.strip()}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the commit to compare with (any git revision)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per case (median reported)")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = ap.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; accepted: {', '.join(CASES)}")
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(old), args.base], cwd=ROOT, check=True)
        try:
            rows = []
            for case in cases:
                times: dict[str, list[float]] = {"old": [], "new": []}
                for _ in range(args.rounds):
                    times["old"].append(time_case(old, case, args.quick))
                    times["new"].append(time_case(ROOT, case, args.quick))
                t_old, t_new = statistics.median(times["old"]), statistics.median(times["new"])
                rows.append([case, CASES[case], f"{t_old:.6f}", f"{t_new:.6f}", f"{t_new / t_old:.3f}"])
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    sizes = "smaller sizes than listed (--quick)" if args.quick else "sizes as listed"
    print(f"base {args.base} vs this checkout; {args.rounds} alternating round(s) per case, {os.cpu_count()} CPUs, "
          f"{sizes}")  # fmt: skip
    print_table(["case", "what", "old s", "new s", "new/old"], rows, text=("what",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
