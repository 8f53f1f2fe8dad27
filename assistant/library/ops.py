"""Library changes: add, replace, remove, sync and review files and documents, each one audited.

Every change is checked before anything is written: a file that cannot be read (no reader, missing
metadata, a limit) is refused with one line naming it, and nothing is copied. A replaced or removed file is
moved under `.library/removed/`, never deleted. The callers (CLI, HTTP) rebuild the index afterwards; the
embedding cache makes that rebuild embed only new text.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ..errors import AssistantError, IngestError
from ..ingest import iter_library, load_corpus, read_file
from ..loader import current_generation
from ..settings import Settings
from ..sidecars import SIDECAR_SUFFIXES, is_sidecar, metadata_for, sidecar_candidates
from ..types import REVIEW_STATUSES, Document
from .state import audit, removed_dir, set_review


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
        raw = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
        return {k: Document.from_dict(v) for k, v in raw.items()}
    except (OSError, ValueError, AssistantError):
        corpus = load_corpus(settings.corpus, settings.ingest, skip_bad_files=True)
        return corpus.documents


def find(settings: Settings, doc_id: str) -> Document:
    """A document of the index, or of the library files when it was added since the last build."""
    doc = documents(settings).get(doc_id)
    if doc is None:
        doc = load_corpus(settings.corpus, settings.ingest, skip_bad_files=True).documents.get(doc_id)
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


def _check(path: Path, settings: Settings, defaults: Mapping[str, Any]) -> list[Document]:
    return [doc for doc, _passages in read_file(path, settings.ingest, defaults)]


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


def _missing_defaults(path: Path, settings: Settings, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults that the file's own metadata and sidecar lack: written into its sidecar, so they last."""
    if not defaults:
        return {}
    from ..readers import reader_for

    own: dict[str, Any] = {}
    for parsed in reader_for(path).read(path, settings.ingest):
        own |= parsed.meta
    own |= metadata_for(path)
    return {k: v for k, v in defaults.items() if own.get(k) in (None, "")}


def add(
    settings: Settings,
    paths: Sequence[Path],
    *,
    by: str,
    defaults: Mapping[str, Any] | None = None,
    into: str = "",
) -> list[Change]:
    """Copy files (or every readable file of folders) into the library; all are checked first."""
    library = settings.library_dir
    defaults = dict(defaults or {})
    files = _files(paths)
    if not files:
        raise LibraryError(f"no readable files in {', '.join(map(str, paths))}")
    errors, found = [], {}
    for path, _rel in files:
        try:
            found[path] = _check(path, settings, defaults)
        except IngestError as exc:
            errors.append(str(exc))
    if errors:
        raise LibraryError("nothing was added; fix these files first:\n" + "\n".join(errors))
    when = removed_dir(library)
    changes = []
    for path, rel in files:
        dest = library / into / rel
        ids = tuple(d.doc_id for d in found[path])
        if dest.is_file() and filecmp.cmp(path, dest, shallow=False):
            changes.append(Change("unchanged", str(dest.relative_to(library)), ids))
            continue
        action = "replaced" if dest.exists() else "added"
        if dest.exists():
            _move_away(library, dest, when)
        # the file's metadata from beside it (its sidecar, its folder's metadata.csv row) and the defaults it
        # lacks travel with it as one sidecar, so the copy reads exactly as the checked original did
        beside = {**_missing_defaults(path, settings, defaults), **metadata_for(path)}
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
        if beside:
            side = dest.with_name(dest.name + SIDECAR_SUFFIXES[0])
            side.write_text(yaml.safe_dump(beside, sort_keys=True, allow_unicode=True), encoding="utf-8")
        change = Change(action, str(dest.relative_to(library)), ids)
        audit(library, action, by, file=change.file, doc_id=",".join(ids), detail=f"from {path.resolve()}")
        changes.append(change)
    return changes


def remove(settings: Settings, doc_id: str, *, by: str) -> Change:
    """Move a document's file out of the library (under `.library/removed/`)."""
    library = settings.library_dir
    doc = find(settings, doc_id)
    path = file_of(settings, doc)
    if not path.resolve().is_relative_to(library.resolve()):
        raise LibraryError(
            f"{doc_id}: its file {path} is outside the library folder {library}; remove it there"
        )
    others = [d.doc_id for d in documents(settings).values() if d.source_file == doc.source_file]
    if len(others) > 1:
        raise LibraryError(
            f"{doc_id}: {path.name} holds {len(others)} documents ({', '.join(sorted(others)[:5])} ...); "
            "remove the whole file with `assistant library remove` on each, or edit the file"
        )
    _move_away(library, path, removed_dir(library))
    rel = str(path.relative_to(library))
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
    set_review(library, doc_id, record)
    audit(library, "reviewed", by, file=doc.source_file or "", doc_id=doc_id, detail=status)
    return Change("reviewed", doc.source_file or "", (doc_id,), status)


def sync(settings: Settings, folder: Path, *, by: str, into: str | None = None) -> list[Change]:
    """Make `<library>/<into>` mirror `folder`: new and changed files copied in, files gone from `folder`
    moved out. A file that cannot be read is skipped (and reported); its older copy stays."""
    if not folder.is_dir():
        raise LibraryError(f"{folder}: not a folder; sync mirrors a folder into the library")
    library = settings.library_dir
    target = library / (into if into is not None else folder.name)
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
        _move_away(library, path, when)
        changes.append(Change("removed", str(path.relative_to(library))))
        audit(library, "removed", by, file=str(path.relative_to(library)), detail=f"gone from {folder}")
    return changes
