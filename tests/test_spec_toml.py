"""TOML model files: every feature, and clear errors."""

from __future__ import annotations

import pytest

from csi.errors import ModelSyntaxError, SpecError
from csi.spec import Construct, Covariance, Item, ModelSpec, Path, read_toml, to_toml

FULL = """
name = "demo"
label = "A demo model"
target = "SAT"
paths = [
    ["QUAL", "SAT", "+"],
    ["SAT", "LOY"],
    {from = "QUAL", to = "LOY", sign = "-"},
]
covariances = [["q1", "q2"]]

[defaults]
scale = [1, 10]
missing_codes = [98, 99]

[constructs.QUAL]
label = "Quality"
mode = "B"
items = ["q1", {name = "q2", label = "Quality 2", reverse = true}]

[constructs.SAT]
items = ["s1", {name = "s2", scale = [], missing_codes = []}]

[constructs.LOY]
scale = [0, 50]
type = "percent"
items = ["l1", {name = "l2", type = "binary", scale = [0, 1]}]
"""


def test_every_feature():
    spec = read_toml(FULL)
    codes = (98, 99)
    expected = ModelSpec(
        name="demo",
        label="A demo model",
        target="SAT",
        constructs=(
            Construct(
                "QUAL",
                (Item("q1", 1, 10, missing_codes=codes), Item("q2", 1, 10, True, codes, label="Quality 2")),
                mode="B",
                label="Quality",
            ),
            Construct("SAT", (Item("s1", 1, 10, missing_codes=codes), Item("s2"))),
            Construct(
                "LOY",
                (
                    Item("l1", 0, 50, type="percent", missing_codes=codes),
                    Item("l2", 0, 1, type="binary", missing_codes=codes),
                ),
            ),
        ),
        paths=(Path("QUAL", "SAT", "+"), Path("SAT", "LOY", "?"), Path("QUAL", "LOY", "-")),
        covariances=(Covariance("q1", "q2"),),
    )
    assert spec == expected
    assert spec.construct_names == ("QUAL", "SAT", "LOY")  # declaration order
    assert read_toml(to_toml(spec)) == spec


def test_file_path_and_default_name(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[constructs.A]\nitems = ["a"]\n', encoding="utf-8")
    assert read_toml(f).name == "mine"
    assert read_toml(str(f)).name == "mine"
    assert read_toml('[constructs.A]\nitems = ["a"]\n').name == "model"
    with pytest.raises(FileNotFoundError):
        read_toml(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'nmae = "x"\n[constructs.A]\nitems=["a"]',
            r"unknown key 'nmae' in the model file .*accepted keys: name, label",
        ),
        (
            '[constructs.A]\nitems=["a"]\nlabl="x"',
            r"unknown key 'labl' in \[constructs.A\]; accepted keys: label, labels, better, mode, items",
        ),
        ('[constructs.A]\nitems=[{name="a", scal=[1,2]}]', r"unknown key 'scal' in an item of \[constructs.A\]"),
        (
            '[defaults]\nlabel="x"\n[constructs.A]\nitems=["a"]',
            r"unknown key 'label' in \[defaults\]; accepted keys: scale",
        ),
        ('paths=[{from="A", to="A", sgn="+"}]\n[constructs.A]\nitems=["a"]', "unknown key 'sgn' in a path"),
        ('name = "x"', "no \\[constructs.NAME\\] tables"),
        ("[constructs.A]\nlabel='x'", "has no 'items'"),
        ('[constructs.A]\nitems=[{label="x"}]', "has no 'name'"),
        ('[constructs.A]\nitems=["a"]\nscale=[1,2,3]', r"must be \[min, max\]"),
        ('[constructs.A]\nitems=["a"]\nreverse="yes"', "reverse in .* must be a bool"),
        ('paths=[["A"]]\n[constructs.A]\nitems=["a"]', "a path is"),
        ('covariances=[["a"]]\n[constructs.A]\nitems=["a"]', "a covariance is a pair"),
    ],
)
def test_errors(text, message):
    with pytest.raises(SpecError, match=message):
        read_toml(text)


def test_syntax_error_position():
    text = 'name = "x"\n[constructs.A]\nitems = = ["a"]\n'
    with pytest.raises(ModelSyntaxError) as info:
        read_toml(text)
    err = info.value
    assert (err.line, err.column) == (3, 9)
    assert err.source_line == 'items = = ["a"]'
    assert str(err).startswith("line 3, column 9: TOML syntax error")
    assert str(err).endswith('\n  items = = ["a"]\n          ^')


def test_writer_output_is_readable():
    text = to_toml(read_toml(FULL))
    # s2 has no scale, so no default scale; the common missing codes go to [defaults].
    assert "[defaults]\nmissing_codes = [98, 99]" in text
    assert '    { name = "s2", missing_codes = [] },' in text
    assert "[constructs.QUAL]" in text


def test_non_ascii_construct_key():
    spec = ModelSpec("m", (Construct("Zufriedenheit_ä", ("a",)),))
    assert '[constructs."Zufriedenheit_ä"]' in to_toml(spec)
    assert read_toml(to_toml(spec)) == spec
