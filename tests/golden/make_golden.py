"""Golden tables: every table of a fixed set of fits, bootstraps and panel runs, stored to compare refactors.

Run from the repository root, ``python tests/golden/make_golden.py``, to (re)write one compressed
``<run>.npz`` per run next to this file.  :mod:`tests.test_golden` recomputes every run and compares it
with these files: integers, booleans and strings exactly, floats within 1e-12 (relative to ``max(1, |x|)``:
the tables hold numbers up to a few hundred, e.g. chi-square and 0-100 indices) and NaN in the same places.
Regenerate only when a change of numbers is intended, and say why in the commit.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "reference"

import csi  # noqa: E402
from csi.bench.resample import bootstrap_paths_index  # noqa: E402
from csi.quality.htmt_inference import htmt_bootstrap  # noqa: E402

Tables = dict[str, object]

SAT_BLOCKS = [("IMAG", "imag", 5), ("EXPE", "expe", 5), ("QUAL", "qual", 5), ("VAL", "val", 4), ("SAT", "sat", 4),
              ("LOY", "loy", 4)]  # fmt: skip
SAT_PATHS = ["EXPE ~ IMAG", "QUAL ~ EXPE", "VAL ~ EXPE + QUAL", "SAT ~ IMAG + EXPE + QUAL + VAL", "LOY ~ IMAG + SAT"]


def satisfaction() -> tuple[csi.ModelSpec, pd.DataFrame]:
    """The ECSI-6 model and the 250 x 28 plspm satisfaction data (tests/reference/README.md §1)."""
    data = pd.read_csv(REFERENCE / "ecsi_satisfaction.csv", index_col=0)
    text = "\n".join(
        [f"{name} =~ " + " + ".join(f"{stem}{i}" for i in range(1, k + 1)) for name, stem, k in SAT_BLOCKS] + SAT_PATHS
    )
    spec = csi.load_model(text)
    items = [csi.Item(i.name, 0, 10) for c in spec.constructs for i in c.items]
    constructs, k = [], 0
    for c in spec.constructs:
        constructs.append(csi.Construct(c.name, tuple(items[k : k + len(c.items)]), mode=c.mode))
        k += len(c.items)
    return csi.ModelSpec("ECSI-6 satisfaction", tuple(constructs), spec.paths, target="SAT"), data


def fit_tables(fit: csi.FitResult) -> Tables:
    out: Tables = {f"table.{k}": v for k, v in fit.tables().items()}
    for name in ("weights", "loadings", "cross_loadings", "paths", "construct_correlations", "total_effects", "r2",
                 "r2_adj", "item_means", "item_sds", "block_quality", "rho_a", "fit_measures", "moments"):  # fmt: skip
        value = getattr(fit, name)
        if value is not None:
            out[name] = value
    out["scalars"] = pd.Series(
        {"n": fit.n, "iterations": fit.iterations, "converged": fit.converged, "admissible": fit.admissible,
         "gof": fit.gof}  # fmt: skip
    )
    try:
        out["index"] = csi.compute_index(fit, negative="force")
    except csi.CSIError as e:
        out["index_error"] = pd.Series([str(e)])
    out["impacts"] = csi.impacts(fit, negative="force")
    return out


def boot_tables(boot: object, cis: tuple[str, ...]) -> Tables:
    out: Tables = {"draws": boot.draws}
    if boot.se_draws is not None:
        out["se_draws"] = boot.se_draws
    out["counts"] = pd.Series({"n_not_converged": boot.n_not_converged, "n_singular": boot.n_singular,
                               "n_failed": boot.n_failed})  # fmt: skip
    for ci in cis:
        out[f"estimates.{ci}"] = boot.with_ci(ci).estimates
    return out


def runs() -> Iterator[tuple[str, Callable[[], Tables]]]:
    """(name, thunk) of every golden run."""
    spec, data = satisfaction()
    for scheme in ("path", "centroid", "factorial"):
        for scaled in (True, False):
            yield f"fit_pls_{scheme}_{'scaled' if scaled else 'unscaled'}", lambda s=scheme, c=scaled: fit_tables(
                csi.fit(spec, data, scheme=s, scaled=c)
            )
    yield "fit_pls_plspm_majority", lambda: fit_tables(
        csi.fit(spec, data, scheme="centroid", scaled=False, stop="plspm", tol=1e-6, max_iter=100, sign_rule="majority")
    )
    yield "fit_pls_weighted", lambda: fit_tables(csi.fit(spec, data, weights=np.linspace(0.5, 1.5, len(data))))
    for method in ("plsc", "cbsem", "sumscore", "pca"):
        yield f"fit_{method}", lambda m=method: fit_tables(csi.fit(spec, data, method=m))
    yield "fit_sumscore_unscaled", lambda: fit_tables(csi.fit(spec, data, method="sumscore", scaled=False))
    yield "assess_pls", lambda: {k: v for k, v in csi.assess(csi.fit(spec, data)).tables().items()}

    every = ("percentile", "basic", "normal", "bc", "bca")
    yield "boot_pls", lambda: boot_tables(csi.bootstrap(csi.fit(spec, data), 200, seed=11, n_jobs=2), every)
    yield "boot_pls_unscaled_centroid", lambda: boot_tables(
        csi.bootstrap(csi.fit(spec, data, scheme="centroid", scaled=False), 130, seed=12, n_jobs=1), every
    )
    yield "boot_pls_numpy_engine", lambda: _numpy_engine(spec, data)
    yield "boot_pls_sign_individual", lambda: boot_tables(
        csi.bootstrap(csi.fit(spec, data), 100, seed=13, sign_change="individual"), ("percentile",)
    )
    yield "boot_pls_sign_construct", lambda: boot_tables(
        csi.bootstrap(csi.fit(spec, data), 100, seed=13, sign_change="construct"), ("percentile", "bca")
    )
    yield "boot_pls_strata", lambda: boot_tables(
        csi.bootstrap(csi.fit(spec, data), 100, seed=14, strata=data["gender"].to_numpy()), ("percentile",)
    )
    yield "boot_pls_indices", lambda: boot_tables(
        csi.bootstrap(csi.fit(spec, data), indices=np.random.default_rng(5).integers(0, 250, (70, 250))),
        ("percentile", "basic"),
    )
    yield "boot_pls_studentized", lambda: boot_tables(
        csi.bootstrap(csi.fit(spec, data), 40, seed=15, ci="studentized", inner_resamples=25), ("studentized",)
    )
    yield "boot_plsc", lambda: boot_tables(csi.bootstrap(csi.fit(spec, data, method="plsc"), 100, seed=16), every)
    yield "boot_plsc_studentized", lambda: boot_tables(
        csi.bootstrap(csi.fit(spec, data, method="plsc"), 20, seed=17, inner_resamples=25), ("studentized",)
    )
    # CB-SEM replicates cost a Fisher-scoring batch each: one block of 20, no BCa (its jackknife is n refits).
    yield "boot_cbsem", lambda: boot_tables(
        csi.bootstrap(csi.fit(spec, data, method="cbsem"), 20, seed=18, n_jobs=1), every[:-1]
    )
    yield "htmt_bootstrap", lambda: _htmt(spec, data)
    yield "bench_resample", lambda: _bench_resample(spec, data)
    yield "panel", lambda: _panel(False)
    yield "panel_pooled", lambda: _panel(True)


def _numpy_engine(spec: csi.ModelSpec, data: pd.DataFrame) -> Tables:
    old = os.environ.get("CSI_BOOTSTRAP_ENGINE")
    os.environ["CSI_BOOTSTRAP_ENGINE"] = "numpy"
    try:
        return boot_tables(csi.bootstrap(csi.fit(spec, data), 100, seed=11, n_jobs=2), ("percentile", "bca"))
    finally:
        if old is None:
            del os.environ["CSI_BOOTSTRAP_ENGINE"]
        else:
            os.environ["CSI_BOOTSTRAP_ENGINE"] = old


def _htmt(spec: csi.ModelSpec, data: pd.DataFrame) -> Tables:
    h = htmt_bootstrap(csi.fit(spec, data), 150, seed=19)
    s = htmt_bootstrap(csi.fit(spec, data), 70, seed=20, strata=data["gender"].to_numpy(), chunk_size=30)
    return {"table": h.table, "draws": h.draws, "strata.table": s.table, "strata.draws": s.draws}


def _bench_resample(spec: csi.ModelSpec, data: pd.DataFrame) -> Tables:
    out: Tables = {}
    for method in ("pls", "plsc", "sumscore", "pca", "cbsem"):
        paths, index = bootstrap_paths_index(csi.fit(spec, data, method=method), 20 if method == "cbsem" else 70, 21)
        out[f"{method}.paths"], out[f"{method}.index"] = paths, index
    return out


def _panel(pooled: bool) -> Tables:
    sim = csi.simulate_panel("ecsi", companies=20, respondents=60, waves=2, seed=22)
    res = csi.index_panel(
        sim.data, sim.spec, company="company", wave="wave", industry="industry", sector="sector",
        unit_weights=sim.unit_weights, min_n=30, n_resamples=40, seed=23, pooled=pooled,
    )  # fmt: skip
    return dict(res.tables())


def flatten(tables: Tables) -> dict[str, np.ndarray]:
    """One array per column (plus index and column labels) of every table, keyed ``table/part``."""
    out: dict[str, np.ndarray] = {}
    for name, value in tables.items():
        if isinstance(value, pd.Series):
            value = value.to_frame(name=str(value.name))
        if isinstance(value, pd.DataFrame):
            out[f"{name}/columns"] = np.asarray([str(c) for c in value.columns], dtype=str)
            out[f"{name}/index"] = np.asarray([str(i) for i in value.index], dtype=str)
            for k, col in enumerate(value.columns):
                out[f"{name}/col{k}"] = _array(value[col])
        else:
            out[f"{name}/array"] = np.asarray(value)
    return out


def _array(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col.dtype) and not col.isna().any():
        return col.to_numpy(dtype=bool)
    if pd.api.types.is_float_dtype(col.dtype) or pd.api.types.is_integer_dtype(col.dtype):
        if col.isna().any() or pd.api.types.is_float_dtype(col.dtype):
            return col.to_numpy(dtype=np.float64, na_value=np.nan)
        return col.to_numpy(dtype=np.int64)
    return np.asarray(["<NA>" if pd.isna(v) else str(v) for v in col], dtype=str)


def compute(name: str) -> dict[str, np.ndarray]:
    """The flattened tables of run ``name``, warnings silenced (they are not compared)."""
    thunk = dict(runs())[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flatten(thunk())


def assert_tables_match(name: str, got: dict[str, np.ndarray], expected: dict[str, np.ndarray], tol: float) -> None:
    """Every stored array of run ``name`` equals the recomputed one: same keys and shapes, floats within ``tol``
    relative to ``max(1, |x|)`` with NaN in the same places, everything else exactly."""
    assert sorted(got) == sorted(expected), f"{name}: the set of tables/columns changed"
    for key, want in expected.items():
        have = got[key]
        assert have.shape == want.shape, f"{name} {key}: shape {have.shape} != {want.shape}"
        if want.dtype.kind == "f":
            assert have.dtype.kind == "f", f"{name} {key}: dtype {have.dtype} != {want.dtype}"
            assert np.array_equal(np.isnan(have), np.isnan(want)), f"{name} {key}: NaN positions differ"
            ok = ~np.isnan(want)
            err = np.abs(have[ok] - want[ok]) / np.maximum(1.0, np.abs(want[ok]))
            assert err.size == 0 or err.max() <= tol, f"{name} {key}: largest relative difference {err.max():.3g}"
        else:
            assert have.dtype.kind == want.dtype.kind, f"{name} {key}: dtype {have.dtype} != {want.dtype}"
            assert np.array_equal(have, want), f"{name} {key}: values differ"


def main(argv: list[str]) -> None:
    names = argv or [name for name, _ in runs()]
    for name in names:
        arrays = compute(name)
        np.savez_compressed(HERE / f"{name}.npz", **arrays)
        print(f"{name}: {len(arrays)} arrays")


if __name__ == "__main__":
    main(sys.argv[1:])

