"""The methodology appendix: sentences and small tables from the run's manifest, never a raw dict.

Every value shown is read from a known manifest key of a panel run
(``csi index``) or a survey run (``csi fit``/``csi bootstrap``) and written in
words; keys the appendix does not know are left out of the report (they stay
in ``manifest.json`` / ``results.json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from csi.errors import CSIError
from csi.estimators import ESTIMATORS
from csi.report import tables
from csi.report.i18n import Words, fmt_int, fmt_num, wave_label
from csi.report.load import ReportData, manifest_value


def _get(mapping: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(key)
    return mapping


def method_name(method: Any, words: Words) -> str:
    """The estimator's own title in the report's language (a method this version does not know: its name)."""
    if not method:
        return "–"
    estimator = ESTIMATORS.get(str(method))
    return estimator.titles.get(words.lang, str(method)) if estimator is not None else str(method)


def _yes_no(v: Any, words: Words) -> str:
    return words.yes if v else words.no


def _options(data: ReportData) -> Mapping[str, Any]:
    opts = data.manifest.get("options")
    return opts if isinstance(opts, Mapping) else {}


def settings(data: ReportData, words: Words) -> list[tuple[str, str]]:
    """(setting, value) rows: estimator, intervals, samples, seed, input hash, versions."""
    m, o = data.manifest, _options(data)
    boot = m.get("bootstrap") if isinstance(m.get("bootstrap"), Mapping) else {}
    rows: list[tuple[str, str]] = []
    method = manifest_value(m, "method") or o.get("method")
    rows.append((words.estimator, method_name(method, words)))
    fit_opts = o.get("fit_options") if isinstance(o.get("fit_options"), Mapping) else o
    if fit_opts.get("scheme"):
        rows.append((words.scheme, str(fit_opts["scheme"])))
    if "scaled" in fit_opts:
        rows.append((words.scaled, _yes_no(fit_opts["scaled"], words)))
    if fit_opts.get("missing"):
        rows.append((words.missing_policy, words(f"policy_{fit_opts['missing']}") if f"policy_{fit_opts['missing']}"
                     in _POLICIES else str(fit_opts["missing"])))  # fmt: skip
    ci = o.get("ci") or boot.get("ci")
    if ci:
        rows.append((words.interval_type, str(ci)))
    rows.append((words.conf_level, f"{100 * tables.confidence_level(data):g} %"))
    if data.kind == "panel":
        if o.get("n_resamples") is not None:
            rows.append((words.resamples, fmt_int(o["n_resamples"])))
        if o.get("national_resamples") is not None:
            rows.append((words.national_resamples, fmt_int(o["national_resamples"])))
        if o.get("min_n") is not None:
            rows.append((words.min_n, fmt_int(o["min_n"])))
        if o.get("unit_weights"):
            rows.append((words.unit_weights, words(o["unit_weights"]) if o["unit_weights"] in ("equal", "table")
                         else str(o["unit_weights"])))  # fmt: skip
        rows.append((words.respondent_weight, str(o["respondent_weight"]) if o.get("respondent_weight")
                     else words.none))  # fmt: skip
        failed = _get(m, "counts", "failed_replicates")
        if isinstance(failed, Mapping):
            rows.append((words.failed_replicates, ", ".join(f"{words('level_' + k) if 'level_' + k in _LEVELS else k}"
                                                            f" {fmt_int(v)}" for k, v in failed.items())))  # fmt: skip
    else:
        if boot:
            rows.append((words.resamples_survey, fmt_int(boot.get("n_resamples"))))
            rows.append((words.failed_replicates, fmt_int(boot.get("n_failed"))))
        if "converged" in m:
            rows.append((words.converged, _yes_no(m["converged"], words)))
        if m.get("iterations") is not None:
            rows.append((words.iterations, fmt_int(m["iterations"])))
    seed = manifest_value(m, "seed")
    if seed is None:
        seed = _get(m, "command", "seed")
    if seed is None:
        seed = _get(m, "bootstrap", "plan", "seed_entropy")
    rows.append((words.seed, "–" if seed is None else str(seed)))
    digest = manifest_value(m, "input_hash", "input_sha256", "data_hash") or _get(m, "report", "input_hash")
    rows.append((words.input_hash, str(digest) if digest else "–"))
    versions = m.get("versions") or _get(m, "report", "versions")
    if isinstance(versions, Mapping) and versions:
        rows.append((words.versions, ", ".join(f"{k} {v}" for k, v in versions.items())))
    return rows


_POLICIES = {"policy_error", "policy_listwise", "policy_mean"}
_LEVELS = {"level_national", "level_sector", "level_industry", "level_company"}


def paragraphs(data: ReportData, words: Words) -> list[str]:
    """The appendix's sentences: what was estimated, how, and what the intervals are."""
    m, o = data.manifest, _options(data)
    method = method_name(manifest_value(m, "method") or o.get("method"), words)
    model = data.model_name
    ci = str(o.get("ci") or _get(m, "bootstrap", "ci") or "percentile")
    pct = f"{100 * tables.confidence_level(data):g}"
    if data.kind == "panel":
        return [words("method_panel", model=model, method=method, ci=ci), coverage_sentence(data, words)]
    out = [words("method_survey", model=model, method=method, n=fmt_int(m.get("n")))]
    boot = m.get("bootstrap")
    if isinstance(boot, Mapping):
        out.append(words("method_bootstrap", ci=ci, pct=pct, b=fmt_int(boot.get("n_resamples")),
                         failed=fmt_int(boot.get("n_failed"))))  # fmt: skip
    else:
        out.append(words.method_no_bootstrap)
    return out


def coverage_sentence(data: ReportData, words: Words) -> str:
    """The coverage measured for the run's design in the shipped coverage study (:func:`csi.bench.coverage.coverage_for`).

    The design is the run's model, estimator and interval type, its number of
    companies and the median respondents of a company cell in the latest wave;
    the rows cited are those of the target construct at the run's levels.
    """
    from csi.bench.coverage import coverage_for, study_model

    o = _options(data)
    ci = str(o.get("ci") or "logit")
    latest = data.units[(data.units["level"] == "company") & (data.units["wave"] == data.latest_wave)]
    n = pd.to_numeric(latest["n"], errors="coerce").dropna()
    model = study_model(data.model_name)
    why = f"model {data.model_name}, {ci}"
    if model is None or latest.empty or n.empty:
        return words("method_coverage_none", why=why)
    design = {"model": model, "method": str(o.get("method") or "pls"), "ci": ci, "companies": len(latest),
              "respondents": max(float(n.median()), 1.0)}  # fmt: skip
    try:
        rows = coverage_for(design)
    except CSIError:
        return words("method_coverage_none", why=why)
    target = rows[rows["constructs"] == f"target {data.target}"]
    rows = (target if not target.empty else rows[rows["constructs"] == "all"]).set_index("level")
    # one national change test per panel and construct: the study's panel count
    panels = rows.at["national", "changes"] if "national" in rows.index else float("nan")
    if target.empty and "national" in rows.index:
        panels = panels / max(1, len(set(data.index["construct"])))
    rows = rows[rows.index.isin(data.levels)]
    order = [lv for lv in ("company", "industry", "sector", "national") if lv in rows.index]
    if not order:
        return words("method_coverage_none", why=why)
    zh = words.lang == "zh"
    level_word = {lv: words(f"level_{lv}") if zh else words(f"level_{lv}").lower() for lv in order}

    def share(x: float, se: float) -> str:
        return f"{fmt_num(100 * x)} % ± {fmt_num(100 * se)}"

    coverage = "、".join if zh else ", ".join
    def part(lv: str, value: str, se: str) -> str:
        x = share(rows.at[lv, value], rows.at[lv, se])
        return f"{level_word[lv]} {x}" if zh else f"{x} ({level_word[lv]})"

    cov = coverage(part(lv, "coverage", "mcse") for lv in order)
    size = coverage(part(lv, "rejection", "mcse_rejection") for lv in order if pd.notna(rows.at[lv, "rejection"]))
    first = rows.iloc[0]
    return words("method_coverage", model=data.model_name, companies=fmt_int(first["companies"]),
                 respondents=fmt_int(first["respondents"]), panels=fmt_int(round(panels)) if pd.notna(panels) else "–", ci=ci, target=data.target,
                 coverage=cov, size=size or "–")  # fmt: skip


def cells(data: ReportData, words: Words) -> list[dict[str, Any]]:
    """Suppressed, failed and flagged unit-waves with the reason in words (a failure's own message)."""
    if data.kind != "panel":
        return []
    m, o = data.manifest, _options(data)
    failures = m.get("failures") if isinstance(m.get("failures"), Mapping) else {}
    fit_failures = m.get("fit_failures") if isinstance(m.get("fit_failures"), Mapping) else {}
    rows = []
    for r in tables.suppressed_table(data, words.lang).to_dict("records"):
        key = f"{r['unit']} / {r['wave']}"
        if r["status"] == "suppressed" and o.get("min_n") is not None:
            reason = words("reason_suppressed", min_n=fmt_int(o["min_n"]))
        elif r["status"] == "failed":
            reason = str(failures.get(key) or fit_failures.get(f"{r['level']} {key}") or r["note"])
        else:
            reason = str(r["note"])
        rows.append({**r, "wave": wave_label(r["wave"], words), "reason": reason})
    return rows


def run_warnings(data: ReportData) -> list[tuple[str, int]]:
    """Warnings raised during the run (text, how many cells), as the run recorded them."""
    w = data.manifest.get("warnings")
    if not isinstance(w, Mapping):
        return []
    return [(str(k), int(v)) if isinstance(v, int | float) else (str(k), 1) for k, v in w.items()]


def settings_table(data: ReportData, words: Words) -> pd.DataFrame:
    """:func:`settings` as a two-column table (for the workbook)."""
    return pd.DataFrame(settings(data, words), columns=[words.setting, words.value])
