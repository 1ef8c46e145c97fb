"""Reading survey files (csi.read_survey): text detection, Excel sheets, Parquet, SPSS/Stata metadata, bad files.

Every file is generated here (pandas, openpyxl through pandas, pyreadstat), so each test states exactly what the
file holds and what the reader must return.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import csi
from csi.cli import main
from csi.data.io import detect_delimiter
from csi.errors import DataError, InputFileError

FRAME = pd.DataFrame({"id": [1, 2, 3], "Zufriedenheit": [7, 8, 10], "Preis": [3, 5, 4]})


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("csi: error: ")
    return lines[0]


def _write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# ------------------------------------------------------------------------ text files


@pytest.mark.parametrize(
    ("sep", "encoding", "name"),
    [
        (",", "utf-8", "plain.csv"),
        (";", "utf-8-sig", "excel_bom.csv"),
        ("\t", "utf-8", "tabs.tsv"),
        ("\t", "utf-16", "unicode.txt"),
        (";", "cp1252", "windows.csv"),
        ("|", "latin-1", "pipes.csv"),
    ],
)
def test_delimiter_and_encoding_are_detected(tmp_path: Path, sep: str, encoding: str, name: str) -> None:
    header = sep.join(["Kunde Nr.", "Zufriedenheit über alles", "Preis"])
    rows = [sep.join(["Müller", "7", "3"]), sep.join(["Ørsted", "10", "5"])]
    path = _write(tmp_path / name, "\n".join([header, *rows]) + "\n", encoding)
    survey = csi.read_survey(path)
    assert survey.sep == sep and survey.format == "csv"
    assert list(survey.data.columns) == ["Kunde Nr.", "Zufriedenheit über alles", "Preis"]
    assert list(survey.data["Kunde Nr."]) == ["Müller", "Ørsted"]
    assert list(survey.data["Zufriedenheit über alles"]) == [7, 10]
    assert list(survey.data.index) == [1, 2]  # the file's own data rows


def test_given_sep_and_encoding_are_used(tmp_path: Path) -> None:
    # "a;b" with --sep , is one column named "a;b": the given delimiter wins over detection.
    path = _write(tmp_path / "x.csv", "a;b\n1;2\n", "utf-8")
    assert list(csi.read_survey(path, sep=",").data.columns) == ["a;b"]
    assert csi.read_survey(path, sep=";").sep == ";"
    tabs = _write(tmp_path / "t.csv", "a\tb\n1\t2\n", "utf-8")
    assert list(csi.read_survey(tabs, sep="tab").data.columns) == ["a", "b"]


def test_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    path = _write(tmp_path / "de.csv", "gewicht;q1\n1,5;7\n0,75;8\n", "utf-8")
    data = csi.read_survey(path).data
    np.testing.assert_array_equal(data["gewicht"].to_numpy(), [1.5, 0.75])


def test_detect_delimiter_prefers_consistent_field_counts() -> None:
    # Commas inside the values split rows unevenly; semicolons split every line into three fields.
    assert detect_delimiter(["a;b;c", "1,5;2;3", "2;3,25;4"]) == ";"
    assert detect_delimiter(["only"]) == ","


def test_undecodable_text_names_file_line_and_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path / "latin.csv", "a,b\n1,2\nM\u00fcller,3\n", "latin-1")
    with pytest.raises(DataError, match=r"cannot decode 'latin.csv' as utf-8: byte 0xfc on line 3.*--encoding"):
        csi.read_survey(path, encoding="utf-8")
    # 0x81 is undefined in cp1252, so autodetection gives up rather than guess.
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b\n1,\x81\n")
    with pytest.raises(DataError, match=r"cannot decode 'bad.csv' as utf-8 or cp1252.*latin-1"):
        csi.read_survey(bad)
    with pytest.raises(DataError, match=r"unknown text encoding 'klingon' for 'bad.csv'"):
        csi.read_survey(bad, encoding="klingon")
    assert csi.read_survey(bad, encoding="latin-1").encoding == "latin-1"


def test_binary_or_empty_text_is_refused(tmp_path: Path) -> None:
    binary = tmp_path / "data.csv"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04")
    with pytest.raises(DataError, match=r"'data.csv' is not a text file.*accepted formats"):
        csi.read_survey(binary)
    empty = _write(tmp_path / "empty.csv", "\n\n", "utf-8")
    with pytest.raises(DataError, match=r"'empty.csv' is empty"):
        csi.read_survey(empty)


def test_ragged_text_is_one_error_naming_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "ragged.csv", "a,b\n1,2\n3,4,5,6\n", "utf-8")
    with pytest.raises(DataError, match=r"cannot read 'ragged.csv' as comma-separated text: .*line 3"):
        csi.read_survey(path)


# ------------------------------------------------------------------- duplicated headers


def test_duplicated_headers_are_an_error_in_every_format(tmp_path: Path) -> None:
    csv = _write(tmp_path / "dup.csv", "q1;q2;q1;q3;q2\n1;2;3;4;5\n", "utf-8")
    with pytest.raises(DataError, match=r"'dup.csv': the header names column\(s\) 'q1', 'q2' more than once"):
        csi.read_survey(csv)
    xlsx = tmp_path / "dup.xlsx"
    pd.DataFrame([[1, 2, 3]], columns=["Preis", "Service", "Preis"]).to_excel(xlsx, index=False)
    with pytest.raises(DataError, match=r"'dup.xlsx' \(sheet 'Sheet1'\): the header names column\(s\) 'Preis'"):
        csi.read_survey(xlsx)
    # Unnamed columns are no duplicates (pandas names them itself).
    ok = _write(tmp_path / "blank.csv", "a,,b,\n1,2,3,4\n", "utf-8")
    assert len(csi.read_survey(ok).data.columns) == 4


# ----------------------------------------------------------------------------- Excel


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "Umfrage 2024.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"Hinweis": ["Daten im zweiten Blatt"]}).to_excel(writer, sheet_name="Info", index=False)
        FRAME.to_excel(writer, sheet_name="Daten Welle 1", index=False)
    return path


def test_excel_sheet_by_name_or_number(workbook: Path) -> None:
    assert list(csi.read_survey(workbook).data.columns) == ["Hinweis"]  # the first sheet by default
    for sheet in ("Daten Welle 1", 2, "2"):
        survey = csi.read_survey(workbook, sheet=sheet)
        assert survey.sheet == "Daten Welle 1" and survey.format == "excel"
        pd.testing.assert_frame_equal(survey.data, FRAME.set_axis(pd.RangeIndex(1, 4)))


@pytest.mark.parametrize("sheet", ["Data", 3, "0"])
def test_wrong_sheet_lists_the_sheets(workbook: Path, sheet: object) -> None:
    with pytest.raises(DataError, match=r"'Umfrage 2024.xlsx' has no sheet.*its sheets: 1 'Info', 2 'Daten Welle 1'"):
        csi.read_survey(workbook, sheet=sheet)


def test_damaged_workbook_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "kaputt.xlsx"
    path.write_bytes(b"PK\x03\x04 this is no workbook")
    with pytest.raises(DataError, match=r"cannot read 'kaputt.xlsx' as an Excel workbook"):
        csi.read_survey(path)


# --------------------------------------------------------------------------- Parquet


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    FRAME.set_axis([10, 20, 30]).to_parquet(path)
    survey = csi.read_survey(path)
    assert survey.format == "parquet" and list(survey.data.index) == [1, 2, 3]
    assert list(survey.data.columns) == list(FRAME.columns)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"cannot read 'broken.parquet' as a Parquet file"):
        csi.read_survey(broken)


# -------------------------------------------------------------------- SPSS and Stata


@pytest.fixture
def sav(tmp_path: Path) -> Path:
    frame = pd.DataFrame(
        {"q1": [1.0, 10.0, 99.0, 4.0, 98.0], "q2": [2.0, 3.0, 97.0, 5.0, 1.0], "alter": [34.0, 51.0, 28.0, 45.0, 60.0]}
    )
    path = tmp_path / "Kundenbefragung.sav"
    pyreadstat.write_sav(
        frame,
        str(path),
        column_labels={"q1": "Wie zufrieden sind Sie insgesamt? (0 = gar nicht)", "q2": "Preis – Leistung «gut»"},
        variable_value_labels={"q1": {1: "sehr unzufrieden", 10: "sehr zufrieden", 99: "weiß nicht"}},
        missing_ranges={"q1": [99], "q2": [{"lo": 97, "hi": 99}]},
    )
    return path


def test_spss_metadata_labels_value_labels_user_missing(sav: Path) -> None:
    survey = csi.read_survey(sav)
    assert survey.format == "spss" and survey.source == "Kundenbefragung.sav"
    assert survey.label("q1") == "Wie zufrieden sind Sie insgesamt? (0 = gar nicht)"
    assert survey.label("q2") == "Preis – Leistung «gut»" and survey.label("alter") == ""
    assert dict(survey.value_labels["q1"]) == {1.0: "sehr unzufrieden", 10.0: "sehr zufrieden", 99.0: "weiß nicht"}
    # User-missing values become NaN; the codes are kept (a range of integers code by code).
    assert survey.missing_codes["q1"] == (99.0,) and survey.missing_codes["q2"] == (97.0, 98.0, 99.0)
    np.testing.assert_array_equal(survey.data["q1"].to_numpy(), [1, 10, np.nan, 4, 98])
    np.testing.assert_array_equal(survey.data["q2"].to_numpy(), [2, 3, np.nan, 5, 1])
    # 99 is user-missing, so the labels state the scale 1..10.
    assert survey.labelled_scale("q1") == (1.0, 10.0) and survey.labelled_scale("q2") is None
    assert list(survey.data.index) == [1, 2, 3, 4, 5]


def test_survey_metadata_is_read_only(sav: Path) -> None:
    survey = csi.read_survey(sav)
    with pytest.raises(TypeError):
        survey.variable_labels["q1"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        survey.value_labels["q1"][1.0] = "x"  # type: ignore[index]
    with pytest.raises(AttributeError):
        survey.source = "other"  # type: ignore[misc]


def test_zsav_and_por_and_stata(tmp_path: Path) -> None:
    frame = pd.DataFrame({"zufr": [1.0, 5.0, 3.0], "preis": [2.0, 4.0, 5.0]})
    labels = {"zufr": "Zufriedenheit mit dem Händler", "preis": "Preis / Leistung"}
    values = {"zufr": {1: "überhaupt nicht", 5: "völlig"}}
    zsav = tmp_path / "a.zsav"
    pyreadstat.write_sav(frame, str(zsav), column_labels=labels, variable_value_labels=values, compress=True)
    dta = tmp_path / "a.dta"
    pyreadstat.write_dta(frame, str(dta), column_labels=labels, variable_value_labels=values)
    por = tmp_path / "a.por"
    pyreadstat.write_por(frame, str(por), column_labels=labels)
    for path, kind in ((zsav, "spss"), (dta, "stata")):
        survey = csi.read_survey(path)
        assert survey.format == kind and survey.label("zufr") == "Zufriedenheit mit dem Händler"
        assert survey.labelled_scale("zufr") == (1.0, 5.0)
        np.testing.assert_array_equal(survey.data["preis"].to_numpy(), frame["preis"].to_numpy())
    survey = csi.read_survey(por)
    assert survey.format == "spss"
    np.testing.assert_array_equal(survey.data.iloc[:, 0].to_numpy(), frame["zufr"].to_numpy())


def test_damaged_spss_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "kaputt.sav"
    path.write_bytes(b"$FL2 garbage garbage garbage")
    with pytest.raises(DataError, match=r"cannot read 'kaputt.sav' as an SPSS file"):
        csi.read_survey(path)


# ----------------------------------------------------------------------- bad requests


def test_unsupported_or_absent_file_and_options_that_do_not_apply(tmp_path: Path, sav: Path) -> None:
    odd = tmp_path / "survey.json"
    odd.write_text("{}")
    with pytest.raises(DataError, match=r"cannot read 'survey.json': unsupported file type '.json'; accepted: .*\.sav"):
        csi.read_survey(odd)
    with pytest.raises(InputFileError, match=r"no data file .*nothing.csv"):
        csi.read_survey(tmp_path / "nothing.csv")
    with pytest.raises(DataError, match=r"option\(s\) sheet do not apply to 'Kundenbefragung.sav' \(spss file\)"):
        csi.read_survey(sav, sheet="2")
    csv = _write(tmp_path / "a.csv", "a,b\n1,2\n", "utf-8")
    with pytest.raises(DataError, match=r"option\(s\) sheet do not apply to 'a.csv'"):
        csi.read_survey(csv, sheet=1)
    with pytest.raises(DataError, match=r"delimiter of 'a.csv' must be one character"):
        csi.read_survey(csv, sep=";;")


def test_value_errors_name_the_files_own_rows(tmp_path: Path) -> None:
    # A stray label in data row 4 (line 5 of the file) of a ;-separated cp1252 file.
    data = csi.simulate(csi.load_model("scsb"), 40, seed=1).data.astype(object)
    data.iloc[3, 2] = "k.A."
    path = tmp_path / "scsb.csv"
    path.write_bytes(data.to_csv(index=False, sep=";").encode("cp1252"))
    with pytest.raises(DataError, match=rf"{data.columns[2]!r} holds 'k.A.'.*at row 4\b"):
        csi.fit("scsb", csi.read_survey(path).data)


def test_data_file_is_not_modified(sav: Path) -> None:
    before = sav.read_bytes()
    csi.read_survey(sav)
    assert sav.read_bytes() == before


# --------------------------------------------------------------------------------- CLI


@pytest.fixture
def scsb_semicolon(tmp_path: Path) -> Path:
    data = csi.simulate(csi.load_model("scsb"), 120, seed=5).data
    path = tmp_path / "scsb.csv"
    path.write_bytes(codecs.BOM_UTF8 + data.to_csv(index=False, sep=";").encode("utf-8"))
    return path


def test_cli_reads_semicolon_files_like_the_api(scsb_semicolon: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", "scsb", str(scsb_semicolon)]) == 0
    out = capsys.readouterr().out
    expected = csi.fit("scsb", pd.read_csv(scsb_semicolon, sep=";", encoding="utf-8-sig"))
    assert out.startswith(expected.summary())
    assert main(["fit", "scsb", str(scsb_semicolon), "--sep", ";", "--encoding", "utf-8"]) == 0


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--sheet", "2"], "do not apply to 'scsb.csv'"),
        (["--encoding", "nonsense"], "unknown text encoding 'nonsense'"),
        (["--sep", ";;"], "must be one character"),
    ],
)
def test_cli_read_errors_are_one_line(
    scsb_semicolon: Path, extra: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fit", "scsb", str(scsb_semicolon), *extra]) == 2
    assert words in _one_error_line(capsys.readouterr().err)


def test_cli_wrong_sheet_and_bad_file_are_one_line(
    workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fit", "scsb", str(workbook), "--sheet", "Daten"]) == 2
    assert "its sheets: 1 'Info', 2 'Daten Welle 1'" in _one_error_line(capsys.readouterr().err)
    bad = tmp_path / "x.sav"
    bad.write_bytes(b"nope")
    assert main(["bootstrap", "scsb", str(bad), "--resamples", "10"]) == 2
    assert "cannot read 'x.sav' as an SPSS file" in _one_error_line(capsys.readouterr().err)
    dup = _write(tmp_path / "dup.csv", "a,a\n1,2\n", "utf-8")
    assert main(["fit", "scsb", str(dup)]) == 2
    assert "names column(s) 'a' more than once" in _one_error_line(capsys.readouterr().err)


def test_cli_undecodable_and_unsupported_files_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    latin = _write(tmp_path / "kunden.csv", "name;q1\nJürgen;7\n", "cp1252")
    assert main(["fit", "scsb", str(latin), "--encoding", "utf-8"]) == 2
    assert "cannot decode 'kunden.csv' as utf-8: byte 0xfc on line 2" in _one_error_line(capsys.readouterr().err)
    odd = tmp_path / "kunden.json"
    odd.write_text("{}")
    assert main(["bind", "scsb", str(odd)]) == 2
    assert "unsupported file type '.json'" in _one_error_line(capsys.readouterr().err)
