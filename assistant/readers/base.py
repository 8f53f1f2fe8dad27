"""What every reader shares: the `Reader` protocol, the `Parsed` document it yields and bounded reading.

A reader turns one file into one or more `Parsed` documents: the metadata the file itself carries (keys as in
a Markdown front matter: title, source_type, publisher, year, pmid, doi, url, ...) and its text as `Block`s
(section heading, paragraph, page). It does not decide ids of passages or apply a sidecar: `assistant.ingest`
does that for every reader alike, through `make_passages(doc_id, blocks)`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from ..errors import IngestError
from ..settings import IngestSettings
from ..types import Document

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def normalise(text: str) -> str:
    """Unicode NFC, no control or zero-width characters, tabs to spaces, line ends unified."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.translate(_ZERO_WIDTH).replace("\t", " ")
    return _CONTROL.sub("", text)


def squash(text: str) -> str:
    """Whitespace collapsed to single spaces, ends stripped."""
    return re.sub(r"\s+", " ", text).strip()


def line_blocks(
    lines: Iterable[str], heading: Callable[[str], str | None], bullet: re.Pattern[str]
) -> Iterator[Block]:
    """Paragraph blocks of text lines: a line `heading` names (it returns the title) starts a section, a blank
    line ends a paragraph, and a line matching `bullet` is a paragraph of its own (without its bullet)."""
    section = ""
    paragraph: list[str] = []

    def flush() -> Iterator[Block]:
        text = squash(" ".join(paragraph))
        paragraph.clear()
        if text:
            yield Block(section, text)

    for line in lines:
        title = heading(line)
        if title is not None:
            yield from flush()
            section = title
        elif not line.strip():
            yield from flush()
        elif bullet.match(line):
            yield from flush()
            paragraph.append(bullet.sub("", line))
        else:
            paragraph.append(line)
    yield from flush()


class Block(NamedTuple):
    """One paragraph of a document: its section heading, its text and (for paged formats) its page, from 1."""

    section: str
    text: str
    page: int | None = None


@dataclass
class Parsed:
    """One document as a reader found it.

    `meta` uses the front-matter keys; a value the file does not have is left out, so a sidecar or the
    folder defaults can supply it. `document`, when set, is final (BEIR lines carry lenient metadata of their
    own) and no sidecar applies. `requires_link`: the document must name a pmid, doi or url (Markdown digests).
    """

    where: str
    blocks: list[Block]
    meta: dict[str, Any] = field(default_factory=dict)
    doc_id: str | None = None
    document: Document | None = None
    requires_link: bool = False


class Reader(Protocol):
    """Reads the files of its `suffixes` (lower case, with the dot)."""

    name: str
    suffixes: tuple[str, ...]

    def read(self, path: Path, settings: IngestSettings) -> Iterator[Parsed]: ...


def too_big(where: object, size: int, what: str, settings: IngestSettings) -> IngestError:
    return IngestError(
        f"{where}: {what} is {size:,} bytes, over the limit of {settings.max_file_bytes:,} "
        "(ASSISTANT_INGEST__MAX_FILE_BYTES); split it into several documents or raise the limit"
    )


def read_bytes_bounded(path: Path, settings: IngestSettings) -> bytes:
    """The file's bytes; its size is checked with stat() before reading, and the read itself is bounded."""
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            raise too_big(path, size, "the file", settings)
        with path.open("rb") as handle:
            data = handle.read(settings.max_file_bytes + 1)
    except OSError as exc:
        raise IngestError(f"{path}: cannot read the file ({exc.strerror or exc.__class__.__name__})") from exc
    if len(data) > settings.max_file_bytes:  # it grew since stat()
        raise too_big(path, len(data), "the file", settings)
    return data


def read_text_bounded(path: Path, settings: IngestSettings) -> str:
    """The file as UTF-8 text (a byte-order mark is dropped), bounded like `read_bytes_bounded`."""
    data = read_bytes_bounded(path, settings)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path}: cannot read the file as UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
