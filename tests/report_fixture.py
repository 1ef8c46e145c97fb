"""Write a small panel-index results folder from real csi fits, for the report tests.

The folder follows the index contract (``index.csv, changes.csv, units.csv,
estimates.csv, impacts.csv, quality.csv, manifest.json``) with the contract's
exact columns.  Every company-wave is simulated, fitted with :func:`csi.fit`,
bootstrapped with :func:`csi.bootstrap` and indexed from the bootstrap's index
draws; industry, sector and national indices are fixed-weight means of their
children with ``Var = sum a_c^2 Var(I_c)`` (methodology 3.4, 3.3); changes use
the independent-samples z test (3.5); impacts are 5 x the unstandardised total
effect on the 0-100 metric of one pooled fit per wave (3.6).  This is a test
fixture: the production pipeline is ``csi.index_panel``.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import csi
from csi.index.compute import scale_bounds, unstandardised_weights
from csi.results.files import seal
from csi.spec.toml_io import to_toml

#: (company, industry, sector, revenue weight)
COMPANIES = (
    ("FreshMart", "Supermarkets", "Retail", 5.0),
    ("ValueGrocer", "Supermarkets", "Retail", 3.0),
    ("StyleHouse", "Department stores", "Retail", 2.0),
    ("Grand Emporium", "Department stores", "Retail", 2.5),
    ("First Bank", "Banks", "Finance", 6.0),
    ("Tiny Credit", "Banks", "Finance", 0.5),
)
SECTOR_WEIGHTS = {"Retail": 0.6, "Finance": 0.4}
Z = stats.norm.ppf(0.975)


def _company_data(spec: csi.ModelSpec, n: int, seed: int, shift: float) -> pd.DataFrame:
    data = csi.simulate(spec, n, seed=seed).data
    rng = np.random.default_rng(seed + 10_000)
    for item in spec.items:
        if item.scale_max - item.scale_min >= 4:  # rating items move; binary and percent items stay
            bump = (rng.random(n) < abs(shift)).astype(int) * int(np.sign(shift))
            data[item.name] = np.clip(data[item.name] + bump, item.scale_min, item.scale_max)
    return data


def _scores_0_100(fit: csi.FitResult, data: pd.DataFrame) -> pd.DataFrame:
    u = unstandardised_weights(fit).to_numpy()
    lo, hi = scale_bounds(fit.spec)
    X = data[list(fit.spec.item_names)].to_numpy(float)
    M = fit.spec.block_mask
    return pd.DataFrame(100 * ((X - lo) * u) @ M / ((hi - lo) * u @ M), columns=list(fit.spec.construct_names))


def _impacts(fit: csi.FitResult, data: pd.DataFrame, index: pd.Series, target: str) -> list[tuple]:
    sd = _scores_0_100(fit, data).std(ddof=0)
    rows = []
    for driver in fit.spec.construct_names:
        total = fit.total_effects.loc[target, driver]
        if driver != target and total != 0:
            rows.append((driver, target, 5 * total * sd[target] / sd[driver], index[driver]))
    return rows


def _fit_rows(fit, boot, level, unit, wave):
    e = boot.estimates
    keep = e[e["op"].isin(["~", "=~", "<~", "r2"])]
    return [
        (level, unit, wave, r.lhs, r.op, r.rhs, r.estimate, r.se, r.ci_lower, r.ci_upper) for r in keep.itertuples()
    ]


def _quality_rows(fit, level, unit, wave):
    rel = csi.assess(fit).tables()["reliability"].set_index("construct")
    rows = []
    for c in fit.spec.construct_names:
        for crit in ("cronbach_alpha", "rho_a", "rho_c", "ave"):
            rows.append((level, unit, wave, c, crit, rel.loc[c, crit]))
        if c in fit.r2.index:
            rows.append((level, unit, wave, c, "r2", fit.r2[c]))
    return rows


def write_panel_results(
    out: str | Path,
    *,
    model: str = "acsi",
    companies: Sequence[tuple[str, str, str, float]] = COMPANIES,
    waves: Sequence[str] = ("2023", "2024"),
    n: int = 150,
    small: str | None = "Tiny Credit",
    n_resamples: int = 40,
    min_n: int = 50,
    seed: int = 7,
    construct_labels: dict[str, str] | None = None,
) -> Path:
    """Fit a simulated panel and write a contract-conformant results folder; returns the folder.

    ``small`` names a company surveyed with only ``min_n // 2`` respondents in
    the last wave, so that cell is suppressed; ``construct_labels`` overrides
    construct labels in the model text written to the manifest.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = csi.load_model(model)
    target = spec.target
    index_rows, units_rows, est_rows, imp_rows, qual_rows = [], [], [], [], []
    series: dict[tuple[str, str], dict[str, tuple[pd.Series, pd.Series]]] = {}
    all_data = []
    for w, wave in enumerate(waves):
        wave_data = []
        comp_idx: dict[str, tuple[pd.Series, pd.Series]] = {}
        comp_n: dict[str, int] = {}
        for c, (company, industry, _sector, weight) in enumerate(companies):
            size = min_n // 2 if (company == small and w == len(waves) - 1) else n
            shift = 0.4 * np.sin(1.3 * c + 2.1 * w)
            data = _company_data(spec, size, seed + 100 * w + c, shift)
            status = "ok" if size >= min_n else "suppressed"
            units_rows.append(("company", company, "industry", industry, wave, weight, size, status))
            wave_data.append(data.assign(company=company))
            if status != "ok":
                for con in spec.construct_names:
                    index_rows.append(("company", company, wave, con, np.nan, np.nan, np.nan, np.nan, size))
                continue
            fit = csi.fit(spec, data)
            with warnings.catch_warnings():  # a replicate with a negative weight is indexed anyway (and warns)
                warnings.simplefilter("ignore", UserWarning)
                boot = csi.bootstrap(fit, n_resamples, seed=seed + 100 * w + c)
            e = boot.estimates[boot.estimates["op"] == "index"].set_index("lhs")
            for con in spec.construct_names:
                r = e.loc[con]
                index_rows.append(("company", company, wave, con, r.estimate, r.se, r.ci_lower, r.ci_upper, size))
            comp_idx[company] = (e["estimate"], e["se"])
            comp_n[company] = size
            est_rows += _fit_rows(fit, boot, "company", company, wave)
            qual_rows += _quality_rows(fit, "company", company, wave)
        # Aggregates with fixed weights over the measured (not suppressed) children.
        parents = {
            "industry": {comp: (ind, wt) for comp, ind, _, wt in companies},
            "sector": {ind: (sec, 1.0) for _, ind, sec, _ in companies},
            "national": {sec: ("", SECTOR_WEIGHTS[sec]) for _, _, sec, _ in companies},
        }
        level_idx, level_n = comp_idx, comp_n
        for level, child_of in parents.items():
            groups: dict[str, list[str]] = {}
            for child in level_idx:
                groups.setdefault(child_of[child][0] if level != "national" else "National", []).append(child)
            agg, agg_n = {}, {}
            for unit, children in groups.items():
                a = np.array([child_of[ch][1] for ch in children])
                a = a / a.sum()
                mean = sum(ai * level_idx[ch][0] for ai, ch in zip(a, children))
                se = np.sqrt(sum(ai**2 * level_idx[ch][1] ** 2 for ai, ch in zip(a, children)))
                agg[unit] = (mean, se)
                nn = agg_n[unit] = sum(level_n[ch] for ch in children)
                parent_level = {"industry": "sector", "sector": "national", "national": ""}[level]
                parent = (
                    "" if level == "national" else ("National" if level == "sector" else parents["sector"][unit][0])
                )
                wt = 1.0 if level == "national" else (SECTOR_WEIGHTS[unit] if level == "sector" else 1.0)
                units_rows.append((level, unit, parent_level, parent, wave, wt, nn, "ok"))
                for con in spec.construct_names:
                    m, s = mean[con], se[con]
                    index_rows.append((level, unit, wave, con, m, s, m - Z * s, m + Z * s, nn))
            level_idx, level_n = agg, agg_n
            for unit, val in agg.items():
                series.setdefault((level, unit), {})[wave] = val
        for company, val in comp_idx.items():
            series.setdefault(("company", company), {})[wave] = val
        pooled = pd.concat(wave_data, ignore_index=True)
        all_data.append(pooled.assign(wave=wave))
        fit = csi.fit(spec, pooled)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            boot = csi.bootstrap(fit, n_resamples, seed=seed + 100 * w + 99)
        est_rows += _fit_rows(fit, boot, "national", "National", wave)
        qual_rows += _quality_rows(fit, "national", "National", wave)
        nat = level_idx["National"][0]
        imp_rows += [("national", "National", wave, *r) for r in _impacts(fit, pooled, nat, target)]
    change_rows = []
    for (level, unit), by_wave in series.items():
        for w0, w1 in zip(waves[:-1], waves[1:]):
            if w0 in by_wave and w1 in by_wave:
                (m0, s0), (m1, s1) = by_wave[w0], by_wave[w1]
                for con in spec.construct_names:
                    d, s = m1[con] - m0[con], np.hypot(s0[con], s1[con])
                    p = 2 * stats.norm.sf(abs(d / s))
                    change_rows.append((level, unit, con, w0, w1, d, d - Z * s, d + Z * s, p, bool(p < 0.05)))
    if construct_labels:
        from dataclasses import replace

        spec = replace(
            spec,
            constructs=tuple(replace(c, label=construct_labels.get(c.name, c.label)) for c in spec.constructs),
        )
    from csi.report.load import COLUMNS

    tables = {
        "index": index_rows,
        "changes": change_rows,
        "units": units_rows,
        "estimates": est_rows,
        "impacts": imp_rows,
        "quality": qual_rows,
    }
    for name, rows in tables.items():
        pd.DataFrame(rows, columns=list(COLUMNS[name])).to_csv(out / f"{name}.csv", index=False)
    raw = pd.concat(all_data, ignore_index=True).to_csv(index=False).encode()
    manifest = {
        "model_name": spec.name,
        "model_text": to_toml(spec),
        "method": "pls",
        "options": {"scheme": "path", "n_resamples": n_resamples, "ci": "percentile", "level": 0.95, "min_n": min_n},
        "seed": seed,
        "input_hash": hashlib.sha256(raw).hexdigest(),
        "versions": {"csi": csi.__version__, "numpy": np.__version__, "pandas": pd.__version__},
        "suppressed_cells": sum(1 for r in units_rows if r[7] == "suppressed"),
        "failed_replicates": 0,
    }
    seal(out, manifest)  # size and SHA-256 of every file, which the report's loader verifies
    return out


def reseal(folder: Path) -> Path:
    """Re-list a folder's files in its manifest after a test edited them on purpose (a tool that writes the
    contract), so the loader's own checks of the edited tables are reached."""
    seal(folder)
    return folder


# ------------------------------------------------------------------ shared folders
# The report test modules wrap these in session fixtures; each folder is built once per session.

HOSTILE_COMPANY = "<script>alert(1)</script>"
HOSTILE_LABEL = 'Satisfaction & "value" <b>bold</b>'
FORMULA_COMPANY = '=HYPERLINK("http://example.invalid","x")'
_BUILT: dict[str, Path] = {}


def _build(name: str, factory, **kwargs) -> Path:
    if name not in _BUILT:
        _BUILT[name] = write_panel_results(factory.mktemp(name), **kwargs)
    return _BUILT[name]


def panel_dir(tmp_path_factory) -> Path:
    """Three waves, six companies in three industries and two sectors, one company suppressed in the last wave."""
    return _build("panel", tmp_path_factory, waves=("2022", "2023", "2024"))


def hostile_dir(tmp_path_factory) -> Path:
    """Two waves; companies named like markup, a formula, a dollar amount and 'NA'; SAT's label with & < > "."""
    companies = (
        (HOSTILE_COMPANY, "Supermarkets", "Retail", 4.0),
        ("NA", "Supermarkets", "Retail", 3.0),
        ("$100 Store", "Department stores", "Retail", 2.0),
        (FORMULA_COMPANY, "Department stores", "Retail", 2.5),
        ("007", "Banks", "Finance", 6.0),
        ("Tiny Credit", "Banks", "Finance", 0.5),
    )
    return _build("hostile", tmp_path_factory, companies=companies, construct_labels={"SAT": HOSTILE_LABEL})
