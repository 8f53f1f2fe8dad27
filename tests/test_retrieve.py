"""Retrieval: FAISS against brute force, fusion against hand-computed values, filters and per-document caps."""

from __future__ import annotations

import numpy as np

from assistant.retrieve import IndexRetriever, rrf, weighted, zscore
from assistant.service import Assistant
from assistant.settings import RetrievalSettings
from assistant.store import embedding_text
from assistant.types import Filters


def test_rrf_by_hand() -> None:
    # k = 60. Passage 1: ranks 1 and 2 -> 1/61 + 1/62; passage 2: rank 2 in the first list -> 1/62;
    # passage 3: rank 1 in the second list -> 1/61. So 1 > 3 > 2.
    fused = rrf([[(1, 0.9), (2, 0.5)], [(3, 7.0), (1, 3.0)]], k=60)
    assert [i for i, _ in fused] == [1, 3, 2]
    assert abs(fused[0][1] - (1 / 61 + 1 / 62)) < 1e-12


def test_weighted_by_hand() -> None:
    # dense min-max: 1 -> 1.0, 2 -> 0.0; bm25 min-max: 3 -> 1.0, 1 -> 0.0 (2 absent -> 0).
    # w = 0.7: passage 1 = 0.7, passage 3 = 0.3, passage 2 = 0.
    fused = dict(weighted([(1, 0.9), (2, 0.5)], [(3, 7.0), (1, 3.0)], 0.7))
    assert fused == {1: 0.7, 3: 0.30000000000000004, 2: 0.0} or abs(fused[3] - 0.3) < 1e-12
    assert abs(fused[1] - 0.7) < 1e-12 and fused[2] == 0.0


def test_dense_search_matches_brute_force(assistant: Assistant) -> None:
    index = assistant.index
    texts = [embedding_text(p, index.documents[p.doc_id], True) for p in index.passages]
    matrix = assistant.embedder.embed_documents(texts)
    retriever = IndexRetriever(index, assistant.embedder, RetrievalSettings(mode="dense"))
    for query in ["gout treatment allopurinol", "asthma inhaled corticosteroids", "blood pressure diagnosis"]:
        q = assistant.embedder.embed_queries([query])[0]
        expected = np.argsort(-(matrix @ q), kind="stable")[:5]
        got = [i for i, _ in retriever.dense_ranking(query, 5)]
        assert sorted(got) == sorted(expected.tolist())


def test_modes_and_filters(assistant: Assistant) -> None:
    for mode in ("dense", "bm25", "hybrid"):
        r = IndexRetriever(assistant.index, assistant.embedder, RetrievalSettings(mode=mode))
        hits = r.retrieve("allopurinol urate lowering gout", 3)
        assert hits and hits[0].document.topic == "Gout", mode
    r = IndexRetriever(assistant.index, assistant.embedder, RetrievalSettings())
    only = r.retrieve("gout", 10, Filters(source_types=("research",)))
    assert only and {h.document.source_type for h in only} == {"research"}
    old = r.retrieve("gout", 10, Filters(year_max=2019))
    assert old and all((h.document.year or 0) <= 2019 for h in old)
    assert r.retrieve("gout", 10, Filters(topics=("asthma",)))[0].document.topic == "Asthma"


def test_per_document_cap(assistant: Assistant) -> None:
    r = IndexRetriever(assistant.index, assistant.embedder, RetrievalSettings(max_per_doc=1))
    hits = r.retrieve("gout asthma hypertension treatment diagnosis", 10)
    docs = [h.document.doc_id for h in hits]
    assert len(docs) == len(set(docs)) == 4


def test_bm25_unknown_words_return_nothing(assistant: Assistant) -> None:
    r = IndexRetriever(assistant.index, assistant.embedder, RetrievalSettings(mode="bm25"))
    assert r.retrieve("zzzqqq xylophone", 5) == []
    assert r.retrieve("   ", 5) == []


class FakeReranker:
    def scores(self, query: str, texts: list[str]) -> list[float]:
        return [1.0 if "asthma" in t.lower() else 0.0 for t in texts]


def test_reranker_seam_reorders(assistant: Assistant) -> None:
    r = IndexRetriever(assistant.index, assistant.embedder, RetrievalSettings(), FakeReranker())
    hits = r.retrieve("gout allopurinol", 3)
    assert hits[0].document.topic == "Asthma"


def test_zscore_by_hand() -> None:
    # dense scores 0.9, 0.5 -> mean 0.7, std 0.2 -> z = +1 (passage 1), -1 (passage 2);
    # bm25 scores 7, 3 -> mean 5, std 2 -> z = +1 (passage 3), -1 (passage 1); passage 2 takes bm25's floor -1,
    # passage 3 takes dense's floor -1. With w = 0.45: p1 = 0.45 - 0.55 = -0.1, p2 = -1, p3 = -0.45 + 0.55 = 0.1.
    fused = dict(zscore([(1, 0.9), (2, 0.5)], [(3, 7.0), (1, 3.0)], 0.45))
    assert abs(fused[1] + 0.1) < 1e-9 and abs(fused[2] + 1.0) < 1e-9 and abs(fused[3] - 0.1) < 1e-9
    assert zscore([], [], 0.5) == []


def test_adaptive_fusion_is_zscore_at_the_query_s_own_weight(assistant: Assistant) -> None:
    from assistant.lexical import query_terms
    from assistant.retrieve import adaptive_weight, query_signals

    query = "gout urate lowering therapy"
    coefficients = [-0.5, 0.0, 2.0, 0.0]
    adaptive = IndexRetriever(
        assistant.index, assistant.embedder, RetrievalSettings(fusion="adaptive", adaptive=coefficients)
    )
    ranked, _ = adaptive.ranking(query, 50)
    tokens, known = query_terms(assistant.index.bm25, query)
    lexical = adaptive.bm25_ranking(query, 50)
    w = adaptive_weight(query_signals(len(tokens), len(tokens) - len(known), lexical), coefficients)
    fixed = IndexRetriever(
        assistant.index, assistant.embedder, RetrievalSettings(fusion="zscore", dense_weight=w)
    )
    assert [i for i, _ in ranked] == [i for i, _ in fixed.ranking(query, 50)[0]]
