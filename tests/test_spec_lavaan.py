"""lavaan-style text: statements, directives, syntax and semantic errors."""

from __future__ import annotations

import re

import pytest

from csi.errors import ModelSyntaxError, SpecError
from csi.spec import Construct, Covariance, Item, ModelSpec, Path, parse_lavaan, render_lavaan

TEXT = """\
# a comment line
#: name "ECSI mini"
#: label "A small model"
#: target SAT

IMAG <~ imag1 + imag2 +
        imag3            # continued after a trailing +
SAT =~ sat1 + "sat 2"
LOY =~ loy1; QUAL =~ q.1

SAT ~ IMAG + QUAL
LOY ~ SAT
imag1 ~~ imag2 + imag3

#: sign SAT ~ IMAG +
#: sign LOY ~ SAT -
#: scale 1 10
#: scale 0 100 LOY
#: type percent loy1
#: reverse sat1
#: missing 98 99 SAT
#: label SAT "Satisfaction"
#: label sat1 "Overall satisfaction"
"""


def test_every_feature():
    spec = parse_lavaan(TEXT)
    assert spec == ModelSpec(
        name="ECSI mini",
        label="A small model",
        target="SAT",
        constructs=(
            Construct("IMAG", (Item("imag1", 1, 10), Item("imag2", 1, 10), Item("imag3", 1, 10)), mode="B"),
            Construct(
                "SAT",
                (
                    Item("sat1", 1, 10, reverse=True, missing_codes=(98, 99), label="Overall satisfaction"),
                    Item("sat 2", 1, 10, missing_codes=(98, 99)),
                ),
                label="Satisfaction",
            ),
            Construct("LOY", (Item("loy1", 0, 100, type="percent"),)),
            Construct("QUAL", (Item("q.1", 1, 10),)),
        ),
        paths=(Path("IMAG", "SAT", "+"), Path("QUAL", "SAT"), Path("SAT", "LOY", "-")),
        covariances=(Covariance("imag1", "imag2"), Covariance("imag1", "imag3")),
    )
    assert parse_lavaan(render_lavaan(spec)) == spec


def test_defaults_without_directives():
    spec = parse_lavaan("SAT =~ a + b\nX <~ c\nSAT ~ X", name="plain")
    assert spec.name == "plain"
    assert spec.target is None and spec.label == ""
    assert spec.paths == (Path("X", "SAT", "?"),)
    assert all(i.scale_min is None and i.type == "interval" for i in spec.items)


def test_several_targets_on_the_left():
    spec = parse_lavaan("A =~ a\nB =~ b\nC =~ c\nB + C ~ A")
    assert spec.paths == (Path("A", "B"), Path("A", "C"))


def test_render_is_lavaan_and_wraps_long_lines():
    spec = ModelSpec("m", (Construct("BIG", tuple(f"item_number_{k}" for k in range(12))),))
    text = render_lavaan(spec)
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert all(len(ln) <= 80 for ln in lines)
    assert any(ln.endswith("+") for ln in lines)
    assert parse_lavaan(text) == spec
    assert str(spec) == text


def _syntax(text: str) -> ModelSyntaxError:
    with pytest.raises(ModelSyntaxError) as info:
        parse_lavaan(text)
    return info.value


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("SAT =~ a\nSAT := b", 2, 5, "unknown operator ':='"),
        ("SAT =~ c(1, 2)*a", 1, 9, "unknown operator '\\('.*vectors"),
        ("SAT =~ a\nSAT ~ 1", 2, 7, "intercepts .* not supported"),
        ("SAT =~ a + 2*", 1, 14, "missing name after '\\*'"),
        ("SAT =~ a + x.y*b", 1, 12, "unsupported modifier 'x.y'"),
        ("SAT =~ a\nSAT ~~ NA*SAT", 2, 11, "NA .* loadings .* only"),
        ("A =~ a\nB =~ b\nB ~ A\n2*B ~ A", 4, 2, "right-hand side only"),
        ("A =~ a\nB <~ b + 2*c", 2, 12, "not to composites"),
        ("SAT =~\n", 1, 7, "missing right-hand side after '=~'"),
        ("  =~ a", 1, 3, "missing left-hand side before '=~'"),
        ("SAT =~ a + b-1", 1, 12, "bad identifier 'b-1'"),
        ("1SAT =~ a", 1, 1, "bad identifier '1SAT'"),
        ("S.AT =~ a", 1, 1, "construct name must be a Python identifier"),
        ("SAT =~ a\n\nSAT =~ b", 3, 1, "construct 'SAT' is already defined on line 1"),
        ("SAT =~ a\nSAT <~ b", 2, 1, r"defined reflective \(=~\) on line 1 and composite \(<~\) here"),
        ("SAT =~ a ++ b", 1, 11, "expected a name before '\\+'"),
        ("SAT =~ a b", 1, 10, "expected '\\+' between 'a' and 'b'"),
        ("SAT =~ a +\n", 1, 11, "missing name after '\\+'"),
        ("SAT", 1, 4, "expected an operator"),
        ("SAT sat1", 1, 5, "expected an operator .* after 'SAT', got 'sat1'"),
        ("SAT =~ a ~ b", 1, 10, "unexpected second operator '~'"),
        ('SAT =~ "a', 1, 8, "unterminated quoted name"),
        ("SAT =~ a\n#: colour SAT red", 2, 4, "unknown directive 'colour'; accepted: name, label"),
        ("SAT =~ a\n#: scale 1 x a", 2, 12, "expected a number"),
        ("SAT =~ a\n#: type likert a", 2, 9, "unknown item type 'likert'"),
        ("SAT =~ a\n#: scale 1 10 nope", 2, 15, "'nope' is neither an item nor a construct"),
        ("A =~ a\nB =~ b\nB ~ A\n#: sign A ~ B +", 4, 9, "no such path"),
        ("A =~ a\nB =~ b\nB ~ A\n#: sign B ~ A yes", 4, 15, "unknown sign 'yes'"),
        ("A =~ a\n#: target A B", 2, 13, "unexpected extra argument"),
    ],
)
def test_syntax_errors(text, line, column, message):
    err = _syntax(text)
    assert (err.line, err.column) == (line, column), str(err)
    assert err.source_line == text.split("\n")[line - 1]
    assert re.search(message, str(err)), str(err)
    head, shown, caret = str(err).split("\n")
    assert head.startswith(f"line {line}, column {column}: ")
    assert shown == "  " + err.source_line
    assert caret == "  " + " " * (column - 1) + "^"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A =~ a\nB =~ b\nB ~ A\nA ~ B", r"^line 4: the paths contain a cycle"),
        ("A =~ a\nB =~ b\nB ~ C", r"^line 3: path C -> B names unknown construct 'C'"),
        ("A =~ a\nA ~ A", r"^line 2: path A -> A is a self loop"),
        ("A =~ a\nB =~ b + a", r"^line 2: item 'a' is in two blocks"),
        ("A =~ a\n#: target Z", r"^line 2: target construct 'Z'"),
        ("A =~ a\nx ~~ a", r"^line 2: covariance x ~~ a names unknown variable 'x'"),
        ("A =~ a\n#: reverse a", r"^line 2: item 'a' is reverse-coded"),
        ("A =~ a + b\nB =~ c\nB ~ A\nB ~ A", r"^line 4: path A -> B is declared twice"),
    ],
)
def test_semantic_errors_name_the_line(text, message):
    with pytest.raises(SpecError, match=message) as info:
        parse_lavaan(text)
    assert not isinstance(info.value, ModelSyntaxError)


def test_no_constructs():
    with pytest.raises(SpecError, match="defines no constructs"):
        parse_lavaan("# only a comment\n")


def test_quoted_names_and_labels_round_trip():
    spec = ModelSpec(
        'weird "name"',
        (Construct("A", (Item("Q 1a", label='says "hi"\nnewline'), Item("2nd"), Item("x-y"))),),
        label="tab\there",
    )
    text = render_lavaan(spec)
    assert '"Q 1a"' in text and '"2nd"' in text
    assert parse_lavaan(text) == spec
