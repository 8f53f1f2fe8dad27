"""Retrieval latency and FAISS index types, measured on a real corpus (not a test: run on demand).

    .venv/bin/python benchmarks/retrieval_latency.py --beir ../shared/datasets/scifact --split train

Prints warm per-query latency (query embedding included, each query text seen once, so no cache hits) of the
default retriever on 1 thread, p50/p95 for each mode; then exact flat search against HNSW at several efSearch
values: recall@10 against exact search, and per-query time, on the corpus's real passage vectors.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--beir", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--queries", type=int, default=300, help="how many queries to time")
    args = parser.parse_args()

    from assistant.embed import SentenceTransformerEmbedder, set_threads
    from assistant.evals.indexcache import open_cached_index
    from assistant.faiss_index import FaissIndex
    from assistant.retrieve import IndexRetriever
    from assistant.settings import get_settings

    settings = get_settings()
    embedder = SentenceTransformerEmbedder(settings.model)
    index = open_cached_index([args.beir / "corpus.jsonl"], settings, embedder, log=print)
    texts = [json.loads(line)["text"] for line in (args.beir / "queries.jsonl").open()][: args.queries]
    set_threads(settings.query_threads)
    print(f"corpus: {len(index.passages)} passages; {len(texts)} queries; threads={settings.query_threads}")

    for mode in ("dense", "bm25", "hybrid"):
        retriever = IndexRetriever(index, embedder, settings.retrieval.model_copy(update={"mode": mode}))
        embedder._cache.clear()  # type: ignore[attr-defined]
        retriever.retrieve("warm up the model and the caches", 10)
        times = []
        for text in texts:
            t0 = time.perf_counter()
            retriever.retrieve(text, settings.retrieval.top_k)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"{mode:7s} p50 {percentile(times, 50):6.2f} ms   p95 {percentile(times, 95):6.2f} ms   "
            f"mean {statistics.fmean(times):6.2f} ms"
        )

    vectors = index.dense.vectors()
    queries = embedder.embed_queries(texts)
    exact = FaissIndex.exact(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    t0 = time.perf_counter()
    for q in queries:
        exact.search(q[None], 10)
    flat_ms = (time.perf_counter() - t0) * 1000 / len(queries)
    print(f"\nflat exact      recall@10 1.000   {flat_ms:.3f} ms/query")
    t0 = time.perf_counter()
    hnsw = FaissIndex.hnsw(vectors.shape[1])
    hnsw.add(vectors)
    print(f"hnsw32 build {time.perf_counter() - t0:.1f} s")
    for ef in (16, 32, 64, 128):
        hnsw.ef_search = ef
        _, got = hnsw.search(queries, 10)
        recall = np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth, strict=True)])
        t0 = time.perf_counter()
        for q in queries:
            hnsw.search(q[None], 10)
        ms = (time.perf_counter() - t0) * 1000 / len(queries)
        print(f"hnsw32 ef={ef:<4d} recall@10 {recall:.3f}   {ms:.3f} ms/query")


if __name__ == "__main__":
    main()
