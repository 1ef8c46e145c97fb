"""``csi fit`` and ``csi bootstrap`` with a model that has a higher-order construct (``--hoc``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from bad_input import cli_error
from hoc_population import TEXT, spec, survey

import csi
from csi.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hoc")
    survey(200, seed=21).to_csv(folder / "survey.csv", index=False)
    (folder / "hoc.lav").write_text(TEXT + "#: scale 1 10\n", encoding="utf-8")
    return {"data": folder / "survey.csv", "model": folder / "hoc.lav", "folder": folder}


@pytest.mark.parametrize("approach", [None, "two-stage-embedded", "two-stage-disjoint"])
def test_fit_prints_both_orders(files: dict[str, Path], approach: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["fit", str(files["model"]), str(files["data"])] + (["--hoc", approach] if approach else [])
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"Higher order  {approach or 'repeated'}; QUAL (order 2: PROD, SERV, DELI)" in out
    for title in ("Higher-order constructs on their components", "Reliability and validity by order",
                  "HTMT, first order (items)", "HTMT, higher order", "Indices (0-100)"):
        assert title in out  # fmt: skip
    fit = csi.fit(spec(), pd.read_csv(files["data"]), hoc=approach or "repeated")
    index = csi.compute_index(fit)
    line = next(ln for ln in out.split("Indices (0-100)")[1].splitlines() if ln.startswith("QUAL"))
    assert float(line.split()[-1]) == pytest.approx(index["QUAL"], abs=0.05)


def test_fit_bootstrap_and_out(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = files["folder"] / "results"
    argv = ["fit", str(files["model"]), str(files["data"]), "--hoc", "two-stage-embedded", "--bootstrap", "50",
            "--seed", "2", "--out", str(out_dir)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    boot_indices = out.split("Indices (0-100)")[-1]  # the bootstrap's table: the components' indices too
    assert any(line.startswith("PROD ") for line in boot_indices.splitlines())
    for name in ("higher_order.csv", "quality_by_order.csv", "first_order_outer_model.csv", "draws.csv"):
        assert (out_dir / name).is_file()
    table = pd.read_csv(out_dir / "higher_order.csv")
    assert list(table["component"]) == ["PROD", "SERV", "DELI"]


def test_errors(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    model, data = str(files["model"]), str(files["data"])
    cli_error(["fit", model, data, "--method", "plsc"], capsys, ["higher-order", "method='pls'"])
    cli_error(["fit", "ecsi", data, "--hoc", "repeated"], capsys, ["hoc='repeated'", "has none"])
    assert main(["fit", model, data, "--hoc", "bogus"]) == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err
