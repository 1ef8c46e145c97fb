"""Bad-input catalogue, columns and values: data no estimator can use honestly, through the API and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bad_input import api_error, cli_error, survey, write_files

import csi
from csi.data.checks import LARGEST_VALUE, SMALLEST_SPREAD
from csi.errors import DataError


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_files(tmp_path_factory.mktemp("bad_data"))


def _unscaled() -> tuple[csi.ModelSpec, pd.DataFrame]:
    """A two-block model without scales (so magnitudes are not caught by a scale check) and clean data."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 7))
    data = pd.DataFrame(
        {f"a{i}": z[:, 0] + z[:, i] for i in (1, 2, 3)} | {f"b{i}": z[:, 0] + z[:, 3 + i] for i in (1, 2, 3)}
    )
    return csi.load_model("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A"), data


def _edit(column: str, value: object, rows: slice | int = 4) -> pd.DataFrame:
    d = survey().astype(object if isinstance(value, str) else float)
    d.loc[rows, column] = value
    return d


# (id, data, exception, key words) for csi.fit("ecsi", data)
VALUES = [
    ("missing-column", survey().drop(columns="CUSL3"), DataError, ["lack 1 item column", "'CUSL3'", "closest"]),
    ("duplicate-column", pd.concat([survey(), survey()[["IMAG1"]]], axis=1), DataError, ["more than one column",
                                                                                         "'IMAG1'"]),
    ("text", _edit("CUSA2", "seven"), DataError, ["'CUSA2'", "'seven'", "not a number", "row 4"]),
    ("inf", _edit("CUSA2", np.inf), DataError, ["'CUSA2'", "infinite", "row 4"]),
    # Missing answers are estimated around (missing='em' by default); an item nobody answered cannot be.
    ("unanswered", _edit("CUSA2", np.nan, slice(None)), DataError, ["'CUSA2'", "no observed values", "missing='em'"]),
    ("out-of-scale", _edit("CUSA2", 99), DataError, ["'CUSA2'", "99", "outside the item's scale", "missing_codes"]),
    ("huge-in-scale", _edit("CUSA2", 1e300, slice(None)), DataError, ["'CUSA2'", "outside the item's scale"]),
    ("constant", survey().assign(IMAG1=5), DataError, ["'IMAG1'", "always 5", "do not vary"]),
    ("too-few-rows", survey().iloc[:3], DataError, ["3 usable row", "needs at least"]),
    ("all-missing", _edit("CUSA2", np.nan, slice(None)), DataError, ["'CUSA2'", "missing"]),
    ("not-a-frame", [1, 2, 3], DataError, ["must be a pandas DataFrame", "list"]),
    ("none", None, DataError, ["must be a pandas DataFrame", "NoneType"]),
    ("array", survey().to_numpy(), DataError, ["must be a pandas DataFrame", "ndarray"]),
]  # fmt: skip


@pytest.mark.parametrize(("data", "kind", "words"), [c[1:] for c in VALUES], ids=[c[0] for c in VALUES])
def test_values_api(data, kind, words) -> None:
    api_error(lambda: csi.fit("ecsi", data), kind, words)


# (file name, key words) for `csi fit ecsi FILE`
VALUES_CLI = [
    ("nocol.csv", ["lack 1 item column", "'CUSL3'"]),
    ("dupheader.csv", ["'IMAG1' more than once"]),
    ("text.csv", ["'CUSA2'", "not a number"]),
    ("inf.csv", ["'CUSA2'", "infinite"]),
    ("unanswered.csv", ["'CUSA2'", "no observed values", "missing='em'"]),
    ("range.csv", ["'CUSA2'", "outside the item's scale"]),
    ("huge.csv", ["'CUSA2'", "outside the item's scale"]),
    ("constant.csv", ["'IMAG1'", "do not vary"]),
    ("short.csv", ["3 usable row"]),
]


@pytest.mark.parametrize(("name", "words"), VALUES_CLI, ids=[c[0] for c in VALUES_CLI])
def test_values_cli(files, capsys, name, words) -> None:
    cli_error(["fit", "ecsi", files[name]], capsys, words)


@pytest.mark.parametrize("method", ["pls", "plsc", "sumscore"])
@pytest.mark.parametrize(("factor", "words"), [(1e300, ["'a1'", "values up to", "rescale"]),
                                               (1e-300, ["'a1'", "varies only by", "rescale"]),
                                               (1e-160, ["'a1'", "varies only by"]),
                                               (1e160, ["'a1'", "values up to"])])  # fmt: skip
def test_items_float64_cannot_hold_are_refused(method, factor, words) -> None:
    """Was: a LinAlgError (1e-300) or a weight of 0 with overflow warnings (1e300)."""
    spec, data = _unscaled()
    data = data.assign(a1=data["a1"] * factor)
    api_error(lambda: csi.fit(spec, data, method=method), DataError, words)


def test_magnitude_limits_leave_ordinary_scales_alone() -> None:
    """Items at 1e90 and with a spread of 1e-90 are inside the limits and give the same weights as unscaled ones."""
    spec, data = _unscaled()
    base = csi.fit(spec, data).weights
    for factor in (1e90, 1e-90):
        scaled = csi.fit(spec, data.assign(a1=data["a1"] * factor, b2=data["b2"] * factor)).weights
        # Standardised weights are scale free; the unstandardised ones scale by 1 / factor.
        np.testing.assert_allclose(scaled[["a2", "a3", "b1", "b3"]], base[["a2", "a3", "b1", "b3"]], rtol=1e-9)
    assert LARGEST_VALUE > 1e90 and SMALLEST_SPREAD < 1e-90


def test_singular_mode_b_block_is_refused() -> None:
    """Was: weights +0.398 and -0.398 on two copies of one item, or a LinAlgError, without a word."""
    _, data = _unscaled()
    spec = csi.load_model("A <~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A")
    words = ["mode-B block 'A'", "'a1' and 'a2'", "perfectly correlated", "mode A"]
    api_error(lambda: csi.fit(spec, data.assign(a2=data["a1"])), DataError, words)
    api_error(lambda: csi.fit(spec, data.assign(a2=2 * data["a1"] + 1)), DataError, words)
    words = ["mode-B block 'A'", "linearly dependent", "'a3'"]
    api_error(lambda: csi.fit(spec, data.assign(a3=data["a1"] - data["a2"])), DataError, words)
    # The same items in a mode-A block are fine (correlation weights need no inverse).
    csi.fit(csi.load_model("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A"), data.assign(a2=data["a1"]))


def test_cbsem_on_a_singular_covariance_is_refused() -> None:
    """Was: converged=True, admissible=True and chi-square = inf."""
    spec, data = _unscaled()
    words = ["item covariance matrix is singular", "'a1' and 'a2'", "positive-definite"]
    api_error(lambda: csi.fit(spec, data.assign(a2=data["a1"]), method="cbsem"), DataError, words)
    ok = csi.fit(spec, data, method="cbsem")
    assert np.isfinite(ok.fit_measures["chisq"])


@pytest.mark.parametrize(("weights", "words"), [
    (-np.ones(120), ["weights must be finite and > 0", "-1.0"]),
    (np.ones(5), ["5 weights for 120 rows"]),
    (np.r_[np.nan, np.ones(119)], ["finite and > 0", "nan"]),
    (np.zeros(120), ["> 0", "0.0"]),
    ("w", ["weights column 'w' is not in the data"]),
])  # fmt: skip
def test_respondent_weights(weights, words) -> None:
    api_error(lambda: csi.fit("ecsi", survey(), weights=weights), DataError, words)


def test_read_data_never_modifies_the_file(files) -> None:
    before = files["dupheader.csv"].read_bytes()
    api_error(lambda: csi.data.read_data(files["dupheader.csv"]), DataError, ["more than once"])
    assert files["dupheader.csv"].read_bytes() == before
