"""Per-construct direction (``better``) and per-language labels in the model: TOML keys, defaults, checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from csi.errors import SpecError
from csi.spec.load import load_model
from csi.spec.model import Construct
from csi.spec.toml_io import read_toml, to_toml

TOML = """
name = "m"
paths = [["A", "B"]]
[constructs.A]
label = "Complaints"
labels = {zh = "抱怨"}
better = "lower"
items = [{name = "a1", label = "Complained", labels = {zh = "抱怨过"}}, "a2"]
[constructs.B]
items = ["b1", "b2"]
"""


def test_toml_keys_are_read_and_written_back():
    spec = read_toml(TOML)
    a, b = spec.construct("A"), spec.construct("B")
    assert (a.better, b.better) == ("lower", "higher")
    assert a.label_in("zh") == "抱怨" and a.label_in("en") == "Complaints" and b.label_in("zh") == "B"
    assert a.items[0].label_in("zh") == "抱怨过" and a.items[1].label_in("zh") == "a2"
    assert read_toml(to_toml(spec)) == spec


def test_lavaan_text_and_old_files_default_to_higher_is_better():
    spec = load_model("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A")
    assert {c.better for c in spec.constructs} == {"higher"}
    assert "better" not in to_toml(spec)  # the default is not written, so old files stay as they were


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"better": "up"}, r"construct 'C': better = 'up' is not accepted; accepted: 'higher'.*'lower'"),
        ({"labels": {"Chinese": "x"}}, r"construct 'C': labels entry 'Chinese'.*language code"),
        ({"labels": {"zh": 3}}, r"labels entry 'zh' = 3"),
        ({"labels": "zh"}, r"labels must map language codes to text"),
    ],
)
def test_bad_values_are_named(kwargs, match):
    with pytest.raises(SpecError, match=match):
        Construct("C", ("c1",), **kwargs)


SHIPPED = Path(__file__).resolve().parents[1] / "models"  # this checkout's files, whatever is installed


def test_shipped_models_declare_complaints_lower_and_carry_chinese_labels():
    lower = {name: [c.name for c in read_toml(SHIPPED / f"{name}.toml").constructs if c.better == "lower"]
             for name in ("acsi", "ecsi", "ecsi6", "scsb")}  # fmt: skip
    # ECSI's COMP is complaint *handling* (higher is better); ACSI's COMPL and SCSB's VOICE count complaints.
    assert lower == {"acsi": ["COMPL"], "ecsi": [], "ecsi6": [], "scsb": ["VOICE"]}
    for name in ("acsi", "ecsi", "ecsi6", "scsb"):
        for c in read_toml(SHIPPED / f"{name}.toml").constructs:
            assert dict(c.labels).get("zh"), (name, c.name)
            assert all(dict(i.labels).get("zh") for i in c.items), (name, c.name)
