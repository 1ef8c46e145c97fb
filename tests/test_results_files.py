"""Results folders: written whole or not at all, sealed with checksums, verified; formula-safe CSV text."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csi.errors import CSIError
from csi.results.csv_text import escape_frame, escape_text, to_csv, unescape_frame, unescape_text
from csi.results.files import ResultsFolderError, seal, staged_file, verify_folder, write_folder

ROOT = Path(__file__).resolve().parents[1]


def _fill(files: dict[str, str]):
    def fill(folder: Path) -> dict[str, str]:
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        return {name: f"test file {name}" for name in files}

    return fill


def _siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name != target.name)


# ------------------------------------------------------------------ writing whole folders


def test_folder_is_written_with_a_manifest_of_every_file(tmp_path: Path) -> None:
    out = write_folder(tmp_path / "r", _fill({"a.csv": "xy\n12\n", "sub/b.json": "{}"}), {"kind": "test"})
    doc = json.loads((out / "manifest.json").read_text())
    assert doc["kind"] == "test" and set(doc["files"]) == {"a.csv", "sub/b.json"}
    assert doc["files"]["a.csv"]["bytes"] == 6 and doc["files"]["a.csv"]["kind"] == "test file a.csv"
    assert len(doc["files"]["a.csv"]["sha256"]) == 64
    assert verify_folder(out) == doc
    assert _siblings(out) == []  # no temporary folder left behind


def test_non_empty_target_is_refused_and_overwrite_replaces_the_whole_folder(tmp_path: Path) -> None:
    target = tmp_path / "r"
    write_folder(target, _fill({"old.csv": "1", "both.csv": "old"}))
    with pytest.raises(ResultsFolderError, match=r"exists and is not empty.*overwrite"):
        write_folder(target, _fill({"both.csv": "new"}))
    assert (target / "old.csv").read_text() == "1"  # refused: untouched
    write_folder(target, _fill({"both.csv": "new"}), overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == ["both.csv", "manifest.json"]  # no old file survives
    assert (target / "both.csv").read_text() == "new"
    verify_folder(target)
    assert _siblings(target) == []


def test_empty_folder_is_accepted_and_foreign_folders_are_never_replaced(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "empty").mkdir()
    write_folder(tmp_path / "empty", _fill({"a.csv": "1"}))
    verify_folder(tmp_path / "empty")
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(ResultsFolderError, match="not a csi results folder.*refusing"):
        write_folder(home, _fill({"a.csv": "1"}), overwrite=True)
    assert (home / "thesis.tex").read_text() == "years of work"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultsFolderError, match="is not a folder"):
        write_folder(tmp_path / "file", _fill({"a.csv": "1"}))
    monkeypatch.chdir(home)
    for here in (".", str(home), str(tmp_path)):
        with pytest.raises(ResultsFolderError, match="is the current folder or contains it"):
            write_folder(here, _fill({"a.csv": "1"}), overwrite=True)
    with pytest.raises(ResultsFolderError, match="overwrite must be True or False"):
        write_folder(tmp_path / "new", _fill({}), overwrite="yes")  # type: ignore[arg-type]


def test_a_writer_failing_after_some_files_leaves_the_old_folder_intact(tmp_path: Path) -> None:
    target = tmp_path / "r"
    write_folder(target, _fill({"index.csv": "old", "extra.csv": "old"}))
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def failing(folder: Path) -> None:
        (folder / "index.csv").write_text("new")
        raise KeyboardInterrupt  # a user's Ctrl-C mid-write, the harshest in-process interruption

    with pytest.raises(KeyboardInterrupt):
        write_folder(target, failing, overwrite=True)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    verify_folder(target)
    assert _siblings(target) == []  # the partial folder was removed
    with pytest.raises(RuntimeError):
        write_folder(tmp_path / "fresh", lambda f: (_ for _ in ()).throw(RuntimeError("boom")))
    assert not (tmp_path / "fresh").exists()  # no folder rather than half of one


_KILLED_WRITER = """
import sys, time
from pathlib import Path
from csi.results.files import write_folder

def fill(folder):
    for i in range(1000):
        (folder / f"t{i}.csv").write_text("new" * 100)
        if i == 5:
            Path(sys.argv[2]).write_text("started")  # tell the test we are mid-write, then linger
            time.sleep(60)
    return None

write_folder(sys.argv[1], fill, overwrite=True)
"""


def test_a_writer_killed_mid_write_leaves_the_old_folder_or_none(tmp_path: Path) -> None:
    target = tmp_path / "r"
    write_folder(target, _fill({"t0.csv": "old", "t1.csv": "old"}))
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    flag = tmp_path.parent / f"{tmp_path.name}-flag"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target), str(flag)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert proc.poll() is None, "writer exited early"
            assert time.monotonic() < deadline, "writer never started"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # The old folder is intact (the only other possible state, no folder, needs a kill between two renames).
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    verify_folder(target)
    partial = _siblings(target)
    assert len(partial) == 1 and ".csi-partial-" in partial[0]  # the killed writer's leftovers, beside, not inside


def test_staged_file_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old report")
    with pytest.raises(RuntimeError):
        with staged_file(path) as tmp:
            tmp.write_text("half a new rep")
            raise RuntimeError("renderer crashed")
    assert path.read_text() == "old report" and sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    with staged_file(path) as tmp:
        assert tmp.parent == path.parent and tmp.suffix == ".html" and tmp != path
        tmp.write_text("new report")
    assert path.read_text() == "new report" and sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    with pytest.raises(ResultsFolderError, match="is a folder"):
        with staged_file(tmp_path):
            pass


# ------------------------------------------------------------------ verification


@pytest.fixture()
def sealed(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "r", _fill({"index.csv": "a,b\n1,2\n3,4\n", "units.csv": "u\nx\n"}))


def test_deleted_file_is_named(sealed: Path) -> None:
    (sealed / "units.csv").unlink()
    with pytest.raises(ResultsFolderError, match=r"units.csv is missing"):
        verify_folder(sealed)


def test_truncated_file_is_named(sealed: Path) -> None:
    (sealed / "index.csv").write_bytes((sealed / "index.csv").read_bytes()[:5])
    with pytest.raises(ResultsFolderError, match=r"index.csv has 5 bytes, the manifest lists 12 \(truncated\)"):
        verify_folder(sealed)


def test_changed_byte_is_named(sealed: Path) -> None:
    raw = bytearray((sealed / "index.csv").read_bytes())
    raw[-2] = ord("5")  # same size, one digit changed
    (sealed / "index.csv").write_bytes(bytes(raw))
    with pytest.raises(ResultsFolderError, match=r"index.csv was changed \(its SHA-256 differs"):
        verify_folder(sealed)


def test_foreign_file_is_named(sealed: Path) -> None:
    (sealed / "bootstrap.csv").write_text("left over from another run")
    with pytest.raises(ResultsFolderError, match=r"bootstrap.csv is not listed in the manifest \(foreign file\)"):
        verify_folder(sealed)


def test_every_problem_is_listed_at_once(sealed: Path) -> None:
    (sealed / "units.csv").unlink()
    (sealed / "index.csv").write_text("")
    (sealed / "x.txt").write_text("")
    with pytest.raises(ResultsFolderError) as e:
        verify_folder(sealed)
    assert all(s in str(e.value) for s in ("units.csv is missing", "index.csv has 0 bytes", "x.txt is not listed"))


def test_manifest_problems_are_named(sealed: Path, tmp_path: Path) -> None:
    doc = json.loads((sealed / "manifest.json").read_text())
    doc["files"]["../outside.csv"] = {"bytes": 1, "sha256": "0" * 64, "kind": "x"}
    (sealed / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(ResultsFolderError, match="outside.csv lies outside the folder"):
        verify_folder(sealed)
    (sealed / "manifest.json").write_text('{"seed": 1}')
    with pytest.raises(ResultsFolderError, match="lists no files with checksums.*seal"):
        verify_folder(sealed)
    (sealed / "manifest.json").write_bytes(b"\xff{")
    with pytest.raises(ResultsFolderError, match="not valid UTF-8 JSON"):
        verify_folder(sealed)
    (sealed / "manifest.json").unlink()
    with pytest.raises(ResultsFolderError, match="has no manifest.json"):
        verify_folder(sealed)
    with pytest.raises(ResultsFolderError, match="does not exist"):
        verify_folder(tmp_path / "nowhere")
    assert issubclass(ResultsFolderError, CSIError)


def test_seal_adopts_a_folder_made_by_hand(tmp_path: Path) -> None:
    (tmp_path / "index.csv").write_text("a\n1\n")
    (tmp_path / "manifest.json").write_text('{"seed": 3}')
    doc = seal(tmp_path)
    assert doc["seed"] == 3 and set(doc["files"]) == {"index.csv"} and doc["files"]["index.csv"]["kind"] == "table (CSV)"
    assert verify_folder(tmp_path) == doc


# ------------------------------------------------------------------ formula-safe CSV text


def test_text_cells_are_quoted_and_numbers_stay_numbers(tmp_path: Path) -> None:
    names = ['=HYPERLINK("x")', "-5 Ltd", "+1 Mobile", "@home", "\tTab Co", "\rCR Co", "'=quoted", "O'Neil", "Acme"]
    frame = pd.DataFrame({"unit": names, "index": [-5.0, 1.5, -0.25, 3, 4, 5, 6, 7, 8], "n": range(9)})
    to_csv(frame, tmp_path / "t.csv")
    raw = pd.read_csv(tmp_path / "t.csv", dtype={"unit": str}, keep_default_na=False)
    assert list(raw["unit"][:6]) == ["'" + s for s in names[:6]]  # OWASP: a leading quote makes them text
    assert raw["unit"][6] == "''=quoted" and list(raw["unit"][7:]) == ["O'Neil", "Acme"]  # untouched unless needed
    assert raw["index"].dtype == float and raw["index"][0] == -5.0 and raw["n"].dtype == "int64"
    back = unescape_frame(raw, ["unit"])
    assert list(back["unit"]) == names  # exact round trip


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("'=+-@\t\rab 1")), max_size=6) | st.text(max_size=8))
def test_escape_is_exactly_reversible(text: str) -> None:
    escaped = escape_text(text)
    assert unescape_text(escaped) == text
    assert not escaped or escaped[0] not in "=+-@\t\r"


def test_non_text_values_are_never_touched() -> None:
    frame = pd.DataFrame({"x": [-1.0, 2.0], "flag": [True, False], "label": ["-a", None]})
    out = escape_frame(frame)
    assert out["x"].tolist() == [-1.0, 2.0] and out["flag"].tolist() == [True, False]
    assert out["label"][0] == "'-a" and pd.isna(out["label"][1]) and frame["label"][0] == "-a"  # input unchanged
