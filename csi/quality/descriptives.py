"""Item descriptives: the answers as given, before any imputation.

Every statistic is computed over each item's *observed* values: missing codes
(e.g. 98 = "don't know") removed and reverse-worded items recoded, exactly as
the estimators see them, but before the missing-data policy fills or drops
anything.  So the SD is that of the observed answers, not of the data after
mean or EM imputation (which shrinks it).  Statistics are unweighted: they
describe the sample's answers, respondent weights aside.

* ``sd``: sample standard deviation (divisor ``n - 1``);
* ``median``: the middle observed value (mean of the two middle ones for even ``n``);
* ``skewness``: the adjusted Fisher-Pearson coefficient ``G1 = sqrt(n (n-1)) / (n-2) g1``,
  ``g1 = m3 / m2^{3/2}`` (Joanes & Gill 1998, The Statistician 47(1):183-189; SPSS, SAS
  and Excel ``SKEW``); NaN for ``n < 3``;
* ``excess_kurtosis``: ``G2 = (n-1) / ((n-2)(n-3)) ((n+1) g2 + 6)``, ``g2 = m4 / m2² - 3``
  (Joanes & Gill 1998; Excel ``KURT``); 0 for a normal population, NaN for ``n < 4``.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from csi.data.prepare import _check_columns, _item_block, as_frame
from csi.errors import EstimationError
from csi.results.fit import FitResult
from csi.spec.load import load_model
from csi.spec.model import ModelSpec

COLUMNS = ("item", "construct", "n", "missing", "mean", "sd", "median", "min", "max", "skewness",
           "excess_kurtosis")  # fmt: skip


def _observed(source: FitResult | pd.DataFrame, spec: ModelSpec | str | os.PathLike[str] | None
              ) -> tuple[ModelSpec, np.ndarray, int]:  # fmt: skip
    """The model, the (rows, p) observed item matrix with NaN for missing answers, and the number of input rows."""
    if isinstance(source, FitResult):
        if spec is not None:
            raise EstimationError("item_descriptives(fit) takes the fit's own model; pass spec only with data")
        data = source.data
        if data is None:
            raise EstimationError("item_descriptives needs the fitted item data, but this FitResult holds none; "
                                  "refit with csi.fit or pass the data and the model")  # fmt: skip
        X = data.raw if data.raw is not None else data.X  # raw: before the missing-data policy
        return source.spec, np.asarray(X, dtype=float), int(data.n_input)
    if spec is None:
        raise EstimationError("item_descriptives(data, spec) needs the model (a ModelSpec, shipped name or file)")
    model = spec if isinstance(spec, ModelSpec) else load_model(spec)
    frame = as_frame(source)
    _check_columns(model, frame)
    return model, _item_block(model, frame, frame.index), len(frame)


def item_descriptives(
    source: FitResult | pd.DataFrame, spec: ModelSpec | str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """Per item: observed count, missing count, mean, SD, median, min, max, skewness and excess kurtosis.

    Parameters
    ----------
    source
        A fit (its data before the missing-data policy) or a survey table.
    spec
        The model, with a table only (shipped name, file or
        :class:`~csi.spec.model.ModelSpec`): its scales, missing codes and
        reverse flags apply; values outside a scale are an error naming the
        item and row, as in :func:`csi.fit`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, one row per item in model order; see the
        module notes for the definitions.  An item without any observed
        answer has ``n = 0`` and NaN statistics.
    """
    model, X, n_input = _observed(source, spec)
    rows = []
    for h, name in enumerate(model.item_names):
        x = X[:, h]
        x = x[~np.isnan(x)]
        n = x.size
        stats = dict.fromkeys(COLUMNS[4:], np.nan)
        if n:
            mean = x.mean()
            d = x - mean
            m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
            stats.update(mean=mean, median=float(np.median(x)), min=x.min(), max=x.max())
            stats["sd"] = np.sqrt(m2 * n / (n - 1)) if n > 1 else np.nan
            with np.errstate(invalid="ignore", divide="ignore"):
                if n > 2 and m2 > 0:
                    stats["skewness"] = np.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5
                if n > 3 and m2 > 0:
                    stats["excess_kurtosis"] = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * (m4 / m2**2 - 3) + 6)
        rows.append((name, model.block_of(name), n, n_input - n, *(float(stats[c]) for c in COLUMNS[4:])))
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    return out.astype({"n": "int64", "missing": "int64"})
