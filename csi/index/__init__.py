"""Index production: 0-100 indices, impacts, panels (company x wave), aggregation and change tests."""

from csi.index.compute import compute_index, scale_bounds, unstandardised_weights
from csi.index.impacts import impacts, indirect_impacts, ipma, score_sds
from csi.index.panel import index_panel
from csi.index.partitioned import PartitionedPanel
from csi.index.result import PanelIndexResult, read_panel_result
from csi.index.simulate_panel import SimulatedPanel, simulate_panel

__all__ = [
    "PanelIndexResult",
    "PartitionedPanel",
    "SimulatedPanel",
    "compute_index",
    "impacts",
    "index_panel",
    "indirect_impacts",
    "ipma",
    "read_panel_result",
    "scale_bounds",
    "score_sds",
    "simulate_panel",
    "unstandardised_weights",
]
