"""Monte-Carlo benchmark of the estimators (PLS, PLSc, CB-SEM, PCA, sum scores) on ECSI and ACSI populations.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_estimators.py --out bench-out``
(``--quick`` for a smoke size).  A thin wrapper of :mod:`csi.bench.montecarlo`
(the same study as ``csi bench estimators``): writes raw and summary CSVs, a
headline table and a plot into ``--out`` and prints the headline table.
"""

from __future__ import annotations

import sys

from csi.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "estimators", *sys.argv[1:]]))
