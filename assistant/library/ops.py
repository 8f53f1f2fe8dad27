"""Library changes: add, replace, remove, sync and review files and documents, each one audited.

Every file is checked as it will be stored (a staged copy inside the library, moved into place only once it
reads): a file that cannot be read (no reader, missing metadata, a limit) is skipped with one line naming it
and saying why, and the rest of the batch goes on. A replaced or removed file is moved under
`.library/removed/`, never deleted. The callers (CLI, HTTP) rebuild the index afterwards; the
embedding cache makes that rebuild embed only new text.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ..errors import AssistantError, IngestError
from ..ingest import documents_of, iter_library, load_corpus
from ..loader import current_generation
from ..passagestore import FILE as STORE_FILE
from ..passagestore import open_store
from ..readers import Parsed, reader_for
from ..settings import Settings
from ..sidecars import SIDECAR_SUFFIXES, is_sidecar, metadata_for, sidecar_candidates
from ..types import REVIEW_STATUSES, Document
from .state import audit, library_lock, removed_dir, set_review, state_dir


class LibraryError(IngestError):
    """A library change that cannot be made; nothing was changed."""


class NotInLibrary(LibraryError):
    """No document with that id in the library."""

    status_code = 404


@dataclass(frozen=True)
class Change:
    action: str  # added | replaced | unchanged | removed | reviewed | skipped
    file: str
    doc_ids: tuple[str, ...] = ()
    detail: str = ""


def documents(settings: Settings) -> dict[str, Document]:
    """The documents of the served index (fast); the library files read afresh when there is none."""
    try:
        folder = current_generation(settings.index_dir)
        stored, _passages = open_store(folder / STORE_FILE)
        try:
            return {d.doc_id: d for d in stored.values()}
        finally:
            stored.close()
    except (OSError, ValueError, sqlite3.Error, AssistantError):
        return _library_documents(settings)


def _library_documents(settings: Settings) -> dict[str, Document]:
    """The documents of the library files as they are now (unchanged files from the parse cache)."""
    cache = settings.cache_dir / "parsed" if settings.index.embedding_cache else None
    return load_corpus(settings.corpus, settings.ingest, skip_bad_files=True, parse_cache=cache).documents


def find(settings: Settings, doc_id: str) -> Document:
    """A document of the index, or of the library files when it was added since the last build."""
    doc = documents(settings).get(doc_id)
    if doc is None:
        doc = _library_documents(settings).get(doc_id)
    if doc is None:
        raise NotInLibrary(f"no document {doc_id!r} in the library; `assistant library list` shows the ids")
    return doc


def file_of(settings: Settings, doc: Document) -> Path:
    """The library file a document was read from."""
    for root in settings.corpus:
        if doc.source_file and (Path(root) / doc.source_file).is_file():
            return Path(root) / doc.source_file
    raise NotInLibrary(
        f"{doc.doc_id}: its file is no longer in the library folders (removed since the last build?); "
        "`assistant library status` says whether the index is stale"
    )


def _files(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """(file, path relative to where it goes) for files and folders given."""
    out: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            out += [(f, f.relative_to(path)) for f, _root in iter_library([path])]
        elif path.is_file():
            out.append((path, Path(path.name)))
        else:
            raise LibraryError(f"{path}: no such file or folder")
    return out


def _move_away(library: Path, path: Path, when: Path) -> None:
    for part in (path, *(c for c in sidecar_candidates(path) if c.is_file())):
        target = when / part.relative_to(library)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(part), target)


def _missing(parsed: list[Parsed], beside: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults that the file's own metadata and what lies beside it lack: written into its sidecar, so
    they last."""
    own: dict[str, Any] = {}
    for one in parsed:
        own |= one.meta
    own |= beside
    return {k: v for k, v in defaults.items() if own.get(k) in (None, "")}


def add(
    settings: Settings,
    paths: Sequence[Path],
    *,
    by: str,
    defaults: Mapping[str, Any] | None = None,
    into: str = "",
) -> list[Change]:
    """Copy files (or every readable file of folders) into the library. A file that cannot be read is
    `skipped` (its change says why) and the rest go on."""
    library = settings.library_dir
    folder = _subfolder(into) if into else Path()
    files = _files(paths)
    if not files:
        raise LibraryError(f"no readable files in {', '.join(map(str, paths))}")
    changes = []
    for path, rel in files:
        try:
            changes.append(_add_one(settings, path, library / folder / rel, by, dict(defaults or {})))
        except IngestError as exc:
            changes.append(Change("skipped", str(Path(into) / rel), detail=str(exc)))
    return changes


def _subfolder(into: str) -> Path:
    """A library subfolder as given (`--into`): relative, inside the library, not hidden."""
    path = Path(into)
    if path.is_absolute() or any(part in ("..", "") or part.startswith(".") for part in path.parts):
        raise LibraryError(
            f"--into {into!r}: name a subfolder of the library, such as 'guidelines/cardiology'"
        )
    return path


def _same(a: Path, b: Path) -> bool:
    return a.is_file() == b.is_file() and (not a.is_file() or filecmp.cmp(a, b, shallow=False))


def _add_one(settings: Settings, path: Path, dest: Path, by: str, defaults: dict[str, Any]) -> Change:
    """Stage a copy of the file inside the library with its metadata (its sidecar, its folder's CSV row and
    the defaults it lacks, as one sidecar), check the copy, then move it into place: what was checked is
    exactly what is stored, even when the original changes meanwhile."""
    with library_lock(settings.library_dir):
        return _add_locked(settings, path, dest, by, defaults)


def _add_locked(settings: Settings, path: Path, dest: Path, by: str, defaults: dict[str, Any]) -> Change:
    library = settings.library_dir
    staging = state_dir(library) / "staging" / uuid.uuid4().hex
    staged = staging / dest.name
    side_name = dest.name + SIDECAR_SUFFIXES[0]
    try:
        staging.mkdir(parents=True)
        try:
            shutil.copyfile(path, staged)
        except OSError as exc:
            raise IngestError(f"{path}: cannot be copied ({exc.strerror})") from exc
        try:  # the copy is read once: for its own metadata, then for its documents
            parsed = list(reader_for(staged).read(staged, settings.ingest))
            beside = metadata_for(path)
            beside = {**_missing(parsed, beside, defaults), **beside}
            if beside:
                text = yaml.safe_dump(beside, sort_keys=True, allow_unicode=True)
                (staging / side_name).write_text(text, encoding="utf-8")
            ids = tuple(d.doc_id for d, _passages in documents_of(parsed, staged, settings.ingest))
        except IngestError as exc:  # named after the file the user gave, not the staged copy
            message = str(exc).replace(str(staging / side_name), f"{path} (its metadata)")
            raise IngestError(message.replace(str(staged), str(path))) from None
        rel = str(dest.relative_to(library))
        if _same(staged, dest) and _same(staging / side_name, dest.with_name(side_name)):
            return Change("unchanged", rel, ids)
        action = "replaced" if dest.exists() else "added"
        if dest.exists():
            _move_away(library, dest, removed_dir(library))
        dest.parent.mkdir(parents=True, exist_ok=True)
        if beside:  # the sidecar first: a crash between the two leaves a harmless lone sidecar
            os.replace(staging / side_name, dest.with_name(side_name))
        os.replace(staged, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    audit(library, action, by, file=rel, doc_id=",".join(ids), detail=f"from {path.resolve()}")
    return Change(action, rel, ids)


def remove(settings: Settings, doc_id: str, *, by: str) -> Change:
    """Move a document's file out of the library (under `.library/removed/`)."""
    library = settings.library_dir
    indexed = documents(settings)
    doc = indexed.get(doc_id) or find(settings, doc_id)
    path = file_of(settings, doc)
    if not path.resolve().is_relative_to(library.resolve()):
        raise LibraryError(
            f"{doc_id}: its file {path} is outside the library folder {library}; remove it there"
        )
    others = [d.doc_id for d in indexed.values() if d.source_file == doc.source_file]
    if len(others) > 1:
        raise LibraryError(
            f"{doc_id}: {path.name} holds {len(others)} documents ({', '.join(sorted(others)[:5])} ...); "
            "remove the whole file with `assistant library remove` on each, or edit the file"
        )
    rel = str(path.relative_to(library))
    with library_lock(library):
        if not path.is_file():
            raise NotInLibrary(f"{doc_id}: its file {rel} was removed meanwhile")
        _move_away(library, path, removed_dir(library))
        audit(library, "removed", by, file=rel, doc_id=doc_id)
    return Change("removed", rel, (doc_id,))


def review(settings: Settings, doc_id: str, status: str, *, by: str, note: str = "") -> Change:
    """Record a review of a document (kept in `.library/reviews.json`, applied at the next build)."""
    if status not in REVIEW_STATUSES:
        raise LibraryError(f"review status {status!r} is not one of {', '.join(REVIEW_STATUSES)}")
    if not by.strip():
        raise LibraryError("say who reviewed it: --by NAME")
    doc = find(settings, doc_id)
    library = settings.library_dir
    record = {
        "review_status": status,
        "reviewed_by": by.strip(),
        "last_reviewed": datetime.now(UTC).date().isoformat(),
    }
    if note:
        record["note"] = note
    with library_lock(library):
        set_review(library, doc_id, record)
        audit(library, "reviewed", by, file=doc.source_file or "", doc_id=doc_id, detail=status)
    return Change("reviewed", doc.source_file or "", (doc_id,), status)


def sync(settings: Settings, folder: Path, *, by: str, into: str | None = None) -> list[Change]:
    """Make `<library>/<into>` mirror `folder`: new and changed files copied in, files gone from `folder`
    moved out. A file that cannot be read is skipped (and reported); its older copy stays."""
    if not folder.is_dir():
        raise LibraryError(f"{folder}: not a folder; sync mirrors a folder into the library")
    library = settings.library_dir
    target = library / _subfolder(into if into is not None else folder.name)
    if target.resolve() == library.resolve():
        raise LibraryError(
            "sync needs its own subfolder of the library (--into NAME), not the library itself"
        )
    wanted = {rel: path for path, rel in _files([folder])}
    changes: list[Change] = []
    for rel, path in sorted(wanted.items()):
        try:
            changes += add(settings, [path], by=by, into=str(target.relative_to(library) / rel.parent))
        except IngestError as exc:
            changes.append(Change("skipped", str(target.relative_to(library) / rel), detail=str(exc)))
    present = [p for p in target.rglob("*") if p.is_file() and not is_sidecar(p)] if target.is_dir() else []
    when = removed_dir(library)
    for path in sorted(present):
        rel = path.relative_to(target)
        if rel in wanted or any(part.startswith(".") for part in rel.parts):
            continue
        with library_lock(library):
            if not path.is_file():
                continue
            _move_away(library, path, when)
            audit(library, "removed", by, file=str(path.relative_to(library)), detail=f"gone from {folder}")
        changes.append(Change("removed", str(path.relative_to(library))))
    return changes
