"""The composite estimators' replicate statistics, re-exported from :mod:`csi.estimators.replicates`."""

from csi.estimators.replicates import (
    SIGN_CHANGES,
    StatisticLayout,
    fused_model,
    fused_statistics_of,
    gather_columns,
    replicate_statistics,
)

__all__ = ["SIGN_CHANGES", "StatisticLayout", "fused_model", "fused_statistics_of", "gather_columns",
           "replicate_statistics"]  # fmt: skip
