"""Ingest: read corpus files, normalise text, split into passages with stable ids and sentence offsets.

Two input formats:
- a folder (or file) of Markdown documents, each with a YAML front-matter block (see `corpus/README.md`);
- BEIR-style JSONL, one `{"_id", "title", "text", "metadata"?}` object a line.

Limits (`IngestSettings`) refuse, with an `IngestError` naming the file, a Markdown file over `max_file_bytes`
(checked before it is read), a JSONL line (one document) over the same size, a front matter over
`max_front_matter_bytes` and a document that would make more than `max_passages_per_document` passages.
Front matter and metadata are made safe in `metadata.py`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import IngestError
from .jsonl import read_jsonl
from .metadata import clean_text, document_from_beir, document_from_meta, split_front_matter
from .sentences import split_sentences
from .settings import IngestSettings
from .types import Document, Passage

SKIP_NAMES = {"README.md", "FORMAT.md", "CHANGELOG.md"}
# settings that only refuse input, never change what is read: not part of the source fingerprint
LIMITS = {"max_file_bytes", "max_front_matter_bytes", "max_passages_per_document"}

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def normalise(text: str) -> str:
    """Unicode NFC, no control or zero-width characters, tabs to spaces, line ends unified."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.translate(_ZERO_WIDTH).replace("\t", " ")
    return _CONTROL.sub("", text)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Corpus:
    documents: dict[str, Document]
    passages: list[Passage]

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
    digest = hashlib.sha256(f"{doc_id}\n{_squash(text)}".encode()).hexdigest()[:12]
    return f"{doc_id}:{digest}"


# ---------------------------------------------------------------- Markdown with front matter


def _markdown_blocks(body: str) -> Iterator[tuple[str, str]]:
    """(section heading, paragraph text) pairs; bullets become paragraphs of their own."""
    section = ""
    lines: list[str] = []

    def flush() -> Iterator[tuple[str, str]]:
        text = _squash(" ".join(lines))
        lines.clear()
        if text:
            yield section, text

    for line in body.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            yield from flush()
            section = _squash(heading.group(2))
        elif not line.strip():
            yield from flush()
        elif _BULLET.match(line):
            yield from flush()
            lines.append(_BULLET.sub("", line))
        else:
            lines.append(line)
    yield from flush()


def _too_big(where: object, size: int, what: str, settings: IngestSettings) -> IngestError:
    return IngestError(
        f"{where}: {what} is {size:,} bytes, over the limit of {settings.max_file_bytes:,} "
        "(ASSISTANT_INGEST__MAX_FILE_BYTES); split it into several documents or raise the limit"
    )


def _read_bounded(path: Path, settings: IngestSettings) -> str:
    """The file's text; its size is checked with stat() before reading, and the read itself is bounded."""
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            raise _too_big(path, size, "the file", settings)
        with path.open("rb") as handle:
            data = handle.read(settings.max_file_bytes + 1)
        if len(data) > settings.max_file_bytes:  # it grew since stat()
            raise _too_big(path, len(data), "the file", settings)
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: cannot read the file as UTF-8 text ({exc.__class__.__name__})") from exc


def read_markdown(path: Path, settings: IngestSettings) -> tuple[Document, list[Passage]]:
    raw = normalise(_read_bounded(path, settings))
    meta, body = split_front_matter(raw, str(path), settings.max_front_matter_bytes)
    doc_id = clean_text(meta.get("id") or path.stem)
    doc = document_from_meta(meta, doc_id, str(path))
    passages = make_passages(doc_id, _markdown_blocks(body), settings, where=str(path))
    if not passages:
        raise IngestError(f"{path}: the document has no text below its front matter")
    return doc, passages


# ---------------------------------------------------------------- BEIR JSONL


def read_beir_jsonl(path: Path, settings: IngestSettings) -> Iterator[tuple[Document, list[Passage]]]:
    for lineno, row in read_jsonl(path, IngestError):
        if "_id" not in row:
            raise IngestError(
                f"{path}:{lineno}: not a BEIR corpus line (needs a JSON object with '_id' and 'text')"
            )
        where = f"{path}:{lineno}"
        doc_id = str(row["_id"])
        text = str(row.get("text") or "")
        size = len(text.encode("utf-8"))
        if size > settings.max_file_bytes:
            raise _too_big(where, size, "the document text", settings)
        text = normalise(text)
        doc = document_from_beir(row, doc_id, where)
        paragraphs = (("", p) for p in (_squash(x) for x in text.split("\n\n")) if p)
        passages = make_passages(doc_id, paragraphs, settings, where=where)
        if passages:
            yield doc, passages


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


def _segmentable(blocks: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """The blocks, a paragraph over `_SEGMENT_CHARS` cut into pieces after a sentence end (else a space)."""
    for section, paragraph in blocks:
        while len(paragraph) > _SEGMENT_CHARS:
            head = paragraph[:_SEGMENT_CHARS]
            cut = max(head.rfind(". "), head.rfind("? "), head.rfind("! "))
            cut = (cut if cut > 0 else head.rfind(" ")) + 1 or _SEGMENT_CHARS
            yield section, paragraph[:cut].strip()
            paragraph = paragraph[cut:].strip()
        if paragraph:
            yield section, paragraph


def make_passages(
    doc_id: str, blocks: Iterable[tuple[str, str]], settings: IngestSettings, *, where: str | None = None
) -> list[Passage]:
    """Group (section, paragraph) blocks into passages: short paragraphs merge, long ones split.

    A paragraph (or bullet) boundary is always a sentence boundary, also inside a merged passage, so a list of
    short bullets never runs together into one sentence. More than `max_passages_per_document` passages is an
    `IngestError` naming `where` (the file), raised as soon as the limit is passed.
    """
    chunks: list[tuple[str, Chunk]] = []
    pending: tuple[str, list[str]] | None = None
    limit = settings.max_passages_per_document
    for section, paragraph in _segmentable(blocks):
        if len(chunks) > limit:
            break
        own = [paragraph[a:b] for a, b in split_sentences(paragraph)]
        if pending and pending[0] == section:
            own = pending[1] + own
        elif pending:
            chunks.append((pending[0], _chunk(pending[1])))
        pending = None
        for piece in _pack(own, settings):
            if _words(piece) < settings.min_passage_words:
                pending = (section, piece)
            else:
                chunks.append((section, _chunk(piece)))
    if pending:
        chunks.append((pending[0], _chunk(pending[1])))
    if len(chunks) > limit:
        raise IngestError(
            f"{where or doc_id}: the document makes more than {limit:,} passages "
            "(ASSISTANT_INGEST__MAX_PASSAGES_PER_DOCUMENT); split it into several documents or raise the limit"
        )

    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for position, (section, (text, spans)) in enumerate(chunks):
        pid = passage_id(doc_id, text)
        if pid in seen:  # the same text twice in one document: keep ids distinct and stable
            seen[pid] += 1
            pid = f"{pid}-{seen[pid]}"
        else:
            seen[pid] = 1
        passages.append(Passage(pid, doc_id, section, text, spans, position))
    return passages


def iter_source_files(sources: Iterable[Path]) -> list[Path]:
    """The corpus files under the given folders or files, sorted, README and hidden files left out."""
    files: list[Path] = []
    for source in sources:
        if not source.exists():
            raise IngestError(f"{source}: no such corpus file or folder; check --source / ASSISTANT_CORPUS")
        if source.is_file():
            files.append(source)
            continue
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source)
            if any(part.startswith((".", "_")) for part in rel.parts) or path.name in SKIP_NAMES:
                continue
            if path.is_file() and path.suffix.lower() in (".md", ".markdown", ".jsonl"):
                files.append(path)
    if not files:
        raise IngestError(f"no corpus files (.md or .jsonl) found in {', '.join(map(str, sources))}")
    return files


def source_fingerprint(sources: Iterable[Path], settings: IngestSettings) -> str:
    """Hash of the raw bytes of every corpus file and the ingest settings: cheap staleness check."""
    h = hashlib.sha256(settings.model_dump_json(exclude=LIMITS).encode())
    for path in iter_source_files(sources):
        h.update(str(path.name).encode() + b"\0")
        try:
            with path.open("rb") as handle:  # streamed: a huge file is refused later, not held in memory here
                h.update(hashlib.file_digest(handle, "sha256").digest())
        except OSError as exc:
            raise IngestError(f"{path}: cannot read the file ({exc.strerror})") from exc
    return h.hexdigest()


def load_corpus(sources: Iterable[Path], settings: IngestSettings) -> Corpus:
    """Read every corpus file; raises `IngestError` naming the file on any problem."""
    documents: dict[str, Document] = {}
    passages: list[Passage] = []

    def add(doc: Document, doc_passages: list[Passage], where: str) -> None:
        if doc.doc_id in documents:
            raise IngestError(f"{where}: document id {doc.doc_id!r} is used twice; ids must be unique")
        documents[doc.doc_id] = doc
        passages.extend(doc_passages)

    for path in iter_source_files(sources):
        if path.suffix.lower() == ".jsonl":
            for doc, doc_passages in read_beir_jsonl(path, settings):
                add(doc, doc_passages, str(path))
        else:
            doc, doc_passages = read_markdown(path, settings)
            add(doc, doc_passages, str(path))
    return Corpus(documents, passages)
