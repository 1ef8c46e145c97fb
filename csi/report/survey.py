"""The report of one survey: a ``csi fit`` or ``csi bootstrap`` results folder, or the fit itself.

One survey is reported through the same tables as a panel run: one
``national`` unit (the sample) in one wave, no changes.  What a panel folder
has and a fit folder lacks comes from :func:`survey_facts`, which ``csi fit``
and ``csi bootstrap`` store under ``"report"`` in ``results.json``: the model
as TOML (labels, direction, scales), the impacts (they need the fit's item
covariances, which the folder does not hold), item descriptives with missing
counts, and the sample sizes before and after the missing-data policy.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csi.errors import CSIError, DataError
from csi.index.result import COLUMNS

#: Wave and unit of the single survey in the panel-shaped tables.
WAVE, UNIT = "1", "sample"

#: Quality criteria taken from a fit's quality table (as :data:`csi.report.tables.CRITERIA` names them).
QUALITY_CRITERIA = ("cronbach_alpha", "rho_a", "dg_rho", "ave", "r2", "r2_adj")


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict("records")]


def item_table(fit: Any) -> pd.DataFrame:
    """Per item: construct, scale, mean and SD (raw scale, after reverse coding), missing count and share."""
    spec = fit.spec
    data = fit.data
    n_missing = dict(zip(data.item_names, data.n_missing)) if data is not None else {}
    n_input = data.n_input if data is not None else fit.n
    rows = []
    for c in spec.constructs:
        for item in c.items:
            miss = n_missing.get(item.name, 0)
            rows.append((item.name, c.name, item.scale_min, item.scale_max, float(fit.item_means[item.name]),
                         float(fit.item_sds[item.name]), int(miss), miss / n_input if n_input else np.nan))  # fmt: skip
    return pd.DataFrame(rows, columns=["item", "construct", "scale_min", "scale_max", "mean", "sd", "n_missing",
                                       "missing_share"])  # fmt: skip


def survey_facts(fit: Any, data_file: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What a report of one survey needs beyond the fit's tables, as JSON-ready values.

    ``csi fit --out`` and ``csi bootstrap --out`` store it as ``results.json["report"]``;
    ``data_file`` (the survey file read) adds its SHA-256, so the report names the exact input.
    """
    from csi.index.impacts import impacts
    from csi.spec.toml_io import to_toml

    try:
        imp = _records(impacts(fit))
    except CSIError:
        imp = []  # an item without a scale: no 0-100 metric, so no impacts (the report says so)
    data = fit.data
    digest = hashlib.sha256(Path(data_file).read_bytes()).hexdigest() if data_file is not None else None
    import platform

    import numpy
    import pandas
    import scipy

    import csi

    return {
        "input_hash": digest,
        "versions": {"csi": csi.__version__, "python": platform.python_version(), "numpy": numpy.__version__,
                     "pandas": pandas.__version__, "scipy": scipy.__version__},  # fmt: skip
        "model_text": to_toml(fit.spec),
        "target": fit.spec.target,
        "impacts": imp,
        "items": _records(item_table(fit)),
        "sample": {
            "n_input": int(data.n_input) if data is not None else int(fit.n),
            "n_used": int(fit.n),
            "n_dropped": int(data.n_dropped) if data is not None else 0,
            "missing": str(data.missing) if data is not None else str(fit.options.get("missing", "")),
        },
    }


def _frame(name: str, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(COLUMNS[name]))


def _tables(estimates: pd.DataFrame, index: pd.DataFrame, quality: pd.DataFrame, impacts: list[Mapping[str, Any]],
            n: int) -> dict[str, pd.DataFrame]:  # fmt: skip
    """The panel-shaped tables of one survey."""
    e = estimates
    for col in ("se", "ci_lower", "ci_upper"):
        if col not in e.columns:
            e = e.assign(**{col: np.nan})
    keep = e[e["op"].isin(["~", "=~", "<~", "r2"])]
    est_rows = [("national", UNIT, WAVE, r.lhs, r.op, r.rhs, r.estimate, r.se, r.ci_lower, r.ci_upper)
                for r in keep.itertuples()]  # fmt: skip
    ix_rows = [("national", UNIT, WAVE, r.construct, r.index, r.se, r.ci_lower, r.ci_upper, n)
               for r in index.itertuples()]  # fmt: skip
    q_rows = []
    for r in quality.to_dict("records"):
        for crit in QUALITY_CRITERIA:
            v = r.get(crit)
            if v is not None and not (isinstance(v, float) and math.isnan(v)) and str(v) != "":
                q_rows.append(("national", UNIT, WAVE, r["construct"], crit, float(v)))
    imp_rows = [("national", UNIT, WAVE, r["driver"], r["target"], r["impact"], r["performance"]) for r in impacts]
    return {
        "index": _frame("index", ix_rows),
        "changes": _frame("changes", []),
        "units": _frame("units", [("national", UNIT, None, None, WAVE, 1.0, n, "ok")]),
        "estimates": _frame("estimates", est_rows),
        "impacts": _frame("impacts", imp_rows),
        "quality": _frame("quality", q_rows),
    }


def _index_from(boot_est: pd.DataFrame | None, index: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["construct", "index", "se", "ci_lower", "ci_upper"]
    if boot_est is not None and (boot_est["op"] == "index").any():
        b = boot_est[boot_est["op"] == "index"]
        return pd.DataFrame({"construct": b["lhs"], "index": b["estimate"], "se": b["se"], "ci_lower": b["ci_lower"],
                             "ci_upper": b["ci_upper"]})[cols]  # fmt: skip
    if index is not None and len(index):
        return index.assign(se=np.nan, ci_lower=np.nan, ci_upper=np.nan)[cols]
    return pd.DataFrame(columns=cols)


def survey_from_result(result: Any) -> tuple[dict[str, pd.DataFrame], dict[str, Any], pd.DataFrame, Any]:
    """(tables, manifest, items, spec) of a :class:`csi.FitResult` or :class:`csi.BootstrapResult`."""
    from csi.errors import CSIError as _E
    from csi.index.compute import compute_index
    from csi.resample.result import BootstrapResult

    boot = result if isinstance(result, BootstrapResult) else None
    fit = boot.fit if boot is not None else result
    facts = survey_facts(fit)
    try:
        index = compute_index(fit).rename("index").rename_axis("construct").reset_index()
    except _E:
        index = None
    quality = fit.quality.reset_index()
    quality = quality.rename(columns={quality.columns[0]: "construct"})
    est = boot.estimates if boot is not None else fit.estimates
    tables = _tables(est, _index_from(est if boot is not None else None, index), quality, facts["impacts"], fit.n)
    manifest: dict[str, Any] = {"model": fit.spec.name, "method": fit.method, "options": dict(fit.options),
                                "n": int(fit.n), "converged": bool(fit.converged), "iterations": int(fit.iterations),
                                "report": facts}  # fmt: skip
    if boot is not None:
        manifest["bootstrap"] = {"n_resamples": boot.n_resamples, "n_failed": boot.n_failed, "ci": boot.ci,
                                 "level": boot.level}  # fmt: skip
    return tables, manifest, pd.DataFrame(facts["items"]), fit.spec


def _csv(folder: Path, name: str, required: bool) -> pd.DataFrame | None:
    path = folder / f"{name}.csv"
    if not path.is_file():
        if required:
            raise DataError(f"results folder {str(folder)!r} has no {name}.csv (written by 'csi fit --out DIR')")
        return None
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"lhs": str, "rhs": str, "op": str,
                                                                              "construct": str})  # fmt: skip
    return frame


def survey_from_folder(folder: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any], pd.DataFrame, str]:
    """(tables, manifest, items, model text) of a ``csi fit``/``csi bootstrap`` results folder."""
    try:
        doc = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"results.json is not valid JSON ({e.msg} at line {e.lineno})") from e
    if not isinstance(doc, Mapping):
        raise DataError("results.json must hold a JSON object")
    manifest = {k: v for k, v in doc.items() if k != "tables"}
    if (folder / "manifest.json").is_file():  # a sealed folder: checked before any table is trusted
        from csi.results.files import verify_folder, without_files

        more = without_files(verify_folder(folder))
        manifest = {**{k: v for k, v in more.items() if k not in manifest}, **manifest}
    facts = manifest.get("report") if isinstance(manifest.get("report"), Mapping) else {}
    estimates = _csv(folder, "estimates", True)
    boot = _csv(folder, "bootstrap", False)
    index = _csv(folder, "index", False)
    quality = _csv(folder, "quality", True)
    for name, frame, cols in (("estimates", estimates, ("lhs", "op", "rhs", "estimate")),
                              ("quality", quality, ("construct",)),
                              ("index", index, ("construct", "index")),
                              ("bootstrap", boot, ("lhs", "op", "rhs", "estimate", "se", "ci_lower", "ci_upper"))):  # fmt: skip
        if frame is not None:
            lacking = [c for c in cols if c not in frame.columns]
            if lacking:
                raise DataError(f"{name}.csv: missing column(s) {', '.join(map(repr, lacking))}; required: "
                                f"{', '.join(cols)}")  # fmt: skip
    n = int(manifest.get("n") or 0)
    est = boot if boot is not None else estimates
    tables = _tables(est, _index_from(boot, index), quality, list(facts.get("impacts") or []), n)
    items = pd.DataFrame(facts.get("items") or [])
    return tables, manifest, items, str(facts.get("model_text") or "")
