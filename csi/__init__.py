"""csi: customer satisfaction indices from structural equation models."""

from csi.errors import (
    ConvergenceWarning,
    CSIError,
    DataError,
    EstimationError,
    ModelSyntaxError,
    SpecError,
)
from csi.spec.load import list_models, load_model
from csi.spec.model import Construct, Covariance, Item, ModelSpec, Path

__version__ = "0.1.0"

__all__ = [
    "CSIError",
    "Construct",
    "ConvergenceWarning",
    "Covariance",
    "DataError",
    "EstimationError",
    "Item",
    "ModelSpec",
    "ModelSyntaxError",
    "Path",
    "SpecError",
    "__version__",
    "list_models",
    "load_model",
]
