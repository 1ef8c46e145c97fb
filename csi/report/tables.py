"""The report's tables, as plain DataFrames (numbers, not formatted text).

The HTML report formats them and the Excel workbook writes them as they are,
so both show the same numbers.  Every function takes a
:class:`~csi.report.load.ReportData`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from csi.report.load import ReportData, manifest_value

CHANGE_COLUMNS = ["change", "change_ci_lower", "change_ci_upper", "p_value", "significant"]

#: What a unit's status means, for the report's tables (csi.index.status); ``ok`` needs no note.
STATUS_NOTES = {
    "not_converged": "did not converge",
    "inadmissible": "inadmissible solution",
    "negative_weight": "negative outer weight: not a weighted mean",
    "includes_flagged": "includes flagged cells",
    "all_flagged": "every cell flagged",
    "suppressed": "too few respondents",
    "failed": "could not be fitted",
}


def flagged_policy(data: ReportData) -> str:
    """Whether the run excluded (default) or included flagged cells in the aggregates."""
    options = manifest_value(data.manifest, "options") or {}
    policy = options.get("flagged") if isinstance(options, Mapping) else None
    return policy if policy in ("exclude", "include") else "exclude"


#: :data:`STATUS_NOTES` in Chinese.
STATUS_NOTES_ZH = {
    "not_converged": "未收敛",
    "inadmissible": "解不可接受",
    "negative_weight": "外部权重为负：不是加权平均",
    "includes_flagged": "包含被标记的单元",
    "all_flagged": "所有单元均被标记",
    "suppressed": "受访者过少",
    "failed": "无法拟合",
}


def status_note(data: ReportData, status: str, lang: str = "en") -> str:
    """The reader's explanation of a status, with what the aggregates did with a flagged cell ('' for ok)."""
    notes = STATUS_NOTES_ZH if lang == "zh" else STATUS_NOTES
    note = notes.get(status, status if status != "ok" else "")
    if status in ("not_converged", "inadmissible", "negative_weight"):
        if lang == "zh":
            note += "；未计入汇总指数" if flagged_policy(data) == "exclude" else "；已计入汇总指数"
        else:
            note += "; excluded from the aggregates" if flagged_policy(data) == "exclude" else "; in the aggregates"
    return note

#: Quality criteria in reading order, with display names; others follow in their own order.
CRITERIA = {
    "cronbach_alpha": "Cronbach's alpha",
    "alpha": "Cronbach's alpha",
    "rho_a": "rho_A",
    "rho_c": "rho_C (composite reliability)",
    "composite_reliability": "rho_C (composite reliability)",
    "dg_rho": "Dillon-Goldstein rho",
    "ave": "AVE",
    "r2": "R²",
    "r2_adj": "adjusted R²",
}


def confidence_level(data: ReportData) -> float:
    """The interval level of the run (manifest ``level`` or ``options.level``), default 0.95."""
    options = manifest_value(data.manifest, "options") or {}
    level = manifest_value(data.manifest, "level")
    if level is None and isinstance(options, Mapping):
        level = options.get("level")
    try:
        level = float(level)
    except (TypeError, ValueError):
        return 0.95
    return level if 0 < level < 1 else 0.95


def _changes(data: ReportData, level: str, wave: str) -> pd.DataFrame:
    """Changes into ``wave`` from the wave before it, by (unit, construct)."""
    waves = list(data.waves)
    pos = waves.index(wave)
    ch = data.changes
    ch = ch[(ch["level"] == level) & (ch["wave_to"] == wave)]
    if pos > 0:
        ch = ch[ch["wave_from"] == waves[pos - 1]]
    else:
        ch = ch.iloc[0:0]
    ch = ch.rename(columns={"ci_lower": "change_ci_lower", "ci_upper": "change_ci_upper"})
    return ch[["unit", "construct", "wave_from", *CHANGE_COLUMNS]]


def level_table(
    data: ReportData, level: str, wave: str | None = None, construct: str | None = None, lang: str = "en"
) -> pd.DataFrame:
    """Every unit of a level in one wave: index, CI, n, status and the change since the previous wave.

    Columns: ``unit, parent, n, status, note, index, se, ci_lower, ci_upper,
    change, change_ci_lower, change_ci_upper, p_value, significant``; sorted
    by parent, then by index (highest first); flagged cells (an index with a
    status such as ``negative_weight``, :mod:`csi.index.status`) after them,
    units without an index last.  ``note`` explains a status other than ``ok``.
    """
    wave = wave or data.latest_wave
    construct = construct or data.target
    ix = data.index
    rows = ix[(ix["level"] == level) & (ix["wave"] == wave) & (ix["construct"] == construct)]
    rows = rows[["unit", "n", "index", "se", "ci_lower", "ci_upper"]]
    units = data.units[(data.units["level"] == level) & (data.units["wave"] == wave)]
    units = units.drop_duplicates("unit").set_index("unit")
    rows = rows.assign(
        parent=rows["unit"].map(units["parent"]).fillna(""),
        status=rows["unit"].map(units["status"]).fillna(""),
    )
    rows.loc[rows["status"].eq("") & rows["index"].isna(), "status"] = "suppressed"
    rows.loc[rows["status"].eq(""), "status"] = "ok"
    ch = _changes(data, level, wave)
    ch = ch[ch["construct"] == construct].drop(columns=["construct", "wave_from"])
    out = rows.merge(ch, on="unit", how="left")
    out["significant"] = out["significant"].astype("boolean").fillna(False).astype(bool)
    out["note"] = [status_note(data, s, lang) for s in out["status"]]
    # Reported units first, then flagged ones (an index, but not one to rank), then those without an index.
    rank = np.where(out["index"].isna(), 2, np.where(out["status"].isin(["ok", "includes_flagged"]), 0, 1))
    out = out.assign(_rank=rank).sort_values(["_rank", "parent", "index"], ascending=[True, True, False],
                                             kind="stable")  # fmt: skip
    cols = ["unit", "parent", "n", "status", "note", "index", "se", "ci_lower", "ci_upper", *CHANGE_COLUMNS]
    return out[cols].reset_index(drop=True)


def national_table(data: ReportData, wave: str | None = None, lang: str = "en") -> pd.DataFrame:
    """The national index of every construct in one wave, with CI and change (labels in ``lang``)."""
    wave = wave or data.latest_wave
    ix = data.index
    rows = ix[(ix["level"] == "national") & (ix["wave"] == wave)]
    rows = rows[["unit", "construct", "n", "index", "se", "ci_lower", "ci_upper"]]
    ch = _changes(data, "national", wave).drop(columns=["wave_from"])
    out = rows.merge(ch, on=["unit", "construct"], how="left")
    out["significant"] = out["significant"].astype("boolean").fillna(False).astype(bool)
    out.insert(2, "label", [data.label(c, lang) for c in out["construct"]])
    out["better"] = [data.better(c) for c in out["construct"]]
    return out.reset_index(drop=True)


def headline(data: ReportData, lang: str = "en") -> dict[str, Any]:
    """The national index of the target construct in the latest wave, with CI, n and change."""
    table = national_table(data, lang=lang)
    row = table[table["construct"] == data.target]
    if row.empty:
        return {"construct": data.target, "label": data.label(data.target, lang), "wave": data.latest_wave}
    r = row.iloc[0]
    u = data.units
    status = u.loc[(u["level"] == "national") & (u["wave"] == data.latest_wave), "status"]
    status = str(status.iloc[0]) if len(status) else "ok"
    return {
        "status": status,
        "note": status_note(data, status, lang),
        "construct": data.target,
        "label": data.label(data.target, lang),
        "better": data.better(data.target),
        "unit": r["unit"],
        "wave": data.latest_wave,
        "previous_wave": data.previous_wave,
        **{k: r[k] for k in ("index", "se", "ci_lower", "ci_upper", "n", *CHANGE_COLUMNS)},
    }


def trend_table(data: ReportData, level: str, construct: str | None = None) -> pd.DataFrame:
    """Index by unit (rows) and wave (columns) for one level."""
    construct = construct or data.target
    ix = data.index
    rows = ix[(ix["level"] == level) & (ix["construct"] == construct)]
    wide = rows.pivot_table(index="unit", columns="wave", values="index", aggfunc="first", sort=False)
    return wide.reindex(columns=[w for w in data.waves if w in wide.columns]).rename_axis(None, axis=1)


def impacts_table(data: ReportData, wave: str | None = None, lang: str = "en") -> pd.DataFrame:
    """National impacts of every driver on each target in one wave.

    The headline construct's drivers come first, then the other targets in
    model order (the constructs' order in the index table); within a target,
    largest impact first.
    """
    imp = data.impacts[data.impacts["level"] == "national"]
    waves = [w for w in data.waves if w in set(imp["wave"])]
    if not waves:
        return pd.DataFrame(columns=["driver", "label", "target", "impact", "performance"])
    wave = wave if wave in waves else waves[-1]
    imp = imp[imp["wave"] == wave]
    order = [data.target, *dict.fromkeys(data.index["construct"]), *dict.fromkeys(imp["target"])]
    rank = {c: i for i, c in reversed(list(enumerate(order)))}
    imp = imp.assign(_rank=imp["target"].map(rank)).sort_values(["_rank", "impact"], ascending=[True, False],
                                                                kind="stable")  # fmt: skip
    out = imp[["driver", "target", "impact", "performance"]].copy()
    out.insert(1, "label", [data.label(c, lang) for c in out["driver"]])
    return out.reset_index(drop=True)


def _national_wave(frame: pd.DataFrame, data: ReportData, wave: str | None) -> tuple[pd.DataFrame, str | None]:
    nat = frame[frame["level"] == "national"]
    waves = [w for w in data.waves if w in set(nat["wave"])]
    if not waves:
        return nat.iloc[0:0], None
    wave = wave if wave in waves else waves[-1]
    return nat[nat["wave"] == wave], wave


def quality_table(data: ReportData, wave: str | None = None) -> pd.DataFrame:
    """Construct (rows) by criterion (columns) of the national pooled fit in one wave."""
    q, _ = _national_wave(data.quality, data, wave)
    if q.empty:
        return pd.DataFrame()
    wide = q.pivot_table(index="construct", columns="criterion", values="value", aggfunc="first", sort=False)
    order = [c for c in CRITERIA if c in wide.columns] + [c for c in wide.columns if c not in CRITERIA]
    constructs = [c for c in dict.fromkeys(data.index["construct"]) if c in wide.index]
    wide = wide.reindex(index=constructs + [c for c in wide.index if c not in constructs], columns=order)
    return wide.rename_axis(None, axis=1).reset_index()


def paths_table(data: ReportData, wave: str | None = None) -> pd.DataFrame:
    """Path coefficients of the national pooled fit, with CI and significance (interval excludes 0)."""
    e, _ = _national_wave(data.estimates, data, wave)
    e = e[e["op"] == "~"]
    out = pd.DataFrame(
        {"from": e["rhs"], "to": e["lhs"], "estimate": e["estimate"], "se": e["se"], "ci_lower": e["ci_lower"],
         "ci_upper": e["ci_upper"]}
    )  # fmt: skip
    # Without an interval (national fits not bootstrapped) significance is unknown, not "no".
    has_ci = out["ci_lower"].notna() & out["ci_upper"].notna()
    out["significant"] = ((out["ci_lower"] > 0) | (out["ci_upper"] < 0)).astype("boolean").where(has_ci, pd.NA)
    return out.reset_index(drop=True)


def measurement_table(data: ReportData, wave: str | None = None) -> pd.DataFrame:
    """Loadings (with CI) and outer weights of every item in the national pooled fit."""
    e, _ = _national_wave(data.estimates, data, wave)
    load = e[e["op"] == "=~"].set_index(["lhs", "rhs"])
    weight = e[e["op"] == "<~"].set_index(["lhs", "rhs"])["estimate"]
    out = pd.DataFrame(
        {"loading": load["estimate"], "loading_ci_lower": load["ci_lower"], "loading_ci_upper": load["ci_upper"]}
    )
    out["weight"] = weight.reindex(out.index)
    out.index = out.index.set_names(["construct", "item"])
    return out.reset_index()


def sample_table(data: ReportData) -> pd.DataFrame:
    """Per wave and level: units ok, suppressed, failed and flagged (any other status), and respondents of the
    units reported (ok) at that level."""
    u = data.units
    rows = []
    for wave in data.waves:
        for level in data.levels:
            sel = u[(u["wave"] == wave) & (u["level"] == level)]
            if sel.empty:
                continue
            status = sel["status"]
            n = sel.loc[status == "ok", "n"].sum()
            flagged = ~status.isin(["ok", "suppressed", "failed"])
            rows.append((wave, level, int((status == "ok").sum()), int((status == "suppressed").sum()),
                         int((status == "failed").sum()), int(flagged.sum()), n))  # fmt: skip
    return pd.DataFrame(rows, columns=["wave", "level", "units_ok", "suppressed", "failed", "flagged", "respondents"])


def suppressed_table(data: ReportData, lang: str = "en") -> pd.DataFrame:
    """Every unit-wave whose status is not ok, with its n and what the status means."""
    u = data.units[data.units["status"] != "ok"]
    u = u[["level", "unit", "parent", "wave", "n", "status"]].reset_index(drop=True)
    return u.assign(note=[status_note(data, s, lang) for s in u["status"]])


def _flat(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out += _flat(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list | tuple):
        return [(prefix, ", ".join(map(str, value)))]
    return [(prefix, "" if value is None else str(value))]


def manifest_table(data: ReportData) -> pd.DataFrame:
    """The manifest as ``key, value`` rows (nested keys joined with dots); the model text is left out."""
    entries = {k: v for k, v in data.manifest.items() if k != "model_text"}
    if isinstance(entries.get("model"), Mapping):
        entries["model"] = {k: v for k, v in entries["model"].items() if k != "text"}
    return pd.DataFrame(_flat(entries), columns=["key", "value"])


def model_text(data: ReportData) -> str:
    """The model as text (from the manifest), or '' if the manifest does not carry it."""
    text = manifest_value(data.manifest, "model_text")
    model = data.manifest.get("model")
    if text is None and isinstance(model, Mapping):
        text = model.get("text")
    report = data.manifest.get("report")
    if text is None and isinstance(report, Mapping):
        text = report.get("model_text")
    return text if isinstance(text, str) else ""
