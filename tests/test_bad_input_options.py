"""Bad-input catalogue, options of fit, bootstrap, simulate and assess, through the API and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bad_input import api_error, cli_error, survey, write_files

import csi
from csi.errors import BootstrapError, CSIError, DataError, EstimationError, SpecError
from csi.resample.options import MIN_INNER_RESAMPLES


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_files(tmp_path_factory.mktemp("bad_options"))


@pytest.fixture(scope="module")
def fit() -> csi.FitResult:
    return csi.fit("ecsi", survey())


# (id, bootstrap keyword arguments, exception, key words)
BOOTSTRAP = [
    ("n_jobs=-1", {"n_jobs": -1}, EstimationError, ["n_jobs", "positive integer", "None for every core", "-1"]),
    ("n_jobs='2'", {"n_jobs": "2"}, EstimationError, ["n_jobs", "positive integer", "'2'"]),
    ("n_jobs=0", {"n_jobs": 0}, EstimationError, ["n_jobs", "got 0"]),
    ("n_jobs=2.0", {"n_jobs": 2.0}, EstimationError, ["n_jobs", "2.0"]),
    ("n_jobs=True", {"n_jobs": True}, EstimationError, ["n_jobs", "True"]),
    ("resamples=0", {"n_resamples": 0}, BootstrapError, ["n_resamples", "positive int"]),
    ("resamples=1.5", {"n_resamples": 1.5}, BootstrapError, ["n_resamples", "1.5"]),
    ("resamples='10'", {"n_resamples": "10"}, BootstrapError, ["n_resamples", "'10'"]),
    ("resamples=1e12", {"n_resamples": 10**12}, BootstrapError, ["n_resamples=1000000000000", "memory", "at most"]),
    ("inner=2", {"ci": "studentized", "inner_resamples": 2}, EstimationError, ["inner_resamples", ">= 25", "got 2"]),
    ("inner=24", {"inner_resamples": MIN_INNER_RESAMPLES - 1}, EstimationError, ["inner_resamples", "Efron"]),
    ("inner='50'", {"inner_resamples": "50"}, EstimationError, ["inner_resamples", "'50'"]),
    ("level=0", {"level": 0}, EstimationError, ["level", "between 0 and 1"]),
    ("level=1.5", {"level": 1.5}, EstimationError, ["level", "1.5"]),
    ("ci", {"ci": "nope"}, EstimationError, ["unknown interval type 'nope'", "percentile"]),
    ("sign_change", {"sign_change": "nope"}, EstimationError, ["unknown sign_change", "construct"]),
    ("failed", {"failed": "nope"}, EstimationError, ["failed-replicate policy", "drop"]),
    ("chunk_size=0", {"chunk_size": 0}, EstimationError, ["chunk_size", "positive integer"]),
    ("seed=-1", {"seed": -1}, BootstrapError, ["seed", "non-negative"]),
    ("seed='abc'", {"seed": "abc"}, BootstrapError, ["seed", "str"]),
    ("strata-length", {"strata": np.arange(5)}, EstimationError, ["strata", "one label per fitted row", "120"]),
    ("strata-nan", {"strata": np.r_[np.nan, np.zeros(119)]}, DataError, ["strata", "missing"]),
    ("strata-name", {"strata": "region"}, EstimationError, ["strata='region'", "pass the column itself"]),
    ("strata-one-row", {"strata": np.arange(120)}, BootstrapError, ["every stratum has a single row", "at least 2"]),
    ("indices-range", {"indices": np.full((3, 120), 500)}, DataError, ["outside [0, 119]", "0-based"]),
    ("indices-and-strata", {"indices": np.zeros((3, 120), int), "strata": np.zeros(120)}, EstimationError,
     ["either indices or strata"]),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "kind", "words"), [c[1:] for c in BOOTSTRAP], ids=[c[0] for c in BOOTSTRAP])
def test_bootstrap_option_api(fit, kwargs, kind, words) -> None:
    kwargs = {"n_resamples": 20, "seed": 1, **kwargs}
    api_error(lambda: csi.bootstrap(fit, **kwargs), kind, words)


def test_bootstrap_of_something_else_than_a_fit() -> None:
    api_error(lambda: csi.bootstrap("fit", 10), EstimationError, ["bootstrap needs the result of csi.fit", "str"])
    api_error(lambda: csi.assess(None), EstimationError, ["assess needs the result of csi.fit", "NoneType"])


def test_some_one_row_strata_are_flagged(fit) -> None:
    strata = np.r_[np.zeros(117), 1, 2, 3]
    with pytest.warns(UserWarning, match=r"3 of 4 strata have a single row .* understated"):
        csi.bootstrap(fit, 20, seed=1, strata=strata)


def test_cbsem_bootstrap_validates_workers_and_memory() -> None:
    cb = csi.fit("ecsi", survey(), method="cbsem")
    api_error(lambda: csi.bootstrap(cb, 10, seed=1, n_jobs="2"), EstimationError, ["n_jobs", "'2'"])
    api_error(lambda: csi.bootstrap(cb, 10**12, seed=1), BootstrapError, ["memory", "at most"])


# (id, extra arguments of `csi bootstrap ecsi FILE`, key words)
BOOTSTRAP_CLI = [
    ("resamples=1e12", ["--resamples", "1000000000000"], ["n_resamples=1000000000000", "memory", "at most"]),
    ("resamples=0", ["--resamples", "0"], ["--resamples", ">= 1"]),
    ("resamples=x", ["--resamples", "x"], ["--resamples", "invalid"]),
    ("inner=2", ["--ci", "studentized", "--inner-resamples", "2"], ["--inner-resamples", ">= 25"]),
    ("level=1", ["--level", "1"], ["--level", "between 0 and 1"]),
    ("ci", ["--ci", "nope"], ["--ci", "invalid choice"]),
    ("sign-change", ["--sign-change", "nope"], ["--sign-change", "invalid choice"]),
    ("seed=-1", ["--seed", "-1"], ["seed", "non-negative"]),
    ("strata-missing", ["--strata", "nope"], ["--strata", "'nope'"]),
    ("strata-one-row", ["--strata", "unique"], ["every stratum has a single row"]),
    ("cbsem-sign", ["--method", "cbsem", "--sign-change", "construct"], ["sign_change", "only 'none'"]),
]


@pytest.mark.parametrize(("extra", "words"), [c[1:] for c in BOOTSTRAP_CLI], ids=[c[0] for c in BOOTSTRAP_CLI])
def test_bootstrap_option_cli(files, capsys, extra, words) -> None:
    argv = ["bootstrap", "ecsi", files["strata.csv"], "--resamples", "20", "--seed", "1", *extra]
    cli_error(argv, capsys, words)


# (id, fit keyword arguments, exception, key words)
FIT = [
    ("method", {"method": "nope"}, EstimationError, ["unknown method 'nope'", "'pls'"]),
    ("scheme", {"scheme": "nope"}, EstimationError, ["unknown scheme 'nope'", "'path'"]),
    ("option", {"foo": 1}, EstimationError, ["unknown option(s) 'foo'", "accepted"]),
    ("tol", {"tol": -1}, EstimationError, ["tol", "positive"]),
    ("max_iter", {"max_iter": 0}, EstimationError, ["max_iter", "positive integer"]),
    ("missing", {"missing": "drop"}, DataError, ["missing-data policy 'drop'", "'listwise'"]),
    ("scaled", {"scaled": "yes"}, EstimationError, ["scaled", "True or False"]),
    ("plsc-unscaled", {"method": "plsc", "scaled": False}, EstimationError, ["PLSc needs scaled=True"]),
    ("cbsem-obj", {"method": "cbsem", "obj": "nope"}, EstimationError, ["unknown obj 'nope'", "MLW"]),
    ("sumscore-scheme", {"method": "sumscore", "scheme": "centroid"}, EstimationError, ["has no option 'scheme'"]),
]


@pytest.mark.parametrize(("kwargs", "kind", "words"), [c[1:] for c in FIT], ids=[c[0] for c in FIT])
def test_fit_option_api(kwargs, kind, words) -> None:
    data = survey()
    api_error(lambda: csi.fit("ecsi", data, **kwargs), kind, words)


FIT_CLI = [
    ("method", ["--method", "nope"], ["--method", "invalid choice"]),
    ("missing", ["--missing", "drop"], ["--missing", "invalid choice"]),
    ("cbsem-unscaled", ["--method", "cbsem", "--unscaled"], ["'cbsem' has no option 'scaled'"]),
    ("plsc-unscaled", ["--method", "plsc", "--unscaled"], ["PLSc needs scaled=True"]),
    ("bootstrap=-1", ["--bootstrap", "-1"], ["--bootstrap", ">= 0"]),
    ("level=abc", ["--level", "abc"], ["--level", "invalid"]),
    ("items-json", ["--items", "{bad"], ["--items", "not valid JSON"]),
    ("items-unknown", ["--items", '{"NOPE": ["a"]}'], ["cannot bind 'NOPE'"]),
]


@pytest.mark.parametrize(("extra", "words"), [c[1:] for c in FIT_CLI], ids=[c[0] for c in FIT_CLI])
def test_fit_option_cli(files, capsys, extra, words) -> None:
    cli_error(["fit", "ecsi", files["good.csv"], *extra], capsys, words)


# (id, simulate arguments after the model and n, exception, key words)
SIMULATE = [
    ("n=0", {"n": 0}, CSIError, ["n must be a positive integer", "0"]),
    ("n='10'", {"n": "10"}, CSIError, ["n must be a positive integer"]),
    ("seed=-3", {"seed": -3}, CSIError, ["seed", "non-negative"]),
    ("population", {"population": "x"}, SpecError, ["population type 'x'", "'factor'"]),
    ("path-unknown", {"paths": {"SAT ~ NOPE": 0.3}}, SpecError, ["SAT ~ NOPE", "not in model"]),
    ("path-too-big", {"paths": {"SAT ~ QUAL": 5}}, SpecError, ["R²", ">= 1"]),
    ("loading-item", {"loadings": {"nope": 0.5}}, SpecError, ["unknown item 'nope'"]),
    ("loading-range", {"loadings": {"OVERALLX": 1.5}}, SpecError, ["loading of 'OVERALLX'", "(0, 1]"]),
    ("binary-rate", {"binary_rate": 2}, SpecError, ["binary_rate", "between 0 and 1"]),
]


@pytest.mark.parametrize(("kwargs", "kind", "words"), [c[1:] for c in SIMULATE], ids=[c[0] for c in SIMULATE])
def test_simulate_option_api(kwargs, kind, words) -> None:
    kwargs = {"n": 20, "seed": 1, **kwargs}
    api_error(lambda: csi.simulate("acsi", **kwargs), kind, words)


SIMULATE_CLI = [
    ("n=0", ["--n", "0"], ["--n", ">= 1"]),
    ("paths-json", ["--paths", "{bad"], ["--paths", "not valid JSON"]),
    ("path-unknown", ["--paths", '{"SAT ~ NOPE": 0.3}'], ["SAT ~ NOPE"]),
    ("path-too-big", ["--paths", '{"SAT ~ QUAL": 5}'], ["R²"]),
    ("n=x", ["--n", "x"], ["--n", "invalid"]),
    ("companies", ["--companies", "-1"], ["--companies", ">= 1"]),
]


@pytest.mark.parametrize(("extra", "words"), [c[1:] for c in SIMULATE_CLI], ids=[c[0] for c in SIMULATE_CLI])
def test_simulate_option_cli(capsys, tmp_path, extra, words) -> None:
    cli_error(["simulate", "acsi", "--n", "20", "--seed", "1", "--out", tmp_path / "s.csv", *extra], capsys, words)
