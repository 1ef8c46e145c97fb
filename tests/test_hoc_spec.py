"""Higher-order constructs in the model: text, TOML, builder, orders, the rewritten models and bad syntax."""

from __future__ import annotations

import pytest
from hoc_population import TEXT, spec

import csi
from csi.errors import SpecError
from csi.spec.builder import model
from csi.spec.hoc import disjoint_stage1, first_order_spec, repeated_indicators, stage2
from csi.spec.lavaan import parse_lavaan, render_lavaan
from csi.spec.model import Construct, Item, ModelSpec, Path
from csi.spec.toml_io import read_toml, to_toml

BASE = """
PROD =~ p1 + p2
SERV =~ s1 + s2
SAT =~ y1 + y2
"""


def test_text_declares_a_second_order_construct() -> None:
    s = spec()
    assert s.higher_order == ("QUAL",)
    assert s.components_of("QUAL") == ("PROD", "SERV", "DELI")
    assert s.orders == {"IMAG": 1, "QUAL": 2, "PROD": 1, "SERV": 1, "DELI": 1, "SAT": 1}
    assert s.parent_of("PROD") == "QUAL" and s.parent_of("SAT") is None
    assert s.construct("QUAL").items == () and s.construct("QUAL").is_higher_order
    # The HOC has no items of its own; '#: scale' with no names reached every item of the components.
    assert "QUAL" not in s.item_names and all(i.scale_min == 1 for i in s.items)
    assert spec(mode="B").construct("QUAL").mode == "B"


def test_third_order_and_directives_through_a_higher_order_construct() -> None:
    text = BASE + "DELI =~ d1 + d2\nCORE =~ PROD + SERV\nALL <~ CORE + DELI\nSAT ~ ALL\n#: scale 0 10 ALL\n"
    s = parse_lavaan(text)
    assert s.orders["ALL"] == 3 and s.orders["CORE"] == 2
    assert [i.name for i in s.items if i.has_scale] == ["p1", "p2", "s1", "s2", "d1", "d2"]


@pytest.mark.parametrize("text", [TEXT, BASE + "DELI =~ d1 + d2\nCORE =~ PROD + SERV\nALL <~ CORE + DELI\nSAT ~ ALL\n"])
def test_round_trips(text: str) -> None:
    s = parse_lavaan(text + "#: label QUAL \"Perceived quality\"\n" if "QUAL" in text else text)
    assert parse_lavaan(render_lavaan(s)) == s
    assert read_toml(to_toml(s)) == s
    assert "constructs = [" in to_toml(s)


def test_toml_and_builder_give_the_same_model() -> None:
    toml = """
name = "m"
paths = [["QUAL", "SAT", "+"]]
[constructs.QUAL]
mode = "B"
constructs = ["PROD", "SERV"]
[constructs.PROD]
items = ["p1", "p2"]
[constructs.SERV]
items = ["s1", "s2"]
[constructs.SAT]
items = ["y1", "y2"]
"""
    built = (
        model("m").higher_order("QUAL", ["PROD", "SERV"], mode="B").reflective("PROD", ["p1", "p2"])
        .reflective("SERV", ["s1", "s2"]).reflective("SAT", ["y1", "y2"]).path("QUAL", "SAT", "+").build()
    )  # fmt: skip
    assert read_toml(toml) == built
    assert built.construct("QUAL").components == ("PROD", "SERV")


def test_rewritten_models() -> None:
    s = spec()
    ri, source = repeated_indicators(s)
    qual = ri.construct("QUAL")
    assert qual.item_names == tuple(f"{i}@QUAL" for i in ("p1", "p2", "p3", "s1", "s2", "s3", "d1", "d2", "d3"))
    assert source[len(ri.construct("IMAG").items) :][: len(qual.items)] == tuple(n.split("@")[0] for n in qual.item_names)
    assert [p.label for p in ri.paths] == ["QUAL ~ IMAG", "SAT ~ QUAL", "PROD ~ QUAL", "SERV ~ QUAL", "DELI ~ QUAL"]
    assert [p.label for p in repeated_indicators(spec(mode="B"))[0].paths][2:] == [
        "QUAL ~ PROD", "QUAL ~ SERV", "QUAL ~ DELI"]  # fmt: skip
    d1 = disjoint_stage1(s)
    assert "QUAL" not in d1.construct_names
    assert [p.label for p in d1.paths] == ["PROD ~ IMAG", "SERV ~ IMAG", "DELI ~ IMAG", "SAT ~ PROD", "SAT ~ SERV",
                                           "SAT ~ DELI"]  # fmt: skip
    s2 = stage2(s, (0, 100))
    assert s2.construct_names == ("IMAG", "QUAL", "SAT")
    assert s2.construct("QUAL").item_names == ("PROD", "SERV", "DELI")
    assert s2.construct("QUAL").items[0].scale_max == 100
    assert first_order_spec(s).construct_names == ("IMAG", "PROD", "SERV", "DELI", "SAT")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("QUAL =~ PROD + SERV + q1\nSAT ~ QUAL", ["line 5", "QUAL", "constructs (PROD, SERV)", "items (q1)", "not both"]),
        ("QUAL =~ PROD + q1\nSAT ~ QUAL", ["QUAL", "constructs (PROD)", "items (q1)"]),
        ("QUAL =~ PROD\nSAT ~ QUAL", ["QUAL", "one component", "at least two"]),
        ("A =~ SERV + B\nB =~ A + PROD\nSAT ~ A", ["cycle", "A -> B -> A", "hierarchy"]),
        ("QUAL =~ PROD + SERV\nQ2 =~ PROD + SAT\nSAT ~ QUAL", ["PROD", "two higher-order constructs", "QUAL", "Q2"]),
        ("QUAL =~ PROD + SERV\nSAT ~ PROD", ["PROD -> SAT", "component of higher-order construct", "QUAL"]),
        ("QUAL =~ PROD + SERV\nPROD ~ QUAL", ["QUAL -> PROD", "component"]),
        ("QUAL =~ PROD + SERV + PROD\nSAT ~ QUAL", ["QUAL", "PROD", "more than once"]),
    ],
)
def test_bad_text(extra: str, words: list[str]) -> None:
    with pytest.raises(SpecError) as info:
        parse_lavaan(BASE + extra)
    missing = [w for w in words if w not in str(info.value)]
    assert not missing, f"{missing} not in {info.value}"


def test_bad_python_and_toml() -> None:
    prod = Construct("PROD", ("p1", "p2"))
    sat = Construct("SAT", ("y1", "y2"))
    with pytest.raises(SpecError, match="'FOO', which is not a construct of the model"):
        ModelSpec("m", (Construct("QUAL", (), components=("PROD", "FOO")), prod, sat), (Path("QUAL", "SAT"),))
    with pytest.raises(SpecError, match="measured by items .* and by constructs"):
        Construct("QUAL", (Item("q1"),), components=("PROD", "SERV"))
    with pytest.raises(SpecError, match="components must be construct names"):
        Construct("QUAL", (), components=("PROD", "not a name"))
    with pytest.raises(SpecError, match="no items"):
        Construct("QUAL", ())
    both = '[constructs.QUAL]\nitems = ["q1"]\nconstructs = ["PROD", "SERV"]\n[constructs.PROD]\nitems = ["p1"]\n'
    with pytest.raises(SpecError, match=r"\[constructs.QUAL\] has both 'items' and 'constructs'"):
        read_toml(both)
    with pytest.raises(SpecError, match="constructs in \\[constructs.QUAL\\] must be a list"):
        read_toml('[constructs.QUAL]\nconstructs = "PROD"\n')


def test_repeated_names_must_be_free() -> None:
    s = parse_lavaan(BASE + 'QUAL =~ PROD + SERV\nSAT ~ QUAL\nX =~ "p1@QUAL" + x2\nSAT ~ X\n')
    with pytest.raises(SpecError, match="'p1@QUAL'.*already uses"):
        repeated_indicators(s)


def test_odd_names_round_trip() -> None:
    text = '产品 =~ "Q 1 产品" + "Q 2 产品"\n服务 =~ "s 1" + "s 2"\n质量 =~ 产品 + 服务\nSAT =~ y1 + y2\nSAT ~ 质量\n'
    s = parse_lavaan(text)
    assert s.higher_order == ("质量",)
    assert parse_lavaan(render_lavaan(s)) == s and read_toml(to_toml(s)) == s
    assert repeated_indicators(s)[0].construct("质量").item_names[0] == "Q 1 产品@质量"


def test_simulate_refuses_higher_order_models() -> None:
    with pytest.raises(SpecError, match="simulate draws first-order models only; QUAL is a higher-order"):
        csi.simulate(spec(), 50, seed=1)


def test_other_estimators_refuse_higher_order_models() -> None:
    data = csi.simulate("ecsi", 50, seed=1).data  # never read: the model is refused first
    for method in ("plsc", "cbsem", "sumscore", "pca"):
        with pytest.raises(csi.EstimationError, match="higher-order"):
            csi.fit(spec(), data, method=method)
