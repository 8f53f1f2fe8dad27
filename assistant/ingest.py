"""Ingest: read corpus files, normalise text, split into passages with stable ids and sentence offsets.

Two input formats:
- a folder (or file) of Markdown documents, each with a YAML front-matter block (see `corpus/README.md`);
- BEIR-style JSONL, one `{"_id", "title", "text", "metadata"?}` object a line.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import IngestError
from .jsonl import read_jsonl
from .sentences import split_sentences
from .settings import IngestSettings
from .types import SOURCE_TYPES, Document, Passage

REQUIRED_KEYS = ("title", "source_type", "publisher", "year")
ID_KEYS = ("pmid", "doi", "url")
SKIP_NAMES = {"README.md", "FORMAT.md", "CHANGELOG.md"}

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


def _split_front_matter(raw: str, path: Path) -> tuple[dict[str, Any], str]:
    if not raw.startswith("---\n"):
        raise IngestError(
            f"{path}: no YAML front matter; start the file with a '---' block (see corpus/README.md)"
        )
    end = raw.find("\n---", 4)
    if end < 0:
        raise IngestError(f"{path}: the front-matter block is not closed by a '---' line")
    try:
        meta = yaml.safe_load(raw[4:end])
    except yaml.YAMLError as exc:
        raise IngestError(
            f"{path}: front matter is not valid YAML ({exc.__class__.__name__}); fix the block"
        ) from exc
    if not isinstance(meta, dict):
        raise IngestError(f"{path}: front matter must be a mapping of keys to values")
    body = raw[end + 4 :]
    return meta, body.split("\n", 1)[1] if "\n" in body else ""


def _document_from_meta(meta: dict[str, Any], doc_id: str, where: str) -> Document:
    missing = [k for k in REQUIRED_KEYS if meta.get(k) in (None, "")]
    if not any(meta.get(k) for k in ID_KEYS):
        missing.append("one of pmid/doi/url")
    if missing:
        raise IngestError(f"{where}: missing metadata {', '.join(missing)}; add it to the front matter")
    source_type = str(meta["source_type"]).strip().lower()
    if source_type not in SOURCE_TYPES:
        raise IngestError(f"{where}: source_type {source_type!r} is not one of {', '.join(SOURCE_TYPES)}")
    try:
        year = int(meta["year"])
    except (TypeError, ValueError) as exc:
        raise IngestError(f"{where}: year {meta['year']!r} is not a number") from exc

    def opt(key: str) -> str | None:
        value = meta.get(key)
        return normalise(str(value)).strip() or None if value not in (None, "") else None

    return Document(
        doc_id=doc_id,
        title=_squash(normalise(str(meta["title"]))),
        source_type=source_type,
        publisher=_squash(normalise(str(meta["publisher"]))),
        year=year,
        url=opt("url"),
        pmid=opt("pmid"),
        doi=opt("doi"),
        topic=opt("topic"),
        specialty=opt("specialty"),
    )


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


def read_markdown(path: Path, settings: IngestSettings) -> tuple[Document, list[Passage]]:
    try:
        raw = normalise(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: cannot read the file as UTF-8 text ({exc.__class__.__name__})") from exc
    meta, body = _split_front_matter(raw, path)
    doc_id = str(meta.get("id") or path.stem).strip()
    doc = _document_from_meta(meta, doc_id, str(path))
    passages = make_passages(doc_id, _markdown_blocks(body), settings)
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
        doc_id = str(row["_id"])
        text = normalise(str(row.get("text") or ""))
        raw_meta = row.get("metadata")
        meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        title = _squash(normalise(str(row.get("title") or meta.get("title") or doc_id)))
        year = meta.get("year")
        doc = Document(
            doc_id=doc_id,
            title=title,
            source_type=str(meta.get("source_type") or "other"),
            publisher=str(meta.get("publisher") or meta.get("journal") or ""),
            year=int(year) if isinstance(year, int | str) and str(year).isdigit() else None,
            url=meta.get("url"),
            pmid=str(meta["pmid"]) if meta.get("pmid") else None,
            doi=meta.get("doi"),
            topic=meta.get("topic"),
            specialty=meta.get("specialty"),
        )
        paragraphs = (("", p) for p in (_squash(x) for x in text.split("\n\n")) if p)
        passages = make_passages(doc_id, paragraphs, settings)
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


def make_passages(doc_id: str, blocks: Iterable[tuple[str, str]], settings: IngestSettings) -> list[Passage]:
    """Group (section, paragraph) blocks into passages: short paragraphs merge, long ones split.

    A paragraph (or bullet) boundary is always a sentence boundary, also inside a merged passage, so a list of
    short bullets never runs together into one sentence.
    """
    chunks: list[tuple[str, Chunk]] = []
    pending: tuple[str, list[str]] | None = None
    for section, paragraph in blocks:
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
    h = hashlib.sha256(settings.model_dump_json().encode())
    for path in iter_source_files(sources):
        h.update(str(path.name).encode() + b"\0")
        try:
            h.update(hashlib.sha256(path.read_bytes()).digest())
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
