"""The text and HTML summary of a bootstrap, laid out like a journal table.

Sections follow lavaan's ``summary()`` and statsmodels' tables: a header (model,
estimator, n, resamples, failures, interval, seed), then one block per kind of
parameter with estimate, bootstrap SE, interval and p-value, then notes.

- What is fixed or structurally zero is not a result: a parameter whose every
  replicate equals its estimate (a single item's loading and weight of 1, a
  CB-SEM marker loading, an indirect effect along no path) is left out of the
  tables and named in a note;
- every p-value says what it tests: ``H0: parameter = 0``, two-sided, by the
  bootstrap rule of the estimates table (:func:`csi.resample.intervals.bootstrap_pvalue`);
- R² and 0-100 indices get no p-value: "R² = 0" or "index = 0" is no
  hypothesis anyone tests; their intervals are the result.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

SECTIONS = (
    ("~", "Path coefficients", "{lhs} <- {rhs}", True),
    ("=~", "Loadings", "{lhs} =~ {rhs}", True),
    ("<~", "Outer weights", "{lhs} <~ {rhs}", True),
    ("ind", "Indirect effects", "{rhs} -> {lhs}", True),
    ("total", "Total effects", "{rhs} -> {lhs}", True),
    ("r2", "R²", "{lhs}", False),
    ("index", "Indices (0-100)", "{lhs}", False),
)
"""(operator, title, row label, shows a p-value)."""


def _fixed(table: pd.DataFrame) -> pd.Series:
    """Rows whose replicates never move: fixed by the model or structurally zero (SE 0, a point interval)."""
    se = table["se"].to_numpy(float)
    point = np.isclose(table["ci_lower"].to_numpy(float), table["ci_upper"].to_numpy(float), rtol=0, atol=1e-12)
    return pd.Series((np.nan_to_num(se, nan=0.0) <= 1e-12) & point, index=table.index)


def _num(x: Any, digits: int) -> str:
    if x is None or not np.isfinite(float(x)):
        return ""
    text = f"{float(x):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _p(x: Any) -> str:
    if x is None or not np.isfinite(float(x)):
        return ""
    return "<0.001" if float(x) < 0.001 else f"{float(x):.3f}"


def sections(boot: Any) -> tuple[list[tuple[str, pd.DataFrame]], list[str]]:
    """The summary's tables (title, formatted frame) and the names of what was left out as fixed or zero."""
    est = boot.estimates
    fixed = _fixed(est)
    pct = f"{100 * boot.level:g}%"
    out, left = [], []
    for op, title, label, with_p in SECTIONS:
        part = est[est["op"] == op]
        if part.empty:
            continue
        zero = 0
        for r in part[fixed.loc[part.index]].itertuples():
            if op in ("ind", "total") and abs(r.estimate) <= 1e-12:
                zero += 1  # no chain of paths joins the two: zero by the model's structure
            else:
                left.append(f"{label.format(lhs=r.lhs, rhs=r.rhs)} = {_num(r.estimate, 3)}")
        if zero:
            left.append(f"{zero} {title.lower()} along no path (zero by the model's structure)")
        part = part[~fixed.loc[part.index]]
        if part.empty:
            continue
        d = 1 if op == "index" else 3  # indices on the 0-100 scale, one decimal as every index report
        rows = {
            "estimate": [_num(v, d) for v in part["estimate"]],
            "SE": [_num(v, d) for v in part["se"]],
            f"{pct} CI": [f"[{_num(lo, d)}, {_num(hi, d)}]" for lo, hi in zip(part["ci_lower"], part["ci_upper"])],
        }
        if with_p:
            rows["p"] = [_p(v) for v in part["p_value"]]
        index = [label.format(lhs=r.lhs, rhs=r.rhs) for r in part.itertuples()]
        if "group" in part.columns:  # a multiple-group fit: every row once per group
            index = [f"{g}: {x}" for g, x in zip(part["group"], index, strict=True)]
        out.append((title, pd.DataFrame(rows, index=pd.Index(index))))
        if op == "ind":
            out += _specific_indirect(boot, pct)
    return out, left


def _specific_indirect(boot: Any, pct: str) -> list[tuple[str, pd.DataFrame]]:
    """Every chain's indirect effect with SE, interval and p (:attr:`BootstrapResult.indirect_effects`), when
    some pair is joined by two or more chains (otherwise the chain is the pair's indirect effect, shown above)."""
    if boot.ci == "studentized":  # products have no per-replicate SE; the table says so when asked for
        return []
    ind = boot.indirect_effects
    part = ind[ind["kind"] == "specific"]
    if part.empty or not part.duplicated(["from", "to"]).any():
        return []
    rows = {
        "estimate": [_num(v, 3) for v in part["estimate"]],
        "SE": [_num(v, 3) for v in part["se"]],
        f"{pct} CI": [f"[{_num(lo, 3)}, {_num(hi, 3)}]" for lo, hi in zip(part["ci_lower"], part["ci_upper"])],
        "p": [_p(v) for v in part["p_value"]],
    }
    return [("Specific indirect effects (each chain)", pd.DataFrame(rows, index=pd.Index(list(part["path"]))))]


def header(boot: Any) -> list[tuple[str, str]]:
    fit = boot.fit
    plan = boot.plan if isinstance(boot.plan, dict) else {}
    seed = plan.get("seed_entropy")
    kind = plan.get("kind", "ordinary")
    rows = [
        ("Model", f"{fit.spec.name} ({fit.method})"),
        ("Observations", f"{int(np.sum(fit.n)):,}"),
        ("Resamples", f"{boot.n_resamples:,} ({kind} bootstrap" + (f", seed {seed})" if seed is not None else ")")),
        ("Failed", f"{boot.n_failed} (not converged {boot.n_not_converged}, "
                   + (f"inadmissible {boot.n_inadmissible}, " if boot.n_inadmissible else "")
                   + f"singular {boot.n_singular}; {boot.failed_policy})"),
        ("Intervals", f"{boot.ci}, {100 * boot.level:g}%; sign change: {boot.sign_change}"
                      + (f"; inner resamples: {boot.inner_resamples}" if boot.inner_resamples else "")),
    ]  # fmt: skip
    return rows


NOTE_P = ("p: two-sided bootstrap p-value of H0: parameter = 0 (percentile counting rule, add-one; Davison & "
          "Hinkley 1997, eq. 4.11). R² and 0-100 indices have no p-value: their interval is the result.")  # fmt: skip


def render_text(boot: Any) -> str:
    """The summary as text."""
    lines = [f"Bootstrap of {boot.fit.spec.name}"] + [f"  {k:<13}{v}" for k, v in header(boot)]
    tables, left = sections(boot)
    for title, frame in tables:
        lines += ["", title, "-" * len(title), frame.to_string()]
    lines += ["", "Notes:", "  " + NOTE_P]
    if left:
        lines.append("  Fixed or structurally zero (not estimated, left out): " + "; ".join(left) + ".")
    return "\n".join(lines)


def render_html(boot: Any) -> str:
    """The summary as HTML (notebooks); every text escaped."""
    head = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in header(boot))
    parts = [f"<p><b>Bootstrap of {html.escape(boot.fit.spec.name)}</b></p><table>{head}</table>"]
    tables, left = sections(boot)
    for title, frame in tables:
        parts.append(f"<h4>{html.escape(title)}</h4>{frame.to_html(escape=True)}")
    parts.append(f"<p><small>{html.escape(NOTE_P)}</small></p>")
    if left:
        parts.append(f"<p><small>Fixed or structurally zero: {html.escape('; '.join(left))}.</small></p>")
    return "<div>" + "".join(parts) + "</div>"
