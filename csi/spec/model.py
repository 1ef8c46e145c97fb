"""The canonical, frozen model specification every front end compiles to.

A :class:`ModelSpec` is data: constructs (each a block of items with a
measurement mode), directed structural paths with an expected sign, and the
construct whose index is the headline number.  The TOML files, the lavaan-style
text and the Python builder all produce one; the PLS kernels, reports and the
semopy adapter all read one.  Parameter labels such as ``SAT ~ QUAL`` are built
from it in one place (:meth:`ModelSpec.path_labels` and friends).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from csi.errors import SpecError
from csi.spec.parameters import parameter_label

MODES = ("A", "B")
"""Measurement modes: A = reflective / correlation weights, B = composite / regression weights."""

SIGNS = ("+", "-", "?")
"""Expected signs of a path; used only to flag estimates, never to constrain them."""

ITEM_TYPES = ("interval", "ordinal", "binary", "percent")


BETTER = ("higher", "lower")
"""Which direction of a construct's index is good news (:attr:`Construct.better`)."""


def _language_labels(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """``{code: text}`` or ``(code, text)`` pairs as sorted pairs; codes are short language tags."""
    pairs = value.items() if isinstance(value, Mapping) else value
    try:
        out = {k: v for k, v in pairs}
    except (TypeError, ValueError):
        raise SpecError(f"{where}: labels must map language codes to text, e.g. {{zh = \"...\"}}; got {value!r}") from None
    for k, v in out.items():
        if not (isinstance(k, str) and re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", k)) or not isinstance(v, str):
            raise SpecError(f"{where}: labels entry {k!r} = {v!r} is not accepted; give a language code such as "
                            "'zh' or 'en' and a text")  # fmt: skip
    return tuple(sorted(out.items()))


@dataclass(frozen=True)
class Item:
    """One survey item (manifest variable).

    Parameters
    ----------
    name
        Column name in the data.
    scale_min, scale_max
        Theoretical end points of the response scale (e.g. 1 and 10), used by
        the 0-100 index.  ``None`` when unknown (e.g. a model given as text).
    reverse
        Reverse-worded item, recoded as ``scale_min + scale_max - x`` before
        estimation.
    missing_codes
        Response codes that mean "don't know" / "refused" and are treated as
        missing.
    type
        One of :data:`ITEM_TYPES`.
    label
        Human-readable question text.
    labels
        The question text in other languages, ``{language code: text}``
        (e.g. ``{"zh": "..."}``); stored as sorted ``(code, text)`` pairs.
    """

    name: str
    scale_min: float | None = None
    scale_max: float | None = None
    reverse: bool = False
    missing_codes: tuple[float, ...] = ()
    type: str = "interval"
    label: str = ""
    labels: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"an item name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "labels", _language_labels(self.labels, f"item {self.name!r}"))
        self._check_fields()

    def label_in(self, language: str) -> str:
        """The question text in ``language``, falling back to :attr:`label`, then the name."""
        return dict(self.labels).get(language) or self.label or self.name

    def _check_fields(self) -> None:
        if (self.scale_min is None) != (self.scale_max is None):
            raise SpecError(
                f"item {self.name!r}: give both scale_min and scale_max or neither "
                f"(got scale_min={self.scale_min!r}, scale_max={self.scale_max!r})"
            )
        if self.scale_min is not None:
            for bound in (self.scale_min, self.scale_max):
                if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
                    raise SpecError(f"item {self.name!r}: scale bounds must be finite numbers, got {bound!r}")
            if not self.scale_max > self.scale_min:
                raise SpecError(
                    f"item {self.name!r}: scale_max ({self.scale_max}) must exceed scale_min ({self.scale_min})"
                )
        if not isinstance(self.reverse, bool):
            raise SpecError(f"item {self.name!r}: reverse must be True or False, got {self.reverse!r}")
        if self.reverse and self.scale_min is None:
            raise SpecError(f"item {self.name!r} is reverse-coded, which needs scale_min and scale_max")
        if self.type not in ITEM_TYPES:
            raise SpecError(f"item {self.name!r}: unknown type {self.type!r}; accepted: {', '.join(ITEM_TYPES)}")
        if isinstance(self.missing_codes, (str, bytes)) or not isinstance(self.missing_codes, Iterable):
            raise SpecError(f"item {self.name!r}: missing_codes must be a list of numbers, got {self.missing_codes!r}")
        codes = tuple(self.missing_codes)
        for code in codes:
            # NaN would make two equal specs compare unequal, and a missing code of NaN is meaningless anyway.
            if isinstance(code, bool) or not isinstance(code, (int, float)) or not math.isfinite(code):
                raise SpecError(f"item {self.name!r}: missing codes must be finite numbers, got {code!r}")
        object.__setattr__(self, "missing_codes", codes)
        if not isinstance(self.label, str):
            raise SpecError(f"item {self.name!r}: label must be a string, got {self.label!r}")

    @property
    def has_scale(self) -> bool:
        """Whether the theoretical scale end points are known."""
        return self.scale_min is not None


@dataclass(frozen=True)
class Construct:
    """A latent variable and its block of items.

    Parameters
    ----------
    name
        Short identifier used in paths and labels (e.g. ``"SAT"``).
    items
        The block's items, in order.
    mode
        ``"A"`` (reflective, ``=~``) or ``"B"`` (composite, ``<~``).
    label
        Long name for reports (e.g. ``"Customer satisfaction"``).
    better
        ``"higher"`` (default) when a rise of the construct's index is good
        news, ``"lower"`` when a fall is (complaints): reports colour and word
        changes by it.
    labels
        The long name in other languages, ``{language code: text}``; stored
        as sorted ``(code, text)`` pairs.
    components
        For a higher-order construct: the names of the constructs that measure
        it (``QUAL =~ PROD + SERV``), at least two; its ``items`` are then
        empty.  A construct is measured by items or by constructs, never both.
        See :mod:`csi.estimators.hoc` for how such models are estimated.
    """

    name: str
    items: tuple[Item, ...]
    mode: str = "A"
    label: str = ""
    better: str = "higher"
    labels: tuple[tuple[str, str], ...] = ()
    components: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise SpecError(
                f"construct name {self.name!r} is not accepted: use letters, digits and underscores, "
                "not starting with a digit"
            )
        # A bare string would otherwise be split into one item per character.
        raw = (self.items,) if isinstance(self.items, (str, Item)) else self.items
        items = tuple(Item(i) if isinstance(i, str) else i for i in raw)
        for i in items:
            if not isinstance(i, Item):
                raise SpecError(f"construct {self.name!r}: items must be names or Item objects, got {i!r}")
        object.__setattr__(self, "items", items)
        self._check_components()
        if not items and not self.components:
            raise SpecError(
                f"construct {self.name!r} has no items; every construct needs at least one item (or, for a "
                "higher-order construct, at least two constructs)"
            )
        if self.mode not in MODES:
            raise SpecError(
                f"construct {self.name!r}: unknown mode {self.mode!r}; accepted: 'A' (reflective, =~) "
                "or 'B' (composite, <~)"
            )
        if not isinstance(self.label, str):
            raise SpecError(f"construct {self.name!r}: label must be a string, got {self.label!r}")
        if self.better not in BETTER:
            raise SpecError(
                f"construct {self.name!r}: better = {self.better!r} is not accepted; accepted: 'higher' "
                "(a rise is good news, the default) or 'lower' (a fall is, e.g. complaints)"
            )
        object.__setattr__(self, "labels", _language_labels(self.labels, f"construct {self.name!r}"))
        names = [i.name for i in items]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(f"construct {self.name!r} lists item(s) {', '.join(dup)} more than once")

    def _check_components(self) -> None:
        raw = self.components
        comps = (raw,) if isinstance(raw, str) else raw
        if not isinstance(comps, Iterable) or not all(isinstance(c, str) and c.isidentifier() for c in comps):
            raise SpecError(
                f"construct {self.name!r}: components must be construct names (identifiers), got {raw!r}"
            )
        comps = tuple(comps)
        object.__setattr__(self, "components", comps)
        if not comps:
            return
        if self.items:
            raise SpecError(
                f"construct {self.name!r} is measured by items ({', '.join(self.item_names)}) and by constructs "
                f"({', '.join(comps)}); a construct is measured by items or, as a higher-order construct, by "
                "other constructs, not both"
            )
        dup = sorted({c for c in comps if comps.count(c) > 1})
        if dup:
            raise SpecError(f"higher-order construct {self.name!r} lists component(s) {', '.join(dup)} more than once")
        if len(comps) < 2:
            raise SpecError(
                f"higher-order construct {self.name!r} has one component ({comps[0]}); a higher-order construct "
                "needs at least two (with one, use the component itself)"
            )

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.items)

    @property
    def is_higher_order(self) -> bool:
        """Whether the construct is measured by other constructs (:attr:`components`) rather than items."""
        return bool(self.components)

    def label_in(self, language: str) -> str:
        """The long name in ``language`` (``"en"``: :attr:`label`), falling back to :attr:`label`, then the name."""
        return dict(self.labels).get(language) or self.label or self.name


@dataclass(frozen=True)
class Path:
    """A directed structural path ``source -> target`` with an expected sign."""

    source: str
    target: str
    sign: str = "?"

    def __post_init__(self) -> None:
        if self.sign not in SIGNS:
            raise SpecError(
                f"path {self.source} -> {self.target}: unknown expected sign {self.sign!r}; accepted: + - ?"
            )

    @property
    def label(self) -> str:
        """lavaan-style label, ``target ~ source``."""
        return parameter_label(self.target, "~", self.source)


@dataclass(frozen=True)
class Covariance:
    """A free residual covariance ``a ~~ b`` (items or constructs), for CB-SEM."""

    left: str
    right: str


MODIFIER_OPS = ("=~", "~", "~~")
"""Operators whose parameters a :class:`Modifier` can fix, free or label."""


@dataclass(frozen=True)
class Modifier:
    """A fixed value, free marker or label on one parameter of the model text (CB-SEM only).

    lavaan's premultipliers (Rosseel 2012, section 5): ``F =~ 1*x`` fixes the
    loading at 1, ``F =~ NA*x`` frees a loading that would otherwise be the
    marker (fixed at 1), ``a*x`` labels the parameter; parameters that share a
    label are constrained equal.

    Parameters
    ----------
    lhs, op, rhs
        The parameter as lavaan writes it: ``F =~ x`` (loading), ``T ~ S``
        (path), ``a ~~ b`` (covariance, ``a ~~ a`` a variance).
    fixed
        The value the parameter is fixed at; ``None`` leaves it free.
    label
        Equality label (a Python identifier); ``""`` for none.  A modifier with
        neither a fixed value nor a label is a free marker (``NA*x``).
    """

    lhs: str
    op: str
    rhs: str
    fixed: float | None = None
    label: str = ""

    def __post_init__(self) -> None:
        where = f"modifier on {self.lhs} {self.op} {self.rhs}"
        if self.op not in MODIFIER_OPS:
            raise SpecError(f"{where}: unknown operator {self.op!r}; accepted: {', '.join(MODIFIER_OPS)}")
        if self.fixed is not None:
            if isinstance(self.fixed, bool) or not isinstance(self.fixed, (int, float)) or not math.isfinite(self.fixed):
                raise SpecError(f"{where}: a fixed value must be a finite number, got {self.fixed!r}")
            object.__setattr__(self, "fixed", float(self.fixed))
        if not isinstance(self.label, str) or (self.label and not self.label.isidentifier()):
            raise SpecError(f"{where}: a label must be letters, digits and '_' (not starting with a digit), "
                            f"got {self.label!r}")  # fmt: skip
        if self.fixed is not None and self.label:
            raise SpecError(f"{where}: give a fixed value or a label, not both")

    @property
    def key(self) -> tuple[str, str, str]:
        """``(op, lhs, rhs)`` with the two ends of a covariance in sorted order: one spelling per parameter."""
        a, b = (sorted((self.lhs, self.rhs)) if self.op == "~~" else (self.lhs, self.rhs))
        return (self.op, a, b)

    @property
    def is_free_marker(self) -> bool:
        """``NA*x``: explicitly free, no label."""
        return self.fixed is None and not self.label


@dataclass(frozen=True)
class ModelSpec:
    """A customer-satisfaction path model.

    Construct order is the declaration order; the PLS kernels use it for the
    rows and columns of every construct matrix.  Instances are immutable and
    compare equal when every field is equal, so a round trip through TOML or
    lavaan text can be checked with ``==``.

    Parameters
    ----------
    name
        Model identifier (e.g. ``"ECSI-7"``).
    constructs
        The measurement model.
    paths
        The structural model; must be acyclic.
    target
        The construct whose index is the headline number (``None``: none).
    label
        Long description.
    covariances
        Residual covariances (``~~``); only covariance-based SEM uses them.
    labels
        The long description in other languages, ``{language code: text}``;
        stored as sorted ``(code, text)`` pairs.
    modifiers
        Fixed values, free markers and equality labels of CB-SEM parameters
        (``1*x``, ``NA*x``, ``a*x``); kept in a canonical order.
    """

    name: str
    constructs: tuple[Construct, ...]
    paths: tuple[Path, ...] = ()
    target: str | None = None
    label: str = ""
    covariances: tuple[Covariance, ...] = field(default=())
    labels: tuple[tuple[str, str], ...] = ()
    modifiers: tuple[Modifier, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _language_labels(self.labels, f"model {self.name!r}"))
        object.__setattr__(self, "constructs", tuple(self.constructs))
        object.__setattr__(self, "paths", tuple(self.paths))
        object.__setattr__(self, "covariances", tuple(self.covariances))
        mods = tuple(self.modifiers)
        for m in mods:
            if not isinstance(m, Modifier):
                raise SpecError(f"model {self.name!r}: modifiers must be Modifier objects, got {m!r}")
        # Canonical order, so that specs from different texts of the same model compare equal.
        object.__setattr__(self, "modifiers", tuple(sorted(mods, key=lambda m: m.key)))
        _validate(self)

    def label_in(self, language: str) -> str:
        """The long description in ``language``, falling back to :attr:`label`."""
        return dict(self.labels).get(language) or self.label

    # ------------------------------------------------------------------ names
    @property
    def construct_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.constructs)

    @property
    def item_names(self) -> tuple[str, ...]:
        """Every item, block by block in construct order."""
        return tuple(n for c in self.constructs for n in c.item_names)

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(i for c in self.constructs for i in c.items)

    def construct(self, name: str) -> Construct:
        """The construct called ``name``; a :class:`SpecError` lists the valid names otherwise."""
        for c in self.constructs:
            if c.name == name:
                return c
        raise SpecError(f"unknown construct {name!r}; the model has {', '.join(self.construct_names)}")

    # ----------------------------------------------------------- higher order
    @property
    def higher_order(self) -> tuple[str, ...]:
        """Constructs measured by other constructs (higher-order constructs), in construct order."""
        return tuple(c.name for c in self.constructs if c.components)

    def components_of(self, name: str) -> tuple[str, ...]:
        """The constructs measuring ``name`` (empty for a first-order construct)."""
        return self.construct(name).components

    def parent_of(self, name: str) -> str | None:
        """The higher-order construct that ``name`` is a component of, or None."""
        self.construct(name)
        return next((c.name for c in self.constructs if name in c.components), None)

    def order(self, name: str) -> int:
        """1 for a construct measured by items, 1 + the highest order of its components otherwise."""
        comps = self.construct(name).components
        return 1 + max(self.order(c) for c in comps) if comps else 1

    @property
    def orders(self) -> dict[str, int]:
        """The :meth:`order` of every construct, in construct order."""
        return {n: self.order(n) for n in self.construct_names}

    def block_of(self, item: str) -> str:
        """Name of the construct that item ``item`` belongs to."""
        for c in self.constructs:
            if item in c.item_names:
                return c.name
        raise SpecError(f"unknown item {item!r}; the model's items are {', '.join(self.item_names)}")

    # --------------------------------------------------------------- matrices
    @property
    def block_index(self) -> np.ndarray:
        """``(p,)`` int array: the construct index of every item (in :attr:`item_names` order)."""
        return np.repeat(np.arange(len(self.constructs)), [len(c.items) for c in self.constructs])

    @property
    def block_mask(self) -> np.ndarray:
        """``(p, J)`` 0/1 float matrix: item h belongs to construct j."""
        mask = np.zeros((len(self.item_names), len(self.constructs)))
        mask[np.arange(mask.shape[0]), self.block_index] = 1.0
        return mask

    @property
    def adjacency(self) -> np.ndarray:
        """``(J, J)`` 0/1 float matrix ``D`` with ``D[j, k] = 1`` when path k -> j exists.

        Rows are the dependent (to) construct, columns the predictor (from)
        construct, as in R plspm's ``path_coefs``.
        """
        idx = {n: i for i, n in enumerate(self.construct_names)}
        d = np.zeros((len(idx), len(idx)))
        for p in self.paths:
            d[idx[p.target], idx[p.source]] = 1.0
        return d

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(c.mode for c in self.constructs)

    @property
    def endogenous(self) -> tuple[str, ...]:
        """Constructs with at least one incoming path, in construct order."""
        targets = {p.target for p in self.paths}
        return tuple(n for n in self.construct_names if n in targets)

    @property
    def exogenous(self) -> tuple[str, ...]:
        targets = {p.target for p in self.paths}
        return tuple(n for n in self.construct_names if n not in targets)

    def predecessors(self, name: str) -> tuple[str, ...]:
        """Constructs with a path into ``name``, in construct order."""
        self.construct(name)
        src = {p.source for p in self.paths if p.target == name}
        return tuple(n for n in self.construct_names if n in src)

    def successors(self, name: str) -> tuple[str, ...]:
        self.construct(name)
        dst = {p.target for p in self.paths if p.source == name}
        return tuple(n for n in self.construct_names if n in dst)

    # ------------------------------------------------------------- rebinding
    def with_items(self, mapping: Mapping[str, Iterable[str]] | Mapping[str, str]) -> ModelSpec:
        """Bind the model to other column names.

        Parameters
        ----------
        mapping
            Either construct -> list of column names (replacing the whole
            block; scale metadata is kept position by position when the block
            keeps its length), or item -> column name (renaming single items).

        Returns
        -------
        ModelSpec
            A new spec; ``self`` is unchanged.
        """
        names = set(self.construct_names)
        items = set(self.item_names)
        new_constructs = []
        for c in self.constructs:
            if c.name in mapping:
                cols = mapping[c.name]
                cols = [cols] if isinstance(cols, str) else list(cols)
                if len(cols) == len(c.items):
                    new_items = tuple(replace(it, name=col) for it, col in zip(c.items, cols, strict=True))
                else:
                    proto = c.items[0]
                    new_items = tuple(replace(proto, name=col, label="") for col in cols)
                new_constructs.append(replace(c, items=new_items))
            else:
                new_items = tuple(replace(it, name=mapping[it.name]) if it.name in mapping else it for it in c.items)
                new_constructs.append(replace(c, items=new_items))
        unknown = [k for k in mapping if k not in names and k not in items]
        if unknown:
            raise SpecError(
                f"cannot bind {', '.join(map(repr, unknown))}: not a construct or item of model "
                f"{self.name!r} (constructs: {', '.join(self.construct_names)})"
            )
        return replace(self, constructs=tuple(new_constructs))

    def with_scale(self, scale_min: float, scale_max: float) -> ModelSpec:
        """A copy in which every item has the given theoretical scale bounds."""
        return replace(
            self,
            constructs=tuple(
                replace(c, items=tuple(replace(i, scale_min=scale_min, scale_max=scale_max) for i in c.items))
                for c in self.constructs
            ),
        )

    def with_missing_codes(self, codes: Iterable[float]) -> ModelSpec:
        """A copy in which every item treats ``codes`` (e.g. 98 = "don't know") as missing."""
        codes = tuple(codes)
        return replace(
            self,
            constructs=tuple(
                replace(c, items=tuple(replace(i, missing_codes=codes) for i in c.items)) for c in self.constructs
            ),
        )

    def with_reverse(self, names: Iterable[str]) -> ModelSpec:
        """A copy in which the items called ``names`` are reverse-worded (recoded before estimation)."""
        names = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in names if n not in self.item_names]
        if unknown:
            raise SpecError(
                f"cannot reverse {', '.join(map(repr, unknown))}: not an item of model {self.name!r} "
                f"(items: {', '.join(self.item_names)})"
            )
        return replace(
            self,
            constructs=tuple(
                replace(c, items=tuple(replace(i, reverse=True) if i.name in names else i for i in c.items))
                for c in self.constructs
            ),
        )

    # ----------------------------------------------------------------- labels
    def path_labels(self) -> tuple[str, ...]:
        """``target ~ source`` for every path, in :attr:`paths` order."""
        return tuple(p.label for p in self.paths)

    def __str__(self) -> str:
        from csi.spec.lavaan import render_lavaan

        return render_lavaan(self)


def topological_order(names: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """Order ``names`` so every edge ``(a, b)`` has ``a`` before ``b``.

    Raises
    ------
    SpecError
        When the edges contain a cycle; the message names one cycle.
    """
    names = list(names)
    succ: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        succ[a].append(b)
    state: dict[str, int] = dict.fromkeys(names, 0)
    order: list[str] = []
    # Depth-first search with an explicit stack (not recursion), so a chain of thousands of constructs
    # cannot exhaust Python's recursion limit.  Each frame is (node, iterator over its successors).
    for root in names:
        if state[root]:
            continue
        state[root] = 1
        path: list[str] = [root]
        frames = [(root, iter(succ[root]))]
        while frames:
            n, rest = frames[-1]
            m = next(rest, None)
            if m is None:
                frames.pop()
                path.pop()
                state[n] = 2
                order.append(n)
            elif state[m] == 1:
                cyc = path[path.index(m) :] + [m]
                if len(cyc) > 12:  # a long cycle is shown by its ends
                    cyc = [*cyc[:5], f"... ({len(cyc) - 10} more) ...", *cyc[-5:]]
                raise SpecError(
                    f"the paths contain a cycle: {' -> '.join(cyc)}; satisfaction index models must be "
                    "recursive (acyclic)"
                )
            elif state[m] == 0:
                state[m] = 1
                path.append(m)
                frames.append((m, iter(succ[m])))
    return order[::-1]


def _validate(spec: ModelSpec) -> None:
    if not isinstance(spec.name, str):
        raise SpecError(f"the model name must be a string, got {spec.name!r}")
    if not isinstance(spec.label, str):
        raise SpecError(f"model {spec.name!r}: label must be a string, got {spec.label!r}")
    for p in spec.paths:
        if not isinstance(p, Path):
            raise SpecError(f"model {spec.name!r}: paths must be Path objects, got {p!r}")
    for cov in spec.covariances:
        if not isinstance(cov, Covariance):
            raise SpecError(f"model {spec.name!r}: covariances must be Covariance objects, got {cov!r}")
    if not spec.constructs:
        raise SpecError(f"model {spec.name!r} declares no constructs")
    seen: set[str] = set()
    for c in spec.constructs:
        if not isinstance(c, Construct):
            raise SpecError(f"model {spec.name!r}: constructs must be Construct objects, got {type(c).__name__}")
        if c.name in seen:
            raise SpecError(f"construct {c.name!r} is declared twice")
        seen.add(c.name)
    owner: dict[str, str] = {}
    for c in spec.constructs:
        for item in c.item_names:
            if item in owner:
                raise SpecError(
                    f"item {item!r} is in two blocks ({owner[item]} and {c.name}); every item belongs to "
                    "exactly one construct"
                )
            if item in seen:
                raise SpecError(f"item {item!r} has the same name as a construct; rename one of them")
            owner[item] = c.name
    pairs: set[tuple[str, str]] = set()
    for p in spec.paths:
        for end in (p.source, p.target):
            if end not in seen:
                raise SpecError(
                    f"path {p.source} -> {p.target} names unknown construct {end!r}; "
                    f"the model has {', '.join(spec.construct_names)}"
                )
        if p.source == p.target:
            raise SpecError(f"path {p.source} -> {p.target} is a self loop; a construct cannot predict itself")
        if (p.source, p.target) in pairs:
            raise SpecError(f"path {p.source} -> {p.target} is declared twice")
        pairs.add((p.source, p.target))
    topological_order(spec.construct_names, [(p.source, p.target) for p in spec.paths])
    _validate_higher_order(spec)
    if spec.target is not None and spec.target not in seen:
        raise SpecError(
            f"target construct {spec.target!r} is not in the model; choose one of {', '.join(spec.construct_names)}"
        )
    known = seen | set(owner)
    for cov in spec.covariances:
        for end in (cov.left, cov.right):
            if end not in known:
                raise SpecError(f"covariance {cov.left} ~~ {cov.right} names unknown variable {end!r}")
    _validate_modifiers(spec, owner, pairs)


def _validate_higher_order(spec: ModelSpec) -> None:
    """Components are constructs of the model, each in one higher-order construct, without cycles, and
    linked to the rest of the model only through their higher-order construct."""
    names = set(spec.construct_names)
    parent: dict[str, str] = {}
    for c in spec.constructs:
        for comp in c.components:
            if comp not in names:
                raise SpecError(
                    f"higher-order construct {c.name!r} is measured by {comp!r}, which is not a construct of the "
                    f"model; the model has {', '.join(spec.construct_names)}"
                )
            if comp in parent:
                raise SpecError(
                    f"construct {comp!r} is a component of two higher-order constructs ({parent[comp]} and "
                    f"{c.name}); a component belongs to one higher-order construct"
                )
            parent[comp] = c.name
    for start in parent:
        chain = [start]
        while chain[-1] in parent:
            nxt = parent[chain[-1]]
            if nxt in chain:
                cyc = chain[chain.index(nxt) :] + [nxt]
                raise SpecError(
                    f"higher-order constructs measure each other in a cycle: {' -> '.join(reversed(cyc))} "
                    "(read 'A -> B' as 'A is measured by B'); the measurement of constructs by constructs must "
                    "be a hierarchy"
                )
            chain.append(nxt)
    for p in spec.paths:
        for end in (p.source, p.target):
            if end in parent:
                raise SpecError(
                    f"path {p.source} -> {p.target}: {end!r} is a component of higher-order construct "
                    f"{parent[end]!r}; components relate to the rest of the model only through their higher-order "
                    f"construct (Sarstedt et al. 2019), so draw the path to or from {parent[end]!r}"
                )
    if spec.covariances or spec.modifiers:
        if parent:
            raise SpecError(
                f"model {spec.name!r} has higher-order constructs and residual covariances or modifiers, which "
                "only CB-SEM uses; higher-order constructs are estimated by PLS"
            )


def _validate_modifiers(spec: ModelSpec, owner: dict[str, str], paths: set[tuple[str, str]]) -> None:
    """Every modifier names a parameter of the model, once."""
    covs = {tuple(sorted((c.left, c.right))) for c in spec.covariances}
    seen: set[tuple[str, str, str]] = set()
    for m in spec.modifiers:
        text = f"{m.lhs} {m.op} {m.rhs}"
        if m.key in seen:
            raise SpecError(f"{text} has two modifiers; give one fixed value, NA or label per parameter")
        seen.add(m.key)
        if m.op == "=~" and owner.get(m.rhs) != m.lhs:
            raise SpecError(f"modifier on {text}: {m.rhs!r} is not an item of construct {m.lhs!r}")
        if m.op == "~" and (m.rhs, m.lhs) not in paths:
            raise SpecError(f"modifier on {text}: the model has no path {m.rhs} -> {m.lhs}")
        if m.op == "~~" and m.key[1:] not in covs:
            raise SpecError(f"modifier on {text}: the model has no covariance {text}; declare it with ~~")
        if m.op != "=~" and m.is_free_marker:
            raise SpecError(f"modifier on {text}: NA (free marker) applies to loadings (=~) only")
