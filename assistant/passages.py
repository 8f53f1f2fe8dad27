"""Passages: a document's (section, paragraph, page) blocks grouped into passages of a few sentences, with
stable content-derived ids and sentence offsets. Every reader's output goes through `make_passages`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence

from .errors import IngestError
from .readers import Block, squash
from .sentences import split_sentences
from .settings import IngestSettings
from .types import Passage


def passage_id(doc_id: str, text: str) -> str:
    """Stable id: the document id plus a hash of the passage text, so citations survive rebuilds."""
    digest = hashlib.sha256(f"{doc_id}\n{squash(text)}".encode()).hexdigest()[:12]
    return f"{doc_id}:{digest}"


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
    short bullets never runs together into one sentence. A passage never spans two pages (of a paged source),
    so its page is exact.
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
        if pending and pending[0] == section and pending[1] == page:  # a passage never spans two pages
            own = pending[2] + own
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
