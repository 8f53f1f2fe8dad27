"""HTML pages: main text by trafilatura (headings kept); metadata from `citation_*`, Dublin Core, Open Graph.

Navigation, scripts, styles, cookie banners, comments and tables are left to trafilatura's boilerplate removal
(`favor_precision`). The head is read with the standard library's `html.parser`, never with patterns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import trafilatura
from trafilatura.utils import detect_encoding

from ..errors import IngestError
from ..settings import IngestSettings
from .base import Block, Parsed, normalise, read_bytes_bounded, squash

_YEAR = re.compile(r"\b(1[89]\d\d|2[01]\d\d)\b")
_ISO_DAY = re.compile(r"^\s*(\d{4})[-/](\d{2})[-/](\d{2})")
_DOI_IN = re.compile(r"10\.\d{4,9}/\S+")


class _HeadTags(HTMLParser):
    """`<meta>` contents by lower-case name/property/http-equiv (all of them), canonical link, `<title>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, list[str]] = {}
        self.canonical: str | None = None
        self.title: str | None = None
        self._in_title = False
        self._title_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        if tag == "meta":
            key = values.get("name") or values.get("property") or values.get("http-equiv")
            content = squash(normalise(values.get("content", "")))
            if key and content:
                self.meta.setdefault(key.strip().lower(), []).append(content)
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split():
            self.canonical = self.canonical or squash(values.get("href", "")) or None
        elif tag == "title" and self.title is None:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = squash(normalise("".join(self._title_parts))) or None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)

    def first(self, *keys: str) -> str | None:
        return next((self.meta[k][0] for k in keys if k in self.meta), None)


def _iso_date(value: str | None) -> str | None:
    """YYYY-MM-DD of an ISO 8601 / 2021/03/04 date or an HTTP date ("Tue, 15 Nov 1994 ..."); else None."""
    if not value:
        return None
    match = _ISO_DAY.match(value)
    if match:
        year, month, day = (int(x) for x in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}" if 1 <= month <= 12 and 1 <= day <= 31 else None
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _keywords(values: list[str]) -> list[str]:
    words = (squash(w) for v in values for w in re.split(r"[;,]", v))
    return list(dict.fromkeys(w for w in words if w))


def head_meta(html: str) -> dict[str, Any]:
    """The front-matter keys the page's head declares; a key the page lacks is left out."""
    tags = _HeadTags()
    tags.feed(html)
    tags.close()
    dc_id = tags.first("dc.identifier", "dcterms.identifier")
    dc_doi = _DOI_IN.search(dc_id) if dc_id else None
    date = tags.first(
        "citation_publication_date",
        "citation_date",
        "citation_year",
        "dc.date",
        "dcterms.date",
        "article:published_time",
    )
    year = _YEAR.search(date) if date else None
    canonical = tags.canonical if tags.canonical and tags.canonical.startswith("http") else None
    meta: dict[str, Any] = {
        "title": tags.first("citation_title", "dc.title", "dcterms.title", "og:title") or tags.title,
        "publisher": tags.first("citation_journal_title", "citation_publisher", "dc.publisher")
        or tags.first("dcterms.publisher", "og:site_name"),
        "year": int(year.group(1)) if year else None,
        "doi": tags.first("citation_doi") or (dc_doi.group(0) if dc_doi else None),
        "pmid": tags.first("citation_pmid"),
        "url": canonical or tags.first("og:url"),
        "keywords": _keywords(tags.meta.get("citation_keywords") or tags.meta.get("keywords") or []),
        "last_updated": _iso_date(
            tags.first("article:modified_time", "dc.date.modified", "dcterms.modified", "last-modified")
        ),
    }
    return {k: v for k, v in meta.items() if v not in (None, "", [])}


def _text(element: Element, skip: str = "") -> str:
    """The element's text with its descendants' (except `skip` elements), line breaks as spaces."""
    parts = [element.text or ""]
    for child in element:
        if child.tag != skip:
            parts.append(" " if child.tag == "lb" else _text(child, skip))
        parts.append(child.tail or "")
    return squash("".join(parts))


def main_blocks(xml: str) -> Iterator[Block]:
    """Blocks of trafilatura's XML output: `<head>` sets the section, list items are blocks of their own."""
    root = SafeET.fromstring(xml)
    main = root.find("main")
    section = ""
    for element in main if main is not None else []:
        if element.tag == "head":
            section = _text(element)
        elif element.tag == "list":
            for item in element.iter("item"):
                if text := _text(item, skip="list"):
                    yield Block(section, text)
        elif text := _text(element):
            yield Block(section, text)


def decode_html(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else the encoding trafilatura guesses, else lossy UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for guess in detect_encoding(data):
        try:
            return data.decode(guess)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


# character references to control characters (&#1;, &#x1b;): one of them makes trafilatura find no text at all
_CONTROL_REF = re.compile(r"&#(?:x0*(?:[0-8bcef]|1[0-9a-f]|7f)|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|127));", re.I)


class HtmlReader:
    name = "html"
    suffixes = (".html", ".htm")

    def read(self, path: Path, settings: IngestSettings) -> Iterator[Parsed]:
        html = _CONTROL_REF.sub("", normalise(decode_html(read_bytes_bounded(path, settings))))
        xml = trafilatura.extract(
            html,
            output_format="xml",
            include_tables=False,
            include_comments=False,
            include_images=False,
            include_links=False,
            favor_precision=True,
            with_metadata=False,
        )
        blocks = list(main_blocks(xml)) if xml else []
        if not blocks:
            raise IngestError(
                f"{path}: no main text found; save the article page itself (not an index, search or "
                "login page), or convert it to Markdown with front matter"
            )
        yield Parsed(where=str(path), blocks=blocks, meta=head_meta(html))
