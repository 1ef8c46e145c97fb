"""Small-sample correction of panel intervals: bootstrap variance times ``n/(n−1)`` and t quantiles.

Why (the coverage study, :mod:`csi.bench.coverage`): the nonparametric
bootstrap resamples the empirical distribution, whose variance has divisor
``n``, so for a mean (and, to first order, for a 0-100 index, a weighted mean
of items) the bootstrap variance is ``(n − 1)/n`` times the unbiased variance
estimate, and intervals built from it are too narrow by ``sqrt((n − 1)/n)``
(Efron & Tibshirani 1993, §5.2 and ch. 13; Hesterberg 2015, "What teachers
should know about the bootstrap", §3.1 on the narrowness bias of percentile
and normal bootstrap intervals).  Using the estimated SE as if it were known
also ignores its own sampling error, which the t distribution with ``n − 1``
degrees of freedom allows for (Efron & Tibshirani 1993, §12.5 and ch. 13 on
bootstrap-t intervals; the same ``n − 1`` that the unbiased variance uses).

The correction, interval type ``logit_t`` of :func:`csi.index_panel`:

* **cells**: each company cell's index replicates are stretched about their
  mean by ``sqrt(n_c / (n_c − 1))`` (``n_c`` the respondents its fit used),
  so their variance is the bias-corrected bootstrap variance; its degrees of
  freedom are ``n_c − 1``;
* **aggregates** ``P = Σ s_c I_c`` of independent samples: the stretched
  replicates are aggregated as before, so ``Var P = Σ s_c² v_c``, with the
  Welch-Satterthwaite degrees of freedom ``ν_P = (Σ s_c² v_c)² / Σ (s_c²
  v_c)² / ν_c`` (Satterthwaite 1946), which stay near ``n_c − 1`` when one
  company dominates and grow with the number of companies that matter;
* **intervals**: the logit interval (:mod:`csi.index.logit`) with
  ``t_{ν, 1−α/2}`` in place of ``z_{1−α/2}``;
* **changes** of independent waves: ``Δ ± t_ν SD(D*)`` with ``D*`` the
  differences of the stretched replicates and ``ν`` the Welch-Satterthwaite
  degrees of freedom of the two waves' variances; the p-value ``2 T_ν(−|Δ| /
  SD(D*))`` inverts that interval;
* **resampling**: every SE is the SD of ``B`` replicates, so every ``ν``
  above also takes the Monte-Carlo error of that SD: ``1/ν ← 1/ν + 1/(B −
  1)`` (:func:`monte_carlo_df`; Efron & Tibshirani 1993, §6.4).  At ``B =
  200`` this widens intervals by about 0.6 %; with fewer resamples, more.

At 150 respondents per cell the SE grows by 0.33 % and the quantile by 0.8 %
at company level (by 1.4 % with the resampling term at ``B = 200``); at
aggregates the data's ``ν`` is in the hundreds and the quantile is that of
about ``B − 1`` degrees of freedom.  The correction is first order: it makes the bootstrap
variance of a mean unbiased, not that of the PLS weights' estimation error.

Runaway replicates (interval type ``logit_tr``): ``logit_t`` with two rules
for the replicates, applied to the intervals and to the Welch-Satterthwaite
degrees of freedom alike.  Why: the index of a block is a ratio ``Σ u_h
(x̄_h − min_h) / Σ u_h (max_h − min_h)`` of its outer weights in the item
metric.  In a block that the inner model determines weakly (ACSI's LOY: R²
about 0.03-0.08 in the simulated panels, one 1-10 item and two 0-50 % items),
some bootstrap replicates give its outer weights mixed signs (a median of 3,
up to 72, of 200 per cell), the denominator nears 0 and the replicate runs
off by tens to thousands of SDs.  A sample whose own weights have mixed signs
is flagged and left out (:mod:`csi.index.status`), so the estimate's sampling
distribution has no such tail, but the SD of the replicates takes it in: in
250 panels of 8 x 150 (seed 11) the LOY company SE had median 1.64 and 99th
percentile 32 against an error SD of 1.50 (mean squared error / mean squared
SE 0.002), and LOY intervals covered 0.963-0.976 instead of 0.95, which lifted
the coverage over all constructs.  The rules:

* in a company cell, a replicate whose outer weights in a block are not all
  of one sign does not count for that block's index
  (:func:`refill_mixed_signs`, the replicate counterpart of the flag; a whole
  block flipped leaves the index unchanged and counts); it is replaced by
  one of the block's counting replicates drawn at random from the cell's own
  seed, so that aggregates and changes, which add and subtract companies'
  replicates one by one, keep every replicate however many companies they
  hold (leaving it out as NaN would take the aggregate's replicate with it:
  with 5 % of LOY replicates per company and 80 companies, almost none);
* every SE is the SD of the replicates within :data:`FENCE` = 6 robust SDs
  of their median (:func:`replicate_se`), a guard against what runs off for
  other reasons.  Six robust SDs leave out normal replicates with
  probability 2e-9 and none of SAT's 19,200 mildly heavy-tailed replicates
  in 96 cells; a quantile scale alone (half the central 68.27 % range) was
  1-2 % below the SD for SAT and cost it 0.4 points of coverage in 80 panels,
  and the fence alone left LOY at 0.956-0.966 (its replicates' tail is
  Cauchy-like, so much of it lies within 6 SDs).

Where no replicate has mixed-sign weights or runs off, ``logit_tr`` equals
``logit_t`` to the bit.  Pooled industry fits (``pooled=True``) keep every
replicate of their companies' indices; the fence still applies.

What the coverage study found (:mod:`csi.bench.coverage`; the numbers are
``csi/bench/coverage_summary.csv``, its commands ``coverage_summary.md``).
On the same 1,000 ACSI panels of 8 companies x 150 respondents (seeds 5-8,
the same bootstrap draws), 95 % intervals of the SAT index covered, company /
industry / sector / national:

* ``percentile`` (the first default) 0.938 / 0.936 / 0.936 / 0.934: misses
  on the side away from the nearer scale end (:mod:`csi.index.logit`);
* ``logit`` 0.947 / 0.946 / 0.946 / 0.943: the bounded scale handled, the
  bootstrap's narrowness bias and the SE's own error not;
* ``logit_tr`` 0.950 / 0.948 / 0.949 / 0.947 (all constructs 0.951 / 0.950 /
  0.950 / 0.948, Monte-Carlo SEs 0.001-0.005), change-test size 0.049-0.057.
  Without the runaway rule (``logit_t``) LOY's intervals over-covered
  (0.963-0.976) and lifted the all-construct rows; without the resampling
  term every level covered 0.0005-0.003 less (the same panels, seeds 5-8).

The default held across the grid (1,000 panels per cell unless stated):
40 companies x 150 covered SAT 0.950 / 0.953 / 0.954 / 0.954 and all
constructs 0.950 at every level; 8 x 500 (3,000 panels) SAT 0.950 / 0.950 /
0.948 / 0.949 and all constructs 0.950-0.951; ECSI 8 x 150 SAT 0.951 / 0.953
/ 0.949 / 0.948 and all constructs 0.948-0.951; 40 x 500 (250 panels) and 5 %
of the answers missing at random under EM, listwise deletion (250 panels)
and multiple imputation (5 imputations, 100 panels) covered 0.942-0.962;
no row of these falls more than two Monte-Carlo SEs below 0.95 (the rows
beyond two SEs are above it: 0.952-0.954 under listwise deletion and at 40 x
500, all constructs).  The change test's size was 4.5-6.2 % in the
complete-data cells of 1,000 panels or more (Monte-Carlo SEs up to 0.8 points)
and 2.0-6.2 % in the smaller ones, and its power at 8 x 150 for a change of
1.8 (3.5) SAT points was 0.13 (0.40) per company and 0.44 (0.96) nationally.

Causes looked for and ruled out, with the measurements:

* **companies' errors correlated within a panel** (which would make the
  national SE, a sum of independent companies' variances, too small): the
  companies are fitted on independent samples, and the correlation of their
  standardised errors within a panel-wave was 0.003 ± 0.002 at 8 x 150 and
  0.0004 ± 0.0004 at 40 x 150; the national error's mean square less its
  companies' share-weighted squared errors (``national_decomposition``) was
  -0.003 ± 0.026 of the mean squared national SE for SAT at 40 companies,
  where a correlation of 0.003 would have given 0.12;
* **a bias that adds up across companies** (small against a company's SE,
  large against the national one): the mean SAT company error was +0.019 ±
  0.012 points at 8 x 150, and national coverage did not fall from 8 to 40
  companies;
* **the population index and the estimator's target differ** (the continuous
  latent items against discretised 1-10 answers): PLS's index on 2,000,000
  respondents per company was within 0.035 points of the population index
  for every ACSI and ECSI construct over index levels 15-92
  (``tests/test_index_simulate_panel.py`` checks it at 200,000).

At 50 respondents per cell (250 panels) the default covered SAT 0.952 /
0.952 / 0.954 / 0.958 and all constructs 0.952 / 0.951 / 0.952 / 0.943;
below 50 the intervals are not studied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import ndtr, stdtr, stdtrit

from csi.resample.intervals import bootstrap_se
from csi.spec.model import ModelSpec
from csi.spec.parameters import parameter_label

SMALL_SAMPLE_INTERVALS = ("logit_t", "logit_tr")
"""Panel interval types with the small-sample correction (module notes)."""
ROBUST_INTERVALS = ("logit_tr",)
"""Small-sample interval types whose SEs leave runaway replicates out (:func:`replicate_se`)."""
CENTRAL = (float(ndtr(-1.0)), float(ndtr(1.0)))
"""The quantiles 15.87 % and 84.13 % of the normal distribution: half their distance is one SD."""


FENCE = 6.0
"""Replicates farther than this many robust SDs from their median are runaway replicates (:func:`replicate_se`)."""


def replicate_se(draws: NDArray[np.float64], robust: bool = False) -> NDArray[np.float64]:
    """SE of an index from its ``(B, J)`` replicates: their SD, with ``robust`` leaving runaway replicates out.

    ``robust``: the SD (divisor ``B' − 1``) of the finite replicates within
    :data:`FENCE` robust SDs of their median, the robust SD being half their
    central 68.27 % range ``(q_{0.8413} − q_{0.1587}) / 2`` (the SD of a normal
    distribution; a Hampel-type outlier rule, Hampel 1974 and Davies & Gather
    1993 on such identifiers).  Normal replicates are left out with
    probability 2e-9 and the mildly heavy-tailed replicates of a well
    determined block not at all, so their SE is the plain SD; what is left out
    are the replicates in which a weakly determined block's outer weights took
    mixed signs, so that the index's denominator ``Σ u_h (max_h − min_h)``
    neared 0 and the replicate ran off by tens to thousands of SDs (module
    notes, "Runaway replicates").  NaN with fewer than two finite replicates.
    """
    plain = bootstrap_se(draws)
    if not robust:
        return plain
    D = np.asarray(draws, dtype=float)
    out = np.array(plain, dtype=float)
    if D.ndim != 2 or D.shape[0] < 2:
        return out
    finite = np.isfinite(D)
    n_finite = finite.sum(axis=0)
    # The quantiles of each column's finite replicates; columns without a failed replicate (nearly all of a
    # panel's thousands) in one vectorised pass, the others one by one.
    qs = np.full((3, D.shape[1]), np.nan)
    whole = n_finite == D.shape[0]
    if whole.any():
        qs[:, whole] = np.quantile(D[:, whole], (CENTRAL[0], 0.5, CENTRAL[1]), axis=0)
    for j in np.flatnonzero(~whole & (n_finite >= 2)):
        qs[:, j] = np.quantile(D[finite[:, j], j], (CENTRAL[0], 0.5, CENTRAL[1]))
    lo, mid, hi = qs
    with np.errstate(invalid="ignore"):
        kept = finite & (np.abs(D - mid) <= FENCE * (hi - lo) / 2)
    n_kept = kept.sum(axis=0)
    for j in np.flatnonzero((n_finite >= 2) & (n_kept > 1) & (n_kept < n_finite)):  # else the plain SD, to the bit
        out[j] = bootstrap_se(D[kept[:, j], j][:, None])[0]
    return out


def refill_mixed_signs(
    index_draws: NDArray[np.float64], draws: pd.DataFrame, spec: ModelSpec, rng: np.random.Generator
) -> NDArray[np.float64]:
    """A copy of a cell's ``(B, J)`` index replicates in which those whose block has mixed-sign outer weights are
    replaced by draws from the block's other replicates.

    ``draws``: the bootstrap's replicate table (columns ``"C <~ item"`` for
    the outer weights).  A replicate whose weights in block ``C`` are not all
    of one sign does not count for ``C``'s index (module notes, "Runaway
    replicates"): it is the replicate counterpart of a sample whose own
    weights have mixed signs, whose cell is flagged and left out
    (:mod:`csi.index.status`).  One sign throughout (a whole block flipped by
    PLS's sign indeterminacy) leaves the index as it is, so those count.

    Such a replicate is not left out (NaN) but replaced by one of the block's
    counting replicates drawn at random (with replacement) from ``rng``:
    aggregates add their companies' replicates replicate by replicate, so a
    NaN would take the whole aggregate replicate with it, and with many
    companies hardly any national replicate would be left.  The refill keeps
    the distribution of the counting replicates (what a left-out replicate
    would give the cell's own SE) and, drawn per cell, the independence of
    companies.  A block with no counting replicate stays NaN.  Blocks whose
    weights are not in ``draws``, single-item blocks and failed (NaN)
    replicates are left as they are.  (A ``missing="mi"`` cell refills each
    completed data set's replicates before Rubin's rules combine them:
    :func:`rubin_index_draws`.)
    """
    out = np.array(index_draws, dtype=float, copy=True)
    for j, construct in enumerate(spec.constructs):
        cols = [parameter_label(construct.name, "<~", i) for i in construct.item_names]
        if len(cols) < 2 or not set(cols) <= set(draws.columns):
            continue
        W = draws[cols].to_numpy(dtype=float)
        mixed = ~((W > 0).all(axis=1) | (W < 0).all(axis=1)) & np.isfinite(W).all(axis=1)
        if not mixed.any():
            continue
        counting = out[~mixed & np.isfinite(out[:, j]), j]
        out[mixed, j] = rng.choice(counting, size=int(mixed.sum())) if counting.size else np.nan
    return out


def rubin_index_draws(
    draws: pd.DataFrame,
    estimates: NDArray[np.float64],
    cols: list[str],
    spec: ModelSpec,
    rng: np.random.Generator,
    *,
    n_com: float,
    level: float = 0.95,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Rubin-calibrated ``(B, J)`` index replicates of a ``missing="mi"`` cell, with mixed-sign replicates refilled
    in each completed data set first, and their Barnard-Rubin degrees of freedom.

    Parameters
    ----------
    draws
        The bootstrap's ``(m B, q)`` replicate table, imputation-major
        (:attr:`csi.BootstrapResult.draws` under ``mi_interval="rubin"``),
        with the outer weights ``"C <~ item"`` and the index columns ``cols``.
    estimates
        ``(m, q)`` estimates of the completed data sets, in ``draws``' columns.
    cols
        The ``J`` index columns.
    spec, rng
        The model and the cell's refill generator (:func:`refill_mixed_signs`).
    n_com, level
        Complete-data degrees of freedom and confidence level of Rubin's rules.

    Why per imputation: Rubin's within variance ``W̄`` is the mean of the
    completed data sets' replicate variances, so one imputation's runaway
    replicate enters it at full size, while the mean over the imputations
    (what is calibrated to ``T``) sees it divided by ``m``.  Refilling after
    calibration would leave ``W̄``, hence every calibrated replicate, inflated
    (and the degrees of freedom off); refilling each completed data set's
    replicates from its own counting ones before :func:`~csi.resample.mi_boot.rubin_interval`
    keeps the rule what it is for a complete-data cell.  Returns ``(draws,
    df)``, ``df`` infinite where ``T = 0``.
    """
    from csi.resample.mi_boot import calibrated_draws, rubin_interval

    m = len(estimates)
    B = len(draws) // m
    pos = [draws.columns.get_loc(c) for c in cols]
    D = draws.to_numpy(dtype=float).reshape(m, B, -1)[:, :, pos].copy()
    for k in range(m):
        D[k] = refill_mixed_signs(D[k], draws.iloc[k * B : (k + 1) * B], spec, rng)
    rubin = rubin_interval(D, np.asarray(estimates, dtype=float)[:, pos], level, n_com=n_com)
    return calibrated_draws(D, rubin), np.where(np.isnan(rubin["df"]), np.inf, rubin["df"])


def stretch(draws: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """A copy of a cell's ``(B, J)`` replicates stretched about their mean by ``sqrt(n / (n − 1))``.

    Failed (NaN) replicates stay NaN; ``n < 2`` leaves the replicates as they are (no variance to correct).
    """
    D = np.asarray(draws, dtype=float)
    if n < 2:
        return D.copy()
    with np.errstate(invalid="ignore"):
        centre = np.nanmean(D, axis=0) if np.isfinite(D).any() else np.zeros(D.shape[1])
    return centre + (D - centre) * np.sqrt(n / (n - 1.0))


def cell_df(n: int, J: int) -> NDArray[np.float64]:
    """Degrees of freedom ``n − 1`` of a cell's ``J`` indices (at least 1)."""
    return np.full(J, max(n - 1.0, 1.0))


def satterthwaite(parts: list[tuple[float, NDArray[np.float64], NDArray[np.float64]]]) -> NDArray[np.float64]:
    """Welch-Satterthwaite degrees of freedom of ``Σ s_c X_c`` of independent ``X_c``.

    ``parts``: ``(s_c, v_c, ν_c)`` with ``v_c`` the (J,) variances and ``ν_c``
    their degrees of freedom.  ``ν = (Σ s_c² v_c)² / Σ (s_c² v_c)² / ν_c``
    (Satterthwaite 1946, eq. 3); infinite where every term is 0.
    """
    num = np.zeros_like(np.asarray(parts[0][1], dtype=float))
    den = np.zeros_like(num)
    for s, v, nu in parts:
        term = s**2 * np.asarray(v, dtype=float)
        num = num + term
        den = den + term**2 / np.asarray(nu, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num**2 / den
    return np.where(den > 0, out, np.inf)


def parent_df(parts: list[tuple[float, NDArray[np.float64] | None, NDArray[np.float64] | None]],
              robust: bool = False) -> NDArray | None:  # fmt: skip
    """Degrees of freedom of a parent from its children's ``(share, draws, df)``; None when a child lacks either.

    The children's variances are the squares of :func:`replicate_se` (robust or not, as the interval type's).
    """
    if not parts or any(d is None or nu is None for _, d, nu in parts):
        return None
    return satterthwaite([(s, replicate_se(d, robust) ** 2, nu) for s, d, nu in parts])  # type: ignore[arg-type]


def monte_carlo_df(df: NDArray[np.float64] | None, draws: NDArray[np.float64]) -> NDArray[np.float64]:
    """Degrees of freedom of an SE that is the SD of ``B`` bootstrap replicates: ``1/ν = 1/ν_data + 1/(B − 1)``.

    ``df``: the (J,) degrees of freedom of the ideal bootstrap SE (``n − 1`` of
    a cell, Welch-Satterthwaite up the hierarchy; ``None``: infinite);
    ``draws``: the ``(B, J)`` replicates the SE is the SD of (``B`` counts the
    finite ones per column).  Why: the SE of a unit is estimated twice over,
    from the sample and from ``B`` resamples of it, and the t quantile has to
    allow for both.  With ``cv`` the coefficient of variation of an SE,
    ``cv²(se_B) ≈ cv²(se_∞) + (δ + 2) / (4B)`` (Efron & Tibshirani 1993,
    §6.4, eq. 6.9, ``δ`` the kurtosis of the bootstrap distribution), and ``cv² =
    1/(2ν)`` for an SE with ``ν`` degrees of freedom, so the resampling adds
    ``1/B`` (``δ = 0``) to ``1/ν``; ``B − 1`` is the divisor of the replicates'
    variance (Booth & Sarkar 1998 on the Monte-Carlo error of bootstrap
    variances).  An aggregate's SE is the SD of its own ``B`` replicates, so its
    resampling term is ``1/(B − 1)`` however many companies it adds up.  At
    ``B = 200`` this turns ``ν = 149`` (150 respondents) into 85 and a national
    ``ν`` of 400 into 133, widening 95 % intervals by 0.6 %; in the coverage
    study it raised coverage by 0.0005-0.003 at every level.

    Approximations, all small at ``B = 200``: ``δ = 0`` (normal replicates;
    heavier tails would cost more degrees of freedom); ``B`` counts every
    finite replicate, including a block's refilled ones
    (:func:`refill_mixed_signs`, a few per cell outside weakly determined
    blocks) and those beyond the SE's fence; for a ``missing="mi"`` cell,
    whose Rubin variance pools ``m`` completed data sets' replicates, the
    term is conservative.  Where ``df`` is unknown (``None``) the quantile is
    that of ``B − 1`` degrees of freedom, not the normal one.
    """
    D = np.asarray(draws, dtype=float)
    k = np.isfinite(D).sum(axis=0).astype(float)
    nu = np.full(D.shape[1], np.inf) if df is None else np.asarray(df, dtype=float)
    with np.errstate(divide="ignore"):
        inverse = 1.0 / nu + np.where(k > 1, 1.0 / np.maximum(k - 1.0, 1.0), np.inf)
        return 1.0 / inverse


def t_quantile(df: NDArray[np.float64] | None, level: float, J: int) -> NDArray[np.float64]:
    """``t_{ν, 1−α/2}`` per construct (the normal quantile where ``ν`` is unknown or infinite)."""
    q = 1 - (1 - level) / 2
    nu = np.full(J, np.inf) if df is None else np.asarray(df, dtype=float)
    return stdtrit(nu, q)  # scipy gives the normal quantile at ν = ∞


def t_change(
    index_from: NDArray[np.float64],
    index_to: NDArray[np.float64],
    draws_from: NDArray[np.float64] | None,
    draws_to: NDArray[np.float64] | None,
    df_from: NDArray[np.float64] | None,
    df_to: NDArray[np.float64] | None,
    level: float = 0.95,
    robust: bool = False,
) -> tuple[NDArray[np.float64], ...]:
    """Change ``index_to − index_from`` with the small-sample t interval, its p-value and significance.

    Independent waves (as :func:`csi.index.change.change`): ``SD(D*)`` of the
    replicate differences and Welch-Satterthwaite ``ν`` of the two waves'
    bootstrap variances, with the resampling term of :func:`monte_carlo_df`
    for the ``B`` differences.  The p-value is ``2 T_ν(−|Δ| / SD(D*))``, so ``p < 1
    − level`` exactly when the interval excludes 0 (rounding is nudged the
    same way as :func:`csi.index.significance.significance`).  With
    ``robust`` every SD is the robust scale of :func:`replicate_se`.  Returns
    ``(change, ci_lower, ci_upper, p_value, significant)``, each (J,).
    """
    delta = np.asarray(index_to, dtype=float) - np.asarray(index_from, dtype=float)
    J = delta.shape[0]
    if draws_from is None or draws_to is None:
        nan = np.full(J, np.nan)
        return delta, nan, nan.copy(), nan.copy(), np.zeros(J, dtype=bool)
    diff = np.asarray(draws_to) - np.asarray(draws_from)
    se = replicate_se(diff, robust)
    df = None
    if df_from is not None and df_to is not None:
        df = satterthwaite([(1.0, replicate_se(draws_from, robust) ** 2, df_from),
                            (1.0, replicate_se(draws_to, robust) ** 2, df_to)])  # fmt: skip
    df = monte_carlo_df(df, diff)
    t = t_quantile(df, level, J)
    lower, upper = delta - t * se, delta + t * se
    significant = (lower > 0) | (upper < 0)
    nu = df
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = -np.abs(delta) / se
        p = 2 * stdtr(nu, stat)
    alpha = 1.0 - level
    p = np.where(significant & (p >= alpha), np.nextafter(alpha, 0.0), p)
    p = np.where(~significant & (p < alpha), alpha, p)
    p = np.where(np.isfinite(lower) & np.isfinite(upper), p, np.nan)
    return delta, lower, upper, p, significant
