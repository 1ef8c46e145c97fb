"""Reading model files as text, with every failure a :class:`~csi.errors.CSIError`."""

from __future__ import annotations

import os
from pathlib import Path

from csi.errors import InputFileError, SpecError


def is_file(path: str | os.PathLike[str]) -> bool:
    """``Path(path).is_file()``, False instead of an error for names no file system accepts (too long, NUL)."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def shown(path: str | os.PathLike[str], limit: int = 80) -> str:
    """A path for a message: quoted, shortened in the middle when long (a mistaken model text can be huge)."""
    text = str(path)
    return repr(text if len(text) <= limit else f"{text[: limit // 2]}...{text[-limit // 2 :]}")


def read_model_text(path: str | os.PathLike[str]) -> str:
    """The text of a model file, decoded as UTF-8.

    Raises
    ------
    InputFileError
        The file does not exist (also a ``FileNotFoundError``).
    SpecError
        The file cannot be read, or is not UTF-8 text; the message names the
        file, the line and the offending byte.
    """
    p = Path(path)
    if not is_file(p):
        raise InputFileError(f"no model file {shown(p)}")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise SpecError(f"cannot read model file {shown(p)}: {e.strerror or e}") from e
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise SpecError(
            f"model file {shown(p)} is not UTF-8 text: byte 0x{raw[e.start]:02x} at line {line} (byte {e.start}); "
            "save the file as UTF-8"
        ) from e
