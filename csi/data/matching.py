"""Proposing a binding of a model to a survey file (``csi bind``).

The proposal is a starting point the user checks and edits, so it says for
every line where it came from.  Rules, in order:

1. **Items to columns.**  A column named like the item (exactly, ignoring case,
   or ignoring separators and leading zeros: ``imag_01`` for ``IMAG1``); else a
   column that is a prefix plus the item (``Q1_IMAG1``, ``ecsi.imag1``), when the
   prefix is shared by several items or separated from the item name.
2. **Whole blocks.**  A construct none of whose items matched gets the
   numbered columns whose stem (name without trailing numbers) ends with the
   construct's name, the stem of its item names or the last word of its label,
   or starts with the construct's name (``sat_1, sat_2, sat_3`` or
   ``satisfaction_1, ...`` for ``SAT``; a one-item construct may take one
   unnumbered column), in numeric order, as a replacement block (which keeps the items' metadata position by
   position when the counts agree).
3. **Missing codes.**  The file's user-missing values, plus the usual
   "don't know / refused" codes (:data:`COMMON_MISSING_CODES`) that occur in
   a matched column far outside its other values (above twice their largest
   absolute value, or negative when the others are not).
4. **Scale.**  The end points stated by the value labels; else the model's
   scale when the observed answers lie within it; else the usual scale that
   holds the observed answers (``[0 or 1, 5 | 7 | 10 | 100]``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from csi.data.binding import Binding, as_survey
from csi.data.survey import Survey
from csi.spec.load import load_model
from csi.spec.model import ModelSpec

COMMON_MISSING_CODES = (-99.0, -9.0, -8.0, -7.0, -1.0, 97.0, 98.0, 99.0, 997.0, 998.0, 999.0, 9999.0)
"""Codes survey software commonly uses for "don't know", "refused" or "not asked"."""

USUAL_MAXIMA = (5.0, 7.0, 10.0, 100.0)


@dataclass(frozen=True)
class Match:
    """How one model item was matched: ``column`` is ``None`` when nothing matched."""

    item: str
    construct: str
    column: str | None
    how: str
    label: str = ""


@dataclass(frozen=True)
class Proposal:
    """A proposed binding with the reasons for each line (:func:`propose_binding`)."""

    model: str
    data: str
    matches: tuple[Match, ...]
    blocks: Mapping[str, tuple[str, ...]]
    scale: tuple[float, float] | None
    scale_note: str
    item_scales: Mapping[str, tuple[float, float]]
    missing_codes: tuple[float, ...]
    codes_note: str
    notes: tuple[str, ...] = field(default=())

    @property
    def binding(self) -> Binding:
        """The proposal as a :class:`~csi.data.binding.Binding` (what :meth:`to_toml` writes)."""
        columns = {m.item: m.column for m in self.matches if m.column is not None}
        options = {k: {"scale": v} for k, v in self.item_scales.items()}
        return Binding(columns, self.blocks, options, self.scale, self.missing_codes or None, f"{self.data} proposal")

    @property
    def unmatched(self) -> tuple[str, ...]:
        """Model items without a column (and not in a proposed block)."""
        return tuple(m.item for m in self.matches if m.column is None and m.construct not in self.blocks)

    def to_toml(self, command: str = "csi fit MODEL DATA --binding FILE") -> str:
        """The binding file, commented line by line."""
        out = [
            f"# Binding of model {_s(self.model)} to {_s(self.data)}, proposed by csi bind.",
            "# Check every line, edit what is wrong, then use it with",
            f"#   {command}",
            '# [items]   model item = "column", or { column = "...", scale = [min, max], missing_codes = [...],',
            '#           reverse = true, label = "..." }; an item left out keeps its own name.',
            '# [blocks]  construct = ["column", ...] replaces the whole block of the construct.',
            "# [defaults] scale and missing codes of every item (an item's own entry overrides them).",
            "",
            f"model = {_s(self.model)}",
            f"data = {_s(self.data)}",
            "",
            "[defaults]",
        ]
        if self.scale is not None:
            out.append(f"scale = {_list(self.scale)}  # {self.scale_note}")
        else:
            out.append(f"# scale = [1, 10]  # {self.scale_note}: without a scale no 0-100 index is computed")
        out.append(f"missing_codes = {_list(self.missing_codes)}  # {self.codes_note}")
        out += ["", "[items]"]
        for m in self.matches:
            if m.construct in self.blocks:
                continue
            note = m.how + (f"; {_s(m.label)}" if m.label else "")
            if m.column is None:
                out.append(f'# {_k(m.item)} = ""  # {note}')
            elif m.item in self.item_scales:
                entry = f"{{ column = {_s(m.column)}, scale = {_list(self.item_scales[m.item])} }}"
                out.append(f"{_k(m.item)} = {entry}  # {note}")
            else:
                out.append(f"{_k(m.item)} = {_s(m.column)}  # {note}")
        out += ["", "[blocks]"]
        for construct, cols in self.blocks.items():
            out.append(f"{_k(construct)} = [{', '.join(map(_s, cols))}]  # whole block by column names")
        return "\n".join(out) + "\n"

    def summary(self) -> str:
        """A short text for the terminal: matches, scale, missing codes, notes."""
        n = len(self.matches)
        found = sum(m.column is not None or m.construct in self.blocks for m in self.matches)
        lines = [f"Binding of {self.model} to {self.data}: {found} of {n} items matched to a column"]
        for m in self.matches:
            if m.construct not in self.blocks:
                lines.append(f"  {m.item:<12} -> {m.column or '(none)':<24} {m.how}")
        for construct, cols in self.blocks.items():
            lines.append(f"  {construct:<12} -> block of {len(cols)} column(s): {', '.join(cols)}")
        scale = f"[{self.scale[0]:g}, {self.scale[1]:g}]" if self.scale else "none"
        lines.append(f"Scale: {scale} ({self.scale_note})")
        codes = ", ".join(f"{c:g}" for c in self.missing_codes) or "none"
        lines.append(f"Missing codes: {codes} ({self.codes_note})")
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)


def _s(text: str) -> str:
    # TOML basic strings accept JSON's escapes.
    return json.dumps(text, ensure_ascii=False)


def _k(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _s(key)


def _list(values: Any) -> str:
    return "[" + ", ".join(f"{float(v):g}" if float(v).is_integer() else repr(float(v)) for v in values) + "]"


def norm(name: str) -> str:
    """A name without case, separators or leading zeros of numbers: ``"Q01_Imag-1"`` -> ``"q1imag1"``."""
    text = re.sub(r"[^0-9a-z]", "", name.lower())
    return re.sub(r"(?<!\d)0+(?=\d)", "", text)


def _stem(name: str) -> str:
    return re.sub(r"\d+$", "", norm(name))


def _trailing_number(name: str) -> int:
    m = re.search(r"(\d+)\D*$", name)
    return int(m.group(1)) if m else 0


def _match_items(spec: ModelSpec, columns: list[str]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    used: set[str] = set()
    for how, same in (
        ("same name", lambda i, c: i == c),
        ("same name, other case", lambda i, c: i.lower() == c.lower()),
        ("same name, other spelling", lambda i, c: norm(i) == norm(c)),
    ):
        for item in spec.item_names:
            if item in found:
                continue
            hits = [c for c in columns if c not in used and same(item, c)]
            if len(hits) == 1:
                found[item] = (hits[0], how)
                used.add(hits[0])
    # Prefixes: a column "<prefix><item>" where the prefix is shared by several items or set off by a separator.
    candidates: dict[str, list[tuple[str, str]]] = {}
    for item in spec.item_names:
        if item in found or not norm(item):
            continue
        key = norm(item)
        for c in columns:
            nc = norm(c)
            if c not in used and nc.endswith(key) and len(nc) > len(key):
                candidates.setdefault(item, []).append((nc[: -len(key)], c))
    counts = Counter(p for pairs in candidates.values() for p in {pre for pre, _ in pairs})
    for item, pairs in candidates.items():
        pairs = [(pre, c) for pre, c in pairs if c not in used]
        ranked = sorted(pairs, key=lambda pc: (-counts[pc[0]], len(pc[0])))
        for pre, c in ranked:
            separated = bool(re.search(r"[^0-9A-Za-z]" + re.escape(item) + "$", c, re.IGNORECASE))
            if counts[pre] >= 2 or separated:
                found[item] = (c, f"prefix {pre!r}" if counts[pre] >= 2 else "prefix")
                used.add(c)
                break
    return found


def _match_blocks(spec: ModelSpec, columns: list[str], found: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    used = {c for c, _ in found.values()}
    free = [c for c in columns if c not in used]
    blocks: dict[str, list[str]] = {}
    for construct in spec.constructs:
        if any(i in found for i in construct.item_names):
            continue
        name = norm(construct.name)
        words = re.findall(r"[a-z]+", construct.label.lower())
        stems = {name, *(_stem(i) for i in construct.item_names), *words[-1:]} - {""}
        cols = [c for c in free if _block_column(_stem(c), name, stems)]
        numbered = [c for c in cols if re.search(r"\d\D*$", c)]
        # A one-item construct may match one unnumbered column (COMP: "complaint_handling").
        cols = numbered or (cols if len(construct.items) == 1 and len(cols) == 1 else [])
        if cols:
            blocks[construct.name] = sorted(cols, key=_trailing_number)
            free = [c for c in free if c not in cols]
    return blocks


def _block_column(stem: str, name: str, stems: set[str]) -> bool:
    return any(stem.endswith(s) for s in stems) or (len(name) >= 3 and stem.startswith(name))


def _numeric(series: pd.Series) -> np.ndarray | None:
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return None
    values = series.to_numpy(dtype=float, na_value=np.nan)
    return values[np.isfinite(values)]


def _codes_in(values: np.ndarray) -> list[float]:
    present = [c for c in COMMON_MISSING_CODES if np.any(values == c)]
    others = values[~np.isin(values, COMMON_MISSING_CODES)]
    if not present or not others.size:
        return []
    top = float(np.max(np.abs(others)))
    return [c for c in present if (c > 0 and c > 2 * top) or (c < 0 and others.min() >= 0)]


def _labelled_codes(survey: Survey, column: str) -> list[float]:
    return _codes_in(np.asarray(sorted(survey.value_labels.get(column, {})), dtype=float))


def _usual_scale(lo: float, hi: float) -> tuple[float, float]:
    low = 0.0 if lo == 0 else (1.0 if lo >= 1 else lo)
    high = next((m for m in USUAL_MAXIMA if hi <= m), hi)
    return (low, high) if high > low else (lo, hi)


def _scale_of(item: Any, survey: Survey, column: str, codes: list[float]) -> tuple[tuple[float, float] | None, str]:
    stated = survey.labelled_scale(column, tuple(codes))
    if stated is not None:
        return stated, "value labels"
    values = _numeric(survey.data[column])
    if values is None:
        return None, "column is not numeric"
    values = values[~np.isin(values, codes)]
    if not values.size:
        return None, "no answers"
    lo, hi = float(values.min()), float(values.max())
    if item.has_scale and item.scale_min <= lo and hi <= item.scale_max:
        return (item.scale_min, item.scale_max), "the model's scale"
    return _usual_scale(lo, hi), f"observed answers {lo:g}-{hi:g}"


def propose_binding(model: ModelSpec | str, data: Survey | pd.DataFrame) -> Proposal:
    """Propose how a model's items map to a survey's columns, with scale and missing codes.

    Parameters
    ----------
    model
        A model name, file or text, or a ModelSpec (:func:`csi.load_model`).
    data
        A :class:`~csi.data.survey.Survey` (its variable labels, value labels
        and user-missing codes are used) or a DataFrame.

    Returns
    -------
    Proposal
        ``to_toml()`` gives the file ``csi bind`` writes; ``binding`` the
        :class:`~csi.data.binding.Binding` it stands for.  The rules are in the
        module docstring.
    """
    spec = load_model(model)
    survey = as_survey(data)
    columns = list(survey.columns)
    found = _match_items(spec, columns)
    blocks = _match_blocks(spec, columns, found)
    pairs = [(spec.items[spec.item_names.index(i)], c) for i, (c, _) in found.items()]
    pairs += [(spec.construct(k).items[0], c) for k, cols in blocks.items() for c in cols]

    file_codes = sorted({c for _, col in pairs for c in survey.missing_codes.get(col, ())})
    data_codes: set[float] = set()
    per_column: dict[str, list[float]] = {}
    for _, col in pairs:
        values = _numeric(survey.data[col])
        codes = sorted(set(_codes_in(values) if values is not None else []) | set(_labelled_codes(survey, col)))
        per_column[col] = codes
        data_codes.update(codes)
    model_codes = sorted({c for i, _ in pairs for c in i.missing_codes})
    codes = tuple(sorted(set(file_codes) | data_codes | set(model_codes)))
    sources = [("user-missing in the file", file_codes), ("found in the data", sorted(data_codes - set(file_codes))),
               ("from the model", sorted(set(model_codes) - set(file_codes) - data_codes))]  # fmt: skip
    codes_note = "; ".join(f"{', '.join(f'{c:g}' for c in cs)}: {what}" for what, cs in sources if cs) or "none found"

    scales = {col: _scale_of(item, survey, col, list(codes)) for item, col in pairs}
    counted = Counter(s for s, _ in scales.values() if s is not None)
    scale = counted.most_common(1)[0][0] if counted else None
    if scale is not None:
        why = Counter(w for s, w in scales.values() if s == scale).most_common(1)[0][0]
        n = sum(s == scale for s, _ in scales.values())
        scale_note = f"{why} of {n} of {len(scales)} column(s)"
    else:
        scale_note = "no scale found" if pairs else "no column matched"
    item_scales = {i: scales[c][0] for i, (c, _) in found.items() if scales[c][0] not in (None, scale)}

    labels = {c: survey.label(c) for c in columns}
    used = {c for c, _ in found.values()} | {c for cols in blocks.values() for c in cols}
    matches = tuple(
        Match(i, spec.block_of(i), found[i][0], found[i][1], labels[found[i][0]])
        if i in found
        else Match(i, spec.block_of(i), None, _unmatched_note(spec.items[spec.item_names.index(i)], survey, used))
        for i in spec.item_names
    )
    notes = []
    odd = [c for c, (s, w) in scales.items() if s is None]
    if odd:
        notes.append(f"no scale for column(s) {', '.join(odd)} ({scales[odd[0]][1]})")
    return Proposal(spec.name, survey.source, matches, {k: tuple(v) for k, v in blocks.items()}, scale,
                    scale_note, item_scales, codes, codes_note, tuple(notes))  # fmt: skip


def _unmatched_note(item: Any, survey: Survey, used: set[str]) -> str:
    free = {c.lower(): c for c in survey.columns if c not in used}
    near = [free[h] for h in difflib.get_close_matches(item.name.lower(), list(free), n=3, cutoff=0.5)]
    # The question text often survives a renamed column: compare the model's label with the file's labels.
    if item.label:
        texts = {survey.label(c).lower(): c for c in free.values() if survey.label(c)}
        near += [texts[h] for h in difflib.get_close_matches(item.label.lower(), list(texts), n=2, cutoff=0.6)]
    near = list(dict.fromkeys(near))
    return "no column found" + (f" (closest: {', '.join(near)})" if near else "")
