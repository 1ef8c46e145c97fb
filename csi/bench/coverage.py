"""Coverage study of panel index intervals and change tests against exact population indices.

:func:`run_coverage` draws ``reps`` two-wave national panels for every design
of a grid (model x companies x respondents per cell x common wave shift) with
:func:`csi.simulate_panel`, runs :func:`csi.index_panel` on each with every
interval type asked for, and records, per interval, whether it contains the
exact population index, and per change, whether the change test rejects.
:func:`summarise` turns those rows into coverage, interval width, bias,
error SD and change-test rejection rates per design, level and interval type,
each with its Monte-Carlo standard error (Morris, White & Crowther 2019).

Design (documented choices)
---------------------------
* **Panels**: companies in ``industries`` industries in ``sectors`` sectors
  (default 4 and 2), revenue and GDP-share weights as in
  :func:`csi.simulate_panel`, two waves of independent respondents.  The
  company levels ``a_c`` differ (``company_sd=0.3``); there is no random wave
  movement (``wave_sd=0``) and the unit weights do not drift
  (``weight_drift=0``), so with ``shift=0`` every population index is the
  same in both waves: the null of the change test holds at every level and a
  rejection is a type-I error.  With ``shift=s`` every company moves by ``s``
  latent SDs, a known change at every level, and the rejection rate is the
  power.
* **Truth**: the exact population indices of :func:`csi.simulate_panel`
  (weights ``lambda_h / sd_h`` of the discretised items, Fornell formula on
  their exact means); aggregates are the unit-weighted means of their
  children's population indices.  Coverage is counted over the units whose
  status is usable (``ok`` or ``includes_flagged``): flagged company cells are
  excluded from the aggregates and their intervals are not published as
  regular intervals (:mod:`csi.index.status`).
* **Monte-Carlo SE**: ``sqrt(c (1 - c) / k)`` with ``k`` the number of
  intervals; company (and industry, sector) intervals of one replication are
  independent (independent samples), so this is right for every level.
  Replication ``r`` of a design uses seed
  ``SeedSequence(seed, spawn_key=(crc32(model), companies, respondents,
  round(1000 shift), r))``, for the panel and (through its entropy) the
  bootstrap; every interval type of a replication uses the same bootstrap
  draws (common random numbers).
* **Estimator and missing data**: ``methods`` are estimators whose panel
  cells can be bootstrapped (PLS; PLSc's outer weights, hence its 0-100
  index, are PLS's, and the fixed-weight estimators have no bootstrap, so
  :func:`csi.index_panel` refuses them with a named error).  With
  ``missing_rate > 0`` every item answer of a panel is deleted independently
  with that probability (MCAR, the stream ``SeedSequence(replication seed,
  spawn_key=(1,))``, so every method and missing-data policy of a replication
  sees the same deletions), and ``missings`` are the policies that
  :func:`csi.index_panel` runs in each cell.  Method and missing-data policy
  do not enter the replication seed: designs that differ only in them share
  their panels (common random numbers).
"""

from __future__ import annotations

import os
import time
import warnings
import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from csi.errors import CSIError
from csi.index.panel import DEFAULT_INTERVAL, PANEL_INTERVALS, index_panel
from csi.index.simulate_panel import simulate_panel
from csi.index.status import usable
from csi.resample.scheduler import check_scheduler, resolve_scheduler

MODELS = ("acsi",)
COMPANIES = (8,)
RESPONDENTS = (150,)
SHIFTS = (0.0,)
METHODS = ("pls",)
MISSINGS = ("em",)
QUICK = {"companies": [4], "respondents": [60], "reps": 3, "n_resamples": 50}
"""Smoke size of ``csi bench coverage --quick``."""
HEADLINE = {"model": "acsi", "method": "pls", "missing": "em", "missing_rate": 0.0, "companies": 8, "respondents": 150,
            "shift": 0.0}  # fmt: skip
"""The headline design of the issue: ACSI, 8 companies of 150 respondents, no change."""

DESIGN = ["model", "method", "missing", "missing_rate", "companies", "respondents", "shift"]
"""Columns naming a design of the grid."""

COLUMNS = [*DESIGN, "rep", "ci", "kind", "level", "unit", "wave", "construct", "estimate", "truth", "truth_all", "se",
           "ci_lower", "ci_upper", "covered", "covered_all", "significant", "complete", "national_share"]  # fmt: skip
"""Columns of :func:`run_coverage`'s table; ``kind`` is ``index`` (one row per unit x wave) or ``change``.
``truth``: the population index over the children that entered the aggregate (the estimator's target);
``truth_all``: over all children (:func:`csi.simulate_panel`'s definition); ``complete``: no child was left out
(of either wave, for a change); ``wave``: the wave of an index (the later wave of a change); ``national_share``:
a company's share of the national index (the product of its shares up the hierarchy, NaN when it was left out), so
that the national error can be split into its companies' errors (:func:`national_shares`)."""


def used_truth(population: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Population index of every unit over the children that entered its aggregate, with the shares used.

    ``population``: ``level, unit, wave, construct, truth`` (company rows are
    used); ``units``: the run's units table (``weight`` is the normalised share
    a child actually received, NaN when it was left out).  Returns
    ``level, unit, wave, construct, truth, complete``.
    """
    comp = population[population["level"] == "company"][["level", "unit", "wave", "construct", "truth"]]
    out = [comp.assign(complete=True)]
    current = out[0]
    levels = [lv for lv in ("industry", "sector", "national") if lv in set(units["level"])]
    for lv in levels:
        kids = units[units["parent_level"] == lv][["level", "unit", "wave", "parent", "weight"]]
        m = kids.merge(current, on=["level", "unit", "wave"], how="inner")
        m["part"] = m["weight"].fillna(0.0) * m["truth"]
        m["left_out"] = m["weight"].isna() | ~m["complete"]
        g = m.groupby(["parent", "wave", "construct"], sort=False)
        agg = pd.DataFrame({"truth": g["part"].sum(), "complete": ~g["left_out"].any()}).reset_index()
        current = agg.rename(columns={"parent": "unit"}).assign(level=lv)
        out.append(current)
    return pd.concat(out, ignore_index=True)[["level", "unit", "wave", "construct", "truth", "complete"]]


def national_shares(units: pd.DataFrame) -> dict[tuple[str, str], float]:
    """``(company, wave) -> share`` of every company cell in its wave's national index, from a run's units table.

    The product of the normalised shares a unit received at each level up to
    the nation (NaN for a cell left out anywhere on the way), so that the
    national index is ``Σ share_c I_c`` over the companies of the wave.
    """
    row = {(lv, u, w): (wt, plv, par) for lv, u, plv, par, w, wt in
           units[["level", "unit", "parent_level", "parent", "wave", "weight"]].itertuples(index=False)}  # fmt: skip
    out = {}
    for (lv, unit, wave), (share, plv, parent) in row.items():
        if lv != "company":
            continue
        s = float(share) if plv is not None and pd.notna(plv) else 1.0
        while plv is not None and pd.notna(plv) and plv != "national":
            wt, plv, parent = row[(plv, parent, wave)]
            s *= float(wt)
        out[(unit, wave)] = s
    return out


def replication_seed(seed: int, model: str, companies: int, respondents: int, shift: float, rep: int) -> int:
    """The integer seed of one replication, keyed by its design and number (stable across runs and machines)."""
    key = (zlib.crc32(model.encode()), int(companies), int(respondents), int(round(1000 * shift)) % 2**32, int(rep))
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1, dtype=np.uint64)[0] >> 1)


def run_replication(
    model: str,
    companies: int,
    respondents: int,
    shift: float,
    rep: int,
    cis: Sequence[str],
    seed: int,
    n_resamples: int,
    level: float = 0.95,
    industries: int | None = 4,
    sectors: int | None = 2,
    method: str = "pls",
    missing: str = "em",
    missing_rate: float = 0.0,
    imputations: int = 5,
) -> pd.DataFrame:
    """Rows (:data:`COLUMNS`) of one replication: every usable interval and change of one simulated panel.

    ``imputations``: completed data sets per cell under ``missing="mi"`` (ignored otherwise).
    """
    s = replication_seed(seed, model, companies, respondents, shift, rep)
    n_ind = None if industries is None else min(industries, companies)
    n_sec = None if sectors is None else min(sectors, n_ind or companies)
    p = simulate_panel(model, companies=companies, respondents=respondents, waves=2, seed=s, industries=n_ind,
                       sectors=n_sec, wave_sd=0.0, wave_shift=shift, weight_drift=0.0)  # fmt: skip
    data = p.data
    if missing_rate > 0:
        data = delete_answers(data, p.spec.item_names, missing_rate, s)
    pop = p.population.assign(wave=p.population["wave"].astype(str)).rename(columns={"index": "truth_all"})
    parts = []
    for ci in cis:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # flagged cells warn; their status is read below
            res = index_panel(data, p.spec, company="company", wave="wave", method=method, missing=missing,
                              industry="industry" if n_ind else None, sector="sector" if n_sec else None,
                              unit_weights=p.unit_weights, min_n=1, n_resamples=n_resamples, seed=s, level=level,
                              ci=ci, national_fit=False,
                              **({"imputations": imputations} if missing == "mi" else {}))  # fmt: skip
        status = res.units.set_index(["level", "unit", "wave"])["status"]
        truth = used_truth(pop.rename(columns={"truth_all": "truth"}), res.units).merge(
            pop, on=["level", "unit", "wave", "construct"], how="inner", validate="one_to_one")
        idx = res.index.merge(truth, on=["level", "unit", "wave", "construct"], how="inner", validate="one_to_one")
        keep = [usable(status[k], "exclude") or status[k] == "includes_flagged"
                for k in zip(idx["level"], idx["unit"], idx["wave"])]  # fmt: skip
        idx = idx[np.asarray(keep, dtype=bool) & idx["index"].notna()]
        nshare = national_shares(res.units)
        parts.append(pd.DataFrame({"ci": ci, "kind": "index", "level": idx["level"], "unit": idx["unit"],
                                   "wave": idx["wave"].astype(str), "construct": idx["construct"], "estimate": idx["index"], "truth": idx["truth"],
                                   "truth_all": idx["truth_all"], "se": idx["se"], "ci_lower": idx["ci_lower"],
                                   "ci_upper": idx["ci_upper"], "significant": np.nan,
                                   "complete": idx["complete"],
                                   "national_share": [nshare.get((u, w), np.nan) if lv == "company" else np.nan
                                                      for lv, u, w in zip(idx["level"], idx["unit"], idx["wave"])]}))
        wide = truth.pivot_table(index=["level", "unit", "construct"], columns="wave",
                                 values=["truth", "truth_all", "complete"], aggfunc="first")  # fmt: skip
        # the change's target: the population change (over all units; with index_panel's default matched
        # change basis every aggregate's change is like-for-like, so under the null it is 0 whatever was left out)
        tc = pd.DataFrame({"truth": wide[("truth_all", "2")] - wide[("truth_all", "1")],
                           "truth_all": wide[("truth_all", "2")] - wide[("truth_all", "1")],
                           "complete": wide[("complete", "1")].astype(bool) & wide[("complete", "2")].astype(bool)})
        ch = res.changes.merge(tc.reset_index(), on=["level", "unit", "construct"], how="inner", validate="one_to_one")
        ch = ch[ch["change"].notna()]
        parts.append(pd.DataFrame({"ci": ci, "kind": "change", "level": ch["level"], "unit": ch["unit"],
                                   "wave": ch["wave_to"].astype(str), "construct": ch["construct"], "estimate": ch["change"], "truth": ch["truth"],
                                   "truth_all": ch["truth_all"], "se": np.nan, "ci_lower": ch["ci_lower"],
                                   "ci_upper": ch["ci_upper"], "significant": ch["significant"].astype(float),
                                   "complete": ch["complete"], "national_share": np.nan}))  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    out["covered"] = ((out["ci_lower"] <= out["truth"]) & (out["truth"] <= out["ci_upper"])).astype(float)
    out["covered_all"] = ((out["ci_lower"] <= out["truth_all"]) & (out["truth_all"] <= out["ci_upper"])).astype(float)
    out["complete"] = out["complete"].astype(bool)
    for name, value in zip(DESIGN, (model, method, missing, float(missing_rate), companies, respondents, shift)):
        out[name] = value
    out["rep"] = rep
    return out[COLUMNS]


def delete_answers(data: pd.DataFrame, items: Sequence[str], rate: float, seed: int) -> pd.DataFrame:
    """A copy of ``data`` with every item answer deleted independently with probability ``rate`` (MCAR).

    The deletions come from ``SeedSequence(seed, spawn_key=(1,))``, a stream of
    the replication that the panel's own draws do not use.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    out = data.copy()
    X = out[list(items)].to_numpy(dtype=float, copy=True)
    X[rng.random(X.shape) < rate] = np.nan
    out[list(items)] = X
    return out


def _run_batch(batch: list[tuple]) -> list[pd.DataFrame]:
    return [run_replication(*args) for args in batch]  # each job holds run_replication's arguments in order


def _check_grid(models: Sequence[str], companies: Sequence[int], respondents: Sequence[int],
                cis: Sequence[str], methods: Sequence[str] = METHODS, missings: Sequence[str] = MISSINGS,
                missing_rate: float = 0.0, imputations: int = 5) -> None:  # fmt: skip
    from csi.data.prepare import MISSING_POLICIES
    from csi.estimators import ESTIMATORS, estimator_for
    from csi.spec.load import load_model

    for m in models:
        load_model(m)  # raises naming the model
    for m in methods:
        if not estimator_for(m).capabilities.panel_bootstrap:  # raises naming an unknown method
            able = [k for k, cls in ESTIMATORS.items() if cls.capabilities.panel_bootstrap]
            raise CSIError(f"method {m!r} cannot bootstrap panel cells, so its intervals cannot be studied; "
                           f"methods with a panel bootstrap: {', '.join(able)}")  # fmt: skip
    bad_missing = [m for m in missings if m not in MISSING_POLICIES]
    if bad_missing or not missings:
        raise CSIError(f"unknown missing-data method(s) {bad_missing or list(missings)}; accepted: "
                       f"{', '.join(MISSING_POLICIES)}")  # fmt: skip
    if isinstance(imputations, bool) or not isinstance(imputations, int | np.integer) or imputations < 2:
        raise CSIError(f"imputations must be an integer >= 2, got {imputations!r}")
    if isinstance(missing_rate, bool) or not isinstance(missing_rate, int | float) or not 0 <= missing_rate < 0.5:
        raise CSIError(f"missing_rate must be a number in [0, 0.5), got {missing_rate!r}")
    if any(isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 2 for c in companies):
        raise CSIError(f"companies must be integers >= 2 (a national aggregate needs two), got {list(companies)}")
    if any(isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 20 for n in respondents):
        raise CSIError(f"respondents per cell must be integers >= 20, got {list(respondents)}")
    bad = [c for c in cis if c not in PANEL_INTERVALS]
    if bad or not cis:
        raise CSIError(f"unknown interval type(s) {bad or list(cis)}; accepted: {', '.join(PANEL_INTERVALS)}")


def run_coverage(
    models: Sequence[str] = MODELS,
    companies: Sequence[int] = COMPANIES,
    respondents: Sequence[int] = RESPONDENTS,
    shifts: Sequence[float] = SHIFTS,
    reps: int = 200,
    cis: Sequence[str] = (DEFAULT_INTERVAL,),
    n_resamples: int = 200,
    seed: int = 20261130,
    level: float = 0.95,
    n_jobs: int = 1,
    industries: int | None = 4,
    sectors: int | None = 2,
    methods: Sequence[str] = METHODS,
    missings: Sequence[str] = MISSINGS,
    missing_rate: float = 0.0,
    scheduler: object = "processes",
    imputations: int = 5,
) -> pd.DataFrame:
    """The coverage study: one row per usable interval and change (:data:`COLUMNS`) of every replication.

    Parameters
    ----------
    models, companies, respondents, shifts
        The design grid: shipped model names, companies per panel, respondents
        per company and wave, common latent shift between the waves (0: the
        null of the change test).
    reps
        Panel replications per design.
    cis
        Interval types (:data:`csi.index.panel.PANEL_INTERVALS`), all on the
        same bootstrap draws.
    n_resamples, seed, level
        Bootstrap resamples per cell, master seed, confidence level.
    n_jobs
        Worker processes over replications; the table does not depend on it.
    industries, sectors
        Hierarchy of every panel (capped by the number of companies).
    methods, missings, missing_rate
        Estimators and missing-data methods of :func:`csi.index_panel` (a grid
        dimension each), and the MCAR share of item answers deleted from
        every panel (0: none, so the missing-data method has nothing to do).
        ``"mi"`` bootstraps each cell's completed data sets and combines them
        by Rubin's rules (:func:`csi.index_panel`).
    imputations
        Completed data sets per cell under ``"mi"`` (default 5, a quarter of
        :func:`csi.fit`'s 20, to keep the study affordable; fewer
        imputations mean fewer Barnard-Rubin degrees of freedom, a harder
        test of the intervals).
    scheduler
        Where the replications run: ``"processes"`` (default, ``n_jobs`` local processes), ``"serial"``,
        ``"dask"`` or a Dask scheduler address (:func:`csi.resample.scheduler.resolve_scheduler`); the table
        does not depend on it.

    Returns
    -------
    pandas.DataFrame
        With ``attrs`` recording the grid (with ``missing_rate`` and
        ``imputations``), ``reps``, ``n_resamples``, ``seed`` and the run time
        in seconds.
    """
    _check_grid(models, companies, respondents, cis, methods, missings, missing_rate, imputations)
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise CSIError(f"reps must be an integer >= 1, got {reps!r}")
    jobs = [(m, int(c), int(n), float(s), r, tuple(cis), seed, n_resamples, level, industries, sectors, e, mis,
             float(missing_rate), int(imputations))
            for m in models for e in methods for mis in missings for c in companies for n in respondents
            for s in shifts for r in range(reps)]  # fmt: skip
    t0 = time.perf_counter()
    check_scheduler(scheduler)
    with resolve_scheduler(scheduler, n_jobs) as executor:
        size = max(1, -(-len(jobs) // (4 * executor.workers)))
        batches = [jobs[a : a + size] for a in range(0, len(jobs), size)]
        frames = [f for part in executor.map(_run_batch, batches, batch=1) for f in part]
    raw = pd.concat(frames, ignore_index=True).sort_values([*DESIGN, "rep", "ci", "kind"], kind="stable")
    raw = raw.reset_index(drop=True)
    raw.attrs.update(models=list(models), methods=list(methods), missings=list(missings),
                     missing_rate=float(missing_rate), imputations=int(imputations),
                     companies=[int(c) for c in companies],
                     respondents=[int(n) for n in respondents], shifts=[float(s) for s in shifts], reps=reps,
                     cis=list(cis), n_resamples=n_resamples, seed=seed, level=level,
                     seconds=round(time.perf_counter() - t0, 1))  # fmt: skip
    return raw


def summarise(raw: pd.DataFrame, target: str = "SAT") -> pd.DataFrame:
    """Coverage, width, bias and change-test rejection per design, interval type, level and construct set.

    Columns: the design, ``ci``, ``constructs`` (``target <name>`` or ``all``),
    ``level``, ``intervals`` (k), ``coverage`` and ``mcse`` (``sqrt(c (1 - c) /
    k)``) against the population index over the units that entered,
    ``coverage_all`` against the population index over all units,
    ``complete`` (share of intervals whose aggregate left no unit out), ``width`` (mean interval width), ``bias`` (mean ``estimate -
    truth``) with ``mcse_bias``, ``sd_error``, ``median_se`` (median bootstrap
    SE), ``var_ratio`` (mean squared error over mean squared SE: 1 when the SEs
    are right on average) with ``mcse_var_ratio``, ``changes`` (k of change tests), ``rejection`` (share significant: the
    size when ``shift = 0``, the power otherwise) with ``mcse_rejection``, and
    ``change_coverage`` (coverage of the change interval of the true change).
    """
    parts = []
    for label, sub in ((f"target {target}", raw[raw["construct"] == target]), ("all", raw)):
        keys = [*DESIGN, "ci", "level"]
        ix = sub[sub["kind"] == "index"].assign(err=lambda d: d["estimate"] - d["truth"],
                                                width=lambda d: d["ci_upper"] - d["ci_lower"],
                                                err2=lambda d: d["err"] ** 2, se2=lambda d: d["se"] ** 2)  # fmt: skip
        g = ix.groupby(keys, sort=False)
        t = pd.DataFrame({"intervals": g.size(), "coverage": g["covered"].mean(),
                          "coverage_all": g["covered_all"].mean(), "complete": g["complete"].mean(),
                          "width": g["width"].mean(),
                          "bias": g["err"].mean(), "sd_error": g["err"].std(ddof=1),
                          "median_se": g["se"].median()})  # fmt: skip
        # Calibration of the SE: mean squared error over mean squared SE, with the delta-method MC SE of a ratio
        # of means (the SEs differ between panels, so sd_error against median_se is no calibration check).
        t["var_ratio"] = g["err2"].mean() / g["se2"].mean()
        ix = ix.assign(dev=ix["err2"] - ix[keys].merge(t["var_ratio"].reset_index(), on=keys, how="left")
                       ["var_ratio"].to_numpy() * ix["se2"])  # fmt: skip
        g = ix.groupby(keys, sort=False)
        t["mcse_var_ratio"] = g["dev"].std(ddof=1) / np.sqrt(g.size()) / g["se2"].mean()
        ch = sub[sub["kind"] == "change"].groupby(keys, sort=False)
        t = t.join(pd.DataFrame({"changes": ch.size(), "rejection": ch["significant"].mean(),
                                 "change_coverage": ch["covered"].mean()}))  # fmt: skip
        t["mcse"] = np.sqrt(t["coverage"] * (1 - t["coverage"]) / t["intervals"])
        t["mcse_bias"] = t["sd_error"] / np.sqrt(t["intervals"])
        t["mcse_rejection"] = np.sqrt(t["rejection"] * (1 - t["rejection"]) / t["changes"])
        parts.append(t.reset_index().assign(constructs=label))
    order = [*DESIGN, "ci", "constructs", "level", "intervals", "coverage", "mcse", "coverage_all", "complete",
             "width", "bias", "mcse_bias", "sd_error", "median_se", "var_ratio", "mcse_var_ratio", "changes",
             "rejection", "mcse_rejection", "change_coverage"]  # fmt: skip
    out = pd.concat(parts, ignore_index=True)[order]
    rank = {lv: i for i, lv in enumerate(("company", "industry", "sector", "national"))}
    out = out.sort_values([*DESIGN, "ci", "constructs", "level"], key=lambda s: s.map(rank) if s.name == "level"
                          else s, kind="stable")  # fmt: skip
    return out.reset_index(drop=True)


def national_decomposition(raw: pd.DataFrame) -> pd.DataFrame:
    """The national error's mean square split into its companies' errors and their cross terms, per design and ci.

    With ``e = Σ s_c e_c`` (``s_c`` the rows' ``national_share``), ``E e² =
    E Σ s_c² e_c² + E Σ_{c≠d} s_c s_d e_c e_d``.  Each part is divided by the
    mean squared national SE, so ``ratio`` (= ``own + cross``) is 1 when the
    national SE is right on average, ``own`` is what the companies' own
    errors account for and ``cross`` is 0 when their errors are
    uncorrelated (independent samples); every part has its Monte-Carlo SE
    (``mcse_*``, over panel-waves).  Columns: the design, ``ci``,
    ``construct``, ``k`` (national intervals whose companies all have a share)
    and the parts.
    """
    ix = raw[raw["kind"] == "index"].assign(err=lambda d: d["estimate"] - d["truth"])
    keys = [*DESIGN, "ci", "rep", "wave", "construct"]
    comp = ix[ix["level"] == "company"].assign(own=lambda d: (d["national_share"] * d["err"]) ** 2)
    own = comp.groupby(keys)["own"].sum(min_count=1)
    nat = ix[ix["level"] == "national"].set_index(keys)[["err", "se"]].join(own, how="inner").dropna()
    nat["cross"] = nat["err"] ** 2 - nat["own"]
    rows = []
    for k, g in nat.groupby([*DESIGN, "ci", "construct"], sort=False):
        m = (g["se"] ** 2).mean()
        part = {name: (x.mean() / m, x.std(ddof=1) / np.sqrt(len(x)) / m)
                for name, x in (("ratio", g["err"] ** 2), ("own", g["own"]), ("cross", g["cross"]))}  # fmt: skip
        rows.append((*k, len(g), *[v for p in part.values() for v in p]))
    return pd.DataFrame(rows, columns=[*DESIGN, "ci", "construct", "k", "ratio", "mcse_ratio", "own", "mcse_own",
                                       "cross", "mcse_cross"])  # fmt: skip


def coverage_for(design: dict[str, object], summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of a coverage summary that apply to a run's design (for the report's methodology appendix).

    Picks, per level, the summary rows of the same model (and, where the
    summary records them and ``design`` gives them, the same ``method`` and
    interval type ``ci``), without deleted answers and with ``shift = 0``,
    whose companies and respondents per cell are nearest (on a log scale) to
    ``design`` (keys ``model``, ``companies``, ``respondents``, optionally
    ``method`` and ``ci``).  ``summary`` defaults to the shipped study
    (:func:`shipped_summary`).  Raises :class:`~csi.errors.CSIError` naming
    what was studied when nothing applies.
    """
    s = shipped_summary() if summary is None else summary
    s = s[(s["model"] == design["model"]) & (s["shift"] == 0.0)]
    if "missing_rate" in s.columns:
        s = s[s["missing_rate"] == 0.0]
    for col in ("method", "ci"):
        if col in design and col in s.columns:
            s = s[s[col] == design[col]]
    if s.empty:
        every = shipped_summary() if summary is None else summary
        studied = sorted({tuple(str(r[c]) for c in ("model", "method", "ci") if c in every.columns)
                          for _, r in every.iterrows()})  # fmt: skip
        asked = {k: design[k] for k in ("model", "method", "ci") if k in design}
        raise CSIError(f"no coverage study for {asked}; studied (model, method, ci): {studied}")
    dist = (np.log(s["companies"] / float(design["companies"])) ** 2  # type: ignore[arg-type]
            + np.log(s["respondents"] / float(design["respondents"])) ** 2)  # type: ignore[arg-type]
    best = s[dist == dist.min()]
    return best.reset_index(drop=True)


def study_model(name: str, summary: pd.DataFrame | None = None) -> str | None:
    """The summary's model name for a run's model name (``"ACSI"`` -> ``"acsi"``), or None when not studied.

    A shipped model matches by its file name or by the name its model text
    declares (what a run's manifest records).
    """
    from csi.spec.load import load_model

    s = shipped_summary() if summary is None else summary
    for m in sorted(set(s["model"])):
        if str(m).lower() == str(name).lower():
            return str(m)
        try:
            if load_model(str(m)).name == name:
                return str(m)
        except CSIError:
            continue
    return None


SHIPPED = os.path.join(os.path.dirname(__file__), "coverage_summary.csv")
"""The coverage table shipped with csi (written by ``csi bench coverage --out``, copied here)."""


def shipped_summary() -> pd.DataFrame:
    """The shipped coverage summary (:data:`SHIPPED`)."""
    if not os.path.exists(SHIPPED):
        raise CSIError("this installation ships no coverage study (csi/bench/coverage_summary.csv)")
    return pd.read_csv(SHIPPED)


def write_results(raw: pd.DataFrame, out: str | os.PathLike[str], *, overwrite: bool = False) -> list[str]:
    """Write ``raw.csv``, ``summary.csv`` and ``study.json`` (the grid, sizes, seed, run time) to ``out``,
    as one folder sealed with a manifest (:func:`csi.results.files.write_folder`)."""
    import json
    from pathlib import Path

    from csi.results.files import write_folder

    def fill(folder: Path) -> dict[str, str]:
        raw.to_csv(folder / "raw.csv", index=False)
        summarise(raw).to_csv(folder / "summary.csv", index=False)
        (folder / "study.json").write_text(json.dumps(raw.attrs, indent=2) + "\n")
        return {"raw.csv": "one row per panel, design, interval type, level and construct (CSV)",
                "summary.csv": "coverage, width, bias and change-test rejection per design (CSV)",
                "study.json": "grid, sizes, seed and run time (JSON)"}  # fmt: skip

    write_folder(out, fill, {"kind": "csi coverage study"}, overwrite=overwrite)
    return ["raw.csv", "summary.csv", "study.json"]
