"""The models a higher-order model is estimated through: repeated indicators and the two stages.

A higher-order construct (HOC) is measured by other constructs, its lower-order components (LOCs):
``QUAL =~ PROD + SERV`` (:attr:`csi.spec.model.Construct.components`).  PLS path modelling estimates only
constructs measured by items, so a model with HOCs is rewritten into ordinary models (Becker, Klein &
Wetzels 2012, Long Range Planning 45(5-6):359-394; Sarstedt, Hair, Cheah, Becker & Ringle 2019, "How to
specify, estimate, and validate higher-order constructs in PLS-SEM", Australasian Marketing Journal
27(3):197-211):

* :func:`repeated_indicators`: every HOC gets all the items of its components as its own block (copies named
  ``item@HOC``), and the HOC-component relations become structural paths, ``HOC -> LOC`` for a Mode A
  (reflective) HOC and ``LOC -> HOC`` for a Mode B (composite) one;
* :func:`disjoint_stage1`: the disjoint two-stage approach's first model, without the HOCs, each LOC linked
  directly to its HOC's structural neighbours;
* :func:`stage2`: the second model of both two-stage approaches, in which each HOC is measured by its
  components' scores (items named after the components) and the components are gone.

Everything here is pure: specs in, specs out.
"""

from __future__ import annotations

from dataclasses import replace

from csi.errors import SpecError
from csi.spec.model import Construct, Item, ModelSpec, Path

__all__ = ["HOC_APPROACHES", "disjoint_stage1", "first_order_spec", "items_under", "repeated_indicators", "repeated_name", "stage2"]


HOC_APPROACHES = ("repeated", "two-stage-embedded", "two-stage-disjoint")
"""Estimation approaches of higher-order constructs (the ``hoc`` option of :class:`csi.estimators.pls.PLS`):
repeated indicators, and the embedded and disjoint two-stage approaches."""


def repeated_name(item: str, hoc: str) -> str:
    """The name of item ``item`` repeated as an indicator of higher-order construct ``hoc``: ``item@hoc``."""
    return f"{item}@{hoc}"


def items_under(spec: ModelSpec, name: str) -> tuple[Item, ...]:
    """Every item below construct ``name``: its own items, or its components' items, in component order."""
    c = spec.construct(name)
    if not c.components:
        return c.items
    return tuple(i for comp in c.components for i in items_under(spec, comp))


def first_order_spec(spec: ModelSpec) -> ModelSpec:
    """The constructs measured by items, without paths: the item set every approach starts from."""
    return ModelSpec(spec.name, tuple(c for c in spec.constructs if not c.components), label=spec.label,
                     labels=spec.labels)  # fmt: skip


def _check_free(spec: ModelSpec, names: list[str], what: str) -> None:
    taken = set(spec.item_names) | set(spec.construct_names)
    clash = [n for n in names if n in taken]
    if clash:
        raise SpecError(
            f"{what} needs the name(s) {', '.join(map(repr, clash))}, which the model already uses for an item or "
            "a construct; rename it"
        )


def repeated_indicators(spec: ModelSpec) -> tuple[ModelSpec, tuple[str, ...]]:
    """The repeated-indicator model of ``spec`` and, for each of its items, the first-order item it repeats.

    Every HOC's block is the items of all its components (``items_under``), renamed ``item@HOC`` so that every
    item keeps one block; the HOC keeps its mode (Mode A for reflective-reflective, Becker et al. 2012).  The
    HOC-component relations are added after the model's paths, ``HOC -> LOC`` (Mode A) or ``LOC -> HOC``
    (Mode B), with expected sign ``+``.
    """
    constructs: list[Construct] = []
    source: list[str] = []
    for c in spec.constructs:
        if c.components:
            under = items_under(spec, c.name)
            names = [repeated_name(i.name, c.name) for i in under]
            _check_free(spec, names, f"the repeated indicators of {c.name!r}")
            constructs.append(replace(c, items=tuple(replace(i, name=n) for i, n in zip(under, names, strict=True)),
                                      components=()))  # fmt: skip
            source += [i.name for i in under]
        else:
            constructs.append(c)
            source += list(c.item_names)
    paths = list(spec.paths)
    for c in spec.constructs:
        for comp in c.components:
            paths.append(Path(c.name, comp, "+") if c.mode == "A" else Path(comp, c.name, "+"))
    ri = ModelSpec(spec.name, tuple(constructs), tuple(paths), spec.target, spec.label, labels=spec.labels)
    return ri, tuple(source)


def _second_order_only(spec: ModelSpec, approach: str) -> None:
    deep = [n for n in spec.higher_order if spec.order(n) > 2]
    if deep:
        raise SpecError(
            f"the {approach} approach estimates second-order constructs; {', '.join(deep)} is of order "
            f"{spec.order(deep[0])}: use the repeated-indicator approach"
        )


def disjoint_stage1(spec: ModelSpec) -> ModelSpec:
    """The first stage of the disjoint two-stage approach: the HOCs removed, their components in their place.

    Every path into a HOC becomes a path into each of its components, every path out of it a path out of
    each component (Sarstedt et al. 2019); a path between two HOCs joins every pair of their
    components.  Second-order constructs only.
    """
    _second_order_only(spec, "two-stage")
    comps = {c.name: c.components for c in spec.constructs if c.components}
    paths: list[Path] = []
    for p in spec.paths:
        for t in comps.get(p.target, (p.target,)):
            for s in comps.get(p.source, (p.source,)):
                paths.append(Path(s, t, p.sign))
    target = None if spec.target in comps else spec.target
    return ModelSpec(spec.name, tuple(c for c in spec.constructs if not c.components), tuple(paths), target,
                     spec.label, labels=spec.labels)  # fmt: skip


def stage2(spec: ModelSpec, scale: tuple[float, float] | None = None) -> ModelSpec:
    """The second stage of both two-stage approaches: each HOC measured by its components' scores.

    The score items are named after the components (with the component's label); ``scale`` gives them
    theoretical end points (the 0-100 component scores).  The components leave the model; the other
    constructs, the paths and the target are kept.  Second-order constructs only.
    """
    _second_order_only(spec, "two-stage")
    comps = [k for c in spec.constructs for k in c.components]
    clash = [k for k in comps if k in spec.item_names]
    if clash:
        raise SpecError(
            f"the second stage names the component scores after the components, but {', '.join(map(repr, clash))} "
            "is also an item of the model; rename the item or the construct"
        )
    lo, hi = scale if scale is not None else (None, None)
    constructs = []
    for c in spec.constructs:
        if c.name in comps:
            continue
        if c.components:
            items = tuple(Item(k, lo, hi, label=spec.construct(k).label) for k in c.components)
            constructs.append(replace(c, items=items, components=()))
        else:
            constructs.append(c)
    return ModelSpec(spec.name, tuple(constructs), spec.paths, spec.target, spec.label, labels=spec.labels)
