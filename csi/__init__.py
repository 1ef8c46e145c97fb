"""csi: customer satisfaction indices from structural equation models."""

from csi.errors import (
    BootstrapError,
    ConvergenceWarning,
    CSIError,
    DataError,
    EstimationError,
    ModelSyntaxError,
    SpecError,
)
from csi.estimators import fit
from csi.index import compute_index
from csi.results.fit import FitResult
from csi.simulate import SimulatedData, simulate
from csi.spec.model import Construct, Covariance, Item, ModelSpec, Path

__version__ = "0.1.0"

__all__ = [
    "BootstrapError",
    "CSIError",
    "Construct",
    "ConvergenceWarning",
    "Covariance",
    "DataError",
    "EstimationError",
    "FitResult",
    "Item",
    "ModelSpec",
    "ModelSyntaxError",
    "Path",
    "SpecError",
    "SimulatedData",
    "__version__",
    "simulate",
    "compute_index",
    "fit",
]
