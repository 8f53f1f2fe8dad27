"""The embedding backends side by side (not a test): texts per second and agreement with torch's vectors.

    .venv/bin/python benchmarks/embedders.py [--passages 512] [--threads 1]

Embeds the first N SciFact abstracts (title and text, cut at the model's 256 word pieces as in a build) and 300
queries with each backend (`torch`, `onnx`, `onnx-quint8`; ASSISTANT_EMBEDDING_BACKEND), one after another in
one process, after a warm-up, and prints passages/s, query p50/p95 in ms (one query at a time, as the server
embeds them), and the lowest and mean cosine of each backend's passage vectors to torch's.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    args = parser.parse_args()
    from assistant.embed import make_embedder, set_threads
    from assistant.settings import Settings

    with (args.datasets / "scifact" / "corpus.jsonl").open(encoding="utf-8") as f:
        docs = [json.loads(line) for _, line in zip(range(args.passages), f, strict=False)]
    with (args.datasets / "scifact" / "queries.jsonl").open(encoding="utf-8") as f:
        queries = [json.loads(line)["text"] for _, line in zip(range(300), f, strict=False)]
    texts = [f"{d.get('title', '')}\n{d['text']}" for d in docs]
    set_threads(args.threads)
    reference = None
    for backend in ("torch", "onnx", "onnx-quint8"):
        embedder = make_embedder(Settings(embedding_backend=backend))  # type: ignore[arg-type]
        embedder.embed_documents(texts[:32])  # warm-up
        t0 = time.perf_counter()
        vectors = embedder.embed_documents(texts, batch_size=32)
        seconds = time.perf_counter() - t0
        times = []
        for q in queries:
            t = time.perf_counter()
            embedder.embed_documents([q])
            times.append((time.perf_counter() - t) * 1000)
        if reference is None:
            reference = vectors
        cosines = (vectors * reference).sum(axis=1)
        print(json.dumps({
            "backend": backend, "threads": args.threads, "passages": len(texts),
            "passages_per_s": round(len(texts) / seconds, 1),
            "query_p50_ms": round(float(np.percentile(times, 50)), 2),
            "query_p95_ms": round(float(np.percentile(times, 95)), 2),
            "cosine_to_torch_min": round(float(cosines.min()), 4),
            "cosine_to_torch_mean": round(float(cosines.mean()), 4),
        }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
