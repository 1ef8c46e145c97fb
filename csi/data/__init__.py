"""Survey data at the edge: validation, missing codes, reverse items, weights."""

from csi.data.io import read_data, read_survey
from csi.data.prepare import MISSING_POLICIES, PreparedData, min_rows, prepare_items

__all__ = ["MISSING_POLICIES", "PreparedData", "min_rows", "prepare_items", "read_data", "read_survey"]
