"""Text summaries a researcher pastes into a paper: bootstrap, composite indices, loyalty segments.

What a summary shows is compared with the result's own tables (rounded as printed); what it must leave out
(the raw plan dict, fixed loadings, structurally zero effects, p-values of indices) is checked absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import csi
from csi.classical import loyalty_segments, pca_index
from csi.spec.toml_io import read_toml

ACSI = Path(__file__).resolve().parents[1] / "models" / "acsi.toml"


@pytest.fixture(scope="module")
def boot():
    spec = read_toml(ACSI)
    fit = csi.fit(spec, csi.simulate(spec, 300, seed=2).data)
    return csi.bootstrap(fit, 60, seed=4)


def _section(text: str, title: str) -> str:
    part = text.split(f"\n{title}\n")[1]
    return part.split("\n\n")[0]


def test_bootstrap_summary_reads_like_a_journal_table(boot):
    text = boot.summary()
    assert "Plan:" not in text and "{'kind'" not in text and "spawn_key" not in text
    assert re.search(r"Resamples +60 \(ordinary bootstrap, seed 4\)", text)
    est = boot.estimates.set_index(["lhs", "op", "rhs"])
    paths = _section(text, "Path coefficients")
    for (lhs, _, rhs), r in est.xs("~", level="op", drop_level=False).iterrows():
        line = next(ln for ln in paths.splitlines() if ln.startswith(f"{lhs} <- {rhs} "))
        assert f"{r['estimate']:.3f}" in line and f"{r['se']:.3f}" in line
    assert "H0: parameter = 0" in text


def test_fixed_and_structurally_zero_rows_are_notes_not_rows(boot):
    text = boot.summary()
    # COMP is COMPL's only item: loading and weight are 1 in every replicate.
    assert "COMPL =~ COMP " not in _section(text, "Loadings") and "COMPL =~ COMP = 1.000" in text
    est = boot.estimates
    zero = est[(est["op"] == "ind") & (est["estimate"] == 0) & (est["se"] == 0)]
    assert len(zero) > 0
    indirect = _section(text, "Indirect effects")
    for r in zero.itertuples():
        assert f"{r.rhs} -> {r.lhs} " not in indirect
    assert f"{len(zero)} indirect effects along no path" in text


def test_no_p_value_for_indices_and_r2(boot):
    text = boot.summary()
    for title in ("Indices (0-100)", "R²"):
        header = _section(text, title).splitlines()[1]
        assert header.split()[-2:] == ["95%", "CI"], header  # the last column is the interval, no p
    idx = boot.estimates[boot.estimates["op"] == "index"]
    body = _section(text, "Indices (0-100)")
    for r in idx.itertuples():
        assert f"{r.estimate:.1f}" in body


def test_bootstrap_html_is_escaped_and_structured(boot):
    page = boot._repr_html_()
    assert "<h4>Path coefficients</h4>" in page and "&lt;-" in page and "Plan" not in page


def test_composite_index_summary_and_short_repr():
    spec = read_toml(ACSI)
    data = csi.simulate(spec, 200, seed=1).data
    ci = pca_index(spec, data)
    assert len(repr(ci)) < 200 and repr(ci).startswith("CompositeIndex(method='pca-first', n=200")
    text = ci.summary()
    for c, v in ci.index.items():
        assert re.search(rf"^{c} +{v:.1f}$", text, re.M)
    assert "no sampling error" in text and "<table" in ci._repr_html_()


def test_loyalty_segments_summary_and_short_repr():
    rng = pd.Series(range(100), dtype=float)
    seg = loyalty_segments(rng % 10, (rng * 7) % 13)
    assert len(repr(seg)) < 200 and repr(seg).startswith(f"LoyaltySegments(n={int(seg.counts.sum())}")
    text = seg.summary()
    for label, share in seg.shares.items():
        assert re.search(rf"^{label} +{int(seg.counts[label]):,} +{100 * share:.1f} %$", text, re.M)
    assert "Dick & Basu" in text and "<table" in seg._repr_html_()


def test_fit_summary_p_values_say_what_they_test(boot):
    fit = boot.fit
    text = fit.summary()
    assert "p: two-sided t-test of H0: path = 0" in text and "H0: path = 0" in fit._repr_html_()
    p = fit.inner_model.query("rhs != '(Intercept)'").set_index(["lhs", "rhs"])["p_value"]
    shown = "<0.001" if p.min() < 0.001 else f"{p.min():.3f}"
    assert re.search(rf"\s{re.escape(shown)}$", text, re.M) and "0.0000" not in text.split("Constructs")[0]
