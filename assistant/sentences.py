"""Sentence segmentation that survives medical text (abbreviations, decimals, ranges, units, citations).

pysbd does the heavy lifting; a few guards repair the splits it still gets wrong on clinical prose.
Offsets are computed once at ingest and stored with each passage.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# A split right after one of these tokens is never a sentence end (pysbd misses some of them).
_NO_SPLIT_AFTER = re.compile(
    r"(?:\b(?:e\.g|i\.e|vs|et al|approx|Fig|Figs|Dr|Drs|Prof|No|Nos|Ref|cf|ca|incl|resp|St|Mr|Mrs|Ms|"
    r"i\.v|i\.m|s\.c|p\.o|b\.i\.d|t\.i\.d|q\.i\.d|q\.d|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)\s*$",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def _raw_spans(text: str) -> list[tuple[int, int]]:
    return [(span.start, span.end) for span in _segmenter().segment(text)]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text`, whitespace trimmed, in order, covering all words."""
    if not text.strip():
        return []
    spans = [_trim(text, a, b) for a, b in _raw_spans(text)]
    spans = [s for s in spans if s[1] > s[0]]
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged:
            prev_start, prev_end = merged[-1]
            before = text[prev_start:prev_end]
            nxt = text[start:end]
            if _NO_SPLIT_AFTER.search(before) or nxt[:1].islower() or nxt[:1] in ",;:)]%":
                merged[-1] = (prev_start, end)
                continue
        merged.append((start, end))
    return merged


def sentences(text: str) -> list[str]:
    """The sentences of `text` as strings."""
    return [text[a:b] for a, b in split_sentences(text)]
