"""Bootstrap intervals of specific indirect effects, computed from the replicates of the direct paths.

A specific indirect effect is the product of the path coefficients along a
chain (:mod:`csi.core.effects`), so its replicate ``b`` is the product of the
same paths' replicate ``b`` values: no refit is needed, and the intervals are
those of the bootstrap's own interval type (Preacher & Hayes 2008 recommend
percentile or bias-corrected bootstrap intervals for indirect effects; the
Sobel normal test is not offered).  BCa uses the jackknife values of the
products in the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from csi.errors import EstimationError
from csi.resample.intervals import bootstrap_pvalue, bootstrap_se, confidence_interval
from csi.results.mediation import IndirectLayout


def _path_matrix(values: np.ndarray, boot: Any) -> np.ndarray:
    """``B (..., J, J)`` with ``B[t, s]`` the statistic labelled ``t ~ s`` in ``values (..., q)``."""
    names = boot.fit.spec.construct_names
    idx = {n: i for i, n in enumerate(names)}
    B = np.zeros(values.shape[:-1] + (len(names), len(names)))
    for k, (a, o, b) in enumerate(zip(boot.layout.lhs, boot.layout.op, boot.layout.rhs, strict=True)):
        if o == "~" and a in idx and b in idx:
            B[..., idx[a], idx[b]] = values[..., k]
    return B


def indirect_effect_table(boot: Any) -> pd.DataFrame:
    """Specific and total indirect effects with bootstrap SE, interval and p-value.

    Parameters
    ----------
    boot
        A :class:`~csi.resample.result.BootstrapResult`; its interval type and
        level are used (studentized intervals are not available for products).

    Returns
    -------
    pandas.DataFrame
        ``from, to, kind, path, estimate, se, ci_lower, ci_upper, p_value``
        (:func:`csi.results.mediation.indirect_effects` plus the bootstrap
        columns); the p-value tests ``H0: effect = 0`` by the bootstrap's rule.
    """
    if boot.ci == "studentized":
        raise EstimationError(
            "studentized intervals need per-replicate standard errors, which indirect effects do not have; "
            "use boot.with_ci('percentile') (or 'basic', 'normal', 'bc', 'bca')"
        )
    spec = boot.fit.spec
    layout = IndirectLayout.of(spec)

    def statistics(values: np.ndarray) -> np.ndarray:
        return layout.values(_path_matrix(np.asarray(values, dtype=float), boot))

    D = statistics(boot.draws.to_numpy())
    est = statistics(boot.original)
    if boot.ci == "rubin":  # each imputation's products, combined by Rubin's rules (csi.resample.mi_boot)
        from csi.resample.mi_boot import rubin_interval

        m = boot.n_imputations
        r = rubin_interval(D.reshape(m, -1, D.shape[1]), statistics(boot.imputation_estimates), boot.level,
                           n_com=boot.fit.n - 1)  # fmt: skip
        frame = layout.labels.assign(estimate=est, se=r["se"], ci_lower=r["ci_lower"], ci_upper=r["ci_upper"],
                                     p_value=r["p_value"])  # fmt: skip
        return layout.order(spec, frame)
    opts: dict[str, Any] = {}
    if boot.ci == "bca":
        opts["jackknife_values"] = statistics(boot.jackknife_values)
    lower, upper = confidence_interval(boot.ci, D, est, boot.level, **opts)
    frame = layout.labels.assign(
        estimate=est, se=bootstrap_se(D), ci_lower=lower, ci_upper=upper, p_value=bootstrap_pvalue(D, est)
    )
    return layout.order(spec, frame)
