"""The vector-index seam: what the store, the loader, the retriever and the evaluations need from a dense index,
whatever engine serves it: FAISS (`assistant.faiss_index`, the default) or Milvus (`assistant.milvus_index`);
nothing outside those modules imports faiss or pymilvus.

Vectors are float32 rows, L2-normalised, compared by inner product. Ids are row positions (0..n-1), the same as
the passages' positions in the index; a search pads missing hits with id -1.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .embed import Vectors
from .errors import IndexMismatch
from .settings import IndexSettings

Ids = np.ndarray[Any, np.dtype[np.int64]]
Scores = np.ndarray[Any, np.dtype[np.float32]]
DEFAULT_BACKEND = "faiss"


@runtime_checkable
class VectorIndex(Protocol):
    """A dense index over row vectors."""

    backend: str  # the engine, recorded in the manifest ("faiss")
    kind: str  # the index type within it ("flat-ip", "hnsw32"), recorded in the manifest

    def add(self, vectors: Vectors) -> None: ...

    def search(
        self, vectors: Vectors, k: int, allowed: Sequence[int] | Ids | None = None
    ) -> tuple[Scores, Ids]:
        """The `k` best rows for each query row (scores descending), among `allowed` rows when given."""
        ...

    def __len__(self) -> int: ...

    def save(self, folder: Path) -> None:
        """Write the index into a generation folder (its own file names)."""
        ...

    def vectors(self) -> Vectors:
        """Every stored vector, in id order (for benchmarks and exact-search checks)."""
        ...

    def published(self) -> None:
        """Called once the generation holding the index has become CURRENT (Milvus moves its alias)."""
        ...


def build_vector_index(
    vectors: Vectors, settings: IndexSettings, index_dir: Path, *, backend: str | None = None
) -> VectorIndex:
    """A new index over `vectors`, of the backend the settings name and the type it chooses for their number;
    `index_dir` is the folder of the generations (Milvus Lite keeps its database there)."""
    backend = backend or settings.backend
    if backend == "milvus":
        from .milvus_index import MilvusIndex

        index = MilvusIndex.create(
            vectors.shape[1],
            index_dir=index_dir,
            uri=settings.milvus_uri,
            prefix=settings.milvus_prefix,
            index_type=settings.milvus_index,
        )
        index.add(vectors)
        return index
    if backend != "faiss":
        raise IndexMismatch(f"unknown vector index backend {backend!r}; choose 'faiss' or 'milvus'")
    from .faiss_index import FaissIndex

    return FaissIndex.build(vectors, hnsw_above=settings.hnsw_above, ivf_above=settings.ivf_above)


def load_vector_index(folder: Path, *, backend: str, kind: str) -> VectorIndex:
    """The vector index of a generation folder, by the backend and index type its manifest names
    (memory-mapped where the backend can)."""
    if backend == "milvus":
        from .milvus_index import MilvusIndex

        return MilvusIndex.load(folder)
    if backend != "faiss":
        raise IndexMismatch(
            f"{folder}: built with vector index backend {backend!r}, which this installation does not have"
        )
    from .faiss_index import FaissIndex

    return FaissIndex.load(folder, kind=kind)


def measured_recall(
    index: VectorIndex, vectors: Vectors, *, k: int = 10, queries: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Recall@k of `index` against exact search over `vectors` (its own rows), on `queries` query vectors
    that are not rows of it: the normalised midpoints of random pairs of rows. Exact search is a matrix
    product, in blocks of rows so memory stays flat."""
    n = len(vectors)
    k = min(k, n)
    if n == 0 or k == 0:
        return {"recall": 1.0, "k": k, "queries": 0}
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, n, size=(queries, 2))
    q = vectors[pairs[:, 0]] + vectors[pairs[:, 1]]
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    q = q.astype(np.float32)
    best = np.full((len(q), k), -np.inf, dtype=np.float32)
    ids = np.zeros((len(q), k), dtype=np.int64)
    for start in range(0, n, 65_536):
        block = q @ vectors[start : start + 65_536].T
        both = np.concatenate([best, block], axis=1)
        both_ids = np.concatenate(
            [ids, np.arange(start, start + block.shape[1])[None, :].repeat(len(q), 0)], 1
        )
        top = np.argpartition(-both, k - 1, axis=1)[:, :k]
        best, ids = np.take_along_axis(both, top, 1), np.take_along_axis(both_ids, top, 1)
    _, found = index.search(q, k)
    hits = sum(len(set(map(int, f)) & set(map(int, e))) for f, e in zip(found, ids, strict=True))
    return {"recall": round(hits / (len(q) * k), 4), "k": k, "queries": len(q)}
