"""Fuzz of the model parser and of the data layer: any input gives a result or a CSIError, nothing else.

Derandomised (the same examples on every run, so CI cannot turn red by chance) and with modest example counts
to keep the suite fast; numpy RuntimeWarnings (overflow, invalid values) count as failures too, since they
were how bad magnitudes used to surface.
"""

from __future__ import annotations

import io
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import csi
from csi.cli import main
from csi.spec.lavaan import parse_lavaan
from csi.spec.toml_io import read_toml

FUZZ = settings(derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = ["A", "B", "SAT", "a1", "a2", "b1", "b2", "x", "Ä", "1a", '"q r"', "constructs", "items"]
LAVAAN = ["=~", "<~", "~", "~~", "+", "*", "#:", "#", "label", "scale", "target", "sign", "name", "missing", "reverse",
          "1", "10", "-1", "0.5", "?", "-", "'x'", '"y"', "(", ")", ";", "\\", "\t"]  # fmt: skip
TOML = ["[constructs", "[constructs.", "[paths", "]", "[[", "]]", "=", "items", "mode", "scale", "'A'", '"B"', "[1, 10]",
        "true", "{", "}", ",", "source", "target", "sign", "[model]", "name", "\\u00e9", "#"]  # fmt: skip
token = st.one_of(st.sampled_from(NAMES + LAVAAN + TOML), st.text(max_size=4))
line = st.lists(token, max_size=8).map(" ".join)
model_text = st.one_of(
    st.lists(line, max_size=8).map("\n".join),
    st.text(max_size=60),
    st.builds(lambda tail: "[constructs" + tail, st.text(max_size=30).filter(lambda t: "\n" not in t)),
    st.builds(lambda tail: "  [constructs." + tail, line),
)


def _only_csi_errors(call) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            return call()
        except csi.CSIError:
            return None


@settings(FUZZ, max_examples=300)
@given(text=model_text)
def test_model_text_gives_a_model_or_a_csi_error(text: str) -> None:
    spec = _only_csi_errors(lambda: csi.load_model(text))
    assert spec is None or isinstance(spec, csi.ModelSpec)
    _only_csi_errors(lambda: parse_lavaan(text))
    if text.strip():
        _only_csi_errors(lambda: read_toml(text if ("\n" in text or "=" in text or text.lstrip()[:1] == "[") else
                                           text + "\n"))  # fmt: skip


SPEC_TEXT = "A =~ a1 + a2\nB =~ b1 + b2\nB ~ A"
SCALED_TEXT = "#: scale 1 5\n" + SPEC_TEXT
COLUMNS = ["a1", "a2", "b1", "b2"]
cell = st.one_of(
    st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e300, -1e300, 1e-300, 5e-324, 1e154, 1e-160, 2.0**53 + 1]),
    st.none(),
    st.booleans(),
    st.sampled_from(["3", "x", "", "4,5", "nan", "1e400"]),
)
frames = st.builds(
    lambda base, edits, scale, extra, dup: _frame(base, edits, scale, extra, dup),
    st.lists(st.tuples(*[st.integers(1, 5)] * 4), min_size=0, max_size=12),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 3), cell), max_size=3),
    st.tuples(st.integers(0, 3), st.sampled_from([1.0, 1e300, 1e-300, 1e160, 1e-160, -1.0])),
    st.booleans(),
    st.sampled_from([None, "a1", "b2"]),
)


def _frame(
    base: list[tuple], edits: list[tuple], scale: tuple[int, float], extra: bool, dup: str | None
) -> pd.DataFrame:
    """Whole-number answers, then a column rescaled, a few cells replaced by anything, extra and duplicate columns."""
    frame = pd.DataFrame(base, columns=COLUMNS, dtype=float) if base else pd.DataFrame(columns=COLUMNS, dtype=float)
    frame[COLUMNS[scale[0]]] *= scale[1]
    if any(not isinstance(v, int | float) or isinstance(v, bool) for _, _, v in edits):
        frame = frame.astype(object)
    for row, col, value in edits:
        if row < len(frame):
            frame.iat[row, col] = value
    if extra:
        frame["note"] = "x"
    if dup:
        frame = pd.concat([frame, frame[[dup]]], axis=1)
    return frame


@settings(FUZZ, max_examples=150)
@given(frame=frames, missing=st.sampled_from(["error", "listwise", "mean"]), scaled_model=st.booleans(),
       method=st.sampled_from(["pls", "plsc", "sumscore"]))  # fmt: skip
def test_data_gives_a_fit_or_a_csi_error(frame: pd.DataFrame, missing: str, scaled_model: bool, method: str) -> None:
    before = frame.copy(deep=True)
    spec = csi.load_model(SCALED_TEXT if scaled_model else SPEC_TEXT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", csi.ConvergenceWarning)
        warnings.simplefilter("ignore", csi.AdmissibilityWarning)
        fit = _only_csi_errors(lambda: csi.fit(spec, frame, method=method, missing=missing))
    if fit is not None:
        assert np.isfinite(fit.item_means).all() and np.isfinite(fit.item_sds).all()
    pd.testing.assert_frame_equal(frame, before)  # nothing the user passes is modified


@settings(FUZZ, max_examples=30)
@given(frame=frames)
def test_data_files_through_the_cli_exit_0_or_one_error_line(frame: pd.DataFrame, tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    data = folder / "data.csv"
    frame.to_csv(data, index=False)
    model = folder / "model.lav"
    model.write_text(SPEC_TEXT)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["fit", str(model), str(data), "--missing", "listwise"])
    errors = [ln for ln in err.getvalue().splitlines() if ln.startswith("csi: error:")]
    assert (code, len(errors)) in ((0, 0), (2, 1)), err.getvalue()
    assert "Traceback" not in err.getvalue()


@pytest.mark.parametrize("text", ["[constructs", "[constructs]", "[constructs.A] items=['a']", " [constructs.x.toml"])
def test_constructs_one_liners_are_text_not_paths(text: str, tmp_path: Path, monkeypatch) -> None:
    """Found 16 times in 12,000 fuzzed texts: a one-line '[constructs' text was read as a file name."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(csi.CSIError) as info:
        csi.load_model(text)
    assert not isinstance(info.value, FileNotFoundError)
