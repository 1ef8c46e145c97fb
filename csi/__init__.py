"""csi: customer satisfaction indices from structural equation models.

The public API: declare or load a model (:func:`load_model`), fit it
(:func:`fit`), bootstrap it (:func:`bootstrap`), turn it into 0-100 indices
(:func:`compute_index`), produce panel indices with aggregation and change tests
(:func:`index_panel`), assess its quality (:func:`assess`), and simulate demo data (:func:`simulate`).
"""

from csi._version import __version__
from csi.classical import (
    equal_weight_index,
    fuzzy_evaluate,
    item_scores,
    kano,
    loyalty_segments,
    membership_matrix,
    pca_index,
    servqual,
)
from csi.data.binding import Binding, bind_model, read_binding
from csi.data.io import read_survey
from csi.data.matching import propose_binding
from csi.data.survey import Survey
from csi.errors import (
    AdmissibilityWarning,
    BootstrapError,
    ConvergenceWarning,
    CSIError,
    DataError,
    EstimationError,
    MissingDataWarning,
    ModelSyntaxError,
    NoScaleWarning,
    SpecError,
)
from csi.estimators import fit
from csi.estimators.cbsem_groups import invariance
from csi.estimators.cbsem_modindices import modification_indices
from csi.index import (
    PanelIndexResult,
    PartitionedPanel,
    SimulatedPanel,
    compute_index,
    impacts,
    index_panel,
    indirect_impacts,
    ipma,
    read_panel_result,
    simulate_panel,
)
from csi.quality import Assessment, assess
from csi.resample.group_result import GroupComparison, MicomResult
from csi.resample.mga import compare_groups
from csi.resample.micom import micom
from csi.resample.result import BootstrapResult
from csi.resample.run import bootstrap
from csi.results.fit import FitResult
from csi.results.hoc import HigherOrderFit
from csi.simulate import SimulatedData, simulate
from csi.spec.load import list_models, load_model
from csi.spec.model import Construct, Covariance, Item, ModelSpec, Modifier, Path

__all__ = [
    "equal_weight_index",
    "fuzzy_evaluate",
    "item_scores",
    "kano",
    "loyalty_segments",
    "membership_matrix",
    "pca_index",
    "servqual",
    "Binding",
    "NoScaleWarning",
    "Survey",
    "bind_model",
    "propose_binding",
    "read_binding",
    "read_survey",
    "AdmissibilityWarning",
    "Assessment",
    "BootstrapError",
    "BootstrapResult",
    "CSIError",
    "Construct",
    "ConvergenceWarning",
    "MissingDataWarning",
    "Covariance",
    "DataError",
    "EstimationError",
    "FitResult",
    "HigherOrderFit",
    "Item",
    "ModelSpec",
    "Modifier",
    "ModelSyntaxError",
    "PanelIndexResult",
    "PartitionedPanel",
    "Path",
    "SimulatedData",
    "SimulatedPanel",
    "SpecError",
    "__version__",
    "assess",
    "bootstrap",
    "compare_groups",
    "GroupComparison",
    "MicomResult",
    "micom",
    "compute_index",
    "fit",
    "impacts",
    "index_panel",
    "indirect_impacts",
    "invariance",
    "ipma",
    "list_models",
    "load_model",
    "modification_indices",
    "read_panel_result",
    "simulate",
    "simulate_panel",
]
