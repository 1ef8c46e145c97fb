"""Demo and test data from a population model whose parameters are known exactly.

The default population is the standardized common-factor model of the methodology's
Monte-Carlo design (section 7.2, population type (a)): constructs ``eta`` follow
a recursive linear SEM with unit variances, every item is ``x*_h = lambda_h
eta_j + eps_h`` with ``Var(x*_h) = 1``.  ``population="composite"`` gives
population type (b) instead: each construct *is* a weighted composite
``eta_j = w_j' x*_j`` of its items (Dijkstra 2017; Henseler 2017, the
composite model), see :func:`composite_covariance`.  Either way each ``x*``
is then cut into the item's response categories ("ordinal 10-point Likert by thresholding with
left-skewed marginals typical of satisfaction data"; "binary complaint item by
thresholding at the target complaint rate").  Because the cut points are
fixed normal quantiles, the mean and SD of every discretized item, hence the
true 0-100 index of every construct (methodology section 3.2), are known in
closed form, not estimated from the sample.

Documented choices
------------------
* **Skewed marginal** (``skew=True``): :data:`SATISFACTION_MARGINAL_10` on a
  1-10 scale: 1-6 together 21 %, 7-10 together 79 %, mean 7.88, i.e. a 0-100
  index of 76.4, close to typical published ACSI scores.  Other integer
  ranges with ``K`` categories use the same shape: the 10-point distribution is
  read as a piecewise-linear CDF ``F`` on ``[0, 1]`` (category ``c`` of 10 is
  ``[(c-1)/10, c/10]``) and category ``c`` of ``K`` gets ``F(c/K) - F((c-1)/K)``.
  For ``K = 10`` that is the table itself; for ``K = 5`` it gives
  2/5/14/34/45 %.
* **Symmetric marginal** (``skew=False``): category ``c`` (0-based) of ``K`` is
  the normal ``N(mid, (K-1)/4)``, ``mid = (K-1)/2``, binned at half-integers
  with open end bins, i.e. rounding ``mid + x* (K-1)/4``.
* **Binary items** (``type="binary"``): ``scale_max`` (or 1) when ``x*`` is
  above its ``1 - binary_rate`` quantile, else ``scale_min`` (or 0); default
  ``binary_rate = 0.2`` (20 % complaints).
* **Items without a scale** stay continuous ``x* ~ N(0, 1)``.
* **Reverse-worded items** are generated on the positive side and written as
  ``scale_min + scale_max - x``, so after :func:`csi.data.prepare_items` recodes
  them they load positively.  ``item_means`` describe the columns *as written*
  (reversed); ``population_index`` uses the recoded means.
* **True weights** are the population mode-A weights of the factor model
  (proportional to the loadings), unstandardised by the exact item SD and
  normalised per block (methodology section 3.1): ``u_h = lambda_h / sd_h``,
  ``w~_h = u_h / sum_block u``.  They are reported for mode-B blocks too.
* **Composite population**: the within-block correlations are those the
  loadings imply in the factor model, ``Sigma_jj = lambda_j lambda_j' +
  diag(1 - lambda_j²)``; the population weights are ``w_j ∝ lambda_j``
  scaled to ``w_j' Sigma_jj w_j = 1`` (with equal loadings: equal weights).
  ``loadings`` reports the population composite loadings
  ``Cor(x*_h, eta_j) = (Sigma_jj w_j)_h``; ``true_weights`` are ``w_h / sd_h``
  normalised per block, as for the factor population.
* Randomness: one ``numpy.random.default_rng(seed)``; factor population:
  normals for the constructs ``(n, J)`` are drawn first, then for the item
  errors ``(n, p)``; composite population: one ``(n, p)`` draw multiplied by
  the Cholesky factor of ``Sigma``.
  ``seed=None`` draws fresh entropy and records it in ``SimulatedData.seed`` so
  the sample can be regenerated.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from csi.errors import CSIError, SpecError
from csi.spec.load import load_model
from csi.spec.model import Item, ModelSpec, topological_order
from csi.spec.parameters import parameter_label

SATISFACTION_MARGINAL_10 = np.array([0.01, 0.01, 0.02, 0.03, 0.06, 0.08, 0.13, 0.21, 0.20, 0.25])
"""Left-skewed response distribution of a 1-10 satisfaction item (categories 1..10)."""

DEFAULT_PATH_VALUES: dict[str, float] = {"+": 0.5, "-": -0.3, "?": 0.2}
"""Population path coefficient by expected sign, unless ``paths=`` overrides it."""

DEFAULT_LOADING = 0.8
"""Population (standardized) loading of every item, unless ``loadings=`` overrides it."""

POPULATIONS = ("factor", "composite")
"""Population types (methodology section 7.2): (a) common factor, (b) composite."""


@dataclass(frozen=True)
class SimulatedData:
    """A sample plus the exact population quantities it was drawn from.

    Attributes
    ----------
    data
        ``n`` rows, one column per item in ``spec.item_names`` order; int64
        where the item was discretized, float64 for items without a scale.
    paths
        True path coefficients, indexed ``"target ~ source"`` (spec order).
    loadings
        True standardized loadings, indexed ``"construct =~ item"``.
    construct_correlations
        ``J x J`` population correlation matrix ``Phi`` of the constructs.
    r_squared
        Population R² of every endogenous construct.
    item_means, item_sds
        Exact population mean and SD of every item column as written in
        ``data`` (from the normal CDF at the thresholds).
    true_weights
        Normalized unstandardised population weights ``w~_h`` (sum 1 per block).
    population_index
        True 0-100 index of every construct (methodology section 3.2); NaN for
        blocks with an item without scale.
    spec
        The model simulated.
    seed
        The seed used (an int unless a Generator or SeedSequence was passed).
    n, exogenous_correlation, skew, population, binary_rate
        The options.
    """

    data: pd.DataFrame
    paths: pd.Series
    loadings: pd.Series
    construct_correlations: pd.DataFrame
    r_squared: pd.Series
    item_means: pd.Series
    item_sds: pd.Series
    true_weights: pd.Series
    population_index: pd.Series
    spec: ModelSpec
    seed: object
    n: int
    exogenous_correlation: float
    skew: bool
    population: str
    binary_rate: float


# ------------------------------------------------------------------ parameters


def _real(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SpecError(f"{what} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise SpecError(f"{what} must be finite, got {v}")
    return v


def path_matrix(spec: ModelSpec, paths: Mapping[object, float] | None = None) -> np.ndarray:
    """``J x J`` population path matrix ``B`` (row = target, column = source).

    Defaults come from :data:`DEFAULT_PATH_VALUES` by expected sign, divided
    by the square root of the number of paths into the same construct so that
    constructs with many drivers (ECSI satisfaction has four) keep a moderate
    R² (about 0.5 with the default exogenous correlation); ``paths`` overrides
    single paths, keyed ``"target ~ source"`` or ``(source, target)``.
    """
    idx = {c: i for i, c in enumerate(spec.construct_names)}
    B = np.zeros((len(idx), len(idx)))
    for p in spec.paths:
        k = len(spec.predecessors(p.target))
        B[idx[p.target], idx[p.source]] = DEFAULT_PATH_VALUES[p.sign] / np.sqrt(k)
    declared = {(p.source, p.target) for p in spec.paths}
    for key, value in (paths or {}).items():
        if isinstance(key, str) and key.count("~") == 1 and "=~" not in key and "~~" not in key:
            target, source = (s.strip() for s in key.split("~"))
        elif isinstance(key, tuple) and len(key) == 2:
            source, target = key
        else:
            raise SpecError(f"path key {key!r} not understood; use 'target ~ source' or (source, target)")
        if (source, target) not in declared:
            raise SpecError(
                f"path {target} ~ {source} is not in model {spec.name!r}; its paths are {', '.join(spec.path_labels())}"
            )
        B[idx[target], idx[source]] = _real(value, f"path {target} ~ {source}")
    return B


def _loading_vector(spec: ModelSpec, loadings: Mapping[str, float] | None) -> np.ndarray:
    names = spec.item_names
    lam = np.full(len(names), DEFAULT_LOADING)
    pos = {n: h for h, n in enumerate(names)}
    for key, value in (loadings or {}).items():
        if key not in pos:
            raise SpecError(f"loading given for unknown item {key!r}; the model's items are {', '.join(names)}")
        v = _real(value, f"loading of {key!r}")
        if not 0 < v <= 1:
            # Standardized items need |lambda| <= 1; reverse wording is expressed with
            # Item(reverse=True), so a negative loading is not needed.
            raise SpecError(f"loading of {key!r} must lie in (0, 1] for standardized items, got {v}")
        lam[pos[key]] = v
    return lam


def construct_correlations(
    spec: ModelSpec, B: np.ndarray, exogenous_correlation: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exact construct correlation matrix ``Phi`` of the standardized recursive SEM.

    Exogenous constructs have unit variance and pairwise correlation
    ``exogenous_correlation``; each endogenous ``eta_j = B[j] eta + zeta_j`` with
    ``zeta_j`` uncorrelated with every construct before it and
    ``Var(zeta_j) = 1 - R²_j`` so that ``Var(eta_j) = 1``.  This is the
    sequential form of ``Phi = (I - B)^-1 Psi (I - B)^-T`` (methodology 7.2).

    Returns
    -------
    Phi : (J, J) ndarray
    psi : (J,) ndarray
        Disturbance variances (0 for exogenous constructs).

    Raises
    ------
    SpecError
        When the exogenous correlation matrix is not positive definite or the
        paths into a construct imply ``R² >= 1``.
    """
    names = spec.construct_names
    idx = {c: i for i, c in enumerate(names)}
    exo = [idx[c] for c in spec.exogenous]
    m = len(exo)
    R = np.full((m, m), exogenous_correlation) + (1 - exogenous_correlation) * np.eye(m)
    if m > 1 and np.linalg.eigvalsh(R).min() <= 1e-10:
        lo = -1 / (m - 1)
        raise SpecError(
            f"exogenous_correlation={exogenous_correlation} does not give a valid correlation matrix for the "
            f"{m} exogenous constructs ({', '.join(spec.exogenous)}); it must lie strictly between {lo:.4g} and 1"
        )
    Phi = np.zeros((len(names), len(names)))
    Phi[np.ix_(exo, exo)] = R
    psi = np.zeros(len(names))
    done = list(exo)
    order = topological_order(names, [(p.source, p.target) for p in spec.paths])
    for name in order:
        j = idx[name]
        if j in exo:
            continue
        P = [idx[c] for c in spec.predecessors(name)]
        b = B[j, P]
        r2 = float(b @ Phi[np.ix_(P, P)] @ b)
        if r2 >= 1 - 1e-9:
            terms = ", ".join(f"{name} ~ {names[k]} = {B[j, k]:g}" for k in P)
            raise SpecError(
                f"the paths into {name} ({terms}) imply R² = {r2:.4g} >= 1 for standardized constructs "
                f"(exogenous correlation {exogenous_correlation:g}); choose smaller path values"
            )
        psi[j] = 1 - r2
        cov = b @ Phi[np.ix_(P, done)]
        Phi[j, done] = cov
        Phi[done, j] = cov
        Phi[j, j] = 1.0
        done.append(j)
    return Phi, psi


def composite_covariance(spec: ModelSpec, Phi: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Item correlation matrix ``Sigma`` of the composite population and its weights.

    Within block j, ``Sigma_jj = lambda_j lambda_j' + diag(1 - lambda_j²)``;
    the weights are ``w_j = lambda_j / sqrt(lambda_j' Sigma_jj lambda_j)`` so
    the composite ``eta_j = w_j' x_j`` has unit variance; between blocks
    ``Sigma_jk = Sigma_jj w_j Phi_jk w_k' Sigma_kk`` (the composite-implied form
    of methodology sections 4.6 and 7.2 (b); Dijkstra 2017), which makes
    ``Cor(eta_j, eta_k) = Phi_jk``.

    Returns
    -------
    Sigma : (p, p) ndarray
    w : (p,) ndarray
        Population weights of the standardized items.

    Raises
    ------
    SpecError
        When ``Sigma`` is not positive definite.
    """
    M = spec.block_mask
    block = spec.block_index
    within = M @ M.T
    S_in = np.where(within > 0, np.outer(lam, lam), 0.0)
    np.fill_diagonal(S_in, 1.0)
    var = np.einsum("h,hk,k,hj,kj->j", lam, S_in, lam, M, M)
    w = lam / np.sqrt(var[block])
    A = S_in @ (M * w[:, None])  # (p, J): column j holds Sigma_jj w_j on block j's rows
    Sigma = A @ Phi @ A.T
    Sigma = np.where(within > 0, S_in, Sigma)
    if np.linalg.eigvalsh(Sigma).min() <= 1e-10:
        raise SpecError(
            "the composite population's item correlation matrix is not positive definite for these loadings and "
            "paths; use larger loadings (stronger within-block correlations) or smaller paths"
        )
    return Sigma, w


# -------------------------------------------------------------- discretization


def _categories(item: Item, skew: bool, binary_rate: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Values and latent thresholds ``(values (K,), tau (K-1,))`` of an item; None if continuous."""
    lo, hi = (float(item.scale_min), float(item.scale_max)) if item.has_scale else (0.0, 1.0)
    if not (lo.is_integer() and hi.is_integer()):
        raise SpecError(
            f"item {item.name!r}: simulate() generates integer responses and needs integer scale bounds, "
            f"got [{lo:g}, {hi:g}]"
        )
    if item.type == "binary":
        return np.array([lo, hi]), np.array([ndtri(1 - binary_rate)])
    if not item.has_scale:
        return None
    K = int(hi - lo) + 1
    values = np.arange(lo, hi + 1)
    if skew:
        knots = np.concatenate([[0.0], np.cumsum(SATISFACTION_MARGINAL_10)])
        cdf = np.interp(np.arange(1, K) / K, np.linspace(0, 1, 11), knots)
        tau = ndtri(cdf)
    else:
        sd = (K - 1) / 4
        tau = (np.arange(K - 1) + 0.5 - (K - 1) / 2) / sd
    return values, tau


def _moments(values: np.ndarray, tau: np.ndarray) -> tuple[float, float]:
    cdf = np.concatenate([[0.0], ndtr(tau), [1.0]])
    prob = np.diff(cdf)
    mean = float(prob @ values)
    var = float(prob @ (values - mean) ** 2)
    return mean, math.sqrt(var)


# ---------------------------------------------------------------------- public


def simulate(
    spec: ModelSpec | str | os.PathLike[str],
    n: int,
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    *,
    paths: Mapping[object, float] | None = None,
    loadings: Mapping[str, float] | None = None,
    exogenous_correlation: float = 0.3,
    skew: bool = True,
    population: str = "factor",
    binary_rate: float = 0.2,
) -> SimulatedData:
    """Draw survey data from a common-factor (or composite) population model of ``spec``.

    Parameters
    ----------
    spec
        The model, or anything :func:`csi.load_model` accepts (``"acsi"``, a
        file, model text); its paths, items, scales, types and reverse flags
        shape the population.
    n
        Respondents to draw (>= 1).
    seed
        Passed to :func:`numpy.random.default_rng`; the same int seed gives
        byte-identical data.  ``None`` draws fresh entropy (recorded).
    paths
        Overrides of the default path values (:data:`DEFAULT_PATH_VALUES`),
        keyed ``"target ~ source"`` or ``(source, target)``.
    loadings
        Overrides of the default loading :data:`DEFAULT_LOADING`, keyed by item;
        each in ``(0, 1]``.
    exogenous_correlation
        Correlation between every pair of exogenous constructs.
    skew
        Left-skewed satisfaction marginal (default) or a symmetric one; see the
        module notes.
    population
        ``"factor"`` (default; methodology 7.2 (a)) or ``"composite"``
        (7.2 (b); see the module notes).
    binary_rate
        Share of ``scale_max`` answers of binary items (complaint rate).

    Returns
    -------
    SimulatedData

    Raises
    ------
    SpecError
        For impossible parameters (R² >= 1, invalid correlation, loading
        outside (0, 1], unknown path or item, non-integer scale bounds).
    """
    if isinstance(spec, str | os.PathLike):
        spec = load_model(spec)
    elif not isinstance(spec, ModelSpec):
        raise SpecError(
            f"simulate needs a ModelSpec, a model name, a file path or model text, got {type(spec).__name__}; "
            "e.g. csi.simulate('acsi', 500, seed=1)"
        )
    if population not in POPULATIONS:
        raise SpecError(f"unknown population type {population!r}; accepted: {', '.join(map(repr, POPULATIONS))}")
    if spec.higher_order:
        raise SpecError(
            f"simulate draws first-order models only; {', '.join(spec.higher_order)} is a higher-order construct "
            "(simulate the first-order model and fit the higher-order one to its data)"
        )
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise CSIError(f"n must be a positive integer, got {n!r}")
    n = int(n)
    exogenous_correlation = _real(exogenous_correlation, "exogenous_correlation")
    binary_rate = _real(binary_rate, "binary_rate")
    if not 0 < binary_rate < 1:
        raise SpecError(f"binary_rate must lie strictly between 0 and 1, got {binary_rate}")

    B = path_matrix(spec, paths)
    lam = _loading_vector(spec, loadings)
    Phi, psi = construct_correlations(spec, B, exogenous_correlation)

    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    elif not isinstance(seed, np.random.Generator | np.random.SeedSequence) and (
        isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
    ):
        raise CSIError(f"seed must be a non-negative integer, None, a numpy SeedSequence or Generator; got {seed!r}")
    rng = np.random.default_rng(seed)

    names = spec.construct_names
    idx = {c: i for i, c in enumerate(names)}
    exo = [idx[c] for c in spec.exogenous]
    if population == "factor":
        Z = rng.standard_normal((n, len(names)))
        eta = np.zeros((n, len(names)))
        L = np.linalg.cholesky(Phi[np.ix_(exo, exo)])
        eta[:, exo] = Z[:, exo] @ L.T
        for name in topological_order(names, [(p.source, p.target) for p in spec.paths]):
            j = idx[name]
            if j not in exo:
                eta[:, j] = eta @ B[j] + math.sqrt(psi[j]) * Z[:, j]
        E = rng.standard_normal((n, len(spec.item_names)))
        xstar = eta[:, spec.block_index] * lam + E * np.sqrt(1 - lam**2)
        w_std = lam
    else:
        Sigma, w_std = composite_covariance(spec, Phi, lam)
        xstar = rng.standard_normal((n, len(spec.item_names))) @ np.linalg.cholesky(Sigma).T
        # Population composite loadings Cor(x*_h, eta_j) = (Sigma_jj w_j)_h.
        lam = (Sigma * (spec.block_mask @ spec.block_mask.T)) @ w_std

    columns: dict[str, np.ndarray] = {}
    means = np.empty(len(spec.items))
    sds = np.empty(len(spec.items))
    recoded_means = np.empty(len(spec.items))
    for h, item in enumerate(spec.items):
        cats = _categories(item, skew, binary_rate)
        if cats is None:
            columns[item.name] = xstar[:, h].copy()
            means[h], sds[h], recoded_means[h] = 0.0, 1.0, 0.0
            continue
        values, tau = cats
        x = values[np.searchsorted(tau, xstar[:, h])]
        mean, sds[h] = _moments(values, tau)
        recoded_means[h] = mean
        if item.reverse:
            # Written reversed so that the recode in prepare_items restores the positive direction.
            x = item.scale_min + item.scale_max - x
            mean = item.scale_min + item.scale_max - mean
        means[h] = mean
        columns[item.name] = x.astype(np.int64)
    data = pd.DataFrame(columns)

    item_names = list(spec.item_names)
    u = w_std / sds
    block = spec.block_index
    w_tilde = u / np.bincount(block, weights=u)[block]
    index = np.full(len(names), np.nan)
    for j, c in enumerate(spec.constructs):
        if all(i.has_scale for i in c.items):
            h = np.flatnonzero(block == j)
            lo = np.array([i.scale_min for i in c.items], dtype=float)
            hi = np.array([i.scale_max for i in c.items], dtype=float)
            w = w_tilde[h]
            index[j] = 100 * (w @ recoded_means[h] - w @ lo) / (w @ (hi - lo))

    endo = list(spec.endogenous)
    return SimulatedData(
        data=data,
        paths=pd.Series(
            [B[idx[p.target], idx[p.source]] for p in spec.paths], index=list(spec.path_labels()), dtype=float
        ),
        loadings=pd.Series(lam, index=[parameter_label(spec.block_of(i), "=~", i) for i in item_names]),
        construct_correlations=pd.DataFrame(Phi, index=list(names), columns=list(names)),
        r_squared=pd.Series([1 - psi[idx[c]] for c in endo], index=endo, dtype=float),
        item_means=pd.Series(means, index=item_names),
        item_sds=pd.Series(sds, index=item_names),
        true_weights=pd.Series(w_tilde, index=item_names),
        population_index=pd.Series(index, index=list(names)),
        spec=spec,
        seed=seed,
        n=n,
        exogenous_correlation=exogenous_correlation,
        skew=skew,
        population=population,
        binary_rate=binary_rate,
    )
