"""The built-in demo: ECSI survey data and an ACSI national panel from known populations, compared with the truth.

The shipped ECSI-7 model cannot be simulated with :func:`csi.simulate`'s
default path values (four paths of 0.4 into SAT would need R² > 1), so the
demo population uses the rounded PLS estimates of Tenenhaus et al. (2005) on
the mobile-phone data as its path coefficients; loadings keep the default 0.8.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from csi.resample.result import BootstrapResult
from csi.results.fit import FitResult
from csi.simulate import SimulatedData, simulate
from csi.spec.load import load_model
from csi.spec.parameters import parameter_label

if TYPE_CHECKING:
    from csi.index.result import PanelIndexResult
    from csi.index.simulate_panel import SimulatedPanel

DEMO_MODEL = "ecsi"
"""The shipped model the demo simulates and fits."""

DEMO_PATHS: dict[str, float] = {
    "EXPE ~ IMAG": 0.50,
    "SAT ~ IMAG": 0.20,
    "LOY ~ IMAG": 0.20,
    "QUAL ~ EXPE": 0.55,
    "VAL ~ EXPE": 0.10,
    "SAT ~ EXPE": 0.10,
    "VAL ~ QUAL": 0.55,
    "SAT ~ QUAL": 0.45,
    "SAT ~ VAL": 0.20,
    "COMP ~ SAT": 0.55,
    "LOY ~ SAT": 0.50,
    "LOY ~ COMP": 0.10,
}
"""Population path coefficients of the demo (standardized common-factor model)."""


def demo_data(n: int = 250, seed: int | None = 1) -> SimulatedData:
    """Simulated ECSI-7 survey (1-10 items, left-skewed answers) with known population values.

    Parameters
    ----------
    n
        Respondents.
    seed
        Seed of :func:`csi.simulate`; the same seed gives the same data.

    Returns
    -------
    SimulatedData
    """
    return simulate(load_model(DEMO_MODEL), n, seed=seed, paths=DEMO_PATHS)


def _with_ci(table: pd.DataFrame, boot: BootstrapResult | None, op: str) -> pd.DataFrame:
    if boot is None:
        return table
    est = boot.estimates
    est = est[est["op"] == op].set_index(["lhs", "rhs"])[["se", "ci_lower", "ci_upper"]]
    return table.join(est, on=["lhs", "rhs"])


def compare_index(fit: FitResult, sim: SimulatedData, boot: BootstrapResult | None = None) -> pd.DataFrame:
    """Estimated 0-100 index of every construct beside its population value (and bootstrap CI).

    Returns
    -------
    pandas.DataFrame
        Indexed by construct: ``label, estimate, population, error`` and, with
        ``boot``, ``se, ci_lower, ci_upper`` of ``boot``'s interval type.
    """
    from csi.index.compute import compute_index

    est = compute_index(fit)
    table = pd.DataFrame(
        {
            "lhs": est.index,
            "rhs": est.index,
            "label": [c.label or "" for c in fit.spec.constructs],
            "estimate": est.to_numpy(),
            "population": sim.population_index.reindex(est.index).to_numpy(),
        }
    )
    table["error"] = table["estimate"] - table["population"]
    return _with_ci(table, boot, "index").drop(columns="rhs").set_index("lhs").rename_axis("construct")


def compare_paths(fit: FitResult, sim: SimulatedData, boot: BootstrapResult | None = None) -> pd.DataFrame:
    """Estimated path coefficients beside the population values (and bootstrap CI).

    Under a common-factor population PLS composites measure the constructs
    with error, so PLS paths are expected to differ from the population ones
    (typically attenuated); the comparison shows by how much.

    Returns
    -------
    pandas.DataFrame
        One row per path, ``path, estimate, population`` and, with ``boot``,
        ``se, ci_lower, ci_upper``.
    """
    rows = [(p.target, p.source, fit.paths.loc[p.target, p.source]) for p in fit.spec.paths]
    table = pd.DataFrame(rows, columns=["lhs", "rhs", "estimate"])
    table["population"] = [sim.paths[parameter_label(t, "~", s)] for t, s, _ in rows]
    table = _with_ci(table, boot, "~")
    table.insert(0, "path", [f"{s} -> {t}" for t, s, _ in rows])
    return table.drop(columns=["lhs", "rhs"]).set_index("path")


PANEL_MODEL = "acsi"
"""The shipped model of the demo's national panel."""


def demo_panel(companies: int = 12, respondents: int = 150, seed: int | None = 1) -> SimulatedPanel:
    """A simulated national panel of ACSI surveys: companies in 4 industries and 2 sectors, 2 waves.

    Companies differ in their latent means, so their population indices
    differ; :func:`csi.simulate_panel` gives every unit's exact population
    index and revenue / GDP-share unit weights.
    """
    from csi.index.simulate_panel import simulate_panel

    industries = min(4, companies)
    return simulate_panel(PANEL_MODEL, companies=companies, respondents=respondents, waves=2, seed=seed,
                          industries=industries, sectors=min(2, industries))  # fmt: skip


def run_demo_panel(panel: SimulatedPanel, n_resamples: int = 200, seed: int | None = 1) -> PanelIndexResult:
    """Index the demo panel: per company x wave fits, bootstrap, aggregation to the nation, change tests."""
    from csi.index.panel import index_panel

    return index_panel(panel.data, panel.spec, company="company", wave="wave", industry="industry", sector="sector",
                       unit_weights=panel.unit_weights, n_resamples=n_resamples, seed=seed, min_n=50,
                       national_resamples=n_resamples)  # fmt: skip


def compare_panel(result: PanelIndexResult, panel: SimulatedPanel, construct: str = "SAT") -> pd.DataFrame:
    """The estimated index of every industry, sector and the nation beside its population value.

    Returns
    -------
    pandas.DataFrame
        ``level, unit, wave, index, ci_lower, ci_upper, population, covered``
        for ``construct``, above the company level.
    """
    keys = ["level", "unit", "wave"]
    est = result.index[(result.index["construct"] == construct) & (result.index["level"] != "company")]
    pop = panel.population[panel.population["construct"] == construct].astype({"unit": str, "wave": str})
    table = est[keys + ["index", "ci_lower", "ci_upper"]].astype({"wave": str}).merge(
        pop[keys + ["index"]].rename(columns={"index": "population"}), on=keys, how="left"
    )
    table["covered"] = (table["ci_lower"] <= table["population"]) & (table["population"] <= table["ci_upper"])
    return table.reset_index(drop=True)
