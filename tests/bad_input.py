"""Helpers of the bad-input catalogue (``tests/test_bad_input_*.py``).

Every case asserts the exception type and the key words of its message (all
of them, case-insensitively), through the API with :func:`api_error` and
through the command line with :func:`cli_error`: exit status 2 and exactly one
line ``csi: error: ...`` on stderr, never a traceback.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import csi
from csi.cli import main


def api_error(call: Callable[[], Any], kind: type[BaseException], words: Sequence[str]) -> str:
    """Run ``call``; it must raise ``kind`` (a CSIError) whose message holds every one of ``words``."""
    assert issubclass(kind, csi.CSIError), "the catalogue expects csi's own errors"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(kind) as info:
            call()
    message = str(info.value)
    missing = [w for w in words if w.lower() not in message.lower()]
    assert not missing, f"message lacks {missing}: {message}"
    return message


def cli_error(argv: Sequence[str], capsys: pytest.CaptureFixture[str], words: Sequence[str]) -> str:
    """Run ``csi ARGV``: exit status 2, one line ``csi: error: ...`` holding every one of ``words``."""
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("csi: warning:")]
    assert code == 2, f"exit status {code}, stderr: {err}"
    assert len(lines) == 1 and lines[0].startswith("csi: error: "), f"not one error line: {err!r}"
    assert "Traceback" not in err
    missing = [w for w in words if w.lower() not in lines[0].lower()]
    assert not missing, f"message lacks {missing}: {lines[0]}"
    return lines[0]


def survey(n: int = 120, seed: int = 1) -> pd.DataFrame:
    """ECSI-7 data on its 1-10 scales."""
    return csi.simulate("ecsi", n, seed=seed).data


def write_files(folder: Path) -> dict[str, Path]:
    """Data, model and option files the catalogue's command lines read, in ``folder``, keyed by file name."""
    data = survey()
    f: dict[str, Path] = {}

    def path(name: str) -> Path:
        f[name] = folder / name
        return folder / name

    data.to_csv(path("good.csv"), index=False)
    data.assign(region=np.arange(len(data)) % 3, unique=np.arange(len(data))).to_csv(path("strata.csv"), index=False)
    path("empty.csv").write_bytes(b"")
    path("header.csv").write_text(",".join(data.columns) + "\n")
    path("binary.csv").write_bytes(bytes(range(256)) * 8)
    path("latin1.csv").write_bytes(("IMAG1;é\n1;2\n").encode("latin-1"))
    cols = list(data.columns)
    path("dupheader.csv").write_text(",".join(cols + [cols[0]]) + "\n" + "\n".join(
        ",".join(str(v) for v in row) + f",{row[0]}" for row in data.to_numpy().tolist()) + "\n")  # fmt: skip
    data.iloc[:3].to_csv(path("short.csv"), index=False)
    for name, value in (("text", "seven"), ("range", 99), ("inf", np.inf), ("nan", np.nan), ("huge", 1e300)):
        d = data.astype(object if name == "text" else float)
        d.loc[4, "CUSA2"] = value
        d.to_csv(path(f"{name}.csv"), index=False)
    data.astype(float).assign(CUSA2=np.nan).to_csv(path("unanswered.csv"), index=False)
    data.assign(IMAG1=5).to_csv(path("constant.csv"), index=False)
    data.drop(columns="CUSL3").to_csv(path("nocol.csv"), index=False)
    data.to_json(path("data.json"))
    path("truncated.parquet").write_bytes(b"PAR1\x00\x00garbage")
    path("fake.xlsx").write_bytes(b"not a workbook")
    (folder / "folder.csv").mkdir()
    f["folder.csv"] = folder / "folder.csv"
    path("latin1.lav").write_bytes("SAT =~ s\xe91 + s2\n".encode("latin-1"))
    path("empty.lav").write_text("")
    path("comments.lav").write_text("# only a comment\n")
    path("syntax.lav").write_text("SAT =~ a1 + + a2\n")
    path("cycle.lav").write_text("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A\nA ~ B\n")
    path("bad.toml").write_text("[constructs\nSAT = 1\n")
    path("wrong.toml").write_text('[model]\nname = "x"\n')
    path("binary.toml").write_bytes(b"\xff\xfe\x00\x01" * 10)
    path("items.json").write_text('{"NOPE": ["a"]}')
    path("badjson.json").write_text("{not json")
    panel = csi.simulate_panel("acsi", companies=4, respondents=60, waves=2, seed=6, industries=2, sectors=1)
    panel.data.to_csv(path("panel.csv"), index=False)
    panel.unit_weights.to_csv(path("weights.csv"), index=False)
    panel.unit_weights.assign(weight=-1.0).to_csv(path("negweights.csv"), index=False)
    panel.unit_weights.drop(columns="weight").to_csv(path("noweight.csv"), index=False)
    return f
