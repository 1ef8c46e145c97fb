"""PLSpredict: k-fold out-of-sample prediction of the endogenous items (methodology §4.6).

Shmueli, Ray, Velasquez Estrada & Chatla (2016, JBR 69(10):4552-4564)
proposed the procedure; Shmueli, Sarstedt, Hair, Cheah, Ting, Vaithilingam &
Ringle (2019, EJM 53(11):2322-2347) give the reporting guidelines (Q²predict,
RMSE / MAE against a linear-model benchmark).

Every training set enters only through its weighted moments, so the PLS
kernels of :mod:`csi.core.pls` (and :mod:`csi.core.plsc`) estimate all
``repetitions x k`` training fits in one batched call, exactly as the
bootstrap does; the linear-model benchmark is OLS on the same moments.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from csi.core.moments import cov_to_corr, moments
from csi.core.pls import pls_inner, pls_weights
from csi.core.plsc import plsc
from csi.errors import AdmissibilityWarning, ConvergenceWarning, EstimationError
from csi.quality._common import prepared_data
from csi.resample.plans import SeedLike, seed_sequence
from csi.results.fit import FitResult

FOLD_STREAM = 0x706C7370
"""Spawn-key tag of the fold generators (ASCII ``"plsp"``), so the folds of a
seed never share a random stream with the bootstrap replicates of that seed."""


class Predictions(NamedTuple):
    """Out-of-sample predictions of the endogenous items, one row per respondent."""

    pls: pd.DataFrame
    """PLS predictions (earliest antecedents), on the items' raw scale."""
    lm: pd.DataFrame
    """Linear-model benchmark predictions."""
    naive: pd.DataFrame
    """Training-set mean of each item (the Q²predict benchmark)."""
    observed: pd.DataFrame
    """The observed (prepared) values of the same items."""


def fold_labels(n: int, k: int = 10, repetitions: int = 1, seed: SeedLike = None) -> np.ndarray:
    """Seeded random assignment of ``n`` rows to ``k`` folds, per repetition.

    Repetition ``r`` draws one permutation ``pi`` of the rows from its own
    generator ``PCG64(SeedSequence(entropy, spawn_key=spawn_key + (FOLD_STREAM, r)))``
    (seed handling as :func:`csi.resample.plans.seed_sequence`) and puts row
    ``pi[i]`` in fold ``i mod k``, so fold sizes differ by at most one and
    repetition ``r`` does not depend on ``repetitions``.

    Returns
    -------
    ndarray of int, shape (repetitions, n)
    """
    _check_int("k", k, 2)
    _check_int("repetitions", repetitions, 1)
    if k > n:
        raise EstimationError(f"k={k} folds need at least {k} respondents; the fit has {n}")
    root = seed_sequence(seed)
    out = np.empty((repetitions, n), dtype=np.intp)
    for r in range(repetitions):
        ss = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, FOLD_STREAM, r))
        perm = np.random.Generator(np.random.PCG64(ss)).permutation(n)
        out[r, perm] = np.arange(n) % k
    return out


def cv_predictions(fit: FitResult, folds: Any) -> Predictions:
    """Out-of-sample predictions of every endogenous item for given fold labels.

    For each repetition and fold the fit's estimator (PLS or PLSc, with the
    fit's options) is re-run on the other folds' moments (weighted means,
    SDs and correlations, divisor sum of weights, as :func:`csi.fit`).  A
    held-out respondent's items are standardised with the *training* means and
    SDs (only centred for ``scaled=False``), the exogenous constructs' scores
    are formed with the training weights, and the endogenous constructs are
    predicted by the reduced form of the structural model, the training total
    effects of the exogenous constructs ("earliest antecedents", Shmueli et
    al. 2016).  An endogenous item is predicted as
    ``mean_h + sd_h lambda_h y_hat_j`` with the training loading ``lambda_h``.
    For a PLSc fit the consistent loadings and total effects are used.

    The linear-model benchmark (Shmueli et al. 2019) regresses
    each endogenous item on all items of the exogenous constructs, with an
    intercept, on the training folds (weighted least squares with respondent
    weights): ``beta = S_xx^-1 S_xy``, ``y_hat = ybar + (x - xbar)' beta``.

    With several repetitions a respondent's prediction is the mean of its
    predictions over the repetitions (likewise the training mean).

    Parameters
    ----------
    fit
        A PLS or PLSc fit.
    folds
        Fold labels, shape (n,) or (repetitions, n), aligned with the fitted
        rows; any integer labels, each repetition with at least two folds.

    Returns
    -------
    Predictions
    """
    if fit.estimator is None or not fit.capabilities.predict:
        raise EstimationError(f"PLSpredict runs PLS and PLSc fits; got method {fit.method!r}")
    data = prepared_data(fit, "PLSpredict")
    X, w = data.X, data.weights
    n = X.shape[0]
    F = _check_folds(folds, n)
    spec = fit.spec
    M = spec.block_mask
    names = list(spec.construct_names)
    exo = np.array([c in spec.exogenous for c in names])
    endo_items = np.flatnonzero(M[:, ~exo].sum(axis=1) > 0)
    exo_items = np.flatnonzero(M[:, exo].sum(axis=1) > 0)
    block = np.argmax(M, axis=1)

    # Training sets of every (repetition, fold), in one stack.
    sets = [(r, f) for r in range(F.shape[0]) for f in np.unique(F[r])]
    stats = [moments(X[F[r] != f], None if w is None else w[F[r] != f]) for r, f in sets]
    mean = np.stack([m for m, _ in stats])
    cov = np.stack([c for _, c in stats])
    corr, sd = cov_to_corr(cov)
    if not np.isfinite(corr).all():
        bad = sets[int(np.flatnonzero(~np.isfinite(corr).all(axis=(1, 2)))[0])]
        raise EstimationError(
            f"an item is constant in the training set of fold {bad[1]} (repetition {bad[0]}); "
            "use fewer folds or check the data"
        )
    n_train = np.array([np.count_nonzero(F[r] != f) for r, f in sets])
    lam, total, W = _train(fit, corr if fit.options["scaled"] else cov, n_train)

    # Linear-model benchmark on the same training moments.
    try:
        beta = np.linalg.solve(cov[:, exo_items[:, None], exo_items], cov[:, exo_items[:, None], endo_items])
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            f"the linear-model benchmark is singular in a training set ({len(exo_items)} exogenous items); "
            "use fewer folds or drop collinear items"
        ) from exc

    pls_pred = np.zeros((n, endo_items.size))
    lm_pred = np.zeros_like(pls_pred)
    naive = np.zeros_like(pls_pred)
    for s, (r, f) in enumerate(sets):
        test = F[r] == f
        Z = X[test] - mean[s]
        Xs = Z / sd[s] if fit.options["scaled"] else Z
        scores = Xs @ (M * W[s][:, None])
        eta = scores[:, exo] @ total[s][np.ix_(~exo, exo)].T  # (n_test, J_endo)
        eta_item = eta[:, np.searchsorted(np.flatnonzero(~exo), block[endo_items])]
        pls_pred[test] += mean[s][endo_items] + sd[s][endo_items] * lam[s][endo_items] * eta_item
        lm_pred[test] += mean[s][endo_items] + Z[:, exo_items] @ beta[s]
        naive[test] += mean[s][endo_items]
    reps = F.shape[0]
    items = [spec.item_names[h] for h in endo_items]
    idx = data.row_labels

    def frame(a: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(a, index=idx, columns=pd.Index(items, name="item"))

    return Predictions(frame(pls_pred / reps), frame(lm_pred / reps), frame(naive / reps), frame(X[:, endo_items]))


def plspredict(
    fit: FitResult,
    k: int = 10,
    repetitions: int = 1,
    seed: SeedLike = None,
    *,
    folds: Any = None,
) -> pd.DataFrame:
    """PLSpredict: Q²predict, RMSE and MAE of every endogenous item, PLS against LM.

    Predictions come from :func:`cv_predictions` on seeded folds
    (:func:`fold_labels`).  Per item, with respondent weights ``v`` (1 without
    weights), out-of-sample errors ``e = y - y_hat`` and the training-mean
    errors ``e0 = y - ybar_train``:

    * ``q2_predict = 1 - sum v e² / sum v e0²`` (Shmueli et al. 2019): > 0
      means the model predicts better than the training mean;
    * ``rmse = sqrt(sum v e² / sum v)``, ``mae = sum v |e| / sum v``;

    for PLS and for the linear-model benchmark (``lm_*``).  Shmueli et al.
    (2019) read the items' RMSE (MAE for skewed errors): PLS below LM for
    all items = high predictive power, for most = medium, for a minority =
    low, for none = no predictive power.

    Parameters
    ----------
    fit
        A PLS or PLSc fit.
    k
        Number of folds (default 10).
    repetitions
        Number of independent fold assignments; predictions are averaged
        over them (the guidelines suggest 10).
    seed
        Seed of the fold assignment (int, None, SeedSequence or Generator);
        the drawn entropy is recorded in ``attrs["seed_entropy"]``.
    folds
        Optional fold labels (n,) or (repetitions, n) to reproduce another
        program's folds; ``k``, ``repetitions`` and ``seed`` are then ignored.

    Returns
    -------
    pandas.DataFrame
        One row per endogenous item: ``construct, item, q2_predict,
        pls_rmse, pls_mae, lm_q2_predict, lm_rmse, lm_mae``; ``attrs`` holds
        ``k``, ``repetitions`` and ``seed_entropy``.
    """
    data = prepared_data(fit, "PLSpredict")
    n = data.X.shape[0]
    if folds is None:
        root = seed_sequence(seed)
        folds = fold_labels(n, k, repetitions, root)
        attrs = {"k": k, "repetitions": repetitions, "seed_entropy": int(root.entropy)}  # type: ignore[arg-type]
    else:
        F = _check_folds(folds, n)
        attrs = {"k": int(len(np.unique(F[0]))), "repetitions": F.shape[0], "seed_entropy": None}
    pred = cv_predictions(fit, folds)
    y = pred.observed.to_numpy()
    v = np.ones(n) if data.weights is None else np.asarray(data.weights)
    v = v[:, None] / v.sum()
    sse0 = np.sum(v * (y - pred.naive.to_numpy()) ** 2, axis=0)
    out = pd.DataFrame({"construct": [fit.spec.block_of(i) for i in pred.pls.columns], "item": list(pred.pls.columns)})
    for name, frame in (("pls", pred.pls), ("lm", pred.lm)):
        e = y - frame.to_numpy()
        sse = np.sum(v * e**2, axis=0)
        if name == "pls":
            out["q2_predict"] = 1.0 - sse / sse0
        else:
            out["lm_q2_predict"] = 1.0 - sse / sse0
        out[f"{name}_rmse"] = np.sqrt(sse)
        out[f"{name}_mae"] = np.sum(v * np.abs(e), axis=0)
    out = out[["construct", "item", "q2_predict", "pls_rmse", "pls_mae", "lm_q2_predict", "lm_rmse", "lm_mae"]]
    out.attrs.update(attrs)
    return out


def _train(fit: FitResult, S: np.ndarray, n_train: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loadings (T, p), total effects (T, J, J) and weights (T, p) of every training set."""
    spec, opts = fit.spec, fit.options
    M, D = spec.block_mask, spec.adjacency
    mode_b = np.array([m == "B" for m in spec.modes])
    w = np.empty(S.shape[:-1])
    converged = np.empty(S.shape[0], dtype=bool)
    # R plspm's stopping rule depends on the sample size: one batch per training size.
    for size in np.unique(n_train):
        sel = n_train == size
        res = pls_weights(
            S[sel], M, D, mode_b, opts["scheme"],
            tol=opts["tol"], max_iter=opts["max_iter"], stop=opts["stop"], sign_rule=opts["sign_rule"],
            n_obs=int(size),
        )  # fmt: skip
        w[sel], converged[sel] = res.w, res.converged
    if not converged.all():
        warnings.warn(
            f"PLS did not converge in {int((~converged).sum())} of {len(converged)} PLSpredict training sets; "
            "their last iterates are used",
            ConvergenceWarning,
            stacklevel=3,
        )
    inner = pls_inner(S, w, M, D)
    if not fit.capabilities.consistent:
        return inner.loadings, inner.total, w
    mode_a = np.array([m == "A" for m in spec.modes])
    res = plsc(S, w, M, D, mode_a, inner.loadings, inner.cross, inner.R)
    if not res.admissible.all():
        warnings.warn(
            f"PLSc was inadmissible in {int((~res.admissible).sum())} of {len(converged)} PLSpredict training sets",
            AdmissibilityWarning,
            stacklevel=3,
        )
    return res.loadings, res.total, w


def _check_int(name: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
        raise EstimationError(f"{name} must be an integer >= {least}, got {value!r}")


def _check_folds(folds: Any, n: int) -> np.ndarray:
    F = np.asarray(folds)
    if F.ndim == 1:
        F = F[None, :]
    if F.ndim != 2 or F.shape[1] != n:
        raise EstimationError(f"folds must have shape (n,) or (repetitions, n) with n = {n} fitted rows; got {F.shape}")
    if F.dtype.kind not in "iu":
        raise EstimationError(f"folds must be integer fold labels; got dtype {F.dtype}")
    for r in range(F.shape[0]):
        if len(np.unique(F[r])) < 2:
            raise EstimationError(f"folds of repetition {r} hold a single fold; at least two are needed")
    return F
