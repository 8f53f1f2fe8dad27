"""The Milvus backend of `VectorIndex` (`ASSISTANT_INDEX__BACKEND=milvus`, the [milvus] extra), the only module
that imports pymilvus.

Milvus Lite (`milvus-lite`, the real engine embedded in the process) keeps a local database beside the index's
generations (`<index dir>/milvus.db`) for tests and a laptop; the same code targets a Milvus server or cluster
when `ASSISTANT_INDEX__MILVUS_URI` is set (`http://milvus:19530`). Each index generation is a collection of its
own (`<prefix>_<token>`, named in the generation's `milvus.json`); publishing a generation points the alias
`<prefix>_current` at its collection, in one step, after CURRENT has moved, and collections whose generation
folders were pruned are dropped. A row's primary key is its row number, so filters are `row in [...]`
expressions pushed into the engine's search.

The index type is FLAT (exact inner product), the one Milvus Lite offers that scores as FAISS's flat index does;
on a server, `ASSISTANT_INDEX__MILVUS_INDEX` may name another (HNSW, IVF_FLAT, AUTOINDEX).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .embed import Vectors
from .errors import IndexMismatch
from .vectorindex import Ids, Scores

FILE = "milvus.json"
LITE_FILE = "milvus.db"
INSERT_BATCH = 5000
TOPK_LIMIT = 16384  # Milvus's largest limit per search
IN_LIST_LIMIT = (
    100_000  # allowed rows past this are filtered after an over-fetched search, not in the expression
)


def _client(uri: str) -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise IndexMismatch(
            "the Milvus backend needs pymilvus (and milvus-lite for a local database): "
            "`pip install -e '.[milvus]'`, or set ASSISTANT_INDEX__BACKEND=faiss"
        ) from exc
    try:
        return MilvusClient(uri)
    except Exception as exc:
        hint = ""
        if "://" not in uri:  # Milvus Lite: a local database that one process at a time may open
            hint = (
                "; Milvus Lite is one process's database: stop the other process using it (a server or a "
                "build), or set ASSISTANT_INDEX__MILVUS_URI to a Milvus server"
            )
        raise IndexMismatch(f"cannot open Milvus at {uri} ({type(exc).__name__}: {exc}){hint}") from None


def served_by_lite(folder: Path) -> bool:
    """Whether the generation in `folder` keeps its vectors in Milvus Lite (one process at a time)."""
    try:
        return bool(json.loads((folder / FILE).read_text(encoding="utf-8"))["uri"] == LITE_FILE)
    except (OSError, ValueError, KeyError):
        return False


class MilvusIndex:
    """One collection of a Milvus database behind the `VectorIndex` protocol."""

    backend = "milvus"

    def __init__(self, client: Any, uri: str, collection: str, dimension: int, kind: str, count: int) -> None:
        self.client, self.uri, self.collection = client, uri, collection
        self.dimension, self.kind, self._count = dimension, kind, count
        self.index_dir: Path | None = None  # where the generations live (for the alias and pruning)
        self.prefix = collection.rsplit("_", 1)[0]

    @classmethod
    def create(
        cls, dimension: int, *, index_dir: Path, uri: str | None, prefix: str, index_type: str = "FLAT"
    ) -> MilvusIndex:
        from pymilvus import DataType

        where = uri or str(index_dir / LITE_FILE)
        client = _client(where)
        collection = f"{prefix}_{uuid.uuid4().hex[:16]}"
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dimension)
        params = client.prepare_index_params()
        params.add_index(field_name="vec", index_type=index_type, metric_type="IP")
        client.create_collection(collection, schema=schema, index_params=params)
        index = cls(client, uri or LITE_FILE, collection, dimension, f"milvus-{index_type.lower()}", 0)
        index.index_dir = index_dir
        return index

    @classmethod
    def load(cls, folder: Path) -> MilvusIndex:
        described = json.loads((folder / FILE).read_text(encoding="utf-8"))
        uri = described["uri"]
        client = _client(str(folder.parent / uri) if uri == LITE_FILE else uri)
        if not client.has_collection(described["collection"]):
            raise IndexMismatch(f"{folder}: Milvus has no collection {described['collection']!r}")
        client.load_collection(described["collection"])
        index = cls(
            client,
            uri,
            described["collection"],
            described["dimension"],
            described["kind"],
            described["count"],
        )
        index.index_dir = folder.parent
        return index

    def add(self, vectors: Vectors) -> None:
        rows = np.ascontiguousarray(vectors, dtype=np.float32)
        for start in range(0, len(rows), INSERT_BATCH):
            block = rows[start : start + INSERT_BATCH]
            self.client.insert(
                self.collection,
                [{"row": self._count + i, "vec": v} for i, v in enumerate(block.tolist())],
            )
            self._count += len(block)
        self.client.flush(self.collection)
        self.client.load_collection(self.collection)

    def __len__(self) -> int:
        return self._count

    def save(self, folder: Path) -> None:
        described = {
            "uri": self.uri,
            "collection": self.collection,
            "dimension": self.dimension,
            "kind": self.kind,
            "count": self._count,
        }
        (folder / FILE).write_text(json.dumps(described, indent=2) + "\n", encoding="utf-8")

    def search(
        self, vectors: Vectors, k: int, allowed: Sequence[int] | Ids | None = None
    ) -> tuple[Scores, Ids]:
        queries = np.ascontiguousarray(vectors, dtype=np.float32)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        if len(queries) == 0 or k <= 0 or self._count == 0:
            return scores, ids
        expression, keep, limit = "", None, min(k, TOPK_LIMIT)
        if allowed is not None:
            chosen = np.unique(np.asarray(allowed, dtype=np.int64))
            if len(chosen) == 0:
                return scores, ids
            if len(chosen) <= IN_LIST_LIMIT:
                expression = f"row in {chosen.tolist()}"
            else:  # a wide filter: fetch more and keep the allowed ones
                keep = chosen
                limit = min(TOPK_LIMIT, int(k * self._count / len(chosen)) + k)
        found = self.client.search(
            self.collection,
            data=queries.tolist(),
            limit=limit,
            filter=expression,
            output_fields=["row"],
            search_params={"metric_type": "IP"},
        )
        for q, hits in enumerate(found):
            rows = np.array([int(h["row"]) for h in hits], dtype=np.int64)
            values = np.array([float(h["distance"]) for h in hits], dtype=np.float32)
            if keep is not None and len(rows):
                mask = np.isin(rows, keep)
                rows, values = rows[mask], values[mask]
            order = np.lexsort((rows, -values))[:k]  # best first, ties by row, as exact search gives them
            ids[q, : len(order)] = rows[order]
            scores[q, : len(order)] = values[order]
        return scores, ids

    def vectors(self) -> Vectors:
        out = np.zeros((self._count, self.dimension), dtype=np.float32)
        iterator = self.client.query_iterator(
            self.collection, batch_size=5000, filter="row >= 0", output_fields=["row", "vec"]
        )
        while batch := iterator.next():
            for item in batch:
                out[int(item["row"])] = item["vec"]
        iterator.close()
        return out

    def published(self) -> None:
        """After the generation holding this collection became CURRENT: point the alias at it and drop the
        collections of generations that are gone."""
        from .generations import generations

        alias = f"{self.prefix}_current"
        if alias in self.client.list_aliases(self.collection).get("aliases", []):
            return
        try:
            self.client.alter_alias(self.collection, alias)
        except Exception:  # the alias does not exist yet
            self.client.create_alias(self.collection, alias)
        if self.index_dir is None:
            return
        kept = set()
        for folder in generations(self.index_dir):
            try:
                kept.add(json.loads((folder / FILE).read_text(encoding="utf-8"))["collection"])
            except (OSError, ValueError, KeyError):
                continue
        for name in self.client.list_collections():
            if name.startswith(self.prefix + "_") and name not in kept and name != self.collection:
                self.client.drop_collection(name)

    def close(self) -> None:
        self.client.close()
