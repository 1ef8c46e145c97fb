"""Discriminant validity: Fornell-Larcker criterion and HTMT (methodology §4.6)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from csi.core.quality import ave as _ave
from csi.core.quality import htmt as _htmt
from csi.quality._common import correlation_and_weights
from csi.results.fit import FitResult


def fornell_larcker(fit: FitResult) -> pd.DataFrame:
    """Fornell-Larcker table (Fornell & Larcker 1981, JMR 18(1):39-50).

    A construct-by-construct matrix with ``sqrt(AVE_j)`` on the diagonal and
    the fit's construct correlations off it (disattenuated ones for PLSc);
    discriminant validity holds for j when its diagonal entry exceeds every
    ``|R_jk|`` in its row.  The diagonal is NaN for Mode B blocks.
    """
    spec = fit.spec
    R = fit.construct_correlations.to_numpy().copy()
    root = np.sqrt(_ave(fit.loadings.to_numpy(), spec.block_mask))
    np.fill_diagonal(R, np.where([m == "B" for m in spec.modes], np.nan, root))
    names = pd.Index(spec.construct_names, name="construct")
    return pd.DataFrame(R, index=names, columns=names)


def htmt(fit: FitResult) -> pd.DataFrame:
    """Heterotrait-monotrait ratio (Henseler, Ringle & Sarstedt 2015, JAMS 43(1):115-135).

    ``HTMT_jk = mean |r| between items of j and k / sqrt(mean |r| among items
    of j * mean |r| among items of k)`` from the item correlation matrix, so
    it is the same for every estimator.  Symmetric; NaN on the diagonal and
    for single-item blocks.  Usual thresholds 0.85 / 0.90.
    """
    S, _ = correlation_and_weights(fit)
    names = pd.Index(fit.spec.construct_names, name="construct")
    return pd.DataFrame(_htmt(S, fit.spec.block_mask), index=names, columns=names)
