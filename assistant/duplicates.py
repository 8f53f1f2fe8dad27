"""Passages whose text repeats a passage of another document, indexed once.

Two documents of a library often share text: a guideline and its summary, a leaflet reprinted by two
publishers, a preprint and the published paper under different identifiers. Their passages would otherwise
fill the top hits with the same words twice. Exact repeats are found by their normalised text; near repeats by
MinHash over word 3-shingles (datasketch's LSH, 128 permutations), every candidate then checked with the exact
Jaccard similarity of its shingles, so the LSH only narrows the search and never decides alone.

The passage read first (library order: sorted file paths) is kept; the later one is left out, and the report
says which passage repeats which.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from datasketch import MinHash, MinHashLSH

from .types import Passage

_NUM_PERM = 128
_WORD = re.compile(r"\w+")


def _shingles(text: str) -> set[bytes]:
    words = _WORD.findall(text.lower())
    if len(words) < 3:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + 3]).encode() for i in range(len(words) - 2)}


def _jaccard(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def drop_duplicate_passages(passages: Sequence[Passage], threshold: float) -> tuple[list[Passage], list[str]]:
    """(the passages with later repeats of another document's passage left out, a line per repeat)."""
    kept: list[Passage] = []
    report: list[str] = []
    exact: dict[str, Passage] = {}
    shingles: dict[str, set[bytes]] = {}
    doc_of: dict[str, str] = {}
    lsh = MinHashLSH(threshold=threshold, num_perm=_NUM_PERM) if threshold < 1.0 else None
    for p in passages:
        key = " ".join(_WORD.findall(p.text.lower()))
        first = exact.get(key)
        if first is not None and first.doc_id != p.doc_id:
            report.append(f"{p.passage_id} repeats {first.passage_id} (same text): indexed once")
            continue
        own = _shingles(p.text)
        if lsh is not None:
            sketch = MinHash(num_perm=_NUM_PERM)
            sketch.update_batch(own)
            match = _near(p, own, lsh.query(sketch), shingles, doc_of, threshold)
            if match is not None:
                report.append(
                    f"{p.passage_id} nearly repeats {match[0]} (Jaccard {match[1]:.2f}): indexed once"
                )
                continue
            lsh.insert(p.passage_id, sketch)
        exact.setdefault(key, p)
        shingles[p.passage_id] = own
        doc_of[p.passage_id] = p.doc_id
        kept.append(p)
    return kept, report


def _near(
    p: Passage,
    own: set[bytes],
    candidates: list[str],
    shingles: dict[str, set[bytes]],
    doc_of: dict[str, str],
    threshold: float,
) -> tuple[str, float] | None:
    best: tuple[str, float] | None = None
    for other in candidates:
        if doc_of[other] == p.doc_id:
            continue  # one document may repeat itself (a summary box): its own business
        score = _jaccard(own, shingles[other])
        if score >= threshold and (best is None or score > best[1]):
            best = (other, score)
    return best
