"""Ingest: read library files with the reader of their format, apply sidecar metadata, split into passages
with stable ids and sentence offsets.

Formats are read by `assistant.readers` (Markdown with front matter, BEIR JSONL, PubMed XML, MEDLINE, PMC
JATS, HTML, PDF, DOCX, plain text); metadata beside a file (`name.meta.yaml`, a folder's `metadata.csv`,
`assistant.sidecars`) and folder defaults fill in or override what the file says.

Limits (`IngestSettings`) refuse, with an `IngestError` naming the file, a file over `max_file_bytes`
(checked before it is read), a JSONL line (one document) over the same size, a front matter over
`max_front_matter_bytes` and a document that would make more than `max_passages_per_document` passages.
Front matter and metadata are made safe in `metadata.py`.

The same DOI or PMID in two files is one document: the newer (by last_updated, then year) is kept. Passages
whose text repeats (or nearly repeats) a passage of another document are indexed once (`assistant.duplicates`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .duplicates import drop_duplicate_passages
from .errors import IngestError
from .library.state import reviews, state_dir
from .metadata import clean_text, document_from_meta, review_fields
from .parsecache import cached_read
from .passages import make_passages, passage_id
from .readers import SUFFIXES, Parsed, normalise, reader_for
from .settings import IngestSettings
from .sidecars import FOLDER_CSV, is_sidecar, metadata_for, sidecar_candidates
from .types import Document, Passage

__all__ = ["Corpus", "load_corpus", "make_passages", "normalise", "passage_id", "read_file"]

log = logging.getLogger("assistant.ingest")

SKIP_NAMES = {"README.md", "FORMAT.md", "CHANGELOG.md", "LICENSE", "LICENSE.txt", "SOURCE.md"}
# settings that only refuse input (or leave refused files out), never change what is read from a good file:
# not part of the source fingerprint
LIMITS = {"max_file_bytes", "max_front_matter_bytes", "max_passages_per_document", "skip_bad_files"}
_SIDECAR_HINT = "add it to {sidecar} beside the file, to a metadata.csv row, or give --default KEY=VALUE"


@dataclass(frozen=True)
class Corpus:
    documents: dict[str, Document]
    passages: list[Passage]
    failures: list[tuple[str, str]] = field(default_factory=list)  # (file, why) of files left out
    duplicates: list[str] = field(default_factory=list)  # what was indexed once, in words

    def fingerprint(self) -> str:
        """Hash of every document's metadata and every passage id (ids already hash the text)."""
        h = hashlib.sha256()
        for doc_id in sorted(self.documents):
            h.update(json.dumps(self.documents[doc_id].__dict__, sort_keys=True, default=str).encode())
        for p in self.passages:
            h.update(p.passage_id.encode() + b"\n")
        return h.hexdigest()


# ---------------------------------------------------------------- one file, any format


def _relative(path: Path, root: Path | None) -> str:
    return str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else path.name


def _document(
    parsed: Parsed, path: Path, root: Path | None, defaults: Mapping[str, Any], settings: IngestSettings
) -> tuple[Document, list[Passage]] | None:
    rel = _relative(path, root)
    if parsed.document is not None:  # final metadata (BEIR): no sidecar
        doc = dataclasses.replace(parsed.document, source_file=rel)
    else:
        meta = {**defaults, **parsed.meta, **metadata_for(path)}
        doc_id = clean_text(meta.get("id") or parsed.doc_id or path.stem)
        hint = (
            "add it to the front matter"
            if parsed.requires_link
            else _SIDECAR_HINT.format(sidecar=path.stem + ".meta.yaml")
        )
        doc = document_from_meta(
            meta, doc_id, parsed.where, requires_link=parsed.requires_link, hint=hint, source_file=rel
        )
    passages = make_passages(doc.doc_id, parsed.blocks, settings, where=parsed.where)
    if not passages:
        if parsed.document is not None:
            return None  # an empty BEIR line is skipped, as BEIR corpora have them
        raise IngestError(f"{parsed.where}: the document has no text to index")
    return doc, passages


def read_file(
    path: Path,
    settings: IngestSettings,
    defaults: Mapping[str, Any] | None = None,
    root: Path | None = None,
) -> Iterator[tuple[Document, list[Passage]]]:
    """Every document of one file with its passages; `IngestError` naming the file on any problem."""
    return documents_of(reader_for(path).read(path, settings), path, settings, defaults, root)


def documents_of(
    parsed: Iterable[Parsed],
    path: Path,
    settings: IngestSettings,
    defaults: Mapping[str, Any] | None = None,
    root: Path | None = None,
) -> Iterator[tuple[Document, list[Passage]]]:
    """The documents (with passages) of what a reader found in `path`, its sidecar and `defaults` applied."""
    for one in parsed:
        found = _document(one, path, root, defaults or {}, settings)
        if found is not None:
            yield found


def read_markdown(path: Path, settings: IngestSettings) -> tuple[Document, list[Passage]]:
    """The one document of a Markdown file (with front matter)."""
    return next(iter(read_file(path, settings)))


# ---------------------------------------------------------------- a whole library


def _readable(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES and path.name not in SKIP_NAMES and not is_sidecar(path)


def _hidden(rel: Path) -> bool:
    return any(part.startswith((".", "_")) for part in rel.parts)


def iter_library(sources: Iterable[Path]) -> list[tuple[Path, Path | None]]:
    """(file, its library folder) for every readable file under the given folders or files, sorted;
    README, hidden and sidecar files left out. A file given directly has no folder (None)."""
    files: list[tuple[Path, Path | None]] = []
    for source in sources:
        if not source.exists():
            raise IngestError(f"{source}: no such corpus file or folder; check --source / ASSISTANT_CORPUS")
        if source.is_file():
            files.append((source, None))
            continue
        for path in sorted(source.rglob("*")):
            if path.is_file() and not _hidden(path.relative_to(source)) and _readable(path):
                files.append((path, source))
    if not files:
        raise IngestError(f"no readable files ({' '.join(SUFFIXES)}) found in {', '.join(map(str, sources))}")
    return files


def iter_source_files(sources: Iterable[Path]) -> list[Path]:
    """The corpus files under the given folders or files, sorted, README, hidden and sidecar files left out."""
    return [path for path, _root in iter_library(sources)]


def _metadata_files(path: Path) -> Iterator[Path]:
    for candidate in (path.parent / FOLDER_CSV, *sidecar_candidates(path)):
        if candidate.is_file():
            yield candidate


def source_fingerprint(
    sources: Iterable[Path], settings: IngestSettings, defaults: Mapping[str, Any] | None = None
) -> str:
    """Hash of the raw bytes of every corpus file and its metadata files, the defaults and the ingest
    settings: a cheap staleness check."""
    h = hashlib.sha256(settings.model_dump_json(exclude=LIMITS).encode())
    h.update(json.dumps(dict(defaults or {}), sort_keys=True, default=str).encode())
    for source in sources:
        record = state_dir(source) / "reviews.json"
        if record.is_file():
            h.update(b"reviews\0" + record.read_bytes())
    for path in iter_source_files(sources):
        for part in (path, *_metadata_files(path)):
            h.update(str(part.name).encode() + b"\0")
            try:
                with part.open("rb") as handle:  # streamed: a huge file is refused later, not held here
                    h.update(hashlib.file_digest(handle, "sha256").digest())
            except OSError as exc:
                raise IngestError(f"{part}: cannot read the file ({exc.strerror})") from exc
    return h.hexdigest()


def _with_review(doc: Document, record: Mapping[str, Any], where: str) -> Document:
    """The document with the library's review record (`assistant library review`) over its own fields."""
    return dataclasses.replace(doc, **review_fields(record, where))


def _newer(a: Document, b: Document) -> bool:
    return (a.last_updated or str(a.year or ""), a.year or 0) > (
        b.last_updated or str(b.year or ""),
        b.year or 0,
    )


def load_corpus(
    sources: Iterable[Path],
    settings: IngestSettings,
    *,
    defaults: Mapping[str, Any] | None = None,
    skip_bad_files: bool = False,
    parse_cache: Path | None = None,
) -> Corpus:
    """Read every library file; raises `IngestError` naming the file on any problem, unless
    `skip_bad_files`: then the file is left out and listed in `Corpus.failures`. With `parse_cache` (a
    folder) a file read before and unchanged since is not read again (`assistant.parsecache`)."""
    documents: dict[str, Document] = {}
    by_doc: dict[str, list[Passage]] = {}
    by_identifier: dict[str, str] = {}  # "doi:..." / "pmid:..." -> doc id
    failures: list[tuple[str, str]] = []
    duplicates: list[str] = []

    def add(doc: Document, doc_passages: list[Passage], where: str) -> None:
        if doc.doc_id in documents:
            raise IngestError(f"{where}: document id {doc.doc_id!r} is used twice; ids must be unique")
        keys = [f"doi:{doc.doi.lower()}" if doc.doi else "", f"pmid:{doc.pmid}" if doc.pmid else ""]
        for key in filter(None, keys):
            other = by_identifier.get(key)
            if other is None or other not in documents:
                continue
            old, new = (documents[other], doc) if _newer(doc, documents[other]) else (doc, documents[other])
            duplicates.append(f"{key}: {old.doc_id} is an older version of {new.doc_id}; kept {new.doc_id}")
            log.warning(
                "%s: %s and %s are the same source (%s); keeping %s",
                where,
                old.doc_id,
                new.doc_id,
                key,
                new.doc_id,
            )
            if old is doc:
                return
            del documents[old.doc_id]
            del by_doc[old.doc_id]
        documents[doc.doc_id] = doc
        by_doc[doc.doc_id] = doc_passages
        for key in filter(None, keys):
            by_identifier[key] = doc.doc_id

    reviewed: dict[Path, dict[str, dict[str, str]]] = {}
    for path, root in iter_library(sources):
        if root is not None and root not in reviewed:
            reviewed[root] = reviews(root)
        try:
            found = cached_read(
                lambda: list(read_file(path, settings, defaults, root)),  # noqa: B023 (called at once)
                parse_cache,
                path,
                _relative(path, root),
                list(_metadata_files(path)),
                settings,
                defaults or {},
            )
        except IngestError as exc:
            if not skip_bad_files:
                raise
            log.warning("left out: %s", exc)
            failures.append((str(path), str(exc)))
            continue
        for doc, doc_passages in found:
            record = reviewed.get(root, {}).get(doc.doc_id) if root is not None else None
            add(_with_review(doc, record, str(path)) if record else doc, doc_passages, str(path))
    passages = [p for doc_id in documents for p in by_doc[doc_id]]
    if settings.dedupe_passages:
        passages, repeated = drop_duplicate_passages(passages, settings.near_duplicate_jaccard)
        duplicates.extend(repeated)
    return Corpus(documents, passages, failures, duplicates)
