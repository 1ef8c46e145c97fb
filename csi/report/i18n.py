"""The report's words and number formats in English and Simplified Chinese.

Every heading, label and sentence of the report is a key of :data:`STRINGS`
with its English and Chinese text; :class:`Words` looks them up for one
language (``words.key`` or ``words("key", n=3)`` with ``str.format`` fields).
Numbers use one minus sign (U+2212), never show a negative zero, and round in
a way that never contradicts the significance flag beside them
(:func:`fmt_p`, :func:`fmt_ci`).
"""

from __future__ import annotations

import math
import re
from typing import Any

from csi.errors import CSIError

LANGUAGES = ("en", "zh")
"""Report languages: English and Simplified Chinese."""

MINUS = "\u2212"

# key: (English, Chinese).  Fields in braces are filled by str.format.
STRINGS: dict[str, tuple[str, str]] = {
    "title_default": ("{model} index report", "{model} 指数报告"),
    "report": ("Report", "报告"),
    "wave": ("Wave {w}", "第{w}期"),
    "waves": ("Waves", "调查期"),
    "ci_note": ("Intervals are {pct} % confidence intervals.", "区间为 {pct}% 置信区间。"),
    "model": ("Model", "模型"),
    "sample_n": ("n = {n}", "样本量 n = {n}"),
    "contents": ("Contents", "目录"),
    "headline": ("Headline", "核心指标"),
    "national": ("National", "全国"),
    "survey_sample": ("Survey sample", "调查样本"),
    "index_word": ("index", "指数"),
    "index_of": ("{construct} index", "{construct}指数"),
    "index_0_100": ("Index (0–100)", "指数（0–100）"),
    "ci": ("{pct} % CI", "{pct}% 置信区间"),
    "change_since": ("Change since {w}", "较{w}变化"),
    "change": ("Change", "变化"),
    "change_ci": ("Change CI", "变化的置信区间"),
    "p": ("p", "p 值"),
    "p_tests": ("p tests “no change” (interval inversion).", "p 值检验“无变化”（由置信区间反推）。"),
    "significant_better": ("significant improvement", "显著改善"),
    "significant_worse": ("significant deterioration", "显著恶化"),
    "not_significant": ("not significant", "不显著"),
    "every_construct": ("Every construct, {w}", "各潜变量，{w}"),
    "construct": ("Construct", "潜变量"),
    "label": ("Label", "名称"),
    "arrows_note": (
        "▲ / ▼: significant rise / fall at the {pct} % level; green when the change is good news and red when it "
        "is bad news for that construct ({lower}: lower is better).",
        "▲ / ▼：在 {pct}% 水平上显著上升 / 下降；对该潜变量而言是好消息时为绿色，坏消息时为红色（{lower}：越低越好）。",
    ),
    "arrows_note_plain": (
        "▲ / ▼: significant rise / fall at the {pct} % level; green is good news, red is bad news.",
        "▲ / ▼：在 {pct}% 水平上显著上升 / 下降；绿色表示好消息，红色表示坏消息。",
    ),
    "level_national": ("National", "全国"),
    "level_sector": ("Sectors", "行业大类"),
    "level_industry": ("Industries", "行业"),
    "level_company": ("Companies", "企业"),
    "one_sector": ("Sector", "行业大类"),
    "one_industry": ("Industry", "行业"),
    "one_company": ("Company", "企业"),
    "part_of": ("Part of", "所属"),
    "n": ("n", "样本量"),
    "index": ("Index", "指数"),
    "level_heading": ("{level}: {construct} index, {w}", "{level}：{construct}指数，{w}"),
    "suppressed": ("suppressed (too few respondents)", "不报告（受访者过少）"),
    "failed": ("not estimated (the fit failed)", "未估计（模型拟合失败）"),
    "status_other": ("not reported ({status})", "不报告（{status}）"),
    "trend_per_unit": ("Trend per unit", "各单位趋势"),
    "the_model": ("The model", "模型"),
    "from": ("From", "自"),
    "to": ("To", "至"),
    "coefficient": ("Coefficient", "系数"),
    "se": ("SE", "标准误"),
    "significant": ("Significant", "显著"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "paths_note_panel": ("National pooled fit of {w}. A coefficient is significant when its interval excludes 0.",
                         "{w}全国合并样本的估计。区间不含 0 的系数为显著。"),
    "paths_note_survey": ("A coefficient is significant when its interval excludes 0.", "区间不含 0 的系数为显著。"),
    "paths_no_ci": ("No intervals: the fit was not bootstrapped ({how}).", "无置信区间：未做自助法（{how}）。"),
    "impacts": ("Impacts and priorities", "影响与优先事项"),
    "driver": ("Driver", "驱动因素"),
    "target": ("Target", "目标"),
    "impact": ("Impact", "影响"),
    "performance": ("Performance", "表现"),
    "impacts_note": (
        "Impact: index points gained on the target for a 5-point gain of the driver (total effect on the 0–100 "
        "scale). Performance: the driver's index. Rows of the headline construct {construct} come first.",
        "影响：驱动因素提高 5 分时目标指数提高的分数（0–100 量表上的总效应）。表现：驱动因素的指数。"
        "核心潜变量 {construct} 的行排在最前。",
    ),
    "no_impacts": ("No impacts in these results.", "结果中没有影响值。"),
    "quality": ("Measurement quality", "测量质量"),
    "quality_note": ("Usual readings: alpha, rho_A, rho_C 0.70–0.95; AVE ≥ 0.50.",
                     "常用标准：alpha、rho_A、rho_C 在 0.70–0.95 之间；AVE ≥ 0.50。"),
    "loadings": ("Loadings and weights", "载荷与权重"),
    "item": ("Item", "题项"),
    "question": ("Question", "题目"),
    "loading": ("Loading", "载荷"),
    "weight": ("Weight", "权重"),
    "items": ("Items: descriptives and missing data", "题项：描述统计与缺失数据"),
    "mean": ("Mean", "均值"),
    "sd": ("SD", "标准差"),
    "scale": ("Scale", "量表"),
    "missing": ("Missing", "缺失"),
    "missing_share": ("Missing %", "缺失比例 %"),
    "missing_note": (
        "{n_input} rows read; {n_used} used in the estimation ({policy}); {n_dropped} dropped.",
        "读取 {n_input} 行；{n_used} 行用于估计（{policy}）；删除 {n_dropped} 行。",
    ),
    "policy_error": ("no missing values allowed", "不允许缺失值"),
    "policy_listwise": ("rows with a missing item removed", "删除含缺失题项的行"),
    "policy_mean": ("missing values replaced by the item mean", "缺失值以题项均值替代"),
    "methodology": ("Methodology", "方法说明"),
    "method_panel": (
        "Model {model}, estimated with {method} per company and wave, and once per wave on the pooled national "
        "sample for the path diagram, impacts and quality tables. Company indices are 0–100 indices "
        "(Fornell et al. 1996) from unstandardised outer weights; industry, sector and national indices aggregate "
        "them with the weights listed in the workbook's units sheet. Changes compare consecutive waves; a change is "
        "significant when its {ci} interval excludes 0, and its p-value is the smallest level at which it would be.",
        "模型 {model}，按企业和调查期分别以 {method} 估计；每期另以全国合并样本估计一次，用于路径图、影响和质量表。"
        "企业指数为基于非标准化外部权重的 0–100 指数（Fornell 等，1996）；行业、行业大类和全国指数按工作簿"
        "“单位”表中的权重汇总。变化为相邻两期之差；当其 {ci} 区间不含 0 时为显著，p 值为使其显著的最小水平。",
    ),
    "method_coverage": (
        "How well the intervals keep their promise: in csi's coverage study (csi bench coverage) of simulated "
        "{model} panels of the nearest design ({companies} companies of {respondents} respondents per company and "
        "wave, {panels} two-wave panels, {ci} intervals), 95 % intervals of the {target} index covered the true "
        "index in {coverage} of cases (± one Monte-Carlo SE); with nothing changed, the 5 % change test rejected in "
        "{size}.",
        "区间是否名副其实：在 csi 覆盖率研究（csi bench coverage）中，对最接近本设计的 {model} 模拟面板（{companies} 家企业，"
        "每家企业每期 {respondents} 名受访者，{panels} 个两期面板，{ci} 区间），{target} 指数的 95% 区间覆盖真实指数的比例为"
        "{coverage}；在无变化时，5% 变化检验的拒绝率为 {size}。",
    ),
    "method_coverage_none": (
        "csi's coverage study has no simulated panels of this model and interval type ({why}), so the coverage of "
        "these intervals is not measured.",
        "csi 覆盖率研究没有此模型和区间类型的模拟面板（{why}），因此这些区间的覆盖率未经测量。",
    ),
    "method_survey": (
        "Model {model}, estimated with {method} on one survey of {n} respondents. Indices are 0–100 indices "
        "(Fornell et al. 1996) from unstandardised outer weights.",
        "模型 {model}，以 {method} 在一次调查的 {n} 名受访者上估计。指数为基于非标准化外部权重的 0–100 指数"
        "（Fornell 等，1996）。",
    ),
    "method_bootstrap": (
        "Intervals: {ci} bootstrap intervals at {pct} % from {b} resamples ({failed} failed).",
        "区间：基于 {b} 次自助重抽样（失败 {failed} 次）的 {pct}% {ci} 区间。",
    ),
    "method_no_bootstrap": ("The fit was not bootstrapped, so no intervals are shown.", "未做自助法，故不显示区间。"),
    "provenance": ("Run settings and provenance", "运行设置与来源"),
    "setting": ("Setting", "设置"),
    "value": ("Value", "取值"),
    "estimator": ("Estimator", "估计方法"),
    "interval_type": ("Interval", "区间类型"),
    "conf_level": ("Confidence level", "置信水平"),
    "resamples": ("Bootstrap resamples per cell", "每单元自助重抽样次数"),
    "resamples_survey": ("Bootstrap resamples", "自助重抽样次数"),
    "national_resamples": ("Bootstrap resamples of the national fit", "全国估计的自助重抽样次数"),
    "failed_replicates": ("Failed bootstrap replicates", "失败的自助重抽样"),
    "min_n": ("Smallest reported cell (respondents)", "报告单元的最小样本量"),
    "unit_weights": ("Weights of units", "单位权重"),
    "respondent_weight": ("Respondent weights", "受访者权重"),
    "scheme": ("Inner weighting scheme", "内部加权方案"),
    "scaled": ("Items standardised", "题项标准化"),
    "missing_policy": ("Missing values", "缺失值处理"),
    "seed": ("Seed", "随机种子"),
    "input_hash": ("Input data hash (SHA-256)", "输入数据哈希（SHA-256）"),
    "versions": ("Software versions", "软件版本"),
    "written_by": ("Report written by", "报告生成工具"),
    "converged": ("Converged", "是否收敛"),
    "iterations": ("Iterations", "迭代次数"),
    "none": ("none", "无"),
    "equal": ("equal", "相等"),
    "table": ("from a table", "来自权重表"),
    "samples": ("Sample sizes", "样本量"),
    "level": ("Level", "层级"),
    "units_ok": ("Units reported", "报告单位数"),
    "units_suppressed": ("Suppressed", "不报告"),
    "units_failed": ("Failed", "失败"),
    "respondents": ("Respondents", "受访者"),
    "cells": ("Suppressed, failed and flagged cells", "不报告、失败及标记的单元"),
    "reason": ("Reason", "原因"),
    "unit": ("Unit", "单位"),
    "status": ("Status", "状态"),
    "reason_suppressed": ("fewer than {min_n} respondents", "受访者少于 {min_n} 名"),
    "reason_suppressed_plain": ("too few respondents", "受访者过少"),
    "reason_negative": ("negative outer weight: the index is not a weighted mean of its items",
                        "外部权重为负：指数不是题项的加权平均"),
    "warnings": ("Warnings during the run", "运行中的警告"),
    "count": ("Count", "次数"),
    "model_spec": ("Model specification", "模型设定"),
    "none_cells": ("None.", "无。"),
    "lower_is_better": ("lower is better", "越低越好"),
    "diagram_title": ("Path coefficients ({caption})", "路径系数（{caption}）"),
    "diagram_ci_note": ("* interval excludes 0; dashed: includes 0", "*：区间不含 0；虚线：区间含 0"),
    "ipma_title": ("Importance-performance map, {w}", "重要性-表现分析图，{w}"),
    "ipma_title_plain": ("Importance-performance map", "重要性-表现分析图"),
    "ipma_x": ("Impact on {construct} (points per +5 points)", "对{construct}的影响（每提高 5 分）"),
    "ipma_y": ("Performance (0–100 index)", "表现（0–100 指数）"),
    "trend_y": ("{construct} index (0–100)", "{construct}指数（0–100）"),
    "forest_x": ("{construct} index, {w} (0–100)", "{construct}指数，{w}（0–100）"),
    "readme": ("About this workbook", "关于本工作簿"),
    "wave_col": ("Wave", "调查期"),
    "sep": (", ", "、"),
    "colon": (": ", "："),
    "stop": (". ", "。"),
    "warning": ("Warning", "警告"),
    "flagged": ("Flagged", "被标记"),
    "flagged_note": (
        "{n} unit(s) flagged (shown in red with their status): a cell whose fit did not converge, is inadmissible "
        "or has a negative outer weight has an index that is not a trustworthy weighted mean; flagged cells are "
        "{policy} the industry, sector and national indices.",
        "{n} 个单位被标记（以红色显示其状态）：模型未收敛、解不可接受或外部权重为负的单元，其指数不是可信的加权平均；"
        "被标记的单元{policy}行业、行业大类和全国指数。",
    ),
    "excluded_from": ("excluded from", "未计入"),
    "included_in": ("included in", "已计入"),
}


class Words:
    """The report's text in one language: ``words.key`` or ``words("key", **fields)``."""

    def __init__(self, lang: str = "en") -> None:
        if lang not in LANGUAGES:
            raise CSIError(f"unknown report language {lang!r}; accepted: {', '.join(LANGUAGES)}")
        self.lang = lang
        self._i = LANGUAGES.index(lang)

    def __call__(self, key: str, **fields: Any) -> str:
        text = STRINGS[key][self._i]
        return text.format(**fields) if fields else text

    def __getattr__(self, key: str) -> str:
        if key.startswith("_") or key not in STRINGS:
            raise AttributeError(key)
        return STRINGS[key][self._i]


# ----------------------------------------------------------------- numbers


def missing(x: Any) -> bool:
    """None, NaN or not a number."""
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _minus(text: str) -> str:
    return text.replace("-", MINUS)


def fmt_num(x: Any, digits: int = 1) -> str:
    """A number at fixed precision with a true minus sign and no negative zero; '–' when missing."""
    if missing(x):
        return "–"
    text = f"{float(x):.{digits}f}"
    if re.fullmatch(r"-0\.?0*", text):  # -0.04 at one decimal is 0.0, not −0.0
        text = text[1:]
    return _minus(text)


def fmt_signed(x: Any, digits: int = 1) -> str:
    """A change with its sign ('+1.2', '−0.4', '0.0')."""
    text = fmt_num(x, digits)
    if text == "–" or text.startswith(MINUS) or float(text) == 0:
        return text
    return "+" + text


def _bound(x: float, digits: int) -> str:
    # A bound that rounds to zero keeps its side of zero: more digits (up to 3 more), not "−0.0" or "0.0".
    if x == 0:
        return fmt_num(0.0, digits)
    for d in range(digits, digits + 4):
        text = fmt_num(x, d)
        if float(text.replace(MINUS, "-")) != 0:
            return text
    return _minus(f"{x:.1g}")


def fmt_ci(lo: Any, hi: Any, digits: int = 1) -> str:
    """An interval as '[lo, hi]' whose printed bounds keep the side of 0 they are on; '–' when missing."""
    if missing(lo) or missing(hi):
        return "–"
    return f"[{_bound(float(lo), digits)}, {_bound(float(hi), digits)}]"


def fmt_int(x: Any) -> str:
    """A count with thousands separators; '–' when missing."""
    return "–" if missing(x) else f"{int(round(float(x))):,}"


def fmt_p(x: Any, alpha: float | None = None) -> str:
    """A p-value at 3 decimals ('< 0.001' below), never rounded across ``alpha``.

    A p of 0.0499 next to a significant flag prints '0.0499', not '0.050';
    0.0503 next to a non-significant one prints '0.0503' (a p printed as
    exactly ``alpha`` would leave the reader to guess the side).
    """
    if missing(x):
        return "–"
    p = float(x)
    if p < 0.001:
        return "< 0.001"
    for d in range(3, 7):
        text = f"{p:.{d}f}"
        shown = float(text)
        # On the right side of alpha, and not printed as alpha itself ("0.050" beside a 5 % test is ambiguous).
        if alpha is None or ((shown < alpha) == (p < alpha) and abs(shown - alpha) > 1e-12):
            return text
    return f"{p:.6g}"


def wave_label(wave: Any, words: Words) -> str:
    """'Wave 2' for a numbered wave, a named period ('Q1-2024', '2024') as it is."""
    text = str(wave)
    if re.fullmatch(r"\d{1,3}", text):  # small integers are wave numbers; 2024 is a year, kept as it is
        return words("wave", w=text)
    return text
