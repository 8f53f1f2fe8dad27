"""Markdown with a YAML front-matter block: the shipped digests' format (see `corpus/README.md`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..metadata import split_front_matter
from ..settings import IngestSettings
from .base import Block, Parsed, normalise, read_text_bounded, squash

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def markdown_blocks(body: str) -> Iterator[Block]:
    """(section heading, paragraph text) blocks; bullets become paragraphs of their own."""
    section = ""
    lines: list[str] = []

    def flush() -> Iterator[Block]:
        text = squash(" ".join(lines))
        lines.clear()
        if text:
            yield Block(section, text)

    for line in body.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            yield from flush()
            section = squash(heading.group(2))
        elif not line.strip():
            yield from flush()
        elif _BULLET.match(line):
            yield from flush()
            lines.append(_BULLET.sub("", line))
        else:
            lines.append(line)
    yield from flush()


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
