"""Batch runs: every query of a set through the project's own retriever, with query embedding and dense search
done in batches first, so a run over hundreds of queries takes seconds once the index is built."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..audience import preferred_source_types
from ..embed import Embedder
from ..errors import EvalDataError
from ..followup import TurnContext
from ..loader import LoadedIndex
from ..retrieve import IndexRetriever, Ranked, Reranker
from ..service import Assistant
from ..settings import RetrievalSettings
from ..types import Filters, Hit
from ..vectorindex import Ids
from .data import Conversation

DocRanking = list[tuple[str, float]]  # (document id, score), best first, distinct documents
Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]

CLINICIAN = preferred_source_types("clinician")  # what retrieval evaluations rank for


def no_progress(items: Iterable[Any], _label: str, _total: int) -> Iterable[Any]:
    return items


class DenseCache:
    """Dense rankings of many queries, computed with one embedding call and one FAISS search per batch."""

    def __init__(self, index: LoadedIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.rankings: dict[str, tuple[int, Ranked]] = {}  # query -> (depth searched, ranking)

    def prepare(self, queries: Sequence[str], depth: int, batch_size: int = 512) -> None:
        todo = [q for q in dict.fromkeys(queries) if q.strip() and self.get(q, depth) is None]
        searched = min(depth, len(self.index.dense))
        if not todo or searched <= 0:
            return
        for start in range(0, len(todo), batch_size):  # the backend handles batch search's BLAS trap
            chunk = todo[start : start + batch_size]
            scores, ids = self.index.dense.search(self.embedder.embed_queries(chunk), searched)
            for q, row_ids, row_scores in zip(chunk, ids, scores, strict=True):
                ranked = [(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i >= 0]
                self.rankings[q] = (depth, ranked)

    def get(self, query: str, depth: int) -> Ranked | None:
        found = self.rankings.get(query)
        if found is None:
            return None
        searched, ranked = found
        exhausted = len(ranked) < searched  # the index holds fewer passages than were asked for
        return ranked[:depth] if searched >= depth or exhausted else None


class BatchRetriever(IndexRetriever):
    """The project's `IndexRetriever`, reading dense rankings from a `DenseCache`.

    `rank_documents` ranks k distinct documents exactly as `retrieve(query, k, max_per_doc=1)` does; only when
    that search depth yields fewer than k documents is the rest filled from a search `min_depth` passages deep
    (fusion scores depend on list depth, so the head of the ranking is never taken from the deeper search)."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        settings: RetrievalSettings,
        cache: DenseCache,
        *,
        min_depth: int = 0,
        reranker: Reranker | None = None,
    ) -> None:
        super().__init__(index, embedder, settings, reranker)
        self.cache = cache
        self.min_depth = min_depth
        self._deep = False

    def _depth(self, k: int, filters: Filters | None) -> int:
        depth = super()._depth(k, filters)
        return max(depth, min(self.min_depth, len(self.index.passages))) if self._deep else depth

    def dense_ranking(self, query: str, depth: int, allowed: Ids | None = None) -> Ranked:
        cached = self.cache.get(query, depth) if allowed is None else None  # the batch searched unfiltered
        return cached if cached is not None else super().dense_ranking(query, depth, allowed)

    def search_depth(self, k: int) -> int:
        """The deepest dense search `rank_documents` may need (what the batch should prepare)."""
        return max(super()._depth(k, None), min(self.min_depth, len(self.index.passages)))

    def rank_documents(
        self, query: str, k: int, prefer_topic: str | None = None
    ) -> tuple[DocRanking, list[Hit]]:
        hits = self.retrieve(
            query, k, max_per_doc=1, prefer_topic=prefer_topic, prefer_source_types=CLINICIAN
        )
        if len(hits) < k and self.min_depth > len(hits):
            self._deep = True
            try:
                deeper = self.retrieve(
                    query, k, max_per_doc=1, prefer_topic=prefer_topic, prefer_source_types=CLINICIAN
                )
            finally:
                self._deep = False
            seen = {h.passage.doc_id for h in hits}
            hits += [h for h in deeper if h.passage.doc_id not in seen][: k - len(hits)]
        ranking: DocRanking = []
        for h in hits:  # scores kept non-increasing down the ranking, so score order = rank order
            ranking.append((h.passage.doc_id, min(h.score, ranking[-1][1]) if ranking else h.score))
        return ranking, hits


def eval_depth(index: LoadedIndex, k: int) -> int:
    """Passages to search when the usual depth ranks fewer than `k` distinct documents: k times three times
    the mean passages per document (at least k)."""
    per_doc = len(index.passages) / max(1, len(index.documents))
    return math.ceil(k * max(1.0, 3 * per_doc))


def retriever_for(
    index: LoadedIndex, embedder: Embedder, base: RetrievalSettings, mode: str, cache: DenseCache, k: int
) -> BatchRetriever:
    settings = base.model_copy(update={"mode": mode})
    reranker = None
    if settings.reranker:
        from ..retrieve import CrossEncoderReranker

        reranker = CrossEncoderReranker(settings.reranker)
    return BatchRetriever(index, embedder, settings, cache, min_depth=eval_depth(index, k), reranker=reranker)


@dataclass
class ModeRun:
    """The document rankings of one retrieval mode, and how long they took."""

    mode: str
    rankings: dict[str, DocRanking]
    seconds: float
    queries: list[str] = field(default_factory=list)  # the query text searched, per row (conversations)

    @property
    def per_second(self) -> float:
        return round(len(self.rankings) / self.seconds, 1) if self.seconds > 0 else 0.0


def run_retrieval(
    retriever: BatchRetriever,
    queries: dict[str, str],
    k: int,
    *,
    batch_size: int = 512,
    progress: Progress = no_progress,
) -> ModeRun:
    """Rank `k` distinct documents for every query; dense rankings come from one batched search."""
    started = time.perf_counter()
    if retriever.settings.mode != "bm25":
        retriever.cache.prepare(list(queries.values()), retriever.search_depth(k), batch_size)
    rankings: dict[str, DocRanking] = {}
    label = f"retrieval ({retriever.settings.mode})"
    for qid, text in progress(queries.items(), label, len(queries)):
        rankings[qid] = retriever.rank_documents(text, k)[0]
    return ModeRun(retriever.settings.mode, rankings, time.perf_counter() - started)


# ------------------------------------------------------------------ conversations

ASK_AS = ("conversation", "no-history", "standalone")


def turn_query(assistant: Assistant, conv: Conversation, t: int, history: list[TurnContext], how: str) -> Any:
    """The resolution of turn `t` (from 0), asked as `how` says: with its history, alone, or in its standalone
    form (a first turn without one stands alone already)."""
    turn = conv.turns[t]
    if how == "conversation":
        return assistant.resolve(turn.question, history)
    if how == "no-history":
        return assistant.resolve(turn.question, [])
    if not turn.standalone and t > 0:
        raise EvalDataError(
            f"conversation {conv.conv_id!r} turn {t + 1} has no 'standalone' question, needed by --as standalone"
        )
    return assistant.resolve(turn.standalone or turn.question, [])


def run_conversations(
    assistant: Assistant,
    retriever: BatchRetriever,
    conversations: Sequence[Conversation],
    k: int,
    *,
    how: str = "conversation",
    progress: Progress = no_progress,
) -> ModeRun:
    """Ask every conversation turn by turn through the assistant's own resolution (explicit history, nothing
    stored); turn t of all conversations is embedded and searched as one batch. Row ids are `conv#turn`."""
    started = time.perf_counter()
    asking = replace(assistant, retriever=retriever, conversations=None)
    histories: dict[str, list[TurnContext]] = {c.conv_id: [] for c in conversations}
    rankings: dict[str, DocRanking] = {}
    searched: dict[str, str] = {}
    longest = max((len(c.turns) for c in conversations), default=0)
    total = sum(len(c.turns) for c in conversations)
    bar = iter(progress(range(total), f"conversations ({retriever.settings.mode}, as {how})", total))
    for t in range(longest):
        active = [c for c in conversations if len(c.turns) > t]
        resolutions = [turn_query(asking, c, t, histories[c.conv_id], how) for c in active]
        if retriever.settings.mode != "bm25":
            retriever.cache.prepare([r.query for r in resolutions], retriever.search_depth(k))
        for conv, resolution in zip(active, resolutions, strict=True):
            ranking, hits = retriever.rank_documents(resolution.query, k, asking.preferred_topic(resolution))
            row = f"{conv.conv_id}#{t + 1}"
            rankings[row], searched[row] = ranking, resolution.query
            topic = asking.topic_of(resolution, hits)
            histories[conv.conv_id].append(TurnContext(conv.turns[t].question, resolution.query, topic))
            next(bar, None)
    order = [f"{c.conv_id}#{t + 1}" for c in conversations for t in range(len(c.turns))]
    run = ModeRun(retriever.settings.mode, {r: rankings[r] for r in order}, time.perf_counter() - started)
    run.queries = [searched[r] for r in order]
    return run
