"""Wave order: the change from one wave to the next must run forwards in time, whatever the labels look like.

The panel checks relabel the waves 1 and 2 of one simulated panel with labels that sort backwards as text
(w9/w10, Q4-2023/Q1-2024, Jan/Feb) and require the same changes as with the numbers: same sign, same size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import csi
from csi.cli import main
from csi.errors import DataError
from csi.index.waves import order_waves
from csi.report.load import load_results

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([10, 9, 2.0], ["2", "9", "10"]),
        (["2024", "2023"], ["2023", "2024"]),
        (["w10", "w9", "w1"], ["w1", "w9", "w10"]),
        (["Wave 2", "wave 10"], ["Wave 2", "wave 10"]),
        (
            ["Q1-2024", "Q4-2023", "2023Q3", "2024-Q2", "Q2 2023"],
            ["Q2 2023", "2023Q3", "Q4-2023", "Q1-2024", "2024-Q2"],
        ),
        (["H1-2024", "2023H2"], ["2023H2", "H1-2024"]),
        (["Feb", "Jan", "December", "sept"], ["Jan", "Feb", "sept", "December"]),
        (["2024-01", "2023-12", "11/2023"], ["11/2023", "2023-12", "2024-01"]),
        (["Jan 2024", "Dec 2023", "March-2024"], ["Dec 2023", "Jan 2024", "March-2024"]),
        (["2024-01-15", "2023-12-01"], ["2023-12-01", "2024-01-15"]),
        (["only"], ["only"]),
    ],
)
def test_recognised_labels_are_ordered_in_time(labels: list[object], expected: list[str]) -> None:
    assert order_waves(labels) == expected


@pytest.mark.parametrize(
    "labels",
    [
        ["spring", "autumn"],
        ["2023", "Q1-2024"],
        ["Jan", "Q1-2024"],
        ["w1", "v2"],
        ["Jan 2024", "Feb"],
        ["2024-01", "Q1-2024"],
    ],
)
def test_unrecognised_or_mixed_labels_ask_for_the_order(labels: list[str]) -> None:
    with pytest.raises(DataError, match=r"cannot tell the order of the waves .* in column 'welle'.*wave_order=.*"
                       r"--wave-order a,b,c"):  # fmt: skip
        order_waves(labels, column="welle")


def test_explicit_order_must_list_every_wave_once() -> None:
    assert order_waves(["spring", "autumn"], ["spring", "autumn"]) == ["spring", "autumn"]
    assert order_waves([2023, 2024], ["2024", 2023]) == ["2024", "2023"]  # the user's order wins
    with pytest.raises(DataError, match=r"omits wave\(s\) 'summer' present in column 'wave'"):
        order_waves(["spring", "summer", "autumn"], ["spring", "autumn"])
    with pytest.raises(DataError, match=r"names wave\(s\) 'winter' that column 'wave' does not hold"):
        order_waves(["spring", "autumn"], ["spring", "autumn", "winter"])
    with pytest.raises(DataError, match=r"names 'spring' more than once"):
        order_waves(["spring", "autumn"], ["spring", "autumn", "spring"])
    with pytest.raises(DataError, match=r"must be a list of wave labels"):
        order_waves(["a", "b"], "a,b")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return csi.simulate_panel("acsi", companies=2, respondents=70, waves=2, seed=3, industries=None, sectors=None).data


def _run(data: pd.DataFrame, **kw: object) -> csi.PanelIndexResult:
    return csi.index_panel(data, "acsi", company="company", wave="wave", n_resamples=0, seed=1, min_n=30,
                           national_resamples=0, **kw)  # fmt: skip


@pytest.fixture(scope="module")
def numbered(panel: pd.DataFrame) -> csi.PanelIndexResult:
    return _run(panel)


@pytest.mark.parametrize(("first", "second"), [("w9", "w10"), ("Q4-2023", "Q1-2024"), ("Jan", "Feb")])
def test_changes_run_forwards_with_text_labels(
    panel: pd.DataFrame, numbered: csi.PanelIndexResult, first: str, second: str
) -> None:
    relabelled = panel.assign(wave=panel["wave"].map({1: first, 2: second}))
    result = _run(relabelled)
    assert result.manifest["waves"] == [first, second]
    assert set(result.changes["wave_from"]) == {first} and set(result.changes["wave_to"]) == {second}
    np.testing.assert_allclose(result.changes["change"], numbered.changes["change"], rtol=0, atol=1e-12)
    national = numbered.changes.query("level == 'national' and construct == 'SAT'")["change"]
    assert national.abs().gt(0).all()  # a change of zero could not show a reversed sign
    report = load_results(result)
    assert report.waves == (first, second) and report.latest_wave == second


def test_explicit_wave_order_and_its_errors(panel: pd.DataFrame, numbered: csi.PanelIndexResult) -> None:
    seasons = panel.assign(wave=panel["wave"].map({1: "spring", 2: "autumn"}))
    with pytest.raises(DataError, match=r"cannot tell the order of the waves 'spring', 'autumn'"):
        _run(seasons)
    result = _run(seasons, wave_order=["spring", "autumn"])
    np.testing.assert_allclose(result.changes["change"], numbered.changes["change"], rtol=0, atol=1e-12)
    with pytest.raises(DataError, match=r"omits wave\(s\) 'autumn'"):
        _run(seasons, wave_order=["spring"])


def test_cli_wave_order(panel: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "panel.csv"
    panel.assign(wave=panel["wave"].map({1: "spring", 2: "autumn"})).to_csv(data, index=False)
    base = ["index", "--model", "acsi", "--data", str(data), "--company", "company", "--wave", "wave",
            "--bootstrap", "0", "--seed", "1", "--min-n", "30", "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(base) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--wave-order a,b,c" in err
    assert main([*base, "--wave-order", "spring,winter"]) == 2
    err = capsys.readouterr().err.strip()
    assert "omits wave(s) 'autumn'" in err and "'winter' that column 'wave' does not hold" in err
    assert main([*base, "--wave-order", "spring,autumn"]) == 0
    changes = pd.read_csv(tmp_path / "out" / "changes.csv")
    assert set(changes["wave_from"]) == {"spring"} and set(changes["wave_to"]) == {"autumn"}
