"""Shipped models, load_model and list_models."""

from __future__ import annotations

import pytest
from conftest import without_translations

import csi
from csi.errors import SpecError
from csi.spec import list_models, load_model, parse_lavaan, read_toml, render_lavaan, to_toml

# (constructs, paths, items, target) from methodology section 2.
COUNTS = {"scsb": (5, 6, 10, "CSB"), "acsi": (6, 9, 15, "SAT"), "ecsi": (7, 12, 24, "SAT"), "ecsi6": (6, 10, 23, "SAT")}


def test_list_models():
    assert list_models() == ["acsi", "ecsi", "ecsi6", "scsb"]
    assert csi.list_models() == list_models()


@pytest.mark.parametrize("key", sorted(COUNTS))
def test_shipped_model_counts(key):
    spec = load_model(key)
    n_constructs, n_paths, n_items, target = COUNTS[key]
    assert (len(spec.constructs), len(spec.paths), len(spec.items), spec.target) == (
        n_constructs,
        n_paths,
        n_items,
        target,
    )
    assert all(c.label for c in spec.constructs)
    assert all(i.label and i.has_scale for i in spec.items)
    assert all(p.sign in "+-?" for p in spec.paths)
    # Every front end agrees on the shipped models.
    # lavaan-style text carries the English labels only; TOML carries every language.
    assert parse_lavaan(render_lavaan(spec)) == without_translations(spec)
    assert read_toml(to_toml(spec)) == spec


@pytest.mark.parametrize(
    ("source", "name"), [("SCSB", "SCSB"), ("Acsi", "ACSI"), ("ECSI-7", "ECSI-7"), ("ecsi-6", "ECSI-6")]
)
def test_names_are_case_insensitive(source, name):
    assert load_model(source).name == name


def test_scsb_paths():
    spec = load_model("scsb")
    signs = {(p.source, p.target): p.sign for p in spec.paths}
    assert signs == {
        ("EXP", "PERF"): "+",
        ("EXP", "CSB"): "+",
        ("PERF", "CSB"): "+",
        ("CSB", "VOICE"): "-",
        ("CSB", "LOY"): "+",
        ("VOICE", "LOY"): "?",
    }
    assert {i.type for i in spec.construct("VOICE").items} == {"binary"}


def test_acsi_items():
    spec = load_model("acsi")
    assert spec.item_names == (
        "OVERALLX", "CUSTOMX", "WRONGX", "OVERALLQ", "CUSTOMQ", "WRONGQ", "PQ", "QP",
        "SATIS", "CONFIRM", "IDEAL", "COMP", "REPUR", "HIGHPTOL", "LOWPTOL",
    )  # fmt: skip
    comp = spec.items[spec.item_names.index("COMP")]
    assert (comp.type, comp.scale_min, comp.scale_max) == ("binary", 0, 1)
    for name in ("HIGHPTOL", "LOWPTOL"):
        item = spec.items[spec.item_names.index(name)]
        assert (item.type, item.scale_min, item.scale_max) == ("percent", 0, 50)
    assert spec.block_of("SATIS") == "SAT"
    assert {(p.source, p.target, p.sign) for p in spec.paths} >= {("SAT", "COMPL", "-"), ("COMPL", "LOY", "?")}


def test_ecsi_models():
    e7, e6 = load_model("ecsi"), load_model("ecsi6")
    assert e7.construct_names == ("IMAG", "EXPE", "QUAL", "VAL", "SAT", "COMP", "LOY")
    assert e6.construct_names == ("IMAG", "EXPE", "QUAL", "VAL", "SAT", "LOY")
    assert e7.construct("COMP").item_names == ("CUSCO",)
    assert {p.sign for p in e7.paths} == {"+"}
    assert {(p.source, p.target) for p in e6.paths} == {
        (p.source, p.target) for p in e7.paths if "COMP" not in (p.source, p.target)
    }
    assert {(i.scale_min, i.scale_max) for i in e7.items} == {(1, 10)}
    assert e6.items == tuple(i for i in e7.items if i.name != "CUSCO")


def test_rebinding_by_construct_and_by_item():
    original = load_model("ecsi")
    by_block = load_model("ecsi", items={"SAT": ["s1", "s2", "s3"]})
    assert by_block.construct("SAT").item_names == ("s1", "s2", "s3")
    assert by_block.construct("SAT").items[0].label == original.construct("SAT").items[0].label
    by_item = load_model("ecsi", items={"CUSCO": "complaint"})
    assert by_item.block_of("complaint") == "COMP"
    assert load_model("ecsi") == original  # shipped model unchanged
    assert "CUSA1" in original.item_names
    shorter = original.with_items({"IMAG": ["i1", "i2"]})
    assert shorter.construct("IMAG").item_names == ("i1", "i2")
    with pytest.raises(SpecError, match="cannot bind 'NOPE'"):
        load_model("ecsi", items={"NOPE": ["x"]})


def test_unknown_name_lists_models_and_close_matches():
    with pytest.raises(SpecError) as info:
        load_model("ecsx")
    msg = str(info.value)
    assert "Shipped models: acsi (ACSI), ecsi (ECSI-7), ecsi6 (ECSI-6), scsb (SCSB)" in msg
    assert "Did you mean 'ecsi'" in msg


def test_paths_text_and_specs(tmp_path):
    toml_file = tmp_path / "m.toml"
    toml_file.write_text(to_toml(load_model("scsb")), encoding="utf-8")
    lav_file = tmp_path / "m.lav"
    lav_file.write_text("SAT =~ a + b\nX =~ c\nSAT ~ X\n", encoding="utf-8")
    assert load_model(toml_file) == load_model("scsb")
    assert load_model(str(toml_file)) == load_model("scsb")
    assert load_model(lav_file).name == "m"
    assert load_model("SAT =~ a + b\nX <~ c\nSAT ~ X").construct("X").mode == "B"
    assert load_model('[constructs.A]\nitems = ["a"]\n').construct_names == ("A",)
    spec = load_model("acsi")
    assert load_model(spec, items={"COMP": "complained"}).block_of("complained") == "COMPL"
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.toml")
    with pytest.raises(FileNotFoundError):
        load_model("missing.toml")
