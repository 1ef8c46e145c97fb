"""Bad-input catalogue, files: data and model files that cannot be read, through the API and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_input import api_error, cli_error, write_files

import csi
from csi.data import read_data
from csi.errors import DataError, InputFileError, ModelSyntaxError, SpecError


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_files(tmp_path_factory.mktemp("bad_files"))


# (data file key, exception, key words); the command line is `csi fit ecsi FILE`.
DATA_FILES = [
    ("missing.csv", InputFileError, ["no data file", "missing.csv"]),
    ("empty.csv", DataError, ["empty.csv", "is empty", "no header"]),
    ("header.csv", DataError, ["0 usable row", "needs at least"]),
    ("binary.csv", DataError, ["binary.csv", "not a text file", "accepted formats"]),
    # Read as cp1252 (a valid decoding), so what fails is the model's columns.
    ("latin1.csv", DataError, ["the data lack", "item column", "IMAG2"]),
    ("dupheader.csv", DataError, ["dupheader.csv", "'IMAG1' more than once", "own name"]),
    ("data.json", DataError, ["data.json", "unsupported file type", ".csv", ".sav"]),
    ("folder.csv", InputFileError, ["no data file", "folder.csv"]),
    ("truncated.parquet", DataError, ["cannot read", "truncated.parquet"]),
    ("fake.xlsx", DataError, ["cannot read", "fake.xlsx"]),
]


def _data_path(files: dict[str, Path], key: str) -> Path:
    return files[key] if key in files else files["good.csv"].with_name(key)


@pytest.mark.parametrize(("key", "kind", "words"), DATA_FILES, ids=[c[0] for c in DATA_FILES])
def test_data_file_api(files, key, kind, words) -> None:
    api_error(lambda: csi.fit("ecsi", read_data(_data_path(files, key))), kind, words)


@pytest.mark.parametrize(("key", "kind", "words"), DATA_FILES, ids=[c[0] for c in DATA_FILES])
def test_data_file_cli(files, capsys, key, kind, words) -> None:
    cli_error(["fit", "ecsi", _data_path(files, key)], capsys, words)


# (model file key or name, exception, key words); the command line is `csi fit MODEL good.csv`.
MODEL_FILES = [
    ("latin1.lav", SpecError, ["latin1.lav", "not utf-8", "0xe9", "line 1"]),
    ("binary.toml", SpecError, ["binary.toml", "not utf-8", "0xff"]),
    ("missing.toml", InputFileError, ["no model file", "missing.toml"]),
    ("missing.lav", InputFileError, ["no model file", "missing.lav"]),
    ("empty.lav", SpecError, ["no constructs"]),
    ("comments.lav", SpecError, ["no constructs"]),
    ("syntax.lav", ModelSyntaxError, ["line 1"]),
    ("cycle.lav", SpecError, ["cycle", "A -> B -> A", "acyclic"]),
    ("bad.toml", ModelSyntaxError, ["line 1", "TOML"]),
    ("wrong.toml", SpecError, ["constructs"]),
]


def _model_path(files: dict[str, Path], key: str) -> Path:
    return files[key] if key in files else files["good.csv"].with_name(key)


@pytest.mark.parametrize(("key", "kind", "words"), MODEL_FILES, ids=[c[0] for c in MODEL_FILES])
def test_model_file_api(files, key, kind, words) -> None:
    api_error(lambda: csi.load_model(_model_path(files, key)), kind, words)
    api_error(lambda: csi.load_model(str(_model_path(files, key))), kind, words)


@pytest.mark.parametrize(("key", "kind", "words"), MODEL_FILES, ids=[c[0] for c in MODEL_FILES])
def test_model_file_cli(files, capsys, key, kind, words) -> None:
    cli_error(["fit", _model_path(files, key), files["good.csv"]], capsys, words)


def test_missing_files_are_also_file_not_found_errors(files) -> None:
    """InputFileError keeps the built-in type, so existing `except FileNotFoundError` code still works."""
    with pytest.raises(FileNotFoundError):
        csi.load_model(files["good.csv"].with_name("nope.toml"))
    with pytest.raises(FileNotFoundError):
        read_data(files["good.csv"].with_name("nope.csv"))


def test_items_json_file_cli(files, capsys) -> None:
    cli_error(["fit", "ecsi", files["good.csv"], "--items", files["items.json"]], capsys, ["cannot bind", "NOPE"])
    cli_error(
        ["fit", "ecsi", files["good.csv"], "--items", files["badjson.json"]], capsys, ["--items", "not valid JSON"]
    )


def test_unit_weights_files_cli(files, capsys, tmp_path) -> None:
    base = ["index", "--model", "acsi", "--data", files["panel.csv"], "--company", "company", "--wave", "wave",
            "--bootstrap", "0", "--seed", "1", "--out", tmp_path / "out"]  # fmt: skip
    cli_error([*base, "--unit-weights", tmp_path / "none.csv"], capsys, ["none.csv"])
    cli_error([*base, "--unit-weights", files["noweight.csv"]], capsys, ["weight"])
    cli_error(["index", "--model", "acsi", "--data", tmp_path / "nopanel.csv", "--company", "company", "--wave",
               "wave", "--bootstrap", "0", "--seed", "1", "--out", tmp_path / "o2"], capsys, ["nopanel.csv"])  # fmt: skip
