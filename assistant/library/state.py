"""The library's own state, kept in a hidden `.library/` folder inside the library folder, beside its files:

    audit.jsonl     one JSON object a line for every change (at, by, action, file, doc_id, detail), appended and
                    fsynced, never rewritten: it survives restarts and crashes (a torn last line is skipped)
    reviews.json    review status per document id (review_status, reviewed_by, last_reviewed, note), written
                    atomically; ingest applies it over the files' own metadata
    removed/        every file removed or replaced, under the time of its removal: nothing is lost
    .lock           held (an OS file lock) by each change, so concurrent changes never lose one another

Hidden folders are never read as documents.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import IngestError

STATE = ".library"


def state_dir(library: Path) -> Path:
    return library / STATE


@contextlib.contextmanager
def library_lock(library: Path) -> Iterator[None]:
    """Hold the library's change lock (an OS lock on `.library/.lock`): one change at a time, across the
    server's threads and any CLI process, so no review record or file move is lost to a concurrent one."""
    path = state_dir(library) / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def audit(library: Path, action: str, by: str, *, file: str = "", doc_id: str = "", detail: str = "") -> None:
    """Append one change to the audit log (fsynced before returning)."""
    entry = {"at": now(), "by": by, "action": action, "file": file, "doc_id": doc_id, "detail": detail}
    path = state_dir(library) / "audit.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({k: v for k, v in entry.items() if v}, ensure_ascii=False) + "\n"
    with path.open("a+b") as handle:
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":  # a write cut by a crash: end its line, so this entry is whole
                line = "\n" + line
        handle.write(line.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def audit_entries(library: Path) -> Iterator[dict[str, Any]]:
    """The audit log, oldest first; a line that does not parse (a write cut by a crash) is skipped."""
    path = state_dir(library) / "audit.jsonl"
    if not path.is_file():
        return
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict):
                yield entry


def reviews(library: Path) -> dict[str, dict[str, str]]:
    """Review records by document id; {} when there are none. A damaged file is one clear error."""
    path = state_dir(library) / "reviews.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IngestError(
            f"{path}: cannot be read ({exc.__class__.__name__}); restore it from the audit log or delete it"
        ) from None
    if not isinstance(data, dict):
        raise IngestError(f"{path}: must be a JSON object of document ids; restore it or delete it")
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def set_review(library: Path, doc_id: str, record: dict[str, str]) -> None:
    data = reviews(library)
    data[doc_id] = record
    _write_atomic(state_dir(library) / "reviews.json", json.dumps(data, indent=1, sort_keys=True) + "\n")


def removed_dir(library: Path) -> Path:
    return state_dir(library) / "removed" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
