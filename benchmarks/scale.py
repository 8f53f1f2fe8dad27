"""How the served index scales: 10k, 100k and 300k real-embedding passages (not a test: run on demand).

    .venv/bin/python benchmarks/scale_corpus.py              # once: embeds the units (about an hour, resumable)
    .venv/bin/python benchmarks/scale.py [--sizes 10000,100000,300000] [--queries 300]
    ASSISTANT_EMBEDDING_BACKEND=onnx .venv/bin/python benchmarks/scale.py   # queries embedded by ONNX Runtime

For each size N, the first N units of `benchmarks/scale_corpus.py` (sentences and two-sentence windows of the
public dev sets, each unit one passage and one document, with a year 1990 + i % 100 so that one year is a 1%
filter) are built into a generation with the project's own build (vectors from the embedding cache, so the build
time excludes embedding; no sentence vectors: what the composer reads of them is a few memory-mapped rows per
answer). Then a fresh process, on one thread, loads the model, the generation and the whole `Assistant` over it
(what the server answers with: question reading, vocabulary, suggestions) and asks real queries (SciFact claims,
PubMedQA and MedQuAD questions), each embedded afresh. Printed per size:
- build seconds (without embedding), index type, size on disk per file;
- load seconds (`load_index`: verifying every file's sha256 included) and with the `Assistant` started;
- resident memory with the model alone and after serving the queries (VmRSS, its anonymous and file-backed parts,
  the file part being the memory-mapped index pages the queries touched, and the peak VmHWM);
- latency p50/p95 per query: hybrid retrieval with the query's embedding (dense + BM25 + fusion), and its parts
  one by one (embedding the query, dense search and BM25 for the fusion's candidates); a whole `ask` (100 queries);
- recall@10 of the dense index against exact search on the real query vectors, and on a 1% filter (one year)
  against exact filtered search; hits returned under that filter (measured after the memory).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

CACHE = Path(".cache/bench-scale")


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def queries(datasets: Path, n: int) -> list[str]:
    out = []
    for name in ("scifact", "pubmedqa"):
        with (datasets / name / "queries.jsonl").open(encoding="utf-8") as f:
            out += [json.loads(line)["text"] for line in f][: n // 3]
    with (datasets / "medquad" / "qa.jsonl").open(encoding="utf-8") as f:
        out += [json.loads(line)["question"] for line in f][: n - len(out)]
    return out


def top10(similarity: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The columns of the 10 largest values of each row (exact search), in no particular order."""
    return np.argpartition(-similarity, 9, axis=1)[:, :10]


def build(size: int, cache: Path) -> Path:
    """The generation of the first `size` units (built once per size; vectors from the embedding cache)."""
    from assistant.embed import all_cores, make_embedder, set_threads
    from assistant.ingest import load_corpus
    from assistant.settings import IndexSettings, get_settings
    from assistant.store import build_index

    index_dir = cache / f"index-{size}"
    if (index_dir / "CURRENT").exists():
        return index_dir
    corpus_file = cache / f"corpus-{size}.jsonl"
    with (cache / "units.jsonl").open(encoding="utf-8") as f, corpus_file.open("w", encoding="utf-8") as out:
        for i, line in enumerate(f):
            if i == size:
                break
            unit = json.loads(line)
            out.write(
                json.dumps({"_id": unit["id"], "text": unit["text"], "metadata": {"year": 1990 + i % 100}})
            )
            out.write("\n")
    settings = get_settings()
    settings = settings.model_copy(
        update={"index": IndexSettings(**{**settings.index.model_dump(), "sentence_embeddings": False})}
    )
    embedder = make_embedder(settings)
    t0 = time.perf_counter()
    corpus = load_corpus([corpus_file], settings.ingest)
    read_seconds = time.perf_counter() - t0
    set_threads(all_cores())
    build_index(
        corpus, embedder, settings, index_dir, progress=False, log=print, embedding_cache=cache / "embeddings"
    )
    print(f"  read {len(corpus.passages)} passages in {read_seconds:.1f} s")
    return index_dir


def status_mb() -> dict[str, int]:
    """Resident memory now (VmRSS: anonymous + file-backed pages, RssFile: the memory-mapped index files among
    them) and at its peak (VmHWM), in MB."""
    return {f"{k}_mb": round(status_kb(k) / 1024) for k in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}


def measure(index_dir: Path, datasets: Path, n_queries: int) -> dict[str, Any]:
    """In this (fresh) process: load and serve as the server does, then check recall (see the module docstring).
    Memory is read before the recall checks, which copy every vector."""
    from assistant.embed import make_embedder, set_threads
    from assistant.loader import load_index
    from assistant.service import Assistant
    from assistant.settings import get_settings
    from assistant.types import Filters

    settings = get_settings()
    set_threads(1)
    embedder = make_embedder(settings)  # ASSISTANT_EMBEDDING_BACKEND chooses torch or ONNX
    embedder.embed_queries(["warm up"])
    model = status_mb()
    t0 = time.perf_counter()
    index = load_index(
        index_dir,
        expected_model=embedder.name,
        expected_dimension=embedder.dimension,
        expected_vectors=embedder.vectors,
    )
    loaded = time.perf_counter() - t0
    assistant = Assistant.from_index(settings, embedder, index)  # what the server answers with
    started = time.perf_counter() - t0
    retriever = assistant.retriever
    asked = queries(datasets, n_queries)
    retriever.retrieve("warm up the caches", 10)

    hybrid, encode, dense_only, lexical, answers = [], [], [], [], []
    depth = settings.retrieval.candidates
    for text in asked:  # each query embedded afresh (the embedder's cache is cleared), as a new one would be
        embedder._cache.clear()  # type: ignore[attr-defined]
        t = time.perf_counter()
        retriever.retrieve(text, settings.retrieval.top_k)
        hybrid.append((time.perf_counter() - t) * 1000)
        embedder._cache.clear()  # type: ignore[attr-defined]  # and its parts, one by one
        t = time.perf_counter()
        vector = embedder.embed_queries([text])
        encode.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        index.dense.search(vector, depth)
        dense_only.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        retriever.bm25_ranking(text, depth)
        lexical.append((time.perf_counter() - t) * 1000)
    for text in asked[:100]:
        embedder._cache.clear()  # type: ignore[attr-defined]
        t = time.perf_counter()
        assistant.ask(text, remember=False)
        answers.append((time.perf_counter() - t) * 1000)
    serving = status_mb()

    vectors = embedder.embed_documents(asked, batch_size=32)
    stored = index.dense.vectors()
    exact = top10(vectors @ stored.T)
    found = index.dense.search(vectors, 10)[1]
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
    one_year = Filters(year_min=2000, year_max=2000)
    allowed = retriever.allowed_rows(one_year)
    assert allowed is not None
    exact_f = allowed[top10(vectors @ stored[allowed].T)]
    found_f = index.dense.search(vectors, 10, allowed)[1]
    recall_f = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found_f, exact_f, strict=True)])
    filtered_hits = [len(retriever.retrieve(t, 10, one_year)) for t in asked[:50]]
    pct = lambda xs, q: round(float(np.percentile(xs, q)), 2)  # noqa: E731
    return {
        "embedding_backend": settings.embedding_backend,
        "torch_loaded": "torch" in sys.modules,
        "passages": len(index.passages),
        "index": index.manifest.vector_index,
        "build_recall_midpoints": index.manifest.dense_recall.recall,
        "build_seconds": index.manifest.build_seconds,
        "load_seconds": round(loaded, 2),
        "load_and_start_seconds": round(started, 2),
        "model": model,
        "serving": serving,
        "hybrid_p50_ms": pct(hybrid, 50),
        "hybrid_p95_ms": pct(hybrid, 95),
        "encode_p50_ms": pct(encode, 50),
        "encode_p95_ms": pct(encode, 95),
        "dense_p50_ms": pct(dense_only, 50),
        "dense_p95_ms": pct(dense_only, 95),
        "bm25_p50_ms": pct(lexical, 50),
        "bm25_p95_ms": pct(lexical, 95),
        "ask_p50_ms": pct(answers, 50),
        "ask_p95_ms": pct(answers, 95),
        "recall_at_10": round(float(recall), 4),
        "filter_rows": len(allowed),
        "filtered_recall_at_10": round(float(recall_f), 4),
        "filtered_min_hits": min(filtered_hits),
        "queries": len(asked),
        "disk_mb": {
            p.name: round(p.stat().st_size / 2**20, 1)
            if p.is_file()
            else round(sum(f.stat().st_size for f in p.rglob("*")) / 2**20, 1)
            for p in sorted(index.path.iterdir())
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,300000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.measure:
        print(json.dumps(measure(args.measure, args.datasets, args.queries)))
        return
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"{size} passages: building (vectors from the cache) ...", flush=True)
        index_dir = build(size, args.cache)
        done = subprocess.run(
            [sys.executable, __file__, "--measure", str(index_dir), "--queries", str(args.queries),
             "--datasets", str(args.datasets)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        print(json.dumps(json.loads(done.stdout.strip().splitlines()[-1]), indent=1), flush=True)


if __name__ == "__main__":
    main()
