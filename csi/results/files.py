"""Results folders that are whole or absent: staged writes, a checksummed manifest, verification.

Every csi writer of a folder (``csi fit/bootstrap/index/demo --out``,
:meth:`csi.PanelIndexResult.write`, :func:`csi.results.export.write_results`)
goes through :func:`write_folder`:

1. the files are written into a temporary sibling folder
   (``.<name>.csi-partial-<random>`` beside the target, so the final rename
   stays on one file system);
2. :func:`seal` records the size, SHA-256 and kind of every file in the
   folder's ``manifest.json`` (key ``files``);
3. the sibling is renamed into place.  A target that exists and is not empty
   is refused unless ``overwrite=True``, which first renames the old folder
   aside, then renames the new one in and deletes the old one, so the target
   is never a mix of old and new files: a writer killed at any moment leaves
   the old folder intact, or (between the two renames) no folder at the
   target and the old one at ``.<name>.csi-old-<random>``.

Single files (the HTML, PDF and Excel reports) are written to a temporary
sibling and renamed over the target by :func:`staged_file`.

Readers call :func:`verify_folder` before trusting a folder: it names every
listed file that is missing, whose size or checksum differ from the manifest's
(truncated or changed), and every file the manifest does not list (foreign).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from csi.errors import DataError

MANIFEST = "manifest.json"
"""Name of the manifest of every results folder."""

FILES_KEY = "files"
"""Manifest key holding ``{relative path: {"bytes", "sha256", "kind"}}``."""

PARTIAL, OLD = "csi-partial", "csi-old"

# What a file is, by suffix, when its writer does not say.
_KINDS = {".csv": "table (CSV)", ".parquet": "table (Parquet)", ".json": "JSON document", ".html": "HTML report",
          ".pdf": "PDF report", ".xlsx": "Excel workbook"}  # fmt: skip


class ResultsFolderError(DataError):
    """A results folder cannot be written where asked, or is not what its manifest says."""


def _sibling(target: Path, tag: str) -> Path:
    return target.with_name(f".{target.name}.{tag}-{secrets.token_hex(4)}")


def _is_results_folder(folder: Path) -> bool:
    # Overwrite replaces only what csi wrote (or an empty folder): never a home or project folder given by mistake.
    return (folder / MANIFEST).is_file() or (folder / "results.json").is_file()


def check_target(target: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Raise unless ``target`` may receive a new results folder; returns it as a Path.

    Accepted: a path that does not exist, an empty folder, or (with
    ``overwrite=True``) a folder csi wrote (it holds ``manifest.json`` or
    ``results.json``).  Writers call it before any work, so a long run does not
    end in a refusal.
    """
    folder = Path(target)
    if not isinstance(overwrite, bool):
        raise ResultsFolderError(f"overwrite must be True or False, got {overwrite!r}")
    here = Path.cwd().resolve()
    if folder.resolve() == here or folder.resolve() in here.parents:
        # Renaming the working folder away would leave this process (and the user's shell) in a deleted folder.
        raise ResultsFolderError(f"output folder {str(folder)!r} is the current folder or contains it; give a "
                                 "new subfolder, e.g. results/")  # fmt: skip
    if folder.exists() and not folder.is_dir():
        raise ResultsFolderError(f"output {str(folder)!r} exists and is not a folder; give a folder path")
    if folder.is_dir() and any(folder.iterdir()):
        if not overwrite:
            raise ResultsFolderError(
                f"output folder {str(folder)!r} exists and is not empty; choose another folder, or pass "
                "overwrite=True (--overwrite) to replace the whole folder"
            )
        if not _is_results_folder(folder):
            raise ResultsFolderError(
                f"output folder {str(folder)!r} is not a csi results folder (it has no {MANIFEST} or results.json); "
                "refusing to replace it even with overwrite: choose an empty or new folder"
            )
    return folder


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _listed(folder: Path) -> list[str]:
    """Every file below ``folder`` except its own manifest, as sorted POSIX-style relative paths."""
    out = []
    for path in folder.rglob("*"):
        if path.is_file() or path.is_symlink():
            rel = path.relative_to(folder).as_posix()
            if rel != MANIFEST:
                out.append(rel)
    return sorted(out)


def describe(name: str, kinds: Mapping[str, str] | None = None) -> str:
    """What file ``name`` (relative path) is: ``kinds[name]``, else a description by its suffix."""
    if kinds and name in kinds:
        return kinds[name]
    return _KINDS.get(Path(name).suffix.lower(), "file")


def seal(folder: str | os.PathLike[str], manifest: Mapping[str, Any] | None = None,
         kinds: Mapping[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Write ``manifest.json`` into ``folder`` listing the size, SHA-256 and kind of every other file in it.

    Parameters
    ----------
    folder
        The folder, complete but for its manifest (files in subfolders are
        listed by relative path).
    manifest
        The document to write; its ``files`` entry is replaced.  Default: the
        folder's current ``manifest.json`` if there is one (to seal a folder
        made by hand), else ``{}``.
    kinds
        What each file is, by relative path (others are described by suffix).

    Returns
    -------
    dict
        The manifest written.
    """
    folder = Path(folder)
    if manifest is None:
        path = folder / MANIFEST
        manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    if FILES_KEY in manifest and not isinstance(manifest[FILES_KEY], Mapping):
        raise ResultsFolderError(f"manifest key {FILES_KEY!r} is reserved for the list of files")
    doc = {k: v for k, v in manifest.items() if k != FILES_KEY}
    doc[FILES_KEY] = {
        rel: {"bytes": (folder / rel).stat().st_size, "sha256": file_digest(folder / rel), "kind": describe(rel, kinds)}
        for rel in _listed(folder)
    }
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")
    return doc


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The folder's ``manifest.json`` as a dict, or a :class:`ResultsFolderError` saying what is wrong with it."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise ResultsFolderError(f"results folder {str(folder)!r} does not exist")
    if not path.is_file():
        raise ResultsFolderError(
            f"results folder {str(folder)!r} has no {MANIFEST}; is it a folder written by csi (--out DIR)?"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultsFolderError(f"{MANIFEST} in {str(folder)!r} is not valid UTF-8 JSON ({e}); the folder is "
                                 "damaged: write it again") from e  # fmt: skip
    if not isinstance(doc, dict):
        raise ResultsFolderError(f"{MANIFEST} in {str(folder)!r} must hold a JSON object")
    return doc


def verify_folder(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Check every file of a results folder against its manifest; returns the manifest.

    Raises
    ------
    ResultsFolderError
        When the manifest is missing, unreadable or lists no files (a folder
        written by an older csi or by hand: seal it with :func:`seal`), or
        when a listed file is missing, has another size (truncated or
        extended) or another SHA-256 (changed), or a file is not listed
        (foreign).  The message names every such file (up to ten).
    """
    folder = Path(folder)
    doc = read_manifest(folder)
    files = doc.get(FILES_KEY)
    if not isinstance(files, Mapping) or not all(isinstance(v, Mapping) for v in files.values()):
        raise ResultsFolderError(
            f"{MANIFEST} in {str(folder)!r} lists no files with checksums (key {FILES_KEY!r}), so the folder "
            "cannot be verified; write it again with this csi, or seal a folder made by hand with "
            "csi.results.files.seal(folder)"
        )
    problems = []
    for rel, entry in sorted(files.items()):
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            problems.append(f"{rel} lies outside the folder")
            continue
        path = folder / rel
        if not path.is_file():
            problems.append(f"{rel} is missing")
            continue
        size = path.stat().st_size
        if size != entry.get("bytes"):
            how = "truncated" if isinstance(entry.get("bytes"), int) and size < entry["bytes"] else "changed"
            problems.append(f"{rel} has {size} bytes, the manifest lists {entry.get('bytes')} ({how})")
        elif file_digest(path) != entry.get("sha256"):
            problems.append(f"{rel} was changed (its SHA-256 differs from the manifest's)")
    foreign = [rel for rel in _listed(folder) if rel not in files]
    problems += [f"{rel} is not listed in the manifest (foreign file)" for rel in foreign]
    if problems:
        more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise ResultsFolderError(
            f"results folder {str(folder)!r} does not match its {MANIFEST}: {'; '.join(problems[:10])}{more}. "
            "Do not trust it: write it again (foreign files: move them out of the folder)"
        )
    return doc


def without_files(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest without its list of files (the provenance a result carries)."""
    return {k: v for k, v in manifest.items() if k != FILES_KEY}


def _publish(staged: Path, target: Path, overwrite: bool) -> None:
    check_target(target, overwrite)
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists():
        os.rename(staged, target)
        return
    old = _sibling(target, OLD)
    os.rename(target, old)
    try:
        os.rename(staged, target)
    except OSError:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_folder(
    target: str | os.PathLike[str],
    fill: Callable[[Path], Mapping[str, str] | None],
    manifest: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a results folder whole: ``fill`` a temporary sibling, :func:`seal` it, rename it into place.

    Parameters
    ----------
    target
        The folder to create (its parents are created).  See
        :func:`check_target` for what may already be there.
    fill
        Writes every file into the folder it is given; may return the kinds of
        the files (relative path -> description) for the manifest.
    manifest
        The manifest's content besides the list of files (default ``{}``).
    overwrite
        Replace an existing results folder as a whole.

    Returns
    -------
    Path
        ``target``.
    """
    given = check_target(target, overwrite)
    target = given.absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = _sibling(target, PARTIAL)
    staged.mkdir()
    try:
        kinds = fill(staged)
        seal(staged, manifest or {}, kinds)
        _publish(staged, target, overwrite)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return given


@contextmanager
def staged_file(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary sibling path to write instead of ``target``; renamed over ``target`` when the block succeeds.

    An existing file at ``target`` is replaced in one rename (never half
    written); on an exception the temporary file is removed and ``target`` is
    left as it was.
    """
    target = Path(target)
    if target.is_dir():
        raise ResultsFolderError(f"output {str(target)!r} is a folder; give a file path")
    target.parent.mkdir(parents=True, exist_ok=True)
    # The suffix is kept so that tools which choose a format by extension still see it.
    staged = target.with_name(f".{target.stem}.{PARTIAL}-{secrets.token_hex(4)}{target.suffix}")
    try:
        yield staged
        os.replace(staged, target)
    finally:
        if staged.exists():
            staged.unlink()
