"""Simulated national panels whose population indices are known exactly.

:func:`csi.simulate` draws one population in which every item of every
construct has the same marginal, so all true indices are about 76.4.  A panel
needs companies that differ.  Here company ``c`` in wave ``t`` has latent means
``mu_ct = (I - B)^-1 alpha_ct`` with the same intercept ``alpha_ct = delta_ct``
on every construct (exogenous means and endogenous disturbance means), where
``delta_ct = a_c + b_ct``, ``a_c ~ N(0, company_sd^2)`` the company's level and
``b_ct ~ N(0, wave_sd^2) + wave_shift * t`` its wave-to-wave movement (wave
``t = 0, 1, ...``).  Constructs keep unit variance and the structural model
of :func:`csi.simulate`; item ``h`` of construct ``j`` is ``x*_h = lambda_h eta_j + eps_h``, now ``N(lambda_h mu_j, 1)``,
cut at the same fixed thresholds as in :func:`csi.simulate`.  Its category
probabilities are ``Phi(tau - lambda_h mu_j)`` differences, so every item's
mean and SD and hence each company's population index (computed exactly as
:func:`csi.simulate` does: weights ``lambda_h / sd_h`` normalised per block,
Fornell formula on the recoded means) are known in closed form.

Aggregate population indices are the unit-weighted means of the company
population indices (the estimand of the aggregation in methodology §3.3).

Unit weights: company revenue ``100 exp(N(0, 1))`` times
``exp(N(0, weight_drift^2))`` per wave (``weight_drift`` = 0.05 by default);
industry revenue = the sum of its companies' revenues times a coverage factor
``U(1.1, 1.5)`` (measured firms do not make up the whole industry); sector
GDP shares ``Dirichlet(4, ..., 4)`` once, times ``exp(N(0, weight_drift^2))`` per wave, renormalised.

Randomness: ``SeedSequence(seed, spawn_key=k)`` streams, one per owner of
the draws: company level ``(0, c)``, respondents of cell ``(1, c, t)``, company
revenue ``(2, c)``, wave movement and revenue drift ``(3, c, t)``, industry
coverage ``(4, i)``, GDP shares ``(5,)`` and their drift ``(5, t)``; so a cell's respondents and its
population index do not depend on how many companies or waves the panel has.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi.errors import CSIError
from csi.simulate import _categories, _loading_vector, _moments, construct_correlations, path_matrix
from csi.spec.load import load_model
from csi.spec.model import ModelSpec, topological_order


@dataclass(frozen=True)
class SimulatedPanel:
    """A simulated panel with its unit weights and exact population indices.

    Attributes
    ----------
    data
        One row per respondent: ``company, industry, sector, wave`` (the
        columns of the levels asked for), ``weight`` when respondent weights
        were asked for, then the model's items.
    unit_weights
        ``level, unit, wave, weight`` for every company, industry and sector.
    population
        ``level, unit, wave, construct, index``: the true index of every unit.
    spec
        The model.
    seed
        The root seed.
    """

    data: pd.DataFrame
    unit_weights: pd.DataFrame
    population: pd.DataFrame
    spec: ModelSpec
    seed: int


def _positive(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise CSIError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def simulate_panel(
    model: ModelSpec | str | os.PathLike[str] = "acsi",
    companies: int = 20,
    respondents: int | list[int] = 250,
    waves: int = 2,
    seed: int | None = None,
    *,
    industries: int | None = 4,
    sectors: int | None = 2,
    company_sd: float = 0.3,
    wave_sd: float = 0.1,
    wave_shift: float = 0.0,
    weight_drift: float = 0.05,
    respondent_weights: bool = False,
    exogenous_correlation: float = 0.3,
) -> SimulatedPanel:
    """Draw a national panel of companies x waves from known populations.

    Parameters
    ----------
    model
        Model (every item needs integer scale bounds); default the ACSI.
    companies
        Number of companies, named ``C001, C002, ...``.
    respondents
        Respondents per company and wave, or one number per company.
    waves
        Number of waves, labelled 1, 2, ...
    seed
        Root seed (``None``: fresh entropy, recorded in ``.seed``).
    industries, sectors
        Number of industries (``I01, ...``; company ``c`` is in industry ``c mod
        industries``) and sectors (``S1, ...``; industry ``i`` in sector ``i mod
        sectors``); ``None`` leaves the level (and its column) out.
    company_sd, wave_sd
        SD of the company levels and of their wave-to-wave movements, in
        latent SD units (see the module notes).
    wave_shift
        A known common movement: every company's latent level moves by
        ``wave_shift`` per wave on top of its random movement (0: none), for
        the power of change tests (:mod:`csi.bench.coverage`).
    weight_drift
        SD of the per-wave log drift of company revenues and sector GDP
        shares (default 0.05); 0 keeps every unit weight fixed across waves,
        so that with ``wave_sd=0`` and ``wave_shift=0`` every population index
        is the same in every wave (the null of a change test).
    respondent_weights
        Add a ``weight`` column of respondent weights ``U(0.5, 2)``, drawn
        independently of the answers.
    exogenous_correlation
        As in :func:`csi.simulate`.

    Returns
    -------
    SimulatedPanel
    """
    spec = model if isinstance(model, ModelSpec) else load_model(model)
    for name, value in (("company_sd", company_sd), ("wave_sd", wave_sd), ("weight_drift", weight_drift)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
            raise CSIError(f"{name} must be a finite number >= 0, got {value!r}")
    if isinstance(wave_shift, bool) or not isinstance(wave_shift, int | float) or not math.isfinite(wave_shift):
        raise CSIError(f"wave_shift must be a finite number, got {wave_shift!r}")
    C = _positive(companies, "companies")
    T = _positive(waves, "waves")
    sizes = [respondents] * C if isinstance(respondents, int | np.integer) else list(respondents)
    if len(sizes) != C:
        raise CSIError(f"respondents must be one number or one per company ({C}), got {len(sizes)}")
    sizes = [_positive(n, "respondents", 1) for n in sizes]
    n_ind = None if industries is None else _positive(industries, "industries")
    n_sec = None if sectors is None else _positive(sectors, "sectors")
    if n_ind is not None and n_ind > C:
        raise CSIError(f"industries ({n_ind}) cannot exceed companies ({C})")
    if n_sec is not None and n_sec > (n_ind or C):
        raise CSIError(f"sectors ({n_sec}) cannot exceed industries ({n_ind or C})")
    root = np.random.SeedSequence(seed)
    entropy = int(root.entropy)  # type: ignore[arg-type]

    B = path_matrix(spec)
    lam = _loading_vector(spec, None)
    Phi, psi = construct_correlations(spec, B, exogenous_correlation)
    names = spec.construct_names
    J, block = len(names), spec.block_index
    idx = {c: i for i, c in enumerate(names)}
    exo = [idx[c] for c in spec.exogenous]
    L = np.linalg.cholesky(Phi[np.ix_(exo, exo)])
    order = topological_order(names, [(p.source, p.target) for p in spec.paths])
    total = np.linalg.inv(np.eye(J) - B)
    cats = [_categories(item, True, 0.2) for item in spec.items]
    if any(c is None for c in cats):
        raise CSIError("simulate_panel needs every item to have a scale (the population index is defined by it)")
    lo = np.array([i.scale_min for i in spec.items], dtype=float)
    hi = np.array([i.scale_max for i in spec.items], dtype=float)

    def stream(*key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key))

    # One stream per parameter owner, so a company's (or wave's) draws do not depend on the panel's size.
    level = np.array([stream(0, c).normal(0.0, company_sd) for c in range(C)])
    base = np.array([100 * np.exp(stream(2, c).normal(0.0, 1.0)) for c in range(C)])
    move = np.empty((C, T))
    revenue = np.empty((C, T))
    for c in range(C):
        for t in range(T):
            move[c, t], drift = stream(3, c, t).normal(0.0, [wave_sd, weight_drift])
            move[c, t] += wave_shift * t
            revenue[c, t] = base[c] * np.exp(drift)
    coverage = np.array([stream(4, i).uniform(1.1, 1.5) for i in range(n_ind or 1)])
    # GDP shares move slowly: one Dirichlet draw, then a small drift per wave, renormalised.
    k = n_sec or 1
    share = stream(5).dirichlet(np.full(k, 4.0))
    gdp = np.array([share * np.exp(stream(5, t).normal(0.0, weight_drift, k)) for t in range(T)])
    gdp /= gdp.sum(axis=1, keepdims=True)  # (T, sectors)

    comp_names = [f"C{c + 1:03d}" for c in range(C)]
    ind_of = [f"I{c % n_ind + 1:02d}" for c in range(C)] if n_ind else None
    sec_of_ind = {f"I{i + 1:02d}": f"S{i % n_sec + 1}" for i in range(n_ind)} if n_ind and n_sec else None
    sec_of = (
        [sec_of_ind[i] for i in ind_of]
        if sec_of_ind and ind_of
        else ([f"S{c % n_sec + 1}" for c in range(C)] if n_sec else None)
    )

    frames, pop_rows = [], []
    for t in range(T):
        for c in range(C):
            mu = total @ np.full(J, level[c] + move[c, t])
            rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(1, c, t)))
            n = sizes[c]
            Z = rng.standard_normal((n, J))
            eta = np.zeros((n, J))
            eta[:, exo] = Z[:, exo] @ L.T
            for name in order:
                j = idx[name]
                if j not in exo:
                    eta[:, j] = eta @ B[j] + math.sqrt(psi[j]) * Z[:, j]
            eta = eta + mu
            E = rng.standard_normal((n, len(lam)))
            xstar = eta[:, block] * lam + E * np.sqrt(1 - lam**2)
            cols: dict[str, object] = {"company": comp_names[c]}
            if ind_of:
                cols["industry"] = ind_of[c]
            if sec_of:
                cols["sector"] = sec_of[c]
            cols["wave"] = t + 1
            if respondent_weights:
                cols["weight"] = rng.uniform(0.5, 2.0, n)
            means, sds = np.empty(len(lam)), np.empty(len(lam))
            for h, item in enumerate(spec.items):
                values, tau = cats[h]
                x = values[np.searchsorted(tau, xstar[:, h])]
                means[h], sds[h] = _moments(values, tau - lam[h] * mu[block[h]])
                if item.reverse:
                    x = item.scale_min + item.scale_max - x
                cols[item.name] = x.astype(np.int64)
            frames.append(pd.DataFrame(cols))
            u = lam / sds
            w = u / np.bincount(block, weights=u)[block]
            num = np.bincount(block, weights=w * (means - lo))
            den = np.bincount(block, weights=w * (hi - lo))
            for j, name in enumerate(names):
                pop_rows.append(("company", comp_names[c], t + 1, name, 100 * num[j] / den[j]))
    data = pd.concat(frames, ignore_index=True)

    uw = []
    for t in range(T):
        for c in range(C):
            uw.append(("company", comp_names[c], t + 1, float(revenue[c, t])))
        if ind_of:
            for i in range(n_ind):
                name = f"I{i + 1:02d}"
                members = [c for c in range(C) if ind_of[c] == name]
                uw.append(("industry", name, t + 1, float(revenue[members, t].sum() * coverage[i])))
        if sec_of:
            for s in range(n_sec):
                uw.append(("sector", f"S{s + 1}", t + 1, float(gdp[t, s])))
    unit_weights = pd.DataFrame(uw, columns=["level", "unit", "wave", "weight"])

    population = pd.DataFrame(pop_rows, columns=["level", "unit", "wave", "construct", "index"])
    population = pd.concat([population, *_aggregate_population(population, unit_weights, comp_names, ind_of, sec_of)],
                           ignore_index=True)  # fmt: skip
    return SimulatedPanel(data=data, unit_weights=unit_weights, population=population, spec=spec, seed=entropy)


def _aggregate_population(
    pop: pd.DataFrame, uw: pd.DataFrame, comps: list[str], ind_of: list[str] | None, sec_of: list[str] | None
) -> list[pd.DataFrame]:
    """Population indices of industries, sectors and the nation: unit-weighted means of their children."""
    weight = {(lv, u, w): x for lv, u, w, x in uw.itertuples(index=False)}
    chain: list[tuple[str, dict[str, str]]] = []
    if ind_of:
        chain.append(("industry", dict(zip(comps, ind_of))))
    if sec_of:
        child = "industry" if ind_of else "company"
        keys = sorted(set(ind_of)) if ind_of else comps
        mapping = dict(zip(comps, sec_of)) if not ind_of else {i: s for i, s in zip(ind_of, sec_of)}
        chain.append(("sector", {k: mapping[k] for k in keys}))
        del child
    current, out = pop, []
    below = "company"
    for lv, parent in [*chain, ("national", None)]:
        rows = []
        for (w, cons), g in current.groupby(["wave", "construct"], sort=False):
            par = g["unit"].map(parent) if parent else pd.Series("national", index=g.index)
            a = np.array([weight[(below, u, w)] for u in g["unit"]])
            for p in pd.unique(par):
                m = (par == p).to_numpy()
                rows.append((lv, p, w, cons, float(a[m] @ g["index"].to_numpy()[m] / a[m].sum())))
        current = pd.DataFrame(rows, columns=["level", "unit", "wave", "construct", "index"])
        current = current.sort_values(["wave", "unit"], kind="stable").reset_index(drop=True)
        out.append(current)
        below = lv
    return out
