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

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .duplicates import drop_duplicate_passages
from .errors import IngestError
from .metadata import clean_text, document_from_meta
from .readers import SUFFIXES, Block, Parsed, normalise, reader_for, squash
from .sentences import split_sentences
from .settings import IngestSettings
from .sidecars import FOLDER_CSV, is_sidecar, metadata_for, sidecar_candidates
from .types import Document, Passage

__all__ = ["Corpus", "load_corpus", "make_passages", "normalise", "passage_id", "read_file"]

log = logging.getLogger("assistant.ingest")

SKIP_NAMES = {"README.md", "FORMAT.md", "CHANGELOG.md", "LICENSE", "LICENSE.txt", "SOURCE.md"}
# settings that only refuse input, never change what is read: not part of the source fingerprint
LIMITS = {"max_file_bytes", "max_front_matter_bytes", "max_passages_per_document"}
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


def passage_id(doc_id: str, text: str) -> str:
    """Stable id: the document id plus a hash of the passage text, so citations survive rebuilds."""
    digest = hashlib.sha256(f"{doc_id}\n{squash(text)}".encode()).hexdigest()[:12]
    return f"{doc_id}:{digest}"


# ---------------------------------------------------------------- one file, any format


def _document(
    parsed: Parsed, path: Path, root: Path | None, defaults: Mapping[str, Any], settings: IngestSettings
) -> tuple[Document, list[Passage]] | None:
    rel = str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else path.name
    if parsed.document is not None:  # final metadata (BEIR): no sidecar
        doc = parsed.document
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
    for parsed in reader_for(path).read(path, settings):
        found = _document(parsed, path, root, defaults or {}, settings)
        if found is not None:
            yield found


def read_markdown(path: Path, settings: IngestSettings) -> tuple[Document, list[Passage]]:
    """The one document of a Markdown file (with front matter)."""
    return next(iter(read_file(path, settings)))


# ---------------------------------------------------------------- passages


Chunk = tuple[str, tuple[tuple[int, int], ...]]  # passage text and its sentence offsets


def _words(sentences: Sequence[str]) -> int:
    return sum(len(x.split()) for x in sentences)


def _pack(sentences: Sequence[str], settings: IngestSettings) -> Iterator[list[str]]:
    """Group one paragraph's sentences, in order, into pieces of at most `max_passage_words` words."""
    piece: list[str] = []
    for sentence in sentences:
        if piece and _words(piece) + len(sentence.split()) > settings.max_passage_words:
            yield piece
            piece = []
        piece.append(sentence)
    if piece:
        yield piece


def _chunk(sentences: Sequence[str]) -> Chunk:
    spans, at = [], 0
    for sentence in sentences:
        spans.append((at, at + len(sentence)))
        at += len(sentence) + 1
    return " ".join(sentences), tuple(spans)


# Sentence splitting takes time quadratic in the length of the text: longer paragraphs are cut up first.
_SEGMENT_CHARS = 10_000


def _segmentable(blocks: Iterable[tuple[str, str] | Block]) -> Iterator[Block]:
    """The blocks, a paragraph over `_SEGMENT_CHARS` cut into pieces after a sentence end (else a space)."""
    for block in blocks:
        section, paragraph = block[0], block[1]
        page = block[2] if len(block) > 2 else None
        while len(paragraph) > _SEGMENT_CHARS:
            head = paragraph[:_SEGMENT_CHARS]
            cut = max(head.rfind(". "), head.rfind("? "), head.rfind("! "))
            cut = (cut if cut > 0 else head.rfind(" ")) + 1 or _SEGMENT_CHARS
            yield Block(section, paragraph[:cut].strip(), page)
            paragraph = paragraph[cut:].strip()
        if paragraph:
            yield Block(section, paragraph, page)


def make_passages(
    doc_id: str,
    blocks: Iterable[tuple[str, str] | Block],
    settings: IngestSettings,
    *,
    where: str | None = None,
) -> list[Passage]:
    """Group (section, paragraph[, page]) blocks into passages: short paragraphs merge, long ones split.

    A paragraph (or bullet) boundary is always a sentence boundary, also inside a merged passage, so a list of
    short bullets never runs together into one sentence. A passage's page is the page of its first paragraph.
    More than `max_passages_per_document` passages is an `IngestError` naming `where` (the file), raised as
    soon as the limit is passed.
    """
    chunks: list[tuple[str, int | None, Chunk]] = []
    pending: tuple[str, int | None, list[str]] | None = None
    limit = settings.max_passages_per_document
    for section, paragraph, page in _segmentable(blocks):
        if len(chunks) > limit:
            break
        own = [paragraph[a:b] for a, b in split_sentences(paragraph)]
        if pending and pending[0] == section:
            own = pending[2] + own
            page = pending[1]
        elif pending:
            chunks.append((pending[0], pending[1], _chunk(pending[2])))
        pending = None
        for piece in _pack(own, settings):
            if _words(piece) < settings.min_passage_words:
                pending = (section, page, piece)
            else:
                chunks.append((section, page, _chunk(piece)))
    if pending:
        chunks.append((pending[0], pending[1], _chunk(pending[2])))
    if len(chunks) > limit:
        raise IngestError(
            f"{where or doc_id}: the document makes more than {limit:,} passages "
            "(ASSISTANT_INGEST__MAX_PASSAGES_PER_DOCUMENT); split it into several documents or raise the limit"
        )

    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for position, (section, page, (text, spans)) in enumerate(chunks):
        pid = passage_id(doc_id, text)
        if pid in seen:  # the same text twice in one document: keep ids distinct and stable
            seen[pid] += 1
            pid = f"{pid}-{seen[pid]}"
        else:
            seen[pid] = 1
        passages.append(Passage(pid, doc_id, section, text, spans, position, page))
    return passages


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
    for path in iter_source_files(sources):
        for part in (path, *_metadata_files(path)):
            h.update(str(part.name).encode() + b"\0")
            try:
                with part.open("rb") as handle:  # streamed: a huge file is refused later, not held here
                    h.update(hashlib.file_digest(handle, "sha256").digest())
            except OSError as exc:
                raise IngestError(f"{part}: cannot read the file ({exc.strerror})") from exc
    return h.hexdigest()


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
) -> Corpus:
    """Read every library file; raises `IngestError` naming the file on any problem, unless
    `skip_bad_files`: then the file is left out and listed in `Corpus.failures`."""
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

    for path, root in iter_library(sources):
        try:
            found = list(read_file(path, settings, defaults, root))
        except IngestError as exc:
            if not skip_bad_files:
                raise
            log.warning("left out: %s", exc)
            failures.append((str(path), str(exc)))
            continue
        for doc, doc_passages in found:
            add(doc, doc_passages, str(path))
    passages = [p for doc_id in documents for p in by_doc[doc_id]]
    if settings.dedupe_passages:
        passages, repeated = drop_duplicate_passages(passages, settings.near_duplicate_jaccard)
        duplicates.extend(repeated)
    return Corpus(documents, passages, failures, duplicates)
