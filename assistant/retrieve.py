"""Retrievers over a loaded index: dense (FAISS), BM25 (bm25s) and their fusion, with metadata filters,
a per-document cap for source diversity and an optional cross-encoder reranker."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from .doctable import DocumentTable
from .embed import Embedder
from .lexical import bm25_search, query_terms
from .loader import LoadedIndex
from .passagestore import document_fields
from .settings import RetrievalSettings
from .store import embedding_text
from .types import Document, Filters, Hit
from .vectorindex import Ids

Ranked = list[tuple[int, float]]  # (passage index, score), best first


class Retriever(Protocol):
    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]: ...


class Reranker(Protocol):
    def scores(self, query: str, texts: Sequence[str]) -> Sequence[float]: ...


class CrossEncoderReranker:
    """Any sentence-transformers CrossEncoder, by name or path."""

    def __init__(self, model: str) -> None:
        from sentence_transformers import CrossEncoder

        self._model: Any = CrossEncoder(model, device="cpu")

    def scores(self, query: str, texts: Sequence[str]) -> Sequence[float]:
        return [float(s) for s in self._model.predict([(query, t) for t in texts], show_progress_bar=False)]


def rrf(rankings: Sequence[Ranked], k: int) -> Ranked:
    """Reciprocal rank fusion: score = sum over rankings of 1 / (k + rank), ranks from 1."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (idx, _score) in enumerate(ranking, 1):
            fused[idx] = fused.get(idx, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def _minmax(ranking: Ranked) -> dict[int, float]:
    if not ranking:
        return {}
    values = [s for _, s in ranking]
    lo, hi = min(values), max(values)
    span = hi - lo
    return {i: (s - lo) / span if span > 0 else 1.0 for i, s in ranking}


def weighted(dense: Ranked, lexical: Ranked, dense_weight: float) -> Ranked:
    """Convex combination of min-max normalised scores; a passage missing from a list scores 0 there."""
    d, b = _minmax(dense), _minmax(lexical)
    fused = {
        i: dense_weight * d.get(i, 0.0) + (1 - dense_weight) * b.get(i, 0.0) for i in d.keys() | b.keys()
    }
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def withheld_documents(documents: Iterable[Document] | Mapping[str, Document], serve: str) -> frozenset[str]:
    """The ids of documents answers must not quote: retired ones, and under `serve="approved"` every one
    not reviewed as approved."""
    if isinstance(documents, Mapping):
        statuses = document_fields(documents, ("doc_id", "review_status"))
    else:
        statuses = ((d.doc_id, d.review_status) for d in documents)
    if serve == "approved":
        return frozenset(doc_id for doc_id, status in statuses if status != "approved")
    return frozenset(doc_id for doc_id, status in statuses if status == "retired")


def _topic_of(doc: Document) -> str:
    return doc.topic or doc.title


def _zscores(ranking: Ranked) -> dict[int, float]:
    if not ranking:
        return {}
    values = np.asarray([s for _, s in ranking], dtype=np.float64)
    std = float(values.std()) or 1.0
    mean = float(values.mean())
    return {i: (s - mean) / std for i, s in ranking}


def zscore(dense: Ranked, lexical: Ranked, dense_weight: float) -> Ranked:
    """Convex combination of z-scored lists; a passage missing from a list takes that list's lowest z-score."""
    d, b = _zscores(dense), _zscores(lexical)
    d_floor, b_floor = min(d.values(), default=0.0), min(b.values(), default=0.0)
    fused = {
        i: dense_weight * d.get(i, d_floor) + (1 - dense_weight) * b.get(i, b_floor)
        for i in d.keys() | b.keys()
    }
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def query_signals(tokens: int, unknown: int, lexical: Ranked) -> tuple[float, float, float]:
    """What a query says of itself before fusion: log(1 + its content terms), the share of them the BM25 index
    does not know, and how far its best BM25 score stands above the next nine (in their standard deviations)."""
    top = [s for _, s in lexical[:10]]
    if len(top) >= 2:
        rest = np.asarray(top[1:], dtype=np.float64)
        peak = float((top[0] - rest.mean()) / (rest.std() + 1e-6)) if len(rest) > 1 else 0.0
    else:
        peak = 0.0
    return math.log1p(tokens), (unknown / tokens if tokens else 1.0), min(peak, 10.0)


def adaptive_weight(signals: tuple[float, float, float], coefficients: Sequence[float]) -> float:
    """The dense weight for one query: a logistic function of its signals (`query_signals`)."""
    a, b, c, d = coefficients
    z = a + b * signals[0] + c * signals[1] + d * signals[2]
    return 1.0 / (1.0 + math.exp(-z))


class IndexRetriever:
    """Dense, BM25 or hybrid retrieval over one loaded index, as `RetrievalSettings` says."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        settings: RetrievalSettings,
        reranker: Reranker | None = None,
        *,
        withheld: frozenset[str] = frozenset(),
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.reranker = reranker
        self.withheld = withheld  # document ids never served (retired, or not approved under serve=approved)
        self._table = DocumentTable.build(index.documents, index.passages.doc_rows())
        self._with_context = index.manifest.embed_context

    # -- the two base rankings
    def _depth(self, k: int, filters: Filters | None) -> int:
        return min(max(self.settings.candidates, 2 * k), len(self.index.passages))

    def allowed_rows(self, filters: Filters | None) -> Ids | None:
        """The rows a search may return under `filters` and the withheld documents (pushed into both searches,
        so a narrow filter still gives k hits); None when every row may be returned."""
        if (filters is None or filters.is_empty()) and not self.withheld:
            return None
        return self._table.rows(filters, self.withheld)

    def dense_ranking(self, query: str, depth: int, allowed: Ids | None = None) -> Ranked:
        if depth <= 0 or (allowed is not None and not len(allowed)):
            return []
        vector = self.embedder.embed_queries([query])
        scores, ids = self.index.dense.search(vector, depth, allowed)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def bm25_ranking(self, query: str, depth: int, allowed: Ids | None = None) -> Ranked:
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.index.passages), dtype=np.float32)
            mask[allowed] = 1.0
        ids, scores = bm25_search(self.index.bm25, query, depth, weight_mask=mask)
        return [(int(i), float(s)) for i, s in zip(ids, scores, strict=True)]

    def ranking(
        self, query: str, depth: int, allowed: Ids | None = None
    ) -> tuple[Ranked, dict[int, dict[str, float]]]:
        mode = self.settings.mode
        dense = self.dense_ranking(query, depth, allowed) if mode in ("dense", "hybrid") else []
        lexical = self.bm25_ranking(query, depth, allowed) if mode in ("bm25", "hybrid") else []
        components: dict[int, dict[str, float]] = {}
        for name, ranked in (("dense", dense), ("bm25", lexical)):
            for idx, score in ranked:
                components.setdefault(idx, {})[name] = score
        if mode == "dense":
            return dense, components
        if mode == "bm25":
            return lexical, components
        if self.settings.fusion == "weighted":
            return weighted(dense, lexical, self.settings.dense_weight), components
        if self.settings.fusion == "zscore":
            return zscore(dense, lexical, self.settings.dense_weight), components
        if self.settings.fusion == "adaptive":
            tokens, known = query_terms(self.index.bm25, query)
            signals = query_signals(len(tokens), len(tokens) - len(known), lexical)
            return zscore(dense, lexical, adaptive_weight(signals, self.settings.adaptive)), components
        return rrf([dense, lexical], self.settings.rrf_k), components

    # -- the public seam
    def retrieve(
        self,
        query: str,
        k: int,
        filters: Filters | None = None,
        *,
        max_per_doc: int | None = None,
        prefer_topic: str | None = None,
        prefer_source_types: Collection[str] = (),
    ) -> list[Hit]:
        """The best `k` passages for `query` among those `filters` and the withheld documents allow (both
        pushed into the searches). `prefer_topic` (a follow-up's conversation topic) lifts the passages of
        that topic's documents: their ranking is fused in once more, so they win unless others match much
        better. `prefer_source_types` (the audience's) lifts the passages of those source types the same way,
        when the ranking holds others too."""
        if k <= 0 or not query.strip():
            return []
        ranked, components = self.ranking(query, self._depth(k, filters), self.allowed_rows(filters))
        docs = self.index.documents
        passages = self.index.passages
        if prefer_topic:
            on_topic = [(i, s) for i, s in ranked if _topic_of(docs[passages[i].doc_id]) == prefer_topic]
            if on_topic:
                ranked = rrf([ranked, on_topic], self.settings.rrf_k)
        if prefer_source_types:
            lifted = [
                (i, s) for i, s in ranked if docs[passages[i].doc_id].source_type in prefer_source_types
            ]
            if lifted and len(lifted) < len(ranked):
                ranked = rrf([ranked, lifted], self.settings.rrf_k)
        if self.reranker is not None and ranked:
            ranked = self._rerank(query, ranked)
        cap = max_per_doc if max_per_doc is not None else self.settings.max_per_doc
        per_doc: dict[str, int] = {}
        hits: list[Hit] = []
        for idx, score in ranked:
            doc_id = passages[idx].doc_id
            if per_doc.get(doc_id, 0) >= cap:
                continue
            per_doc[doc_id] = per_doc.get(doc_id, 0) + 1
            hits.append(Hit(passages[idx], docs[doc_id], float(score), components.get(idx, {})))
            if len(hits) == k:
                break
        return hits

    def _rerank(self, query: str, ranked: Ranked) -> Ranked:
        assert self.reranker is not None
        head = ranked[: self.settings.rerank_depth]
        texts = [
            embedding_text(
                self.index.passages[i],
                self.index.documents[self.index.passages[i].doc_id],
                self._with_context,
            )
            for i, _ in head
        ]
        scores = np.asarray(self.reranker.scores(query, texts), dtype=np.float64)
        order = sorted(range(len(head)), key=lambda j: (-scores[j], j))
        return [(head[j][0], float(scores[j])) for j in order] + ranked[len(head) :]
