"""Bad-input catalogue, model text and model arguments, through the API and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_input import api_error, cli_error, write_files

import csi
from csi.errors import ModelSyntaxError, SpecError


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_files(tmp_path_factory.mktemp("bad_model"))


def _chain(k: int, cycle: bool = False) -> str:
    lines = [f"C{i} =~ x{i}a + x{i}b" for i in range(k)] + [f"C{i + 1} ~ C{i}" for i in range(k - 1)]
    return "\n".join(lines + ([f"C0 ~ C{k - 1}"] if cycle else []))


# (id, model text, exception, key words): given to csi.load_model and to `csi fit TEXT good.csv`.
TEXTS = [
    ("constructs-table", "[constructs]", SpecError, ["declares no constructs"]),
    ("constructs-inline", "[constructs.SAT] items = ['a']", ModelSyntaxError, ["line 1", "TOML"]),
    ("constructs-open", "[constructs", ModelSyntaxError, ["line 1", "TOML", "]"]),
    ("constructs-indented", "  [constructs.x", ModelSyntaxError, ["line 1", "TOML"]),
    ("bracket", "[", ModelSyntaxError, ["line 1", "TOML"]),
    ("self-loop", "A =~ a1 + a2\nA ~ A", SpecError, ["line 2", "self loop"]),
    ("unknown-construct", "A =~ a1 + a2\nB ~ A", SpecError, ["line 2", "unknown construct 'B'"]),
    ("construct-twice", "A =~ a1\nA =~ a2", ModelSyntaxError, ["line 2", "already defined"]),
    ("item-two-blocks", "A =~ a1 + a2\nB =~ a2 + b1\nB ~ A", SpecError, ["'a2'", "two blocks"]),
    # A construct on the right of =~ makes a higher-order construct, which needs two components.
    ("hoc-one-component", "A =~ B\nB =~ b1\nB ~ A", SpecError, ["higher-order", "one component", "at least two"]),
    ("hoc-items-and-constructs", "A =~ B + a1\nB =~ b1\nC =~ c1\nC ~ A", SpecError,
     ["line 1", "constructs (B)", "items (a1)", "not both"]),
    ("hoc-component-in-a-path", "A =~ B + C\nB =~ b1\nC =~ c1\nD =~ d1\nD ~ B", SpecError,
     ["B -> D", "component of higher-order construct", "A"]),
    ("blank", "   \n  ", SpecError, ["model is empty"]),
    ("operator-only", "=~=~", ModelSyntaxError, ["unknown operator", "accepted"]),
    ("wrong-operator", "A => a1", ModelSyntaxError, ["unknown operator '=>'", "=~"]),
    ("no-rhs", "A <~", ModelSyntaxError, ["missing right-hand side", "<~"]),
    ("nul-byte", "A =~ a\x001", ModelSyntaxError, ["bad identifier"]),
    ("cycle", "A =~ a1\nB =~ b1\nB ~ A\nA ~ B", SpecError, ["cycle", "acyclic"]),
    ("long-cycle", _chain(1200, cycle=True), SpecError, ["cycle", "C0 -> C1", "more", "acyclic"]),
    ("scale-reversed", "#: scale 10 1\nA =~ a1", SpecError, ["scale_max (1) must exceed scale_min (10)"]),
    ("target-unknown", "#: target Z\nA =~ a1\nB =~ b1\nB ~ A", SpecError, ["target construct 'Z'", "choose one"]),
    ("sign-unknown", "A =~ a1\nB =~ b1\nB ~ A\n#: sign B ~ A x", ModelSyntaxError, ["unknown sign 'x'", "+ - ?"]),
    ("toml-key", "[constructs.A]\nitems = ['a1']\nfoo = 1\n", SpecError, ["unknown key 'foo'", "accepted keys"]),
    ("toml-items-type", "[constructs.A]\nitems = 5\n", SpecError, ["must be a list"]),
    ("toml-mode", "[constructs.A]\nitems = ['a1']\nmode = 'C'\n", SpecError, ["unknown mode 'C'", "'A'", "'B'"]),
    ("unknown-name", "nomodel", SpecError, ["unknown model 'nomodel'", "shipped models"]),
    ("close-name", "ecs", SpecError, ["did you mean", "'ecsi'"]),
    ("long-name", "x" * 5000, SpecError, ["unknown model", "..."]),
]


@pytest.mark.parametrize(("text", "kind", "words"), [c[1:] for c in TEXTS], ids=[c[0] for c in TEXTS])
def test_model_text_api(text, kind, words) -> None:
    api_error(lambda: csi.load_model(text), kind, words)


@pytest.mark.parametrize(("text", "kind", "words"), [c[1:] for c in TEXTS], ids=[c[0] for c in TEXTS])
def test_model_text_cli(files, capsys, text, kind, words) -> None:
    cli_error(["fit", text, files["good.csv"]], capsys, words)


@pytest.mark.parametrize("source", [123, None, ["SAT =~ a"], {"a": 1}, b"SAT =~ a1", 1.5])
def test_load_model_rejects_other_types(source) -> None:
    api_error(lambda: csi.load_model(source), SpecError, ["load_model needs", type(source).__name__])


def test_empty_model_argument(files, capsys) -> None:
    api_error(lambda: csi.load_model(""), SpecError, ["model is empty"])
    cli_error(["fit", "", files["good.csv"]], capsys, ["model is empty"])


@pytest.mark.parametrize("source", [123, None, 2.5])
def test_fit_and_simulate_reject_other_model_types(source) -> None:
    data = csi.simulate("ecsi", 50, seed=1).data
    api_error(lambda: csi.fit(source, data), csi.EstimationError, ["fit needs a ModelSpec", type(source).__name__])
    api_error(lambda: csi.simulate(source, 50), SpecError, ["simulate needs a ModelSpec", type(source).__name__])


def test_simulate_accepts_model_names_like_fit() -> None:
    by_name = csi.simulate("acsi", 40, seed=3).data
    by_spec = csi.simulate(csi.load_model("acsi"), 40, seed=3).data
    assert by_name.equals(by_spec)
    api_error(lambda: csi.simulate("nomodel", 40), SpecError, ["unknown model 'nomodel'"])


def test_a_chain_of_1200_constructs_loads() -> None:
    """The cycle check is iterative: no RecursionError however long the chain."""
    spec = csi.load_model(_chain(1200))
    assert len(spec.constructs) == 1200 and len(spec.paths) == 1199


def test_read_toml_rejects_other_types() -> None:
    from csi.spec.toml_io import read_toml

    api_error(lambda: read_toml(42), SpecError, ["read_toml needs", "int"])
    api_error(lambda: read_toml("[constructs.A"), ModelSyntaxError, ["TOML"])
