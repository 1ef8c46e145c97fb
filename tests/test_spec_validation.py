"""ModelSpec validation errors, reached through every front end."""

from __future__ import annotations

import pytest

from csi.errors import SpecError
from csi.spec import Construct, Item, ModelSpec, Path, model, parse_lavaan, read_toml


def _two(**kw) -> ModelSpec:
    return ModelSpec("m", (Construct("A", ("a1",)), Construct("B", ("b1",))), **kw)


def test_cycle_is_named():
    with pytest.raises(SpecError, match=r"cycle: .*A -> B -> A|cycle: .*B -> A -> B"):
        _two(paths=(Path("A", "B"), Path("B", "A")))


def test_unknown_construct_in_path():
    with pytest.raises(SpecError, match="names unknown construct 'C'"):
        _two(paths=(Path("A", "C"),))


def test_self_loop():
    with pytest.raises(SpecError, match="self loop"):
        _two(paths=(Path("A", "A"),))


def test_construct_without_items():
    with pytest.raises(SpecError, match="has no items"):
        Construct("A", ())


def test_item_in_two_blocks():
    with pytest.raises(SpecError, match=r"item 'x' is in two blocks \(A and B\)"):
        ModelSpec("m", (Construct("A", ("x",)), Construct("B", ("x",))))


def test_duplicate_construct():
    with pytest.raises(SpecError, match="declared twice"):
        ModelSpec("m", (Construct("A", ("a",)), Construct("A", ("b",))))


def test_duplicate_path_and_unknown_target():
    with pytest.raises(SpecError, match="declared twice"):
        _two(paths=(Path("A", "B"), Path("A", "B", "+")))
    with pytest.raises(SpecError, match="target construct 'Z'"):
        _two(target="Z")


def test_item_named_like_construct():
    with pytest.raises(SpecError, match="same name as a construct"):
        ModelSpec("m", (Construct("A", ("B",)), Construct("B", ("b",))))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale_min": 1}, "give both"),
        ({"scale_min": 5, "scale_max": 1}, "must exceed"),
        ({"reverse": True}, "needs scale_min"),
        ({"type": "likert"}, "unknown type 'likert'"),
        ({"missing_codes": (float("nan"),)}, "finite numbers"),
        ({"missing_codes": "99"}, "list of numbers"),
        ({"reverse": "yes"}, "True or False"),
    ],
)
def test_item_errors(kwargs, message):
    with pytest.raises(SpecError, match=message):
        Item("x", **kwargs)


def test_bare_string_is_one_item():
    assert Construct("A", "sat1").item_names == ("sat1",)


def test_bad_sign_and_mode():
    with pytest.raises(SpecError, match="unknown expected sign"):
        Path("A", "B", "positive")
    with pytest.raises(SpecError, match="unknown mode"):
        Construct("A", ("a",), mode="C")


def test_errors_through_front_ends():
    """The same validation reaches users of TOML, lavaan text and the builder."""
    with pytest.raises(SpecError, match="cycle"):
        parse_lavaan("A =~ a\nB =~ b\nB ~ A\nA ~ B\n")
    with pytest.raises(SpecError, match="cycle"):
        read_toml('paths = [["A","B"],["B","A"]]\n[constructs.A]\nitems=["a"]\n[constructs.B]\nitems=["b"]\n')
    with pytest.raises(SpecError, match="cycle"):
        model().reflective("A", ["a"]).reflective("B", ["b"]).paths("A", "B").paths("B", "A").build()
