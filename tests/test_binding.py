"""Binding a model to a user's file: csi.propose_binding / csi bind, binding files, csi.bind_model and quick options.

The consistency checks fit the same answers twice, once under the model's own column names and once through a
binding of renamed, recoded columns, and require identical estimates: a wrong column, scale, code or reverse flag
would change them.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import csi
from csi.cli import main
from csi.errors import DataError, NoScaleWarning, SpecError

RENAMES = {
    **{f"IMAG{k}": f"Q{k}_IMAG{k}" for k in range(1, 6)},  # prefix set off by a separator
    **{f"CUEX{k}": f"cuex{k}" for k in range(1, 4)},  # other case
    **{f"PERQ{k}": f"perq_0{k}" for k in range(1, 8)},  # separators and leading zeros
    "PERV1": "ecsiperv1",  # a prefix shared by two items
    "PERV2": "ecsiperv2",
    "CUSCO": "Cusco",
    **{f"CUSL{k}": f"loy_{k}" for k in range(1, 4)},  # a whole block by the construct's name
}


@pytest.fixture(scope="module")
def answers() -> pd.DataFrame:
    """ECSI answers on the 1-10 scale with 'don't know' (99) and 'refused' (98) codes in random cells."""
    data = csi.simulate(csi.load_model("ecsi"), 400, seed=7).data
    rng = np.random.default_rng(3)
    x = data.to_numpy(dtype=float).copy()
    x[rng.random(x.shape) < 0.02] = 99.0
    x[rng.random(x.shape) < 0.01] = 98.0
    return pd.DataFrame(x, columns=data.columns)


@pytest.fixture(scope="module")
def user_frame(answers: pd.DataFrame) -> pd.DataFrame:
    frame = answers.rename(columns=RENAMES)
    frame.insert(0, "Befragten-ID", np.arange(1, len(frame) + 1, dtype=float))
    frame["alter"] = np.linspace(18, 80, len(frame)).round()
    return frame


@pytest.fixture(scope="module")
def reference(answers: pd.DataFrame) -> csi.FitResult:
    spec = csi.load_model("ecsi").with_missing_codes([98, 99])
    return csi.fit(spec, answers, missing="listwise")


def _same_fit(a: csi.FitResult, b: csi.FitResult) -> None:
    ea, eb = a.estimates, b.estimates
    np.testing.assert_allclose(ea["estimate"].to_numpy(), eb["estimate"].to_numpy(), rtol=0, atol=1e-12)
    pd.testing.assert_series_equal(csi.compute_index(a), csi.compute_index(b), rtol=0, atol=1e-10)


def test_proposal_matches_case_prefix_spelling_and_blocks(user_frame: pd.DataFrame) -> None:
    proposal = csi.propose_binding("ecsi", user_frame)
    got = {m.item: (m.column, m.how) for m in proposal.matches if m.column is not None}
    assert got["IMAG1"] == ("Q1_IMAG1", "prefix") and got["CUSA1"] == ("CUSA1", "same name")
    assert got["CUEX2"] == ("cuex2", "same name, other case")
    assert got["PERQ3"] == ("perq_03", "same name, other spelling")
    assert got["PERV2"] == ("ecsiperv2", "prefix 'ecsi'") and got["CUSCO"][0] == "Cusco"
    assert dict(proposal.blocks) == {"LOY": ("loy_1", "loy_2", "loy_3")}
    assert proposal.unmatched == ()
    assert proposal.missing_codes == (98.0, 99.0) and "found in the data" in proposal.codes_note
    assert proposal.scale == (1.0, 10.0) and "the model's scale" in proposal.scale_note


def test_proposed_binding_fits_exactly_like_the_original_names(
    user_frame: pd.DataFrame, reference: csi.FitResult, tmp_path: Path
) -> None:
    path = tmp_path / "binding.toml"
    path.write_text(csi.propose_binding("ecsi", user_frame).to_toml(), encoding="utf-8")
    spec = csi.bind_model("ecsi", user_frame, binding=path)
    assert spec.construct("LOY").item_names == ("loy_1", "loy_2", "loy_3")
    assert all(i.missing_codes == (98.0, 99.0) and (i.scale_min, i.scale_max) == (1, 10) for i in spec.items)
    _same_fit(csi.fit(spec, user_frame, missing="listwise"), reference)


def test_binding_file_round_trip(user_frame: pd.DataFrame, tmp_path: Path) -> None:
    proposal = csi.propose_binding("ecsi", user_frame)
    path = tmp_path / "b.toml"
    path.write_text(proposal.to_toml(), encoding="utf-8")
    read, proposed = csi.read_binding(path), proposal.binding
    assert dict(read.columns) == dict(proposed.columns) and dict(read.blocks) == dict(proposed.blocks)
    assert (read.scale, read.missing_codes, read.source) == (proposed.scale, proposed.missing_codes, "b.toml")


def _sav(path: Path, frame: pd.DataFrame, low: int, high: int, user_missing: list[float] | None = None) -> Path:
    labels = {c: f"Frage {k}: Zufriedenheit mit „{c}“ – bitte bewerten" for k, c in enumerate(frame.columns, 1)}
    values = {c: {low: "überhaupt nicht zufrieden", high: "voll und ganz zufrieden", 99: "weiß nicht"}
              for c in frame.columns}  # fmt: skip
    ranges = {c: list(user_missing) for c in frame.columns} if user_missing else None
    pyreadstat.write_sav(frame, str(path), column_labels=labels, variable_value_labels=values, missing_ranges=ranges)
    return path


@pytest.fixture(scope="module")
def ecsi_sav(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """ECSI answers under lower-case prefixed names, 99 user-missing, labels stating a 0-10 scale."""
    data = csi.simulate(csi.load_model("ecsi"), 300, seed=2).data
    x = data.to_numpy(dtype=float).copy()
    x[np.random.default_rng(1).random(x.shape) < 0.03] = 99.0
    frame = pd.DataFrame(x, columns=[f"v_{c.lower()}" for c in data.columns])
    return _sav(tmp_path_factory.mktemp("sav") / "Befragung 2024.sav", frame, 0, 10, [99.0]), frame


def test_spss_scale_codes_and_labels_come_from_the_file(ecsi_sav: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    path, frame = ecsi_sav
    survey = csi.read_survey(path)
    proposal = csi.propose_binding("ecsi", survey)
    assert proposal.scale == (0.0, 10.0) and proposal.scale_note.startswith("value labels")
    assert proposal.missing_codes == (99.0,) and "user-missing in the file" in proposal.codes_note
    binding = tmp_path / "b.toml"
    binding.write_text(proposal.to_toml(), encoding="utf-8")
    spec = csi.bind_model("ecsi", survey, binding=binding)
    first = spec.items[0]
    assert first.label.startswith("Frage 1: Zufriedenheit mit „v_") and first.scale_min == 0
    # The same fit from the plain frame with the same declarations.
    plain = csi.load_model("ecsi").with_items(dict(zip(csi.load_model("ecsi").item_names, frame.columns)))
    plain = plain.with_scale(0, 10).with_missing_codes([99])
    _same_fit(csi.fit(spec, survey.data, missing="listwise"), csi.fit(plain, frame, missing="listwise"))


def test_value_labels_contradicting_the_scale_are_an_error(ecsi_sav: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    path, frame = ecsi_sav
    survey = csi.read_survey(path)
    items = dict(zip(csi.load_model("ecsi").item_names, frame.columns))
    # The shipped ECSI model declares 1-10; the labels say 0 = lowest, 10 = highest.
    with pytest.raises(DataError, match=r"value labels of item .* in 'Befragung 2024.sav' run from 0 = "
                       r"'überhaupt nicht zufrieden' to 10 .* declared scale is \[1, 10\].*--scale 0 10"):  # fmt: skip
        csi.bind_model("ecsi", survey, items=items)
    assert csi.bind_model("ecsi", survey, items=items, scale=(0, 10)).items[0].scale_min == 0


def test_binding_naming_an_absent_column(user_frame: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[items]\nIMAG1 = "Q1_IMAGE1"\nCUEX1 = { column = "cuex1", reverse = true }\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"binding 'mine.toml' names column\(s\) that 'the data' lacks: "
                       r"'IMAG1' -> 'Q1_IMAGE1' \(closest: 'Q1_IMAG1'"):  # fmt: skip
        csi.bind_model("ecsi", user_frame, binding=path)


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ('[items]\nSATISFACTION = "q1"\n', SpecError, r"names 'SATISFACTION', not item\(s\) of model 'ECSI-7'"),
        ('colour = "red"\n', SpecError, r"unknown key\(s\) 'colour'; accepted: model, data"),
        ("[defaults]\nscale = [10, 1]\n", SpecError, r"scale maximum \(1\) must exceed its minimum \(10\)"),
        ('[defaults]\nmissing_codes = "99"\n', SpecError, r"missing codes are a list of numbers"),
        ('[items]\nIMAG1 = { column = "a", flip = true }\n', SpecError, r"item 'IMAG1': unknown key\(s\) 'flip'"),
        ('[items]\nCUSL1 = "loy_1"\n[blocks]\nLOY = ["loy_1"]\n', SpecError, r"both as a block and item by item"),
        ("[items\nIMAG1 = 3\n", DataError, r"binding 'b.toml' is not valid TOML"),
    ],
)
def test_malformed_binding_files(user_frame: pd.DataFrame, tmp_path: Path, text: str, error: type, words: str) -> None:
    path = tmp_path / "b.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error, match=words):
        csi.bind_model("ecsi", user_frame, binding=path)


def test_reverse_recodes_by_model_or_column_name(answers: pd.DataFrame, reference: csi.FitResult) -> None:
    flipped = answers.copy()
    valid = flipped["CUEX3"] < 90
    flipped.loc[valid, "CUEX3"] = 11 - flipped.loc[valid, "CUEX3"]  # the questionnaire asked it the other way round
    spec = csi.bind_model("ecsi", flipped, missing_codes=[98, 99], reverse=["CUEX3"])
    _same_fit(csi.fit(spec, flipped, missing="listwise"), reference)
    renamed = flipped.rename(columns=RENAMES)
    binding = csi.propose_binding("ecsi", renamed).binding
    by_column = csi.bind_model("ecsi", renamed, binding=binding, reverse="cuex3")
    by_item = csi.bind_model("ecsi", renamed, binding=binding, reverse=["CUEX3"])
    assert by_column == by_item and by_item.items[7].reverse
    with pytest.raises(SpecError, match=r"cannot reverse 'CUEX9': not an item"):
        csi.bind_model("ecsi", answers, reverse=["CUEX9"])


def test_model_without_scale_warns_how_to_add_one(answers: pd.DataFrame) -> None:
    text = "SAT =~ CUSA1 + CUSA2 + CUSA3\nLOY =~ CUSL1 + CUSL2 + CUSL3\nLOY ~ SAT\n"
    with pytest.warns(NoScaleWarning, match=r"6 item\(s\) .* have no scale .* no 0-100 index .*--scale MIN MAX"):
        csi.bind_model(text, answers)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert csi.bind_model(text, answers, scale=(1, 10)).items[0].has_scale


def test_binding_leaves_inputs_alone(user_frame: pd.DataFrame) -> None:
    before = user_frame.copy()
    spec = csi.load_model("ecsi")
    csi.bind_model(spec, user_frame, binding=csi.propose_binding(spec, user_frame).binding, scale=(1, 10))
    pd.testing.assert_frame_equal(user_frame, before)
    assert spec == csi.load_model("ecsi")


# --------------------------------------------------------------------------------- CLI


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("csi: error: ")
    return lines[0]


def test_cli_bind_then_fit(
    user_frame: pd.DataFrame, reference: csi.FitResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "umfrage.csv"
    data.write_bytes(user_frame.to_csv(index=False, sep=";").encode("cp1252"))
    out = tmp_path / "binding.toml"
    assert main(["bind", "ecsi", str(data), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "24 of 24 items matched" in printed and "csi fit ecsi umfrage.csv --binding binding.toml" in printed
    assert main(["bind", "ecsi", str(data), "--out", str(out)]) == 2  # never overwrites the user's edits silently
    assert "exists" in _one_error_line(capsys.readouterr().err)
    assert main(["bind", "ecsi", str(data)]) == 0
    assert capsys.readouterr().out == out.read_text(encoding="utf-8")
    results = tmp_path / "res"
    assert main(["fit", "ecsi", str(data), "--binding", str(out), "--missing", "listwise", "--out", str(results)]) == 0
    written = pd.read_csv(results / "estimates.csv")
    np.testing.assert_allclose(written["estimate"], reference.estimates["estimate"], rtol=0, atol=1e-9)


def test_cli_quick_options(answers: pd.DataFrame, reference: csi.FitResult, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    data = tmp_path / "a.tsv"
    answers.to_csv(data, index=False, sep="\t")
    results = tmp_path / "res"
    args = ["fit", "ecsi", str(data), "--missing-codes", "98,99", "--scale", "1", "10", "--missing", "listwise"]
    assert main([*args, "--out", str(results)]) == 0
    written = pd.read_csv(results / "estimates.csv")
    np.testing.assert_allclose(written["estimate"], reference.estimates["estimate"], rtol=0, atol=1e-9)
    capsys.readouterr()
    assert main([*args, "--reverse", "CUEX3,NOPE"]) == 2
    assert "cannot reverse 'NOPE'" in _one_error_line(capsys.readouterr().err)
    assert main(["fit", "ecsi", str(data), "--missing-codes", "98,x"]) == 2
    assert "comma-separated numbers" in capsys.readouterr().err


def test_cli_errors_of_bindings_are_one_line(
    ecsi_sav: tuple[Path, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, frame = ecsi_sav
    binding = tmp_path / "b.toml"
    binding.write_text('[defaults]\nscale = [1, 10]\n[items]\nIMAG1 = "v_imag1"\n', encoding="utf-8")
    assert main(["fit", "ecsi", str(path), "--binding", str(binding)]) == 2
    assert "value labels of item 'IMAG1' (column 'v_imag1')" in _one_error_line(capsys.readouterr().err)
    binding.write_text('[items]\nIMAG1 = "v_image1"\n', encoding="utf-8")
    assert main(["bootstrap", "ecsi", str(path), "--binding", str(binding), "--resamples", "5"]) == 2
    assert "names column(s) that 'Befragung 2024.sav' lacks" in _one_error_line(capsys.readouterr().err)
    assert main(["fit", "ecsi", str(path), "--binding", str(tmp_path / "none.toml")]) == 2
    assert "no binding file" in _one_error_line(capsys.readouterr().err)


def test_cli_warns_when_no_index_can_be_computed(
    answers: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "mini.lav"
    model.write_text("SAT =~ CUSA1 + CUSA2 + CUSA3\nLOY =~ CUSL1 + CUSL2 + CUSL3\nLOY ~ SAT\n", encoding="utf-8")
    data = tmp_path / "a.csv"
    answers.to_csv(data, index=False)
    assert main(["fit", str(model), str(data), "--missing-codes", "98,99", "--missing", "listwise"]) == 0
    captured = capsys.readouterr()
    assert "Indices (0-100)" not in captured.out
    warning = [ln for ln in captured.err.splitlines() if ln.startswith("csi: warning:")]
    scale = [ln for ln in warning if "no 0-100 index" in ln]
    assert len(scale) == 1 and "--scale MIN MAX" in scale[0]
    # The other warning, if any, is the listwise deletion of respondents with a missing answer.
    assert all("no 0-100 index" in ln or "left out" in ln for ln in warning)


def test_blocks_by_label_word_and_hints_by_question_text(answers: pd.DataFrame) -> None:
    # Loyalty questions numbered under the last word of the construct's label, complaints in one unnumbered
    # column, one quality question renamed beyond recognition but still carrying its question text.
    spec = csi.load_model("ecsi")
    names = {"CUSL1": "loyalty_1", "CUSL2": "loyalty_2", "CUSL3": "loyalty_3", "CUSCO": "complaint_handling",
             "PERQ2": "network"}  # fmt: skip
    survey = csi.Survey(answers.rename(columns=names), "mobile.sav", "spss",
                        variable_labels={"network": spec.items[spec.item_names.index("PERQ2")].label})  # fmt: skip
    proposal = csi.propose_binding(spec, survey)
    assert dict(proposal.blocks) == {"COMP": ("complaint_handling",), "LOY": ("loyalty_1", "loyalty_2", "loyalty_3")}
    assert proposal.unmatched == ("PERQ2",)
    assert '# PERQ2 = ""  # no column found (closest: network)' in proposal.to_toml()


def test_readme_worked_example_on_an_spss_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's three commands: bind, edit the one unmatched line, fit; same numbers as the API."""
    data = csi.simulate(csi.load_model("ecsi"), 300, seed=11).data
    names = {c: f"ecsi_{c.lower()}" for c in data.columns}
    names.update({"PERQ2": "network_quality", "CUSCO": "complaint_handling",
                  **{f"CUSL{k}": f"loyalty_{k}" for k in (1, 2, 3)}})  # fmt: skip
    x = data.to_numpy(dtype=float).copy() - 1  # the file's scale is 0-10
    x[np.random.default_rng(2).random(x.shape) < 0.02] = 99.0
    frame = pd.DataFrame(x, columns=[names[c] for c in data.columns])
    frame.insert(0, "resp_id", np.arange(1001.0, 1301.0))
    items = frame.columns[1:]
    sav = tmp_path / "mobile_2024.sav"
    pyreadstat.write_sav(
        frame,
        str(sav),
        column_labels={names[i.name]: i.label for i in csi.load_model("ecsi").items},  # the question texts
        variable_value_labels={
            c: {0: "not at all satisfied", 10: "completely satisfied", 99: "don't know"} for c in items
        },  # fmt: skip
        missing_ranges={c: [99] for c in items},
    )
    binding = tmp_path / "binding.toml"
    assert main(["bind", "ecsi", str(sav), "--out", str(binding)]) == 0
    assert "(closest: network_quality)" in capsys.readouterr().out
    text = binding.read_text(encoding="utf-8")
    edited = text.replace('# PERQ2 = ""  # no column found (closest: network_quality)', 'PERQ2 = "network_quality"')
    assert edited != text
    binding.write_text(edited, encoding="utf-8")
    out = tmp_path / "results"
    assert main(["fit", "ecsi", str(sav), "--binding", str(binding), "--missing", "listwise", "--out", str(out)]) == 0
    # The same fit from the plain frame, bound by hand with the same declarations.
    spec = csi.load_model("ecsi").with_items({k: names[k] for k in data.columns}).with_scale(0, 10)
    expected = csi.fit(spec.with_missing_codes([99]), frame, missing="listwise")
    written = pd.read_csv(out / "index.csv").set_index("construct")["index"]
    np.testing.assert_allclose(written.to_numpy(), csi.compute_index(expected).to_numpy(), rtol=0, atol=1e-9)


def test_cli_index_with_a_binding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    panel = csi.simulate_panel("acsi", companies=2, respondents=60, waves=2, seed=5, industries=None, sectors=None)
    items = csi.load_model("acsi").item_names
    renamed = panel.data.rename(columns={i: f"Q_{i.lower()}" for i in items})
    data = tmp_path / "panel.csv"
    renamed.to_csv(data, index=False)
    binding = tmp_path / "acsi.toml"
    assert main(["bind", "acsi", str(data), "--out", str(binding)]) == 0
    capsys.readouterr()
    out = tmp_path / "out"
    args = ["index", "--model", "acsi", "--data", str(data), "--binding", str(binding), "--company", "company",
            "--wave", "wave", "--bootstrap", "0", "--seed", "1", "--min-n", "30", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    expected = csi.index_panel(panel.data, "acsi", company="company", wave="wave", n_resamples=0, seed=1, min_n=30)
    written = pd.read_csv(out / "index.csv")
    np.testing.assert_allclose(written["index"], expected.index["index"], rtol=0, atol=1e-9)
