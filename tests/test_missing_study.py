"""csi.bench.missing_study: the deletion mechanisms and one replication of every method (smoke size)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csi.bench.missing_study import delete_answers, run_replication, run_study, scenario
from csi.bench.montecarlo import COLUMNS, summarise
from csi.cli import main
from csi.errors import CSIError
from csi.results.files import verify_folder


def _frame(n: int = 4000, p: int = 6, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.integers(1, 11, size=(n, p)), columns=[f"x{i}" for i in range(p)])


@pytest.mark.parametrize("name, rate", [("MCAR 5%", 0.05), ("MAR 20%", 0.20)])
def test_deletion_rate_and_mechanism(name, rate):
    data = _frame()
    out = delete_answers(data, list(data.columns), name, np.random.default_rng(2))
    holes = out.isna().to_numpy()
    if name.startswith("MAR"):
        assert not holes[:, 0].any()  # the driver is always observed
        rest = holes[:, 1:]
        assert rest.mean() == pytest.approx(rate, abs=0.01)
        low = data["x0"] <= data["x0"].quantile(0.3)
        assert rest[low].mean() > 1.5 * rest[~low].mean()  # missingness depends on the observed driver
    else:
        assert holes.mean() == pytest.approx(rate, abs=0.01)
    assert data.notna().all().all()  # the input is not modified


def test_bad_scenario_names():
    for bad in ("MNAR 5%", "MAR", "MCAR 60%"):
        with pytest.raises(CSIError, match="scenario"):
            scenario(bad)


def test_one_replication_of_every_method():
    rows = run_replication("acsi", "MAR 20%", 150, 0, ("listwise", "em", "mi"), 7, 0, 0.95, 2)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    assert set(frame["method"]) == {"listwise", "em", "mi"}
    em = frame[(frame["method"] == "em") & (frame["kind"] == "path")]
    assert em["estimate"].notna().all() and (em["status"] == "ok").all()
    again = pd.DataFrame(run_replication("acsi", "MAR 20%", 150, 0, ("em",), 7, 0, 0.95, 2), columns=COLUMNS)
    pd.testing.assert_frame_equal(again.drop(columns=["seconds", "boot_seconds"]),
                                  frame[frame["method"] == "em"].drop(columns=["seconds", "boot_seconds"])
                                  .reset_index(drop=True))  # fmt: skip


def test_mi_intervals_are_rubins_over_the_bootstrap_of_every_imputation():
    import csi
    from csi.bench.missing_study import delete_answers
    from csi.bench.montecarlo import design_loadings, replication_seed

    rows = run_replication("acsi", "MAR 5%", 120, 0, ("mi",), 7, 20, 0.9, 3)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # The same replication by hand: its data, its mi fit, the Rubin bootstrap's 90 % intervals of its paths.
    spec = csi.load_model("acsi")
    data_seed, boot_seed, del_seed, mi_seed = replication_seed(7, "acsi", "common_factor", 120, 0).spawn(4)
    sim = csi.simulate(spec, 120, seed=data_seed, population="factor", loadings=design_loadings(spec))
    data = delete_answers(sim.data, spec.item_names, "MAR 5%", np.random.default_rng(del_seed))
    fit = csi.fit(spec, data, missing="mi", imputations=3, mi_seed=int(mi_seed.generate_state(1)[0]))
    est = csi.bootstrap(fit, 20, seed=boot_seed, n_jobs=1, progress=False, mi_interval="rubin").with_ci(level=0.9)
    table = est.estimates.set_index(["lhs", "op", "rhs"])
    paths = frame[frame["kind"] == "path"]
    for p, lo, hi in zip(spec.paths, paths["ci_lower"], paths["ci_upper"], strict=True):
        assert (lo, hi) == tuple(table.loc[(p.target, "~", p.source), ["ci_lower", "ci_upper"]])


def test_runs_over_replication_ranges_combine(tmp_path, capsys):
    from csi.bench.missing_study import combine

    opts = dict(models=("acsi",), scenarios=("MCAR 5%",), n=100, methods=("listwise", "em"), bootstrap=0)
    whole = run_study(reps=3, **opts)
    parts = [run_study(reps=1, **opts), run_study(reps=2, first_rep=1, **opts)]
    merged = combine(parts)
    cols = [c for c in COLUMNS if c not in ("seconds", "boot_seconds")]
    pd.testing.assert_frame_equal(merged[cols], whole[cols])
    assert len(combine([whole, parts[0]])) == len(whole)  # a shared replication is kept once
    clash = parts[0].copy()
    clash.loc[clash.index[0], "estimate"] += 1
    with pytest.raises(CSIError, match="disagree"):
        combine([parts[0], clash])
    for i, part in enumerate(parts):
        (tmp_path / f"p{i}").mkdir()
        part.to_csv(tmp_path / f"p{i}" / "raw.csv", index=False)
    assert main(["bench", "missing", "--from-raw", f"{tmp_path / 'p0'},{tmp_path / 'p1'}"]) == 0
    assert "3-3 replications" in capsys.readouterr().out
    assert main(["bench", "missing", "--from-raw", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_intervals_from_the_bootstrap():
    # mi gets Rubin's interval over the bootstrap of its completed data sets, em EM re-run inside every replicate.
    raw = run_study(models=("acsi",), scenarios=("MCAR 5%",), n=120, reps=1, methods=("em", "mi"), bootstrap=10,
                    imputations=3)  # fmt: skip
    paths = raw[raw["kind"] == "path"]
    assert set(paths["method"]) == {"em", "mi"}
    assert (paths["ci_lower"] <= paths["ci_upper"]).all() and paths["ci_lower"].notna().all()
    em = paths[paths["method"] == "em"]
    assert (em["ci_lower"] <= em["estimate"]).all() and (em["estimate"] <= em["ci_upper"]).all()
    assert summarise(raw)["n_ci"].min() == 1


def test_cli_quick(tmp_path, capsys):
    out = tmp_path / "bm"
    args = ["bench", "missing", "--quick", "--models", "acsi", "--scenarios", "MCAR 5%", "--methods", "listwise,em",
            "--bootstrap", "0", "--n", "120", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert "Missing-data study" in capsys.readouterr().out
    assert {f.name for f in out.iterdir()} == {"raw.csv", "summary.csv", "table.csv", "manifest.json"}
    assert set(verify_folder(out)["files"]) == {"raw.csv", "summary.csv", "table.csv"}  # written whole, sealed
    assert main(args) == 2  # an existing folder is not written over without --overwrite
    assert "exists and is not empty" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
