"""Word documents (.docx, python-docx): "Title" and "Heading N" paragraphs are sections, others blocks.

List items are paragraphs of their own in Word, so each is a block; tables, headers, footers and comments are
not read. Metadata comes from the core properties (title, keywords, created/modified).
"""

from __future__ import annotations

import io
import lzma
import re
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import docx  # python-docx: absolute import, so never this module
from docx.opc.exceptions import OpcError

from ..errors import IngestError
from ..settings import IngestSettings
from .base import Block, Parsed, normalise, read_bytes_bounded, squash

_HEADING_STYLE = re.compile(r"^(title|heading \d)$", re.IGNORECASE)
_BULLET = re.compile(r"^[•◦▪‣·\-–*]\s+")
# a .docx is a zip of XML parts: they may unpack to at most this many times the file limit (no zip bombs)
UNPACKED_FACTOR = 20
# what python-docx raises for a damaged file. SyntaxError: lxml's XMLSyntaxError for a damaged part;
# ValueError: not a Word document; AttributeError: a part whose XML is not the element python-docx expects;
# the rest: a part that cannot be unpacked though the zip directory `_check_zip` read is intact (a corrupt or
# truncated stream, an unknown compression method, an encrypted part)
_UNREADABLE = (
    OpcError,
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    SyntaxError,
    AttributeError,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
)


def _check_zip(path: Path, data: bytes, settings: IngestSettings) -> None:
    """`IngestError` unless the bytes are a zip archive whose parts unpack to a bounded size."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise IngestError(
            f"{path}: not a valid .docx file (not a zip archive); open it in Word and save it as .docx again"
        ) from None
    if unpacked > UNPACKED_FACTOR * settings.max_file_bytes:
        raise IngestError(
            f"{path}: the .docx unpacks to {unpacked:,} bytes, over {UNPACKED_FACTOR} times the file limit "
            f"of {settings.max_file_bytes:,} (ASSISTANT_INGEST__MAX_FILE_BYTES); split it or raise the limit"
        )


def docx_blocks(document: Any) -> list[Block]:
    """Body paragraphs (tables excluded) as blocks under the latest Title/Heading paragraph."""
    section = ""
    blocks: list[Block] = []
    for paragraph in document.paragraphs:
        text = squash(normalise(paragraph.text))
        if not text:
            continue
        style = paragraph.style.name if paragraph.style is not None else ""
        if _HEADING_STYLE.match(style or ""):
            section = text
        else:
            blocks.append(Block(section, _BULLET.sub("", text)))
    return blocks


def _stamp(value: object) -> datetime | None:
    return value if isinstance(value, datetime) and 1900 <= value.year <= 2100 else None


def docx_meta(properties: Any) -> dict[str, Any]:
    """Title, keywords, year (created, else modified) and last_updated (modified, else created)."""
    meta: dict[str, Any] = {}
    if title := squash(normalise(properties.title or "")):
        meta["title"] = title
    keywords = [squash(k) for k in re.split(r"[;,]", normalise(properties.keywords or ""))]
    if any(keywords):
        meta["keywords"] = list(dict.fromkeys(k for k in keywords if k))
    created, modified = _stamp(properties.created), _stamp(properties.modified)
    first, last = created or modified, modified or created
    if first is not None and last is not None:
        meta["year"] = first.year
        meta["last_updated"] = last.date().isoformat()
    return meta


class DocxReader:
    name = "docx"
    suffixes = (".docx",)

    def read(self, path: Path, settings: IngestSettings) -> Iterator[Parsed]:
        data = read_bytes_bounded(path, settings)
        _check_zip(path, data, settings)
        try:
            document = docx.Document(io.BytesIO(data))
            blocks, meta = docx_blocks(document), docx_meta(document.core_properties)
        except _UNREADABLE as exc:
            raise IngestError(
                f"{path}: not a readable Word document ({exc.__class__.__name__}); "
                "open it in Word and save it as .docx again"
            ) from None
        if not blocks:
            raise IngestError(f"{path}: the Word document has no body text (only headings, tables or images)")
        yield Parsed(where=str(path), blocks=blocks, meta=meta)
