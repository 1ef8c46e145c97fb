"""The report's group-comparison section: a results folder of ``csi mga --out DIR``.

Such a folder is a one-survey folder of the pooled data (``csi fit --out``'s files) plus the tables of
:func:`csi.compare_groups` and :func:`csi.micom` (``group_comparison.csv``, ``group_sizes.csv``,
``micom.csv``, ...).  :func:`read_groups` reads them (the folder is verified against its manifest by the
survey reader first); :func:`group_context` turns them into what the template partial
``groups.html.j2`` shows, in English or Chinese: the groups and their sizes, the 0-100 indices per group,
the differences significant after the familywise adjustment, and the MICOM verdict per construct.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from csi.errors import DataError
from csi.report.i18n import fmt_ci, fmt_int, fmt_num, fmt_p, fmt_signed
from csi.results.csv_text import unescape_frame

__all__ = ["GroupTables", "group_context", "read_groups"]

TEXT = ("parameter", "kind", "lhs", "op", "rhs", "group_a", "group_b", "group", "construct", "verdict", "check",
        "detail")  # fmt: skip
REQUIRED = {
    "group_comparison": ("parameter", "kind", "lhs", "rhs", "group_a", "group_b", "estimate_a", "estimate_b",
                         "difference", "p_value", "p_adjusted"),
    "group_sizes": ("group", "n_used"),
    "micom": ("construct", "group_a", "group_b", "c", "c_quantile", "mean_difference", "mean_lower", "mean_upper",
              "log_variance_ratio", "variance_lower", "variance_upper", "verdict"),
}  # fmt: skip

# key: (English, Chinese)
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Group comparison", "分组比较"),
    "intro": (
        "The model was fitted in every group of “{group}” ({groups}). Differences are tested by {method}; "
        "p-values test “equal in both groups” and are adjusted for the {pairs} pair(s) of groups ({correction}).",
        "模型在“{group}”的每一组中分别估计（{groups}）。差异检验方法：{method}；p 值检验“两组相等”，"
        "并按 {pairs} 对分组做多重比较校正（{correction}）。",
    ),
    "method_permutation": (
        "a permutation test ({n} permutations; Chin & Dibbern 2010)",
        "置换检验（{n} 次置换；Chin & Dibbern 2010）",
    ),
    "method_henseler": (
        "Henseler's bootstrap MGA ({n} resamples per group)",
        "Henseler 自助法 MGA（每组 {n} 次重抽样）",
    ),
    "method_parametric": (
        "a parametric t test ({n} bootstrap resamples per group)",
        "参数 t 检验（每组 {n} 次自助抽样）",
    ),
    "method_welch": (
        "a Welch-Satterthwaite t test ({n} bootstrap resamples per group)",
        "Welch-Satterthwaite t 检验（每组 {n} 次自助抽样）",
    ),
    "corr_holm": ("Holm", "Holm 法"),
    "corr_bonferroni": ("Bonferroni", "Bonferroni 法"),
    "corr_none": ("no adjustment", "未校正"),
    "indices": ("Indices per group (0–100)", "各组指数（0–100）"),
    "group": ("Group", "组"),
    "n": ("n", "样本量"),
    "significant": ("Significant differences (adjusted p < {alpha})", "显著差异（校正后 p < {alpha}）"),
    "none_significant": (
        "No difference is significant at the {alpha} level after adjustment ({k} parameters tested).",
        "校正后在 {alpha} 水平上无显著差异（共检验 {k} 个参数）。",
    ),  # fmt: skip
    "parameter": ("Parameter", "参数"),
    "kind": ("Kind", "类型"),
    "pair": ("Groups", "分组"),
    "estimates": ("Estimates", "估计值"),
    "difference": ("Difference", "差异"),
    "p": ("p", "p 值"),
    "p_adjusted": ("Adjusted p", "校正后 p 值"),
    "kind_path": ("path", "路径"),
    "kind_weight": ("outer weight", "外部权重"),
    "kind_loading": ("loading", "载荷"),
    "kind_r2": ("R²", "R²"),
    "kind_index": ("index", "指数"),
    "micom": ("Measurement invariance (MICOM)", "测量不变性（MICOM）"),
    "micom_note": (
        "Henseler, Ringle & Sarstedt (2016), {n} permutations: compositional invariance holds when c is not below "
        "its 5 % permutation quantile; equal means and variances when the difference lies within its permutation "
        "interval. Full invariance allows pooling the groups; partial invariance allows comparing their paths.",
        "Henseler, Ringle & Sarstedt（2016），{n} 次置换：c 不低于其置换分布 5% 分位数时组成不变性成立；均值与方差之差位于"
        "置换区间内时均值、方差相等。完全不变性允许合并各组；部分不变性允许比较各组路径。",
    ),
    "construct": ("Construct", "潜变量"),
    "c": ("c", "c"),
    "c_quantile": ("5 % quantile", "5% 分位数"),
    "mean_difference": ("Mean difference", "均值差"),
    "log_variance": ("Log variance ratio", "方差比对数"),
    "interval": ("Permutation interval", "置换区间"),
    "verdict": ("Invariance", "不变性"),
    "verdict_full": ("full", "完全"),
    "verdict_partial": ("partial", "部分"),
    "verdict_no": ("none", "不成立"),
}


def _w(key: str, lang: str, **fields: Any) -> str:
    text = WORDS[key][0 if lang == "en" else 1]
    return text.format(**fields) if fields else text


@dataclass(frozen=True, eq=False)
class GroupTables:
    """The group tables of a ``csi mga`` folder (label columns as text, the others as numbers)."""

    comparison: pd.DataFrame
    sizes: pd.DataFrame
    micom: pd.DataFrame | None
    facts: Mapping[str, Any]


def _read(folder: Path, name: str, required: bool) -> pd.DataFrame | None:
    path = folder / f"{name}.csv"
    if not path.is_file():
        if required:
            raise DataError(f"results folder {str(folder)!r} has group_comparison.csv but no {name}.csv; write it "
                            "again with csi mga --out")  # fmt: skip
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataError(f"{path.name} cannot be read as CSV ({type(e).__name__}: {e})") from e
    lacking = [c for c in REQUIRED.get(name, ()) if c not in frame.columns]
    if lacking:
        raise DataError(f"{path.name}: missing column(s) {', '.join(map(repr, lacking))}")
    frame = unescape_frame(frame, [c for c in frame.columns if c in TEXT])
    for col in frame.columns:
        if col in TEXT:
            continue
        low = frame[col].str.lower()
        if low.isin(["true", "false"]).all() and len(frame):
            frame[col] = low == "true"
        else:
            numeric = pd.to_numeric(frame[col].replace("", np.nan), errors="coerce")
            bad = numeric.isna() & (frame[col] != "")
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(f"{path.name}: column {col!r}, row {row + 1}: {frame[col].iloc[row]!r} is not a number")
            frame[col] = numeric.astype(float)
    return frame


def read_groups(folder: Path, manifest: Mapping[str, Any]) -> GroupTables | None:
    """The group tables of ``folder``, or None when it holds no group comparison."""
    folder = Path(folder)
    if not (folder / "group_comparison.csv").is_file():
        return None
    comparison = _read(folder, "group_comparison", True)
    sizes = _read(folder, "group_sizes", True)
    assert comparison is not None and sizes is not None
    facts = manifest.get("group_comparison")
    return GroupTables(comparison, sizes, _read(folder, "micom", False), facts if isinstance(facts, Mapping) else {})


def group_context(groups: GroupTables | None, data: Any, lang: str, alpha: float) -> dict[str, Any] | None:
    """What ``groups.html.j2`` shows (strings formatted, unescaped: the template escapes), or None."""
    if groups is None:
        return None
    facts = groups.facts
    comp = groups.comparison
    method = str(facts.get("method", "permutation"))
    n = facts.get("n_permutations") if method == "permutation" else facts.get("n_resamples")
    correction = facts.get("correction") or "none"
    sizes = groups.sizes
    labels = [str(g) for g in sizes["group"]]
    pairs = comp[["group_a", "group_b"]].drop_duplicates()
    out: dict[str, Any] = {
        "title": _w("title", lang),
        "intro": _w(
            "intro",
            lang,
            group=facts.get("group", ""),
            groups=", ".join(f"{g}: n = {fmt_int(u)}" for g, u in zip(labels, sizes["n_used"], strict=True)),
            method=_w(f"method_{method}", lang, n=fmt_int(n)) if f"method_{method}" in WORDS else method,
            pairs=len(pairs),
            correction=_w(f"corr_{correction}", lang),
        ),  # fmt: skip
        "words": {k: _w(k, lang) for k in WORDS if "{" not in WORDS[k][0]},
        "significant_title": _w("significant", lang, alpha=f"{alpha:g}"),
    }
    idx = comp[comp["kind"] == "index"]
    index_rows = []
    for construct in dict.fromkeys(idx["lhs"]):
        rows = idx[idx["lhs"] == construct]
        value = {}
        for _, r in rows.iterrows():
            value[str(r["group_a"])], value[str(r["group_b"])] = r["estimate_a"], r["estimate_b"]
        index_rows.append({"construct": construct, "label": data.label(construct, lang),
                           "values": [fmt_num(value.get(g), 1) for g in labels]})  # fmt: skip
    out["groups"] = labels
    out["index_rows"] = index_rows
    sig = comp[comp["p_adjusted"] < alpha].sort_values(["p_adjusted", "parameter"], kind="stable")
    rows = []
    for _, r in sig.iterrows():
        digits = 1 if r["kind"] == "index" else 3
        rows.append({
            "parameter": r["parameter"], "kind": _w(f"kind_{r['kind']}", lang) if f"kind_{r['kind']}" in WORDS else r["kind"],
            "pair": f"{r['group_a']} – {r['group_b']}",
            "estimates": f"{fmt_num(r['estimate_a'], digits)} / {fmt_num(r['estimate_b'], digits)}",
            "difference": fmt_signed(r["difference"], digits), "p": fmt_p(r["p_value"], alpha),
            "p_adjusted": fmt_p(r["p_adjusted"], alpha),
        })  # fmt: skip
    out["significant"] = rows
    out["none_significant"] = _w("none_significant", lang, alpha=f"{alpha:g}", k=comp["parameter"].nunique())
    micom = groups.micom
    out["micom"] = None
    if micom is not None and len(micom):
        out["micom_note"] = _w("micom_note", lang, n=fmt_int(facts.get("micom_permutations")))
        out["micom"] = [
            {"construct": r["construct"], "label": data.label(str(r["construct"]), lang),
             "pair": f"{r['group_a']} – {r['group_b']}", "c": fmt_num(r["c"], 4),
             "c_quantile": fmt_num(r["c_quantile"], 4), "mean": fmt_signed(r["mean_difference"], 3),
             "mean_ci": fmt_ci(r["mean_lower"], r["mean_upper"], 3), "var": fmt_signed(r["log_variance_ratio"], 3),
             "var_ci": fmt_ci(r["variance_lower"], r["variance_upper"], 3),
             "verdict": _w(f"verdict_{r['verdict']}", lang) if f"verdict_{r['verdict']}" in WORDS else r["verdict"],
             "cls": {"full": "good", "no": "bad"}.get(str(r["verdict"]), "")}
            for _, r in micom.iterrows()
        ]  # fmt: skip
    return out
