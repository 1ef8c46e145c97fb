"""TOML model files: :func:`read_toml` and :func:`to_toml`.

Format
------
::

    name = "ECSI-7"                         # default: the file stem, or "model"
    label = "European Customer Satisfaction Index"
    labels = {zh = "欧洲顾客满意度指数"}     # optional: the label in other languages
    target = "SAT"                          # optional
    paths = [                               # [from, to] or [from, to, sign]; sign + - ? (default ?)
        ["IMAG", "EXPE", "+"],              # {from = "IMAG", to = "EXPE", sign = "+"} also works
    ]
    covariances = [["CUEX1", "CUEX2"]]      # optional residual covariances (CB-SEM only)

    [defaults]                              # item defaults: scale, type, reverse, missing_codes
    scale = [1, 10]
    missing_codes = [98, 99]

    [constructs.IMAG]                       # constructs in declaration order
    label = "Corporate image"
    labels = {zh = "企业形象"}               # optional: the label in other languages
    better = "higher"                       # default; "lower" when a fall is good news (complaints)
    mode = "A"                              # A = reflective (default), B = composite
    items = ["IMAG1", "IMAG2", {name = "IMAG3", label = "...", reverse = true}]
    # scale / type / reverse / missing_codes here override [defaults] for this block

    [constructs.QUALITY]                    # a higher-order construct: measured by other constructs
    mode = "A"                              # (each declared in its own table), instead of items
    constructs = ["PROD", "SERV"]

Every item key (``name``, ``label``, ``labels``, ``scale``, ``type``, ``reverse``,
``missing_codes``) may be given per item; per-item values override the
construct's, which override ``[defaults]``.  ``scale = []`` means "no known
scale".  Keys in the wrong place or misspelt are rejected with the list of
accepted keys, so a typo never silently drops metadata.

:func:`to_toml` writes this format back, and ``read_toml(to_toml(spec)) == spec``
for every valid spec.  Top-level keys come before the tables, as TOML requires.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path as FilePath
from typing import Any

import tomli_w

from csi.errors import ModelSyntaxError, SpecError
from csi.spec.files import is_file, read_model_text
from csi.spec.model import Construct, Covariance, Item, ModelSpec, Path

__all__ = ["read_toml", "to_toml"]

TOP_KEYS = ("name", "label", "labels", "target", "paths", "covariances", "defaults", "constructs")
ITEM_DEFAULT_KEYS = ("scale", "type", "reverse", "missing_codes")
CONSTRUCT_KEYS = ("label", "labels", "better", "mode", "items", "constructs", *ITEM_DEFAULT_KEYS)
ITEM_KEYS = ("name", "label", "labels", *ITEM_DEFAULT_KEYS)
PATH_KEYS = ("from", "to", "sign")


# ------------------------------------------------------------------ reading
def _check_keys(table: Mapping[str, Any], accepted: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in accepted:
            raise SpecError(f"unknown key {key!r} in {where}; accepted keys: {', '.join(accepted)}")


def _expect(value: Any, kind: type | tuple[type, ...], what: str, where: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise SpecError(f"{what} in {where} must be a {names}, got {value!r}")
    return value


def _item_fields(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Item keyword arguments from the item-default keys of a table."""
    out: dict[str, Any] = {}
    if "scale" in table:
        scale = _expect(table["scale"], list, "scale", where)
        if len(scale) == 0:
            out["scale_min"] = out["scale_max"] = None
        elif len(scale) == 2:
            out["scale_min"], out["scale_max"] = scale
        else:
            raise SpecError(f"scale in {where} must be [min, max] (or [] for none), got {scale!r}")
    if "type" in table:
        out["type"] = _expect(table["type"], str, "type", where)
    if "reverse" in table:
        out["reverse"] = _expect(table["reverse"], bool, "reverse", where)
    if "missing_codes" in table:
        out["missing_codes"] = tuple(_expect(table["missing_codes"], list, "missing_codes", where))
    return out


def _construct(name: str, table: Any, defaults: dict[str, Any]) -> Construct:
    where = f"[constructs.{name}]"
    _expect(table, dict, "a construct", "[constructs]")
    _check_keys(table, CONSTRUCT_KEYS, where)
    if "constructs" in table:
        if "items" in table:
            raise SpecError(
                f"{where} has both 'items' and 'constructs'; a construct is measured by items or, as a "
                "higher-order construct, by other constructs, not both"
            )
        comps = _expect(table["constructs"], list, "constructs", where)
        return Construct(name, (), table.get("mode", "A"), table.get("label", ""), table.get("better", "higher"),
                         table.get("labels", ()), components=tuple(comps))  # fmt: skip
    if "items" not in table:
        raise SpecError(
            f"{where} has no 'items'; every construct needs at least one item (or, for a higher-order "
            "construct, 'constructs' naming at least two constructs)"
        )
    block_defaults = {**defaults, **_item_fields(table, where)}
    items = []
    for entry in _expect(table["items"], list, "items", where):
        if isinstance(entry, str):
            items.append(Item(entry, **block_defaults))
            continue
        _expect(entry, dict, "an item", where)
        _check_keys(entry, ITEM_KEYS, f"an item of {where}")
        if "name" not in entry:
            raise SpecError(f"an item of {where} has no 'name': write {{name = \"...\", ...}}")
        fields = {**block_defaults, **_item_fields(entry, f"item {entry['name']!r}")}
        for key in ("label", "labels"):
            if key in entry:
                fields[key] = entry[key]
        items.append(Item(entry["name"], **fields))
    return Construct(name, tuple(items), table.get("mode", "A"), table.get("label", ""),
                     table.get("better", "higher"), table.get("labels", ()))  # fmt: skip


def _path(entry: Any) -> Path:
    if isinstance(entry, dict):
        _check_keys(entry, PATH_KEYS, "a path")
        missing = [k for k in ("from", "to") if k not in entry]
        if missing:
            raise SpecError(f"path {entry!r} lacks {', '.join(missing)}")
        return Path(entry["from"], entry["to"], entry.get("sign", "?"))
    if isinstance(entry, list) and len(entry) in (2, 3) and all(isinstance(x, str) for x in entry):
        return Path(*entry)
    raise SpecError(f"a path is [from, to], [from, to, sign] or {{from, to, sign}}; got {entry!r}")


def _covariance(entry: Any) -> Covariance:
    if isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry):
        return Covariance(*entry)
    raise SpecError(f"a covariance is a pair of names [left, right]; got {entry!r}")


def spec_from_dict(data: Mapping[str, Any], default_name: str = "model") -> ModelSpec:
    """Build a spec from the parsed TOML tables (also usable with JSON or YAML data).

    Parameters
    ----------
    data
        The document as nested dicts and lists.
    default_name
        Model name used when ``data`` has no ``name``.
    """
    _check_keys(data, TOP_KEYS, "the model file (top level)")
    if "constructs" not in data:
        raise SpecError("the model file has no [constructs.NAME] tables")
    defaults_table = _expect(data.get("defaults", {}), dict, "[defaults]", "the model file")
    _check_keys(defaults_table, ITEM_DEFAULT_KEYS, "[defaults]")
    defaults = _item_fields(defaults_table, "[defaults]")
    constructs_table = _expect(data["constructs"], dict, "[constructs]", "the model file")
    constructs = tuple(_construct(n, t, defaults) for n, t in constructs_table.items())
    return ModelSpec(
        name=data.get("name", default_name),
        constructs=constructs,
        paths=tuple(_path(p) for p in _expect(data.get("paths", []), list, "paths", "the model file")),
        target=data.get("target"),
        label=data.get("label", ""),
        covariances=tuple(
            _covariance(c) for c in _expect(data.get("covariances", []), list, "covariances", "the model file")
        ),
        labels=data.get("labels", ()),
    )


def _loads(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        lines = text.split("\n")
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
        if m:
            line, col = int(m.group(1)), int(m.group(2))
        else:  # "(at end of document)"
            line = len(lines)
            col = len(lines[-1]) + 1
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", msg)
        raise ModelSyntaxError(f"TOML syntax error: {reason}", line, col, lines[line - 1]) from None


def read_toml(source: str | os.PathLike[str]) -> ModelSpec:
    """Read a model from a TOML file or TOML text.

    Parameters
    ----------
    source
        A path (``str`` or path-like) to a ``.toml`` file, or the TOML text
        itself (any string that contains a newline or ``=``).

    Returns
    -------
    ModelSpec

    Raises
    ------
    ModelSyntaxError
        The text is not valid TOML (message with line, column and caret).
    SpecError
        Unknown keys, wrong value types or an inconsistent model.
    """
    if not isinstance(source, str | os.PathLike):
        raise SpecError(f"read_toml needs TOML text or a path to a .toml file, got {type(source).__name__}")
    if isinstance(source, os.PathLike) or ("\n" not in source and "=" not in source and not _is_table(source)):
        path = FilePath(source)
        return spec_from_dict(_loads(read_model_text(path)), default_name=path.stem)
    return spec_from_dict(_loads(source))


def _is_table(text: str) -> bool:
    """Whether one-line text opens a TOML table (``[constructs ...``): text, never a file name."""
    return text.lstrip().startswith("[") and not is_file(text)


# ------------------------------------------------------------------ writing
def _v(value: Any) -> str:
    """One TOML value; tomli_w does the quoting and number formatting."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_v(x) for x in value) + "]"
    if isinstance(value, Mapping):  # an inline table (tomli_w would write a [table])
        return "{" + ", ".join(f"{_k(k)} = {_v(v)}" for k, v in value.items()) + "}"
    return tomli_w.dumps({"v": value})[len("v = ") :].rstrip("\n")


def _k(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _v(key)


def _most_common(values: list[Any]) -> Any:
    return Counter(values).most_common(1)[0][0]


def _scale(item: Item) -> tuple[float, float] | None:
    return (item.scale_min, item.scale_max) if item.has_scale else None  # type: ignore[return-value]


def to_toml(spec: ModelSpec) -> str:
    """Write a spec in the TOML model format (see the module docstring).

    The most common item scale, type and missing codes go to ``[defaults]``;
    items list only what differs, and an item with nothing to say is a bare name.
    Fixed values and labels (:class:`~csi.spec.model.Modifier`) have no TOML
    form: such a spec is refused rather than written without them.
    """
    if spec.modifiers:
        m = spec.modifiers[0]
        raise SpecError(
            f"model {spec.name!r} has fixed values or labels ({m.lhs} {m.op} ...*{m.rhs}), which the TOML format "
            "cannot hold; save it as lavaan-style text (render_lavaan) instead"
        )
    items = spec.items
    defaults: dict[str, Any] = {}
    scales = [_scale(i) for i in items]
    if None not in scales:
        defaults["scale"] = _most_common(scales)
    types = [i.type for i in items]
    if _most_common(types) != "interval":
        defaults["type"] = _most_common(types)
    codes = [i.missing_codes for i in items]
    if _most_common(codes):
        defaults["missing_codes"] = _most_common(codes)

    out = [f"name = {_v(spec.name)}"]
    if spec.label:
        out.append(f"label = {_v(spec.label)}")
    if spec.labels:
        out.append(f"labels = {_v(dict(spec.labels))}")
    if spec.target is not None:
        out.append(f"target = {_v(spec.target)}")
    if spec.paths:
        out.append("paths = [")
        out += [f"    {_v([p.source, p.target, p.sign])}," for p in spec.paths]
        out.append("]")
    if spec.covariances:
        out.append("covariances = [")
        out += [f"    {_v([c.left, c.right])}," for c in spec.covariances]
        out.append("]")
    if defaults:
        out += ["", "[defaults]"] + [f"{k} = {_v(v)}" for k, v in defaults.items()]
    for c in spec.constructs:
        out += ["", f"[constructs.{_k(c.name)}]"]
        if c.label:
            out.append(f"label = {_v(c.label)}")
        if c.labels:
            out.append(f"labels = {_v(dict(c.labels))}")
        if c.better != "higher":
            out.append(f"better = {_v(c.better)}")
        out.append(f"mode = {_v(c.mode)}")
        if c.components:
            out.append(f"constructs = {_v(list(c.components))}")
            continue
        out.append("items = [")
        for i in c.items:
            fields: dict[str, Any] = {}
            if i.label:
                fields["label"] = i.label
            if i.labels:
                fields["labels"] = dict(i.labels)
            if _scale(i) != defaults.get("scale"):
                fields["scale"] = _scale(i) or []
            if i.type != defaults.get("type", "interval"):
                fields["type"] = i.type
            if i.reverse:
                fields["reverse"] = True
            if i.missing_codes != defaults.get("missing_codes", ()):
                fields["missing_codes"] = i.missing_codes
            if fields:
                body = ", ".join(f"{k} = {_v(v)}" for k, v in {"name": i.name, **fields}.items())
                out.append(f"    {{ {body} }},")
            else:
                out.append(f"    {_v(i.name)},")
        out.append("]")
    return "\n".join(out) + "\n"
