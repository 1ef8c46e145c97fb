"""Bad-input catalogue, panels and outputs: index production and the folders the CLI writes and reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bad_input import api_error, cli_error, write_files

import csi
from csi.errors import BootstrapError, DataError, EstimationError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_files(tmp_path_factory.mktemp("bad_panels"))


@pytest.fixture(scope="module")
def panel(files) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(files["panel.csv"]), pd.read_csv(files["weights.csv"])


# (id, index_panel keyword arguments, exception, key words)
PANELS = [
    ("company", {"company": "nope"}, DataError, ["company column 'nope'", "not in the data"]),
    ("wave", {"wave": "nope"}, DataError, ["wave column 'nope'"]),
    ("industry", {"industry": "nope"}, DataError, ["industry column 'nope'"]),
    ("respondent-weight", {"respondent_weight": "nope"}, DataError, ["respondent weight column 'nope'"]),
    ("min_n=0", {"min_n": 0}, EstimationError, ["min_n", ">= 1"]),
    ("n_resamples=-1", {"n_resamples": -1}, EstimationError, ["n_resamples", ">= 0"]),
    ("n_resamples=1e12", {"n_resamples": 10**12}, BootstrapError, ["n_resamples=1000000000000", "memory"]),
    ("national_resamples", {"national_resamples": -2}, EstimationError, ["national_resamples", ">= 0"]),
    ("level", {"level": 1.2}, EstimationError, ["level", "between 0 and 1"]),
    ("ci", {"ci": "studentized"}, EstimationError, ["interval type 'studentized' for panels", "logit"]),
    ("n_jobs", {"n_jobs": "2"}, EstimationError, ["n_jobs", "'2'"]),
    ("pooled", {"pooled": True}, EstimationError, ["pooled=True", "industry column"]),
    ("missing", {"missing": "x"}, DataError, ["missing-data policy 'x'"]),
    ("method", {"method": "x"}, EstimationError, ["unknown method 'x'"]),
    ("seed", {"seed": -1}, BootstrapError, ["seed", "non-negative"]),
    ("model", {"model": 123}, csi.SpecError, ["load_model needs", "int"]),
]


@pytest.mark.parametrize(("kwargs", "kind", "words"), [c[1:] for c in PANELS], ids=[c[0] for c in PANELS])
def test_panel_option_api(panel, kwargs, kind, words) -> None:
    data, _ = panel
    args = {"company": "company", "wave": "wave", "n_resamples": 0, "seed": 1, **kwargs}
    model = args.pop("model", "acsi")
    api_error(lambda: csi.index_panel(data, model, **args), kind, words)


def test_panel_values_api(panel) -> None:
    data, weights = panel
    common = {"company": "company", "wave": "wave", "industry": "industry", "sector": "sector", "n_resamples": 0}
    item = data.columns[-1]
    cases = [
        (data.astype({item: object}).assign(**{item: "x"}), {}, [f"'{item}'", "'x'", "not a number"]),
        (data.assign(company=data["company"].where(data.index > 3)), {}, ["company column", "missing values"]),
        (data, {"unit_weights": weights.assign(weight=-1.0)}, ["unit weight of company", "positive number"]),
        (data, {"unit_weights": weights.assign(weight=np.nan)}, ["unit weight", "positive number"]),
        (data, {"unit_weights": weights.drop(columns="weight")}, ["lacks column(s) 'weight'"]),
        (data, {"unit_weights": "weights.csv"}, ["unit weights must be a pandas DataFrame"]),
        ([1, 2], {}, ["panel data must be a pandas DataFrame"]),
    ]
    for frame, extra, words in cases:
        api_error(lambda f=frame, e=extra: csi.index_panel(f, "acsi", **common, **e, seed=1), DataError, words)


# (id, extra arguments of `csi index`, key words)
PANELS_CLI = [
    ("company", ["--company", "nope"], ["company column 'nope'"]),
    ("industry", ["--industry", "industri"], ["closest: 'industry'"]),
    ("min-n", ["--min-n", "0"], ["--min-n", ">= 1"]),
    ("bootstrap=1e12", ["--bootstrap", "1000000000000"], ["memory"]),
    ("ci", ["--ci", "studentized"], ["--ci", "invalid choice"]),
    ("pooled", ["--pooled"], ["pooled", "industry"]),
    ("unit-weights", ["--industry", "industry", "--sector", "sector", "--unit-weights", "NEG"], ["unit weight",
                                                                                               "positive number"]),
    ("model", ["--model", "nomodel"], ["unknown model 'nomodel'"]),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "words"), [c[1:] for c in PANELS_CLI], ids=[c[0] for c in PANELS_CLI])
def test_panel_option_cli(files, capsys, tmp_path, extra, words) -> None:
    extra = [files["negweights.csv"] if a == "NEG" else a for a in extra]
    argv = ["index", "--model", "acsi", "--data", files["panel.csv"], "--company", "company", "--wave", "wave",
            "--bootstrap", "0", "--seed", "1", "--out", tmp_path / "out", *extra]  # fmt: skip
    cli_error(argv, capsys, words)


def test_outputs(files, capsys, tmp_path) -> None:
    """Where results are written to and read from."""
    good = files["good.csv"]
    cli_error(["fit", "ecsi", good, "--out", good], capsys, ["exists"])
    cli_error(["fit", "ecsi", good, "--out", good / "inside-a-file"], capsys, ["good.csv"])
    cli_error(["simulate", "acsi", "--n", "20", "--seed", "1", "--out", tmp_path / "missing-dir" / "x.csv"], capsys,
              ["missing-dir"])  # fmt: skip
    cli_error(["report", tmp_path / "nothing", "--out", tmp_path / "r.html"], capsys, ["nothing"])
    cli_error(["report", files["good.csv"], "--out", tmp_path / "r.html"], capsys, ["good.csv"])
    cli_error(["report", tmp_path], capsys, ["nothing to write", "--out"])
    api_error(lambda: csi.read_panel_result(tmp_path), DataError, ["manifest.json", "written by csi"])
    api_error(lambda: csi.read_panel_result(tmp_path / "absent"), DataError, ["absent", "does not exist"])


@pytest.mark.parametrize("value", [None, 123, ["results"]])
def test_read_panel_result_needs_a_path(value) -> None:
    api_error(lambda: csi.read_panel_result(value), DataError, ["read_panel_result", "path of a results folder"])
