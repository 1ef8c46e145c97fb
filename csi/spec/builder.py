"""An immutable Python builder for :class:`~csi.spec.model.ModelSpec`.

Example
-------
>>> from csi.spec.builder import model
>>> spec = (
...     model("tiny")
...     .reflective("SAT", ["sat1", "sat2"], scale=(1, 10), label="Satisfaction")
...     .composite("QUAL", ["q1", "q2"], scale=(1, 10))
...     .path("QUAL", "SAT", sign="+")
...     .target("SAT")
...     .build()
... )
>>> spec.path_labels()
('SAT ~ QUAL',)

Every method returns a new :class:`ModelBuilder` and leaves the old one as it
was, so a common base can be branched into variants without copying.  The
builder holds only tuples of frozen objects, so there is nothing to clone.
Constructs, items and paths are checked as they are added; the whole model
(unknown constructs, cycles) is checked by :meth:`ModelBuilder.build`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from csi.errors import SpecError
from csi.spec.model import Construct, Covariance, Item, ModelSpec, Path

__all__ = ["ModelBuilder", "model"]


def _names(x: str | Iterable[str]) -> tuple[str, ...]:
    return (x,) if isinstance(x, str) else tuple(x)


@dataclass(frozen=True)
class ModelBuilder:
    """Immutable, chainable model builder; start one with :func:`model`."""

    name_: str
    label_: str = ""
    constructs_: tuple[Construct, ...] = ()
    paths_: tuple[Path, ...] = ()
    covariances_: tuple[Covariance, ...] = ()
    target_: str | None = None

    # ------------------------------------------------------------ constructs
    def construct(
        self,
        name: str,
        items: Sequence[str | Item],
        *,
        mode: str = "A",
        label: str = "",
        scale: tuple[float, float] | None = None,
        type: str = "interval",  # named like the Item field
        reverse: bool = False,
        missing_codes: Iterable[float] = (),
    ) -> ModelBuilder:
        """Add a construct; plain item names get the given scale, type, reverse flag and missing codes.

        Parameters
        ----------
        name
            Construct name (a Python identifier).
        items
            Item names, or :class:`~csi.spec.model.Item` objects used as they are.
        mode
            ``"A"`` (reflective) or ``"B"`` (composite).
        label
            Long construct name.
        scale
            ``(min, max)`` theoretical end points of the plain-name items.
        type, reverse, missing_codes
            Item metadata for the plain-name items.
        """
        if name in {c.name for c in self.constructs_}:
            raise SpecError(f"construct {name!r} is declared twice")
        lo, hi = scale if scale is not None else (None, None)
        made = tuple(
            i
            if isinstance(i, Item)
            else Item(i, lo, hi, reverse=reverse, missing_codes=tuple(missing_codes), type=type)
            for i in _names(items)  # type: ignore[arg-type]
        )
        return replace(self, constructs_=(*self.constructs_, Construct(name, made, mode, label)))

    def reflective(self, name: str, items: Sequence[str | Item], **kwargs: object) -> ModelBuilder:
        """Add a mode-A (reflective, ``=~``) construct; keywords as :meth:`construct`."""
        return self.construct(name, items, mode="A", **kwargs)  # type: ignore[arg-type]

    def composite(self, name: str, items: Sequence[str | Item], **kwargs: object) -> ModelBuilder:
        """Add a mode-B (composite, ``<~``) construct; keywords as :meth:`construct`."""
        return self.construct(name, items, mode="B", **kwargs)  # type: ignore[arg-type]

    def higher_order(self, name: str, components: Sequence[str], *, mode: str = "A", label: str = "") -> ModelBuilder:
        """Add a higher-order construct measured by the constructs ``components`` (``QUAL =~ PROD + SERV``)."""
        if name in {c.name for c in self.constructs_}:
            raise SpecError(f"construct {name!r} is declared twice")
        made = Construct(name, (), mode, label, components=_names(components))
        return replace(self, constructs_=(*self.constructs_, made))

    def item(self, name: str, **changes: object) -> ModelBuilder:
        """Change metadata of one item already added, e.g. ``.item("CUSCO", type="binary")``.

        ``scale=(min, max)`` or ``scale=None`` is accepted besides the
        :class:`~csi.spec.model.Item` field names.
        """
        if "scale" in changes:
            scale = changes.pop("scale")
            changes["scale_min"], changes["scale_max"] = scale if scale is not None else (None, None)  # type: ignore[misc]
        unknown = set(changes) - {"scale_min", "scale_max", "reverse", "missing_codes", "type", "label"}
        if unknown:
            raise SpecError(f"unknown item field(s) {', '.join(sorted(unknown))}")
        for k, c in enumerate(self.constructs_):
            if name in c.item_names:
                items = tuple(replace(i, **changes) if i.name == name else i for i in c.items)  # type: ignore[arg-type]
                constructs = list(self.constructs_)
                constructs[k] = replace(c, items=items)
                return replace(self, constructs_=tuple(constructs))
        raise SpecError(f"unknown item {name!r}; add its construct first")

    # ----------------------------------------------------------------- paths
    def path(self, source: str, target: str, sign: str = "?") -> ModelBuilder:
        """Add the path ``source -> target`` with an expected sign (``+``, ``-`` or ``?``)."""
        return replace(self, paths_=(*self.paths_, Path(source, target, sign)))

    def paths(self, sources: str | Iterable[str], targets: str | Iterable[str], sign: str = "?") -> ModelBuilder:
        """Add a path from every source to every target (seminr's ``paths(from, to)``)."""
        new = tuple(Path(s, t, sign) for t in _names(targets) for s in _names(sources))
        return replace(self, paths_=(*self.paths_, *new))

    def covariance(self, left: str, right: str) -> ModelBuilder:
        """Add a free residual covariance ``left ~~ right``."""
        return replace(self, covariances_=(*self.covariances_, Covariance(left, right)))

    # --------------------------------------------------------------- model
    def target(self, name: str | None) -> ModelBuilder:
        """Set the construct whose index is the headline number."""
        return replace(self, target_=name)

    def label(self, text: str) -> ModelBuilder:
        """Set the model's long description."""
        return replace(self, label_=text)

    def build(self) -> ModelSpec:
        """Validate and return the :class:`~csi.spec.model.ModelSpec`."""
        return ModelSpec(
            name=self.name_,
            constructs=self.constructs_,
            paths=self.paths_,
            target=self.target_,
            label=self.label_,
            covariances=self.covariances_,
        )


def model(name: str = "model", label: str = "") -> ModelBuilder:
    """Start building a model called ``name``."""
    return ModelBuilder(name, label)
