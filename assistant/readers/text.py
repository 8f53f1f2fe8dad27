"""Plain text (.txt, UTF-8): paragraphs split on blank lines, a short first line as the title.

A line on its own in ALL CAPS, or ending with ':', is a heading; a bulleted line ("- ", "* ", "1. ") is a
paragraph of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import IngestError
from ..settings import IngestSettings
from .base import Block, Parsed, line_blocks, normalise, read_text_bounded, squash

TITLE_MAX_WORDS = 15
HEADING_MAX_WORDS = 8
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")


def is_heading(line: str) -> bool:
    """A short line in ALL CAPS (with letters), or one ending with ':'."""
    words = line.split()
    if not words or len(words) > HEADING_MAX_WORDS:
        return False
    return line.endswith(":") or (line.isupper() and sum(c.isalpha() for c in line) >= 2)


def split_title(text: str) -> tuple[str | None, str]:
    """(title, rest): the first non-empty line is the title when it is short, no sentence and stands alone."""
    first, _, rest = text.lstrip("\n ").partition("\n")
    first = squash(first)
    alone = not rest.partition("\n")[0].strip()  # a blank line (or the end) follows it
    if first and alone and len(first.split()) <= TITLE_MAX_WORDS and not first.endswith((".", ":", ";", ",")):
        return first, rest
    return None, text


def _heading(line: str) -> str | None:
    return line.rstrip(":").strip() if is_heading(line) else None


def text_blocks(body: str) -> Iterator[Block]:
    """(section, paragraph) blocks of the body."""
    return line_blocks((squash(raw) for raw in body.split("\n")), _heading, _BULLET)


class TextReader:
    name = "text"
    suffixes = (".txt",)

    def read(self, path: Path, settings: IngestSettings) -> Iterator[Parsed]:
        title, body = split_title(normalise(read_text_bounded(path, settings)))
        blocks = list(text_blocks(body))
        if not blocks:
            raise IngestError(f"{path}: the text file has no paragraphs to index; add its text or remove it")
        meta: dict[str, Any] = {"title": title} if title else {}
        yield Parsed(where=str(path), blocks=blocks, meta=meta)
