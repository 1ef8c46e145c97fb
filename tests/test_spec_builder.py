"""The immutable Python builder."""

from __future__ import annotations

import dataclasses

import pytest

from csi.errors import SpecError
from csi.spec import Construct, Covariance, Item, ModelSpec, Path, load_model, model


def test_builds_the_expected_spec():
    spec = (
        model("my", label="demo")
        .reflective("SAT", ["sat1", "sat2"], scale=(1, 10), label="Satisfaction")
        .composite("IMAG", ["i1", Item("i2", 0, 1, type="binary")], scale=(1, 10), missing_codes=[99])
        .reflective("EXPE", ["e1"])
        .path("IMAG", "SAT", sign="+")
        .paths(["EXPE"], "SAT")
        .covariance("sat1", "sat2")
        .target("SAT")
        .build()
    )
    assert spec == ModelSpec(
        name="my",
        label="demo",
        constructs=(
            Construct("SAT", (Item("sat1", 1, 10), Item("sat2", 1, 10)), label="Satisfaction"),
            Construct("IMAG", (Item("i1", 1, 10, missing_codes=(99,)), Item("i2", 0, 1, type="binary")), mode="B"),
            Construct("EXPE", ("e1",)),
        ),
        paths=(Path("IMAG", "SAT", "+"), Path("EXPE", "SAT")),
        target="SAT",
        covariances=(Covariance("sat1", "sat2"),),
    )


def test_each_step_returns_a_new_builder():
    base = model("m").reflective("A", ["a"]).reflective("B", ["b"])
    left = base.path("A", "B", "+")
    right = base.path("B", "A")
    assert base.build().paths == ()
    assert left.build().paths == (Path("A", "B", "+"),)
    assert right.build().paths == (Path("B", "A"),)
    with pytest.raises(AttributeError):
        base.name_ = "other"  # frozen


def test_paths_cross_product_and_item_edit():
    spec = (
        model()
        .reflective("A", ["a"])
        .reflective("B", ["b"])
        .reflective("C", ["c"])
        .reflective("D", ["d"])
        .paths(["A", "B"], ["C", "D"], sign="+")
        .item("d", scale=(0, 1), type="binary", label="yes/no")
        .build()
    )
    assert spec.path_labels() == ("C ~ A", "C ~ B", "D ~ A", "D ~ B")
    assert spec.items[-1] == Item("d", 0, 1, type="binary", label="yes/no")


def test_builder_reproduces_a_shipped_model():
    shipped = load_model("ecsi6")
    b = model(shipped.name, shipped.label)
    for c in shipped.constructs:
        b = b.construct(c.name, c.items, mode=c.mode, label=c.label)
    for p in shipped.paths:
        b = b.path(p.source, p.target, p.sign)
    # The builder takes one label per construct (the items pass through whole); the shipped files add
    # translations of the construct labels and of the model's.
    built = b.target(shipped.target).build()
    constructs = tuple(dataclasses.replace(c, labels=()) for c in shipped.constructs)
    assert built == dataclasses.replace(shipped, constructs=constructs, labels=())


def test_errors():
    with pytest.raises(SpecError, match="declared twice"):
        model().reflective("A", ["a"]).reflective("A", ["b"])
    with pytest.raises(SpecError, match="has no items"):
        model().reflective("A", [])
    with pytest.raises(SpecError, match="unknown item 'zz'"):
        model().reflective("A", ["a"]).item("zz", type="binary")
    with pytest.raises(SpecError, match="unknown item field"):
        model().reflective("A", ["a"]).item("a", colour="red")
    with pytest.raises(SpecError, match="unknown construct 'B'"):
        model().reflective("A", ["a"]).path("A", "B").build()
