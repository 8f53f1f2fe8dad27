"""The FAISS backend of `VectorIndex`: exact inner-product search (flat) for small libraries, HNSW above
`index.hnsw_above` vectors. The only module that imports faiss."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .embed import Vectors
from .vectorindex import Ids, Scores

FILE = "dense.faiss"
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 64
NARROW = 10  # a filter keeping at most 1/NARROW of an HNSW index is searched exactly


def set_threads(n: int) -> None:
    """FAISS's OpenMP threads: 1 for per-request work, all cores for builds (see MACHINE-NOTES)."""
    faiss.omp_set_num_threads(n)


@contextlib.contextmanager
def _batched(queries: int, dimension: int) -> Iterator[None]:
    """Many queries at once: FAISS switches to BLAS above 20 queries, which is slower on these machines for
    flat indexes of this size (MACHINE-NOTES); raise the threshold for the search, then restore it."""
    if queries <= 1:
        yield
        return
    saved = faiss.cvar.distance_compute_blas_threshold
    faiss.cvar.distance_compute_blas_threshold = 4 * dimension
    try:
        yield
    finally:
        faiss.cvar.distance_compute_blas_threshold = saved


class FaissIndex:
    """A FAISS index behind the `VectorIndex` protocol."""

    backend = "faiss"

    def __init__(self, raw: Any, kind: str) -> None:
        self.raw = raw
        self.kind = kind

    @classmethod
    def exact(cls, dimension: int) -> FaissIndex:
        return cls(faiss.IndexFlatIP(dimension), "flat-ip")

    @classmethod
    def hnsw(
        cls, dimension: int, *, ef_construction: int = HNSW_EF_CONSTRUCTION, ef_search: int = HNSW_EF_SEARCH
    ) -> FaissIndex:
        raw = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        raw.hnsw.efConstruction = ef_construction
        raw.hnsw.efSearch = ef_search
        return cls(raw, f"hnsw{HNSW_NEIGHBOURS}")

    @classmethod
    def build(cls, vectors: Vectors, *, hnsw_above: int) -> FaissIndex:
        dimension = vectors.shape[1]
        index = cls.hnsw(dimension) if len(vectors) > hnsw_above else cls.exact(dimension)
        index.add(vectors)
        return index

    @classmethod
    def load(cls, folder: Path, *, kind: str) -> FaissIndex:
        """The saved index, its vectors memory-mapped (read-only: a loaded index is searched, never added to)."""
        return cls(faiss.read_index(str(folder / FILE), faiss.IO_FLAG_MMAP_IFC), kind)

    def save(self, folder: Path) -> None:
        faiss.write_index(self.raw, str(folder / FILE))

    def add(self, vectors: Vectors) -> None:
        if len(vectors):
            self.raw.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def __len__(self) -> int:
        return int(self.raw.ntotal)

    @property
    def ef_search(self) -> int | None:
        return int(self.raw.hnsw.efSearch) if self.kind.startswith("hnsw") else None

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        if self.kind.startswith("hnsw"):
            self.raw.hnsw.efSearch = value

    def search(
        self, vectors: Vectors, k: int, allowed: Sequence[int] | Ids | None = None
    ) -> tuple[Scores, Ids]:
        queries = np.ascontiguousarray(vectors, dtype=np.float32)
        params = None
        if allowed is not None:
            chosen = np.unique(np.asarray(allowed, dtype=np.int64))
            if self.kind.startswith("hnsw") and len(chosen) * NARROW <= len(self):
                return self._exact_among(queries, k, chosen)
            selector = faiss.IDSelectorBatch(chosen)
            # faiss's bundled type stubs lack the search parameters (present since FAISS 1.7.3)
            params = (
                faiss.SearchParametersHNSW(sel=selector, efSearch=self.raw.hnsw.efSearch)  # type: ignore[attr-defined]
                if self.kind.startswith("hnsw")
                else faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            )
        with _batched(len(queries), queries.shape[1]):
            scores, ids = self.raw.search(queries, k, params=params)
        return scores, ids

    def _exact_among(self, queries: Vectors, k: int, chosen: Ids) -> tuple[Scores, Ids]:
        """Exact search over a few rows: a graph walk restricted to them finds too few (fewer than k)."""
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        if len(chosen):
            similarity = queries @ self.raw.reconstruct_batch(chosen).T
            top = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
            ids[:, : top.shape[1]] = chosen[top]
            scores[:, : top.shape[1]] = np.take_along_axis(similarity, top, axis=1)
        return scores, ids

    def vectors(self) -> Vectors:
        stored: Vectors = self.raw.reconstruct_n(0, self.raw.ntotal)
        return stored
