"""Model specification: the canonical :class:`ModelSpec` and every front end that builds one."""

from csi.spec.builder import ModelBuilder, model
from csi.spec.lavaan import parse_lavaan, render_lavaan
from csi.spec.load import list_models, load_model
from csi.spec.model import ITEM_TYPES, MODES, SIGNS, Construct, Covariance, Item, ModelSpec, Modifier, Path
from csi.spec.toml_io import read_toml, to_toml

__all__ = [
    "ITEM_TYPES",
    "MODES",
    "SIGNS",
    "Construct",
    "Covariance",
    "Item",
    "ModelBuilder",
    "ModelSpec",
    "Modifier",
    "Path",
    "list_models",
    "load_model",
    "model",
    "parse_lavaan",
    "read_toml",
    "render_lavaan",
    "to_toml",
]
