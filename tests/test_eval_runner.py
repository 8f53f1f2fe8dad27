"""The batch runner ranks exactly what the project's retriever ranks, whatever the batch size, and the eval
index is built once per corpus and settings."""

from __future__ import annotations

import pytest

from assistant.evals.data import load_beir
from assistant.evals.indexcache import cache_key, eval_settings, open_cached_index
from assistant.evals.runner import DenseCache, retriever_for, run_retrieval
from assistant.retrieve import IndexRetriever
from assistant.settings import Settings

from .conftest import FIXTURES, FakeEmbedder

BEIR = FIXTURES / "beir"


@pytest.fixture
def index(settings: Settings, fake_embedder: FakeEmbedder):  # type: ignore[no-untyped-def]
    return open_cached_index([BEIR / "corpus.jsonl"], settings, fake_embedder, progress=False)


@pytest.mark.parametrize("mode", ["dense", "hybrid", "bm25"])
def test_batch_size_does_not_change_rankings(
    index, settings: Settings, fake_embedder: FakeEmbedder, mode: str
) -> None:  # type: ignore[no-untyped-def]
    queries = load_beir(BEIR, "test").queries
    runs = []
    for batch_size in (1, 2, 512):
        retriever = retriever_for(
            index, fake_embedder, settings.retrieval, mode, DenseCache(index, fake_embedder), 100
        )
        runs.append(run_retrieval(retriever, queries, 100, batch_size=batch_size).rankings)
    # documents whose scores tie (here d2, d3 and d4 of q3, to 1e-9) may come in either order: BLAS and non-BLAS
    # inner products differ in the last float32 bits, and which kernel runs depends on the batch and the CPU
    orders = [{q: sorted(r, key=lambda h: (-round(h[1], 6), h[0])) for q, r in run.items()} for run in runs]
    orders = [{q: [d for d, _ in r] for q, r in order.items()} for order in orders]
    assert orders[0] == orders[1] == orders[2]
    for run in runs[1:]:  # scores agree to float32 rounding (BLAS and non-BLAS inner products)
        for q, ranking in run.items():
            assert [s for _, s in ranking] == pytest.approx([s for _, s in runs[0][q]], abs=1e-5)
    # the same as the project's retriever asked one query at a time, without any batching or cache
    plain = IndexRetriever(index, fake_embedder, settings.retrieval.model_copy(update={"mode": mode}))
    for qid, text in queries.items():
        expected = [h.passage.doc_id for h in plain.retrieve(text, 100, max_per_doc=1)]
        assert [d for d, _ in runs[0][qid]] == expected


def test_rankings_are_distinct_documents_and_deep_enough(
    index, settings: Settings, fake_embedder: FakeEmbedder
) -> None:  # type: ignore[no-untyped-def]
    retriever = retriever_for(
        index, fake_embedder, settings.retrieval, "dense", DenseCache(index, fake_embedder), 100
    )
    ranking = run_retrieval(retriever, {"q": "iron anaemia treatment"}, 100).rankings["q"]
    docs = [d for d, _ in ranking]
    assert len(docs) == len(set(docs)) == 8  # dense search ranks every document of the 8-document corpus
    assert [s for _, s in ranking] == sorted((s for _, s in ranking), reverse=True)


def test_index_is_cached_per_corpus_and_settings(settings: Settings, fake_embedder: FakeEmbedder) -> None:
    logs: list[str] = []
    corpus = [BEIR / "corpus.jsonl"]
    first = open_cached_index(corpus, settings, fake_embedder, progress=False, log=logs.append)
    second = open_cached_index(corpus, settings, fake_embedder, progress=False, log=logs.append)
    assert (
        first.path == second.path and logs[0].startswith("indexing") and logs[-1].startswith("using cached")
    )
    assert first.sentence_vectors is None  # eval indexes skip sentence embeddings
    assert first.path.parent.parent == settings.cache_dir / "indexes"
    other = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"max_passage_words": 40})}
    )
    assert cache_key(corpus, eval_settings(other), "m") != cache_key(corpus, eval_settings(settings), "m")
    assert cache_key(corpus, eval_settings(settings), "m") != cache_key(corpus, eval_settings(settings), "n")
    # retrieval settings do not change what is stored: the same key
    hybrid = settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update={"mode": "bm25"})})
    assert cache_key(corpus, eval_settings(hybrid), "m") == cache_key(corpus, eval_settings(settings), "m")


def test_dense_rankings_come_from_the_batch(index, settings: Settings, fake_embedder: FakeEmbedder) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []

    class Counting(FakeEmbedder):
        def embed_queries(self, texts):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return super().embed_queries(texts)

    embedder = Counting()
    queries = load_beir(BEIR, "test").queries
    retriever = retriever_for(index, embedder, settings.retrieval, "dense", DenseCache(index, embedder), 100)
    run_retrieval(retriever, queries, 100, batch_size=2)
    # 5 queries in batches of 2 -> 3 calls; none per query, though the 12-passage index is shallower than asked
    assert calls == [2, 2, 1]
