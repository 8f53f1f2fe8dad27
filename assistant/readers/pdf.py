"""PDF with a text layer (pypdf): text per page, every block with its page; headings from the outline.

Sections come from the bookmarks when the PDF has them (a bookmark's title seen as a line of its page switches
the section there, otherwise at the top of its page); without bookmarks a short Title Case or ALL CAPS line
on its own is a heading. Scans without a text layer, encrypted and corrupt files are refused with what to do.
"""

from __future__ import annotations

import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pypdf import PdfReader as _Pypdf
from pypdf.errors import DependencyError, PyPdfError

from ..errors import IngestError
from ..settings import IngestSettings
from .base import Block, Parsed, normalise, read_bytes_bounded, squash

_JUNK_TITLE = re.compile(
    r"^(microsoft (word|powerpoint) - .*|untitled.*|document\d*|.*\.(docx?|pdf|tex|indd|rtf|odt|pptx?))$",
    re.IGNORECASE,
)
_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "vs", "with"}
_NUMBERING = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.|[IVX]+\.)\s+")
_PAGE_NUMBER = re.compile(r"^(page\s+)?\d{1,4}(\s*(of|/)\s*\d{1,4})?$", re.IGNORECASE)


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning for every repaired oddity of a file; keep only its errors while reading."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)  # setLevel, not assignment: it clears the loggers' level cache
    try:
        yield
    finally:
        logger.setLevel(level)


def looks_like_heading(line: str) -> bool:
    """A short line (<= 8 words) without a final period, in Title Case or ALL CAPS."""
    words = _NUMBERING.sub("", line).split()
    if not words or len(words) > 8 or line.endswith((".", ",", ";")) or not any(c.isalpha() for c in line):
        return False
    letters = [w for w in words if w[0].isalpha()]
    if all(w.isupper() for w in letters if len(w) > 1) and any(len(w) > 1 for w in letters):
        return True
    return bool(letters) and all(w[0].isupper() or w.lower() in _SMALL_WORDS for w in letters)


def _join_lines(lines: list[str]) -> str:
    """Lines of one paragraph as one text; a line-end hyphen between lower-case letters is a word break."""
    text = "\n".join(line.strip() for line in lines)
    return squash(re.sub(r"(?<=[a-z])-\n(?=[a-z])", "", text))


def heading_key(text: str) -> str:
    """A heading compared without its numbering, case or spacing ("2.1 Blood pressure" = "blood pressure")."""
    return _NUMBERING.sub("", squash(text)).casefold()


def _furniture_key(line: str) -> str:
    return re.sub(r"\d+", "#", squash(line)).casefold()


def page_furniture(texts: list[str]) -> set[str]:
    """Lines (numbers aside) on at least 3 pages and more than half of them: running heads and footers."""
    counts: dict[str, int] = defaultdict(int)
    for text in texts:
        for key in {_furniture_key(line) for line in text.split("\n") if line.strip()}:
            counts[key] += 1
    return {key for key, n in counts.items() if n >= 3 and n > len(texts) / 2}


def page_paragraphs(text: str, headings: set[str], furniture: set[str] | None = None) -> Iterator[str]:
    """A page's paragraphs: split on blank lines, or, when it has none, lines joined until a sentence end.

    A heading line (a bookmark title in `headings`, or heading-like at a paragraph start) stands alone; page
    numbers and `furniture` lines are left out.
    """
    text = normalise(text)
    blank = re.search(r"\n\s*\n", text) is not None
    for chunk in re.split(r"\n\s*\n", text) if blank else [text]:
        lines: list[str] = []
        for raw in chunk.split("\n"):
            line = squash(raw)
            if _PAGE_NUMBER.match(line) or (furniture and _furniture_key(line) in furniture):
                continue
            if line and (heading_key(line) in headings or (not lines and looks_like_heading(line))):
                if lines:
                    yield _join_lines(lines)
                yield line
                lines = []
            elif line:
                lines.append(line)
                if not blank and line.endswith((".", "?", "!", ":")):
                    yield _join_lines(lines)
                    lines = []
        if lines:
            yield _join_lines(lines)


def _outline(reader: _Pypdf) -> dict[int, list[str]]:
    """Bookmark titles by 0-based page, in outline order (nested items flattened)."""
    found: dict[int, list[str]] = defaultdict(list)

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            page = reader.get_destination_page_number(item)
            title = squash(normalise(str(item.title or "")))
            if page is not None and page >= 0 and title:
                found[page].append(title)

    walk(reader.outline)
    return found


def pdf_blocks(reader: _Pypdf) -> list[Block]:
    """Every page's paragraphs as blocks with their page (from 1) and section."""
    outline = _outline(reader)
    titles = {heading_key(t) for page_titles in outline.values() for t in page_titles}
    texts = [normalise(page.extract_text() or "") for page in reader.pages]
    furniture = page_furniture(texts)
    section = ""
    blocks: list[Block] = []
    for number, text in enumerate(texts):
        paragraphs = list(page_paragraphs(text, titles, furniture))
        pending = list(outline.get(number, []))
        seen = {heading_key(p) for p in paragraphs}
        while pending and heading_key(pending[0]) not in seen:  # a bookmark not seen in the text: top of page
            section = pending.pop(0)
        for paragraph in paragraphs:
            key = heading_key(paragraph)
            if pending and key == heading_key(pending[0]):
                section = pending.pop(0)
            elif not outline and looks_like_heading(paragraph):
                section = paragraph
            elif key not in titles:  # a bookmark title repeated (a running head) is no paragraph
                blocks.append(Block(section, paragraph, number + 1))
        section = pending[-1] if pending else section
    return blocks


def _date(info: Any, attribute: str) -> datetime | None:
    try:
        value = getattr(info, attribute)
    except (ValueError, TypeError, PyPdfError):  # a date string pypdf cannot parse
        return None
    return value if isinstance(value, datetime) and 1900 <= value.year <= 2100 else None


def pdf_meta(reader: _Pypdf) -> dict[str, Any]:
    """Title, year, last_updated and keywords of the document information, when they look real."""
    info = reader.metadata
    if info is None:
        return {}
    meta: dict[str, Any] = {}
    title = squash(normalise(str(info.title or "")))
    if title and not _JUNK_TITLE.match(title):
        meta["title"] = title
    created, modified = _date(info, "creation_date"), _date(info, "modification_date")
    first, last = created or modified, modified or created
    if first is not None and last is not None:
        meta["year"] = first.year
        meta["last_updated"] = last.date().isoformat()
    keywords = [squash(k) for k in re.split(r"[;,]", normalise(str(info.keywords or "")))]
    if any(keywords):
        meta["keywords"] = list(dict.fromkeys(k for k in keywords if k))
    return meta


class PdfReader:
    name = "pdf"
    suffixes = (".pdf",)

    def read(self, path: Path, settings: IngestSettings) -> Iterator[Parsed]:
        data = read_bytes_bounded(path, settings)
        try:
            with _quiet_pypdf():
                reader = _Pypdf(io.BytesIO(data))
                if reader.is_encrypted and not reader.decrypt(""):  # opens without a password?
                    raise IngestError(
                        f"{path}: the PDF is encrypted with a password; save an unprotected copy and ingest that"
                    )
                blocks, meta = pdf_blocks(reader), pdf_meta(reader)
        except DependencyError as exc:  # AES encryption without the `cryptography` package
            raise IngestError(
                f"{path}: the PDF is encrypted in a way this install cannot read ({exc}); "
                "save an unprotected copy and ingest that"
            ) from None
        except (
            PyPdfError,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            RecursionError,
            NotImplementedError,  # a stream filter pypdf does not know (a damaged /Filter name)
            AssertionError,  # pypdf asserts the types of some objects (an outline destination's page)
        ) as exc:
            raise IngestError(
                f"{path}: not a readable PDF ({exc.__class__.__name__}: {str(exc)[:200]}); "
                "re-save or re-export it and try again"
            ) from None
        if not blocks:
            raise IngestError(
                f"{path}: the PDF has no text layer (a scan?); run OCR first (e.g. ocrmypdf) "
                "and ingest the result"
            )
        yield Parsed(where=str(path), blocks=blocks, meta=meta)
