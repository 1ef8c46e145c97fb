"""Index production: 0-100 indices, impacts, aggregation."""

from csi.index.compute import compute_index, scale_bounds, unstandardised_weights

__all__ = ["compute_index", "scale_bounds", "unstandardised_weights"]
