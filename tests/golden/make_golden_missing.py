"""Golden tables of the missing-data methods: fits, bootstraps and a panel on data with missing answers.

Companion of ``make_golden.py`` (same storage and comparison, files under ``missing/``) for the paths the
missing-data methods take through the estimators and the resampling: ``em`` and ``pairwise`` fits of every
composite estimator, bootstraps whose replicates re-run EM or the pairwise moments
(``csi.estimators.missing.replicate_moments``), their BCa jackknife, ``mi`` fits and a panel with missing
answers under the default ``em``.  Run ``python tests/golden/make_golden_missing.py`` from the repository root
to (re)write the files; regenerate only when a change of numbers is intended.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_golden  # noqa: E402

import csi  # noqa: E402

OUT = HERE / "missing"
Tables = make_golden.Tables


def incomplete() -> tuple[csi.ModelSpec, pd.DataFrame]:
    """ECSI-6 and the satisfaction data with 304 missing cells (tests/reference/README.md §8)."""
    spec, _ = make_golden.satisfaction()
    return spec, pd.read_csv(make_golden.REFERENCE / "ecsi_satisfaction_missing.csv", index_col=0)


def runs() -> Iterator[tuple[str, Callable[[], Tables]]]:
    """(name, thunk) of every golden run with missing answers."""
    spec, data = incomplete()
    fit_tables, boot_tables = make_golden.fit_tables, make_golden.boot_tables
    for missing in ("em", "pairwise", "listwise", "mean"):
        yield f"fit_pls_{missing}", lambda m=missing: fit_tables(csi.fit(spec, data, missing=m))
    for method in ("plsc", "sumscore", "pca"):
        yield f"fit_{method}_em", lambda m=method: fit_tables(csi.fit(spec, data, method=m, missing="em"))
    yield "fit_pls_mi", lambda: fit_tables(csi.fit(spec, data, missing="mi", imputations=5, mi_seed=31))
    yield "boot_pls_em", lambda: _boot(csi.bootstrap(csi.fit(spec, data), 60, seed=32, n_jobs=2),
                                       ("percentile", "basic", "bca"))  # fmt: skip
    yield (
        "boot_pls_pairwise",
        lambda: _boot(
            csi.bootstrap(csi.fit(spec, data, missing="pairwise"), 60, seed=33, n_jobs=1), ("percentile", "normal")
        ),
    )
    yield (
        "boot_plsc_em",
        lambda: boot_tables(csi.bootstrap(csi.fit(spec, data, method="plsc"), 40, seed=34), ("percentile",)),
    )
    yield (
        "boot_pls_em_strata",
        lambda: boot_tables(
            csi.bootstrap(csi.fit(spec, data), 40, seed=35, strata=data["gender"].to_numpy()), ("percentile",)
        ),
    )
    yield (
        "boot_pls_listwise",
        lambda: boot_tables(csi.bootstrap(csi.fit(spec, data, missing="listwise"), 60, seed=36), ("percentile",)),
    )
    yield "panel_em", lambda: _panel(False)
    yield "panel_em_pooled", lambda: _panel(True)


def _boot(boot: object, cis: tuple[str, ...]) -> Tables:
    out = make_golden.boot_tables(boot, cis)
    out["indirect_effects"] = boot.indirect_effects
    return out


def _panel(pooled: bool) -> Tables:
    sim = csi.simulate_panel("ecsi", companies=4, respondents=80, waves=2, seed=37)  # EM needs n well above 24 items
    data = sim.data.copy()
    items = list(sim.spec.item_names)
    values = data[items].to_numpy(dtype=float, copy=True)
    values[np.random.default_rng(38).random(values.shape) < 0.05] = np.nan
    data[items] = values
    res = csi.index_panel(
        data, sim.spec, company="company", wave="wave", industry="industry", sector="sector",
        unit_weights=sim.unit_weights, min_n=30, n_resamples=10, seed=39, pooled=pooled,
    )  # fmt: skip
    return dict(res.tables())


def compute(name: str) -> dict[str, np.ndarray]:
    """The flattened tables of run ``name``, warnings silenced (they are not compared)."""
    thunk = dict(runs())[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_golden.flatten(thunk())


def main(argv: list[str]) -> None:
    OUT.mkdir(exist_ok=True)
    names = argv or [name for name, _ in runs()]
    for name in names:
        arrays = compute(name)
        np.savez_compressed(OUT / f"{name}.npz", **arrays)
        print(f"{name}: {len(arrays)} arrays")


if __name__ == "__main__":
    main(sys.argv[1:])
