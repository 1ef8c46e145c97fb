"""Binding a model to a survey file: the column of each item, its scale, its missing codes.

A binding is what a user states about their own file so that a shipped (or
their own) model fits it: ``IMAG1`` is column ``q01_image``, the scale runs
from 0 to 10, 98 and 99 mean "don't know", ``CUEX3`` is reverse-worded.  It
lives in a small TOML file that ``csi bind`` proposes
(:func:`csi.data.matching.propose_binding`) and the user edits::

    model = "ECSI-7"              # informative only
    data = "survey.sav"           # informative only

    [defaults]                    # every item, unless its own entry says otherwise
    scale = [0, 10]
    missing_codes = [98, 99]

    [items]                       # model item = "column", or a table
    IMAG1 = "q01_image"
    CUEX3 = { column = "q08", reverse = true, scale = [1, 5], missing_codes = [9] }

    [blocks]                      # construct = [columns]: replaces the whole block
    LOY = ["loyal_a", "loyal_b"]

:func:`bind_model` applies a binding and the quick options (``scale``,
``missing_codes``, ``reverse``) to a model with the existing spec machinery
(:meth:`~csi.spec.model.ModelSpec.with_items`, ``with_scale``,
``with_missing_codes``, ``with_reverse``), takes the file's variable labels as
item labels, and checks the result against the file's metadata.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from csi.data.prepare import as_frame
from csi.data.survey import Survey
from csi.errors import DataError, NoScaleWarning, SpecError
from csi.spec.load import load_model
from csi.spec.model import ModelSpec

TOP_KEYS = ("model", "data", "defaults", "items", "blocks")
DEFAULT_KEYS = ("scale", "missing_codes")
ITEM_KEYS = ("column", "scale", "missing_codes", "reverse", "label")


@dataclass(frozen=True)
class Binding:
    """How a model's items map to a file's columns (see the module docstring for the TOML form).

    Attributes
    ----------
    columns
        Model item -> data column.
    blocks
        Construct -> data columns, replacing the construct's whole block
        (scale metadata kept position by position when the length is kept).
    options
        Model item -> overrides of ``scale`` (``(min, max)``),
        ``missing_codes``, ``reverse`` and ``label``.
    scale, missing_codes
        Defaults for every item (``None``: keep the model's).
    source
        Where the binding came from (a file name), for messages.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    blocks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    scale: tuple[float, float] | None = None
    missing_codes: tuple[float, ...] | None = None
    source: str = "binding"

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))
        object.__setattr__(self, "blocks", MappingProxyType({k: tuple(v) for k, v in self.blocks.items()}))
        object.__setattr__(self, "options", MappingProxyType({k: MappingProxyType(dict(v))
                                                              for k, v in self.options.items()}))  # fmt: skip


# ----------------------------------------------------------------------- reading


def _where(source: str, key: str) -> str:
    return f"binding {source!r}, {key}"


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def parse_scale(value: Any, what: str) -> tuple[float, float]:
    """``[min, max]`` as a pair of floats with ``min < max``."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise SpecError(f"{what}: a scale is two numbers [min, max], got {value!r}")
    lo, hi = (_number(v, what) for v in value)
    if not hi > lo:
        raise SpecError(f"{what}: the scale maximum ({hi:g}) must exceed its minimum ({lo:g})")
    return lo, hi


def parse_codes(value: Any, what: str) -> tuple[float, ...]:
    """A list of missing codes as floats."""
    if not isinstance(value, list | tuple):
        raise SpecError(f"{what}: missing codes are a list of numbers such as [98, 99], got {value!r}")
    return tuple(_number(v, what) for v in value)


def _table(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(f"{what} must be a table, got {value!r}")
    return value


def _keys(table: Mapping[str, Any], accepted: tuple[str, ...], what: str) -> None:
    wrong = [k for k in table if k not in accepted]
    if wrong:
        raise SpecError(f"{what}: unknown key(s) {', '.join(map(repr, wrong))}; accepted: {', '.join(accepted)}")


def _column(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{what}: a column is a non-empty string, got {value!r}")
    return value


def binding_from_dict(doc: Mapping[str, Any], source: str = "binding") -> Binding:
    """A :class:`Binding` from the parsed TOML document; every key and value is checked."""
    _keys(doc, TOP_KEYS, f"binding {source!r}")
    defaults = _table(doc.get("defaults", {}), _where(source, "[defaults]"))
    _keys(defaults, DEFAULT_KEYS, _where(source, "[defaults]"))
    scale = parse_scale(defaults["scale"], _where(source, "[defaults] scale")) if "scale" in defaults else None
    codes = defaults.get("missing_codes")
    codes = parse_codes(codes, _where(source, "[defaults] missing_codes")) if codes is not None else None
    columns: dict[str, str] = {}
    options: dict[str, dict[str, Any]] = {}
    for item, entry in _table(doc.get("items", {}), _where(source, "[items]")).items():
        what = _where(source, f"item {item!r}")
        if isinstance(entry, str):
            columns[item] = _column(entry, what)
            continue
        entry = _table(entry, what)
        _keys(entry, ITEM_KEYS, what)
        if "column" in entry:
            columns[item] = _column(entry["column"], what)
        opts: dict[str, Any] = {}
        if "scale" in entry:
            opts["scale"] = parse_scale(entry["scale"], f"{what} scale")
        if "missing_codes" in entry:
            opts["missing_codes"] = parse_codes(entry["missing_codes"], f"{what} missing_codes")
        if "reverse" in entry:
            if not isinstance(entry["reverse"], bool):
                raise SpecError(f"{what}: reverse must be true or false, got {entry['reverse']!r}")
            opts["reverse"] = entry["reverse"]
        if "label" in entry:
            if not isinstance(entry["label"], str):
                raise SpecError(f"{what}: label must be a string, got {entry['label']!r}")
            opts["label"] = entry["label"]
        if opts:
            options[item] = opts
    blocks: dict[str, tuple[str, ...]] = {}
    for construct, cols in _table(doc.get("blocks", {}), _where(source, "[blocks]")).items():
        what = _where(source, f"block {construct!r}")
        if not isinstance(cols, list) or not cols:
            raise SpecError(f"{what}: a block is a non-empty list of columns, got {cols!r}")
        blocks[construct] = tuple(_column(c, what) for c in cols)
    return Binding(columns, blocks, options, scale, codes, source)


def read_binding(path: str | os.PathLike[str]) -> Binding:
    """Read a binding file written by ``csi bind`` (and edited by the user).

    Raises
    ------
    DataError
        When the file does not exist or is not valid TOML.
    SpecError
        For an unknown key or a value of the wrong kind (the message names the
        file and the entry).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"no binding file {str(p)!r}; write one with: csi bind MODEL DATA --out {p.name}")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"binding {p.name!r} is not valid TOML: {e}") from None
    return binding_from_dict(doc, p.name)


# ---------------------------------------------------------------------- applying


def _closest(name: str, columns: Sequence[str]) -> str:
    lowered = {c.lower(): c for c in columns}
    near = [lowered[h] for h in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)]
    return f" (closest: {', '.join(map(repr, near))})" if near else ""


def _apply(spec: ModelSpec, binding: Binding, survey: Survey) -> tuple[ModelSpec, dict[str, str]]:
    src = binding.source
    items = set(spec.item_names)
    unknown = [k for k in [*binding.columns, *binding.options] if k not in items]
    if unknown:
        raise SpecError(
            f"binding {src!r} names {', '.join(map(repr, dict.fromkeys(unknown)))}, not item(s) of model "
            f"{spec.name!r}; its items: {', '.join(spec.item_names)}"
        )
    both = [c for c in binding.blocks if set(spec.construct(c).item_names) & set(binding.columns)]
    if both:
        raise SpecError(
            f"binding {src!r} binds construct(s) {', '.join(map(repr, both))} both as a block and item by item; "
            "keep one of the two"
        )
    columns = set(survey.columns)
    bound = [(k, c) for k, c in binding.columns.items()] + [(k, c) for k, cs in binding.blocks.items() for c in cs]
    absent = [(k, c) for k, c in bound if c not in columns]
    if absent:
        parts = [f"{k!r} -> {c!r}{_closest(c, survey.columns)}" for k, c in absent]
        raise DataError(
            f"binding {src!r} names column(s) that {survey.source!r} lacks: {'; '.join(parts)}. "
            "Correct the binding or rerun csi bind"
        )
    if binding.scale is not None:
        spec = spec.with_scale(*binding.scale)
    if binding.missing_codes is not None:
        spec = spec.with_missing_codes(binding.missing_codes)
    spec = replace(
        spec,
        constructs=tuple(
            replace(c, items=tuple(_override(i, binding.options.get(i.name, {})) for i in c.items))
            for c in spec.constructs
        ),
    )
    rename = {k: v for k, v in binding.columns.items()}
    spec = spec.with_items({**rename, **{k: list(v) for k, v in binding.blocks.items()}})
    return spec, rename


def _override(item: Any, opts: Mapping[str, Any]) -> Any:
    fields: dict[str, Any] = {}
    if "scale" in opts:
        fields["scale_min"], fields["scale_max"] = opts["scale"]
    for name in ("missing_codes", "reverse", "label"):
        if name in opts:
            fields[name] = opts[name]
    return replace(item, **fields) if fields else item


def _metadata(spec: ModelSpec, survey: Survey) -> ModelSpec:
    # The file's question text is the user's own wording: it labels the items in summaries and reports.
    def one(item: Any) -> Any:
        label = survey.label(item.name) or item.label
        codes = tuple(sorted(set(item.missing_codes) | set(survey.missing_codes.get(item.name, ()))))
        return replace(item, label=label, missing_codes=codes)

    return replace(spec, constructs=tuple(replace(c, items=tuple(one(i) for i in c.items)) for c in spec.constructs))


def check_value_labels(spec: ModelSpec, survey: Survey, names: Mapping[str, str] | None = None) -> None:
    """Raise when a column's value labels state other scale end points than its item declares.

    Parameters
    ----------
    spec
        The bound model (item names are the file's columns).
    survey
        The file with its value labels.
    names
        Column -> model item name, for messages.

    Raises
    ------
    DataError
        Naming the column, the labelled end points and the declared scale.
    """
    names = names or {}
    for item in spec.items:
        stated = survey.labelled_scale(item.name, item.missing_codes) if item.has_scale else None
        if stated is None or stated == (item.scale_min, item.scale_max):
            continue
        labels = survey.value_labels[item.name]
        lo, hi = stated
        who = f"item {names[item.name]!r} (column {item.name!r})" if item.name in names else f"item {item.name!r}"
        raise DataError(
            f"the value labels of {who} in {survey.source!r} run from {lo:g} = {labels[lo]!r} to {hi:g} = "
            f"{labels[hi]!r}, but its declared scale is [{item.scale_min:g}, {item.scale_max:g}]; declare the "
            f"scale the labels state (--scale {lo:g} {hi:g}, or scale = [{lo:g}, {hi:g}] in the binding), or list "
            "a labelled code that means 'no answer' as a missing code"
        )


def as_survey(data: Survey | pd.DataFrame | Mapping[str, Any]) -> Survey:
    """A :class:`Survey` for a survey or a plain table (without metadata)."""
    if isinstance(data, Survey):
        return data
    return Survey(as_frame(data), "the data", "table")


def bind_model(
    model: ModelSpec | str | os.PathLike[str],
    data: Survey | pd.DataFrame,
    *,
    binding: Binding | str | os.PathLike[str] | None = None,
    items: Mapping[str, Any] | None = None,
    scale: Sequence[float] | None = None,
    missing_codes: Iterable[float] | None = None,
    reverse: Iterable[str] | None = None,
) -> ModelSpec:
    """The model bound to a survey file, ready for :func:`csi.fit`, :func:`csi.bootstrap`, :func:`csi.index_panel`.

    Parameters
    ----------
    model
        A shipped model name, a model file or text, or a ModelSpec
        (:func:`csi.load_model`).
    data
        A :class:`~csi.data.survey.Survey` (:func:`csi.read_survey`), whose
        metadata are used, or a plain DataFrame.
    binding
        A :class:`Binding` or the path of a binding TOML file (``csi bind``).
    items
        Column names as in :func:`csi.load_model` (construct -> columns or
        item -> column), applied before the binding.
    scale
        ``(min, max)`` for every item, after the binding.
    missing_codes
        Codes that mean "no answer", for every item, after the binding.
    reverse
        Reverse-worded items, by model item name or by column name.

    Returns
    -------
    ModelSpec
        Items named after the file's columns, labelled with the file's
        variable labels where it has them, with the file's user-missing codes
        added to their missing codes.

    Raises
    ------
    DataError
        When the binding names a column the data lack, or a column's value
        labels state other scale end points than its item declares.
    SpecError
        For a malformed binding or an unknown item name.

    Warns
    -----
    NoScaleWarning
        When some items have no scale: then no 0-100 index is computed.
    """
    survey = as_survey(data)
    spec = load_model(model, items=items)
    rename: dict[str, str] = {}
    if binding is not None:
        b = binding if isinstance(binding, Binding) else read_binding(binding)
        spec, rename = _apply(spec, b, survey)
    if scale is not None:
        spec = spec.with_scale(*parse_scale(list(scale), "scale"))
    if missing_codes is not None:
        spec = spec.with_missing_codes(parse_codes(list(missing_codes), "missing codes"))
    if reverse is not None:
        spec = spec.with_reverse([rename.get(n, n) for n in ([reverse] if isinstance(reverse, str) else reverse)])
    spec = _metadata(spec, survey)
    check_value_labels(spec, survey, {v: k for k, v in rename.items() if k != v})
    unscaled = [i.name for i in spec.items if not i.has_scale]
    if unscaled:
        warnings.warn(
            f"{len(unscaled)} item(s) of model {spec.name!r} have no scale ({', '.join(unscaled[:5])}"
            f"{', ...' if len(unscaled) > 5 else ''}), so no 0-100 index is computed; declare it with "
            "--scale MIN MAX (scale=(min, max)), scale = [min, max] under [defaults] of a binding file, "
            "'#: scale 1 10 NAMES' in a lavaan-style model or scale = [1, 10] in a TOML model",
            NoScaleWarning,
            stacklevel=2,
        )
    return spec
