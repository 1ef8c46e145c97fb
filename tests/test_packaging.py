"""The explicit package list in pyproject.toml must name every subpackage of csi/."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "csi").rglob("__init__.py")} | {"csi.models"}
    assert found == listed


def test_shipped_models_are_package_data():
    import importlib.resources

    files = {f.name for f in importlib.resources.files("csi.models").iterdir()} if _installed() else set()
    on_disk = {p.name for p in (ROOT / "models").glob("*.toml")}
    assert on_disk >= {"scsb.toml", "acsi.toml", "ecsi.toml", "ecsi6.toml"}
    if files:
        assert on_disk <= files


def _installed() -> bool:
    try:
        import csi.models  # noqa: F401
    except ImportError:
        return False
    return True
