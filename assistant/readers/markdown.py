"""Markdown with a YAML front-matter block: the shipped digests' format (see `corpus/README.md`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..metadata import split_front_matter
from ..settings import IngestSettings
from .base import Block, Parsed, line_blocks, normalise, read_text_bounded, squash

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def _heading(line: str) -> str | None:
    match = _HEADING.match(line)
    return squash(match.group(2)) if match else None


def markdown_blocks(body: str) -> Iterator[Block]:
    """(section heading, paragraph text) blocks; bullets become paragraphs of their own."""
    return line_blocks(body.split("\n"), _heading, _BULLET)


class MarkdownReader:
    name = "markdown"
    suffixes = (".md", ".markdown")

    def read(self, path: Path, settings: IngestSettings) -> Iterator[Parsed]:
        raw = normalise(read_text_bounded(path, settings))
        meta, body = split_front_matter(raw, str(path), settings.max_front_matter_bytes)
        yield Parsed(
            where=str(path),
            blocks=list(markdown_blocks(body)),
            meta=meta,
            doc_id=str(meta["id"]) if meta.get("id") else None,
            requires_link=True,
        )
