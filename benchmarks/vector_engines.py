"""Which external vector engine to put behind `VectorIndex` (issue 16), by measurement (not a test).

    .venv/bin/pip install qdrant-client          # only for this comparison; not a project dependency
    .venv/bin/python benchmarks/vector_engines.py --index .cache/indexes/<SciFact eval index> [--queries 809]

Reads the dense vectors of a built FAISS index (an `assistant eval retrieval` cache index: SciFact's 9,043
passages) and real query vectors (SciFact train claims, embedded with the bundled model), then for FAISS's exact
flat index, Milvus Lite (the embedded Milvus engine, `milvus-lite`) and Qdrant's client local mode (the only
Qdrant installable here; its server is not) prints: load time, single-query latency p50/p95 at k=100 on one
thread, top-10 agreement with exact search, and agreement under a filter that keeps 1% of the rows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

K = 100


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def measure(
    name: str, search: Any, queries: np.ndarray, truth: np.ndarray, allowed: np.ndarray
) -> dict[str, Any]:
    times = []
    found = []
    for q in queries:
        t0 = time.perf_counter()
        ids = search(q, K, None)
        times.append((time.perf_counter() - t0) * 1000)
        found.append(ids[:10])
    agree = np.mean([set(f) == set(t) for f, t in zip(found, truth, strict=True)])
    chosen = set(allowed.tolist())
    filtered_ok = []
    for q in queries[:100]:
        ids = search(q, 10, allowed)
        filtered_ok.append(len(ids) == 10 and set(ids) <= chosen)
    return {
        "engine": name,
        "p50_ms": pct(times, 50),
        "p95_ms": pct(times, 95),
        "top10_same_as_exact": round(float(agree), 4),
        "filtered_k_hits_all_allowed": round(float(np.mean(filtered_ok)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", type=Path, required=True, help="an index folder (with CURRENT)")
    parser.add_argument("--queries", type=int, default=809)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    args = parser.parse_args()
    from assistant.embed import SentenceTransformerEmbedder, set_threads
    from assistant.loader import load_index
    from assistant.settings import BUNDLED_MODEL

    set_threads(1)
    index = load_index(args.index, expected_model=BUNDLED_MODEL)
    rows = np.ascontiguousarray(index.dense.vectors(), dtype=np.float32)
    with (args.datasets / "scifact" / "queries.jsonl").open(encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f][: args.queries]
    queries = SentenceTransformerEmbedder(BUNDLED_MODEL).embed_documents(texts)
    truth = np.argsort(-(queries @ rows.T), axis=1, kind="stable")[:, :10]
    allowed = np.arange(0, len(rows), 100)  # 1% of the rows
    results = []

    def faiss_search(q: np.ndarray, k: int, keep: np.ndarray | None) -> list[int]:
        return [int(i) for i in index.dense.search(q[None], k, keep)[1][0] if i >= 0]

    results.append(measure("faiss flat (default)", faiss_search, queries, truth, allowed))

    with tempfile.TemporaryDirectory() as folder:
        from pymilvus import DataType, MilvusClient

        t0 = time.perf_counter()
        client = MilvusClient(str(Path(folder) / "milvus.db"))
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=rows.shape[1])
        params = client.prepare_index_params()
        params.add_index(field_name="vec", index_type="FLAT", metric_type="IP")
        client.create_collection("c", schema=schema, index_params=params)
        for s in range(0, len(rows), 5000):
            client.insert("c", [{"row": s + i, "vec": v} for i, v in enumerate(rows[s : s + 5000].tolist())])
        client.flush("c")
        client.load_collection("c")
        milvus_load = time.perf_counter() - t0

        def milvus_search(q: np.ndarray, k: int, keep: np.ndarray | None) -> list[int]:
            expr = f"row in {keep.tolist()}" if keep is not None else ""
            hits = client.search("c", data=[q.tolist()], limit=k, filter=expr, output_fields=["row"])[0]
            return [int(h["row"]) for h in hits]

        results.append({**measure("milvus lite (FLAT)", milvus_search, queries, truth, allowed),
                        "load_s": round(milvus_load, 1)})  # fmt: skip
        client.close()

    try:
        from qdrant_client import QdrantClient, models
    except ImportError:
        print("qdrant-client is not installed: its row is left out")
    else:
        with tempfile.TemporaryDirectory() as folder:
            t0 = time.perf_counter()
            qdrant = QdrantClient(path=folder)
            qdrant.create_collection(
                "c", vectors_config=models.VectorParams(size=rows.shape[1], distance=models.Distance.DOT)
            )
            for s in range(0, len(rows), 2000):
                qdrant.upsert(
                    "c",
                    points=models.Batch(
                        ids=list(range(s, min(s + 2000, len(rows)))), vectors=rows[s : s + 2000].tolist()
                    ),
                )
            qdrant_load = time.perf_counter() - t0

            def qdrant_search(q: np.ndarray, k: int, keep: np.ndarray | None) -> list[int]:
                flt = (
                    models.Filter(must=[models.HasIdCondition(has_id=keep.tolist())])
                    if keep is not None
                    else None
                )
                hits = qdrant.query_points("c", query=q.tolist(), limit=k, query_filter=flt).points
                return [int(h.id) for h in hits]

            results.append({**measure("qdrant client local mode", qdrant_search, queries, truth, allowed),
                            "load_s": round(qdrant_load, 1)})  # fmt: skip
            qdrant.close()
    print(json.dumps({"rows": len(rows), "queries": len(queries), "k": K, "results": results}, indent=1))


if __name__ == "__main__":
    main()
