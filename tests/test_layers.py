"""The package's layers: every runtime import between subpackages points down, and there is no cycle.

The order (lowest first) is ``errors, _version`` -> ``spec`` -> ``data`` -> ``core``, ``simulate`` ->
``results`` -> ``estimators`` -> ``resample`` -> ``quality`` -> ``index`` -> ``classical`` -> the package
root ``csi`` -> ``demo`` -> ``bench`` -> ``report`` (its methodology appendix cites the coverage study) -> ``cli``.
The test reads every module's source with :mod:`ast`
(imports inside functions included, ``if TYPE_CHECKING:`` blocks excluded: they never run) and fails
naming the file and the upward import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "csi"

RANK = {
    "errors": 0, "_version": 0, "models": 0,
    "spec": 1, "data": 2, "core": 3, "simulate": 3, "results": 4, "estimators": 5, "resample": 6,
    "quality": 7, "index": 8, "classical": 9, "csi": 10, "demo": 11, "bench": 12, "report": 13, "cli": 14,
    "__main__": 15,
}  # fmt: skip


def _unit(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return "csi" if parts == ("__init__",) else parts[0]


def _runtime_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import outside ``if TYPE_CHECKING:`` blocks."""
    out: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def _edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        src = _unit(path)
        for line, module in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module != "csi" and not module.startswith("csi."):
                continue
            dst = "csi" if module == "csi" else module.split(".")[1]
            if dst != src:
                edges.setdefault((src, dst), []).append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    return edges


def import_graph() -> dict[str, list[str]]:
    """Subpackage -> the subpackages it imports at run time (for the record)."""
    graph: dict[str, list[str]] = {}
    for src, dst in _edges():
        graph.setdefault(src, []).append(dst)
    return {k: sorted(v) for k, v in sorted(graph.items())}


def test_every_subpackage_has_a_layer() -> None:
    units = {_unit(p) for p in PACKAGE.rglob("*.py")}
    assert units <= set(RANK), f"add {sorted(units - set(RANK))} to RANK"


def test_imports_point_down() -> None:
    upward = [
        where
        for (src, dst), sites in _edges().items()
        if RANK.get(dst, -1) >= RANK.get(src, -1)
        for where in sites
    ]
    assert not upward, "imports that do not point down a layer:\n" + "\n".join(upward)


def test_no_cycle_between_subpackages() -> None:
    graph = import_graph()
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(nxt) :] + [node, nxt]))
            if nxt not in state:
                visit(nxt, stack + [node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import csi.index\ndef f():\n    import csi.index\n")
    assert _runtime_imports(tree) == [(1, "typing"), (5, "csi.index")]


if __name__ == "__main__":
    for src, dsts in import_graph().items():
        print(f"{src:<11} -> {', '.join(dsts)}")
