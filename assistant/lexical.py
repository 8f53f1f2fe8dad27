"""Lexical side: English stemming and stop words, the BM25 index (bm25s), and term sets for overlap scores."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

_WORD = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in stop_words()]


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words of `text` (stop words removed), as BM25 sees them."""
    return list(_stemmer().stemWords(_content_words(text)))


# British spellings made American, word by word before stemming: paediatric -> pediatric,
# oesophageal -> esophageal, tumour -> tumor, normalised -> normalized, analysed -> analyzed, centre -> center.
_SPELLING = [
    (re.compile(r"ae"), "e"),
    (re.compile(r"oe(?!s?$)"), "e"),
    (re.compile(r"our"), "or"),
    (re.compile(r"(?<=\w{3})is(?=(?:e|ed|es|ing|ation|ations|er|ers)$)"), "iz"),
    (re.compile(r"(?<=\w{3})ys(?=(?:e|ed|es|ing)$)"), "yz"),
    (re.compile(r"(?<=[tb])re(?=s?$)"), "er"),
]


def spelling_terms(text: str) -> list[str]:
    """`terms(text)` with British spellings made American first, so either spelling finds the other."""
    words = _content_words(text)
    for pattern, replacement in _SPELLING:
        words = [pattern.sub(replacement, w) for w in words]
    return list(_stemmer().stemWords(words))


def build_bm25(texts: Sequence[str], folder: Path, k1: float = 0.9, b: float = 0.4) -> None:
    import bm25s

    tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), show_progress=False)
    retriever = bm25s.BM25(k1=k1, b=b)
    retriever.index(tokens, show_progress=False)
    retriever.save(str(folder))


def load_bm25(folder: Path) -> Any:
    import bm25s

    # memory-mapped: a large index costs the pages queries touch, not its whole size (the vocabulary is read)
    return bm25s.BM25.load(str(folder), mmap=True, show_progress=False)


def query_terms(retriever: Any, query: str) -> tuple[list[str], list[str]]:
    """(every BM25 token of `query`, those the index knows)."""
    import bm25s

    tokens = bm25s.tokenize(
        [query], stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return list(tokens[0]), [t for t in tokens[0] if t in retriever.vocab_dict]


def bm25_search(
    retriever: Any, query: str, k: int, *, weight_mask: np.ndarray[Any, Any] | None = None
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(passage indices, scores) of the best `k` passages for `query`, best first, ties by passage index;
    empty when no query term is known. `weight_mask` (1 for a passage that may be returned, 0 otherwise)
    restricts the search inside bm25s.

    bm25s sums the scores from the query terms' postings only, but its top-k partitions the whole score array,
    zeros included: 8 ms of the 12 a query took at 300k passages. The best `k` are chosen here among the
    passages that contain a query term."""
    _all, known = query_terms(retriever, query)
    if not known or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    scores = np.asarray(retriever.get_scores(known, weight_mask=weight_mask))
    matched = np.flatnonzero(scores > 0)
    if len(matched) > k:
        matched = matched[np.argpartition(-scores[matched], k - 1)[:k]]
    best = matched[np.lexsort((matched, -scores[matched]))]
    return best.astype(np.int64), scores[best].astype(np.float32)
