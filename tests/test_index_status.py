"""Cell status in index production: flagged cells are named, shown, and kept out of the aggregates by default."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import csi
from csi.cli import main
from csi.errors import DataError, EstimationError
from csi.index.compute import unstandardised_weights
from csi.index.status import FLAGGED, parent_status
from csi.report import load_results, render_html, tables

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::csi.ConvergenceWarning")

# In this panel company C005 in wave 1 gets a negative unstandardised outer weight (checked below from its own fit).
PANEL = dict(companies=6, respondents=[120, 120, 120, 120, 120, 25], waves=2, seed=4, industries=3, sectors=2)


@pytest.fixture(scope="module")
def panel() -> csi.SimulatedPanel:
    return csi.simulate_panel("acsi", **PANEL)


def run(panel: csi.SimulatedPanel, **kw) -> csi.PanelIndexResult:
    opts = dict(company="company", wave="wave", industry="industry", sector="sector", unit_weights=panel.unit_weights,
                min_n=40, n_resamples=20, seed=1, national_fit=False)  # fmt: skip
    return csi.index_panel(panel.data, "acsi", **{**opts, **kw})


@pytest.fixture(scope="module")
def excluded(panel) -> csi.PanelIndexResult:
    return run(panel)


@pytest.fixture(scope="module")
def included(panel) -> csi.PanelIndexResult:
    return run(panel, flagged="include")


def _status(r: csi.PanelIndexResult, level: str, unit: str, wave: str) -> str:
    return r.units.query("level == @level and unit == @unit and wave == @wave")["status"].item()


def _sat(r: csi.PanelIndexResult, level: str, unit: str, wave: str) -> float:
    return r.index.query("level == @level and unit == @unit and wave == @wave and construct == 'SAT'")["index"].item()


def test_the_negative_weight_cell_is_flagged_not_ok(panel, excluded) -> None:
    rows = panel.data[(panel.data["company"] == "C005") & (panel.data["wave"] == 1)]
    fit = csi.fit("acsi", rows, missing="listwise")
    assert (unstandardised_weights(fit) < 0).any()  # the fixture's premise, from the cell's own fit
    assert _status(excluded, "company", "C005", "1") == "negative_weight"
    expected = csi.compute_index(fit, negative="force")["SAT"]
    assert _sat(excluded, "company", "C005", "1") == pytest.approx(expected, abs=1e-12)  # shown, with its status
    assert excluded.manifest["flagged_cells"] == {"C005 / 1": ["negative_weight"]}
    counts = excluded.manifest["counts"]
    assert counts["flagged"] == counts["negative_weight"] == 1 and counts["ok"] == 9


def test_flagged_cells_stay_out_of_the_aggregates_by_default(panel, excluded) -> None:
    parent = excluded.units.query("level == 'company' and unit == 'C005' and wave == '1'")["parent"].item()
    u = excluded.units.query("level == 'company' and wave == '1' and parent == @parent")
    ok = u[u["status"] == "ok"]
    assert np.isnan(u.loc[u["unit"] == "C005", "weight"].item()) and ok["weight"].sum() == pytest.approx(1)
    raw = panel.unit_weights.astype({"wave": str}).query("level == 'company' and wave == '1'").set_index("unit")
    a = raw.loc[ok["unit"], "weight"].to_numpy()
    by_hand = float(a / a.sum() @ np.array([_sat(excluded, "company", c, "1") for c in ok["unit"]]))
    assert _sat(excluded, "industry", parent, "1") == pytest.approx(by_hand, abs=1e-10)
    assert set(excluded.units["status"]) == {"ok", "suppressed", "negative_weight"}  # parents stay ok


def test_include_policy_lets_them_in_and_marks_every_parent(panel, excluded, included) -> None:
    assert _status(included, "company", "C005", "1") == "negative_weight"
    parent = included.units.query("level == 'company' and unit == 'C005' and wave == '1'")["parent"].item()
    assert included.units.query("unit == 'C005' and wave == '1'")["weight"].item() > 0
    assert _status(included, "industry", parent, "1") == "includes_flagged"
    assert _status(included, "national", "national", "1") == "includes_flagged"
    assert _status(included, "national", "national", "2") == "ok"  # wave 2 has no flagged cell
    assert _sat(included, "national", "national", "1") != pytest.approx(_sat(excluded, "national", "national", "1"))
    assert _sat(included, "national", "national", "2") == _sat(excluded, "national", "national", "2")
    assert included.manifest["options"]["flagged"] == "include"


def test_summary_and_warning_count_the_flagged_cells(panel, excluded, included) -> None:
    line = next(x for x in excluded.summary().splitlines() if x.startswith("Flagged cells"))
    assert "1 company cell(s) (1 negative_weight)" in line and "excluded from the aggregates" in line
    assert "included in the aggregates" in included.summary()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(panel, n_resamples=0)
    assert any("1 company cell(s) (1 negative_weight)" in str(w.message) and "C005 / 1" in str(w.message)
               for w in caught)  # fmt: skip


def test_when_no_cell_converges_no_unit_is_ok(panel) -> None:
    r = run(panel, n_resamples=0, max_iter=2)
    fitted = r.units.query("level == 'company' and status != 'suppressed'")
    assert set(fitted["status"]) == {"not_converged"}
    assert "ok" not in set(r.units["status"])
    assert set(r.units.query("level != 'company'")["status"]) == {"all_flagged"}
    assert r.index.query("level == 'national'")["index"].isna().all()
    assert r.manifest["counts"]["not_converged"] == len(fitted) and r.manifest["counts"]["ok"] == 0
    inc = run(panel, n_resamples=0, max_iter=2, flagged="include")
    assert set(inc.units.query("level != 'company'")["status"]) == {"includes_flagged"}
    assert inc.index.query("level == 'national'")["index"].notna().all()
    assert 'id="national-status">Status: includes_flagged (includes flagged cells)' in render_html(inc)
    assert tables.headline(load_results(r))["status"] == "all_flagged"
    assert 'id="national-status">Status: all_flagged (every cell flagged)' in render_html(r)  # renders, says why


def test_parent_status_rules() -> None:
    assert parent_status(["ok", "ok"], ["suppressed"]) == "ok"
    assert parent_status(["ok", "negative_weight"], []) == "includes_flagged"
    assert parent_status(["includes_flagged"], []) == "includes_flagged"
    assert parent_status([], ["failed", "not_converged"]) == "failed"
    assert parent_status([], ["suppressed", "inadmissible"]) == "all_flagged"
    assert parent_status([], ["suppressed"]) == "suppressed"
    assert FLAGGED == ("not_converged", "inadmissible", "negative_weight")


def test_bad_policy_is_an_error(panel) -> None:
    with pytest.raises(EstimationError, match=r"unknown flagged-cell policy 'drop'; accepted: exclude, include"):
        run(panel, flagged="drop")


# ------------------------------------------------------------------ unit weights and degenerate panels


def test_unit_weight_for_an_unknown_company_is_an_error(panel) -> None:
    extra = pd.DataFrame({"level": ["company"], "unit": ["C999"], "wave": [1], "weight": [2.0]})
    with pytest.raises(DataError, match=r"weight for company 'C999' in wave '1', but the panel has no company 'C999'"):
        run(panel, unit_weights=pd.concat([panel.unit_weights, extra], ignore_index=True), n_resamples=0)
    wrong_wave = pd.DataFrame({"level": ["company"], "unit": ["C001"], "wave": [3], "weight": [2.0]})
    with pytest.raises(DataError, match=r"company 'C001' in wave '3', but it is in the panel only in wave\(s\) '1', '2'"):
        run(panel, unit_weights=pd.concat([panel.unit_weights, wrong_wave], ignore_index=True), n_resamples=0)


def test_a_wave_with_one_company_warns_that_national_is_that_company() -> None:
    p = csi.simulate_panel("acsi", companies=1, respondents=60, waves=2, seed=2, industries=None, sectors=None)
    with pytest.warns(UserWarning, match=r"wave '1' has one company \('C001'\), so its 'national' index is"):
        r = csi.index_panel(p.data, "acsi", company="company", wave="wave", min_n=20, n_resamples=0,
                            national_fit=False)  # fmt: skip
    assert _sat(r, "national", "national", "1") == _sat(r, "company", "C001", "1")


# ------------------------------------------------------------------ the report and the CLI


def test_report_tables_show_flagged_cells(excluded) -> None:
    data = load_results(excluded)
    t = tables.level_table(data, "company", wave="1").set_index("unit")
    assert t.loc["C005", "status"] == "negative_weight" and np.isfinite(t.loc["C005", "index"])
    assert "not a weighted mean" in t.loc["C005", "note"] and "excluded" in t.loc["C005", "note"]
    assert list(t.index).index("C005") > max(list(t.index).index(c) for c in t.index[t["status"] == "ok"])
    samples = tables.sample_table(data).set_index(["wave", "level"])
    assert samples.loc[("1", "company"), "flagged"] == 1
    page = render_html(excluded)
    company = page[page.index('id="table-company"') : page.index("</table>", page.index('id="table-company"'))]
    assert company.count("negative_weight") == 0  # the last wave (2) has no flagged cell
    first = csi.PanelIndexResult(**{n: t.query("wave == '1'") if "wave" in t else t
                                     for n, t in excluded.tables().items()}, manifest=excluded.manifest)  # fmt: skip
    page = render_html(first)
    company = page[page.index('id="table-company"') : page.index("</table>", page.index('id="table-company"'))]
    assert "[negative_weight: negative outer weight: not a weighted mean; excluded from the aggregates]" in company
    assert "flagged-note" in page


def test_cli_flagged_option_and_count(panel, tmp_path, capsys) -> None:
    data = tmp_path / "panel.csv"
    panel.data.to_csv(data, index=False)
    panel.unit_weights.to_csv(tmp_path / "w.csv", index=False)
    base = ["index", "--model", "acsi", "--data", str(data), "--company", "company", "--wave", "wave", "--industry",
            "industry", "--sector", "sector", "--unit-weights", str(tmp_path / "w.csv"), "--min-n", "40",
            "--bootstrap", "0", "--seed", "1", "--national-bootstrap", "0"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "Flagged cells: 1 company cell(s) (1 negative_weight)" in out and "1 flagged and excluded" in out
    assert main([*base, "--out", str(tmp_path / "b"), "--flagged", "include"]) == 0
    assert "1 flagged and included" in capsys.readouterr().out
    assert csi.read_panel_result(tmp_path / "b").manifest["options"]["flagged"] == "include"
    assert main([*base, "--out", str(tmp_path / "c"), "--flagged", "drop"]) == 2
    assert "invalid choice: 'drop'" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "a")]) == 2  # refused before any work
    assert "--overwrite" in capsys.readouterr().err
