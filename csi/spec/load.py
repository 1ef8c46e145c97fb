"""One entry point for every way of naming a model: :func:`load_model`.

The shipped models are the TOML files of the top-level ``models/`` folder,
installed as the package ``csi.models``.
"""

from __future__ import annotations

import difflib
import importlib.resources
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib.abc import Traversable
from pathlib import Path as FilePath

from csi.errors import InputFileError, SpecError
from csi.spec.files import is_file, read_model_text, shown
from csi.spec.lavaan import parse_lavaan
from csi.spec.model import ModelSpec
from csi.spec.toml_io import read_toml

__all__ = ["list_models", "load_model"]


def _models_dir() -> Traversable:
    try:
        return importlib.resources.files("csi.models")
    except ModuleNotFoundError:
        # Source tree without install: models/ sits next to the csi/ package.
        return FilePath(__file__).resolve().parent.parent.parent / "models"


def _shipped() -> dict[str, Traversable]:
    return {f.name[: -len(".toml")].lower(): f for f in _models_dir().iterdir() if f.name.endswith(".toml")}


def list_models() -> list[str]:
    """Keys of the shipped models (file stems, e.g. ``["acsi", "ecsi", "ecsi6", "scsb"]``)."""
    return sorted(_shipped())


def _shipped_model(name: str) -> ModelSpec:
    files = _shipped()
    key = name.strip().lower()
    if key in files:
        return read_toml(files[key].read_text(encoding="utf-8"))
    specs = {k: read_toml(f.read_text(encoding="utf-8")) for k, f in files.items()}
    for spec in specs.values():
        if spec.name.lower() == key:
            return spec
    choices = sorted(files) + sorted(s.name for s in specs.values())
    close = difflib.get_close_matches(key, [c.lower() for c in choices], n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(map(repr, dict.fromkeys(close)))}?" if close else ""
    shipped = ", ".join(f"{k} ({specs[k].name})" for k in sorted(specs))
    raise SpecError(
        f"unknown model {shown(name)}: not a shipped model, an existing file or model text.{hint} Shipped models: {shipped}."
    )


def _looks_like_text(source: str) -> bool:
    # A leading "[" opens a TOML table ("[constructs ..."): model text, not a file name, unless such a file exists.
    if source.lstrip().startswith("[") and not is_file(source):
        return True
    return "\n" in source or bool(re.search(r"=~|<~|~|=", source))


def _from_text(text: str) -> ModelSpec:
    """A model from TOML or lavaan-style text, decided by parsing: text that parses as TOML is TOML.

    A lavaan line such as ``SAT =~ sat1`` is never valid TOML, and a TOML model may hold any text in its
    labels and comments (``=~`` included).  When neither parser accepts the text, the error is the TOML
    parser's for text with a ``[table]`` header line, else the lavaan parser's.
    """
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        try:
            return parse_lavaan(text)
        except SpecError:
            if re.search(r"^\s*\[", text, re.MULTILINE):
                return read_toml(text)  # raises the TOML error, naming the line
            raise
    return read_toml(text)


def load_model(
    source: str | os.PathLike[str] | ModelSpec,
    items: Mapping[str, Iterable[str]] | Mapping[str, str] | None = None,
) -> ModelSpec:
    """Load a model from a shipped name, a file or model text.

    Parameters
    ----------
    source
        One of

        - a shipped model, case-insensitive: ``"scsb"``, ``"acsi"``, ``"ecsi"``,
          ``"ecsi6"`` (:func:`list_models`), or its own name such as ``"ECSI-7"``;
        - a path to a ``.toml`` file, or to a lavaan-style text file (any other suffix);
        - lavaan-style model text (``SAT =~ sat1 + sat2`` ...) or TOML text;
        - a :class:`~csi.spec.model.ModelSpec`, returned (rebound) as it is.
    items
        Bind the model to the data's column names: construct -> list of
        columns (replacing the block), or item -> column.  Applied with
        :meth:`ModelSpec.with_items`; the shipped model is not changed.

    Returns
    -------
    ModelSpec
    """
    if isinstance(source, ModelSpec):
        spec = source
    elif not isinstance(source, str | os.PathLike):
        raise SpecError(
            f"load_model needs a shipped model name, a file path, model text or a ModelSpec, got "
            f"{type(source).__name__} {source!r}; e.g. load_model('ecsi')"
        )
    elif isinstance(source, str) and not source.strip():
        raise SpecError("the model is empty: give a shipped model name (e.g. 'ecsi'), a file path or model text")
    elif isinstance(source, os.PathLike) or not _looks_like_text(source):
        path = FilePath(source)
        if is_file(path):
            if path.suffix.lower() == ".toml":
                spec = read_toml(path)
            else:
                spec = parse_lavaan(read_model_text(path), name=path.stem)
        elif isinstance(source, os.PathLike) or path.suffix.lower() in (".toml", ".lav", ".txt"):
            raise InputFileError(f"no model file {shown(path)}")
        else:
            spec = _shipped_model(str(source))
    else:
        spec = _from_text(source)
    return spec.with_items(items) if items is not None else spec
