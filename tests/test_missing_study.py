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


def test_intervals_from_the_bootstrap():
    # mi gets its interval from the bootstrap-then-impute bootstrap of its fit, em from EM inside every replicate.
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
