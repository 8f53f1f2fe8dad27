"""The FAISS backend of `VectorIndex`, the only module that imports faiss. The index type follows the library's
size: exact inner-product search (flat) up to `index.hnsw_above` vectors, HNSW (M=32) above it, and above
`index.ivf_above` an inverted file of product-quantised codes whose candidates are re-ranked with the exact
vectors (IVF-PQ with a refinement step: RAM holds the small codes, the float vectors stay memory-mapped and only
the candidates' rows are read). An approximate index is tuned at build time (HNSW's efSearch, IVF's probes,
doubled) until its recall@10 against exact search reaches TARGET_RECALL; the setting is saved with it. Loaded
indexes have their float vectors memory-mapped (`IO_FLAG_MMAP_IFC`)."""

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
HNSW_EF_SEARCH = 64  # at first: doubled at build time until TARGET_RECALL is reached
HNSW_EF_SEARCH_MAX = 2048
NARROW = 10  # a filter keeping at most 1/NARROW of an approximate index is searched exactly
IVF_PROBES = 32  # inverted lists searched per query, at first: doubled until TARGET_RECALL is reached
TARGET_RECALL = 0.99  # recall@10 against exact search that approximate indexes are tuned to at build time
IVF_REFINE = 16  # candidates re-ranked with exact vectors, per result asked for
IVF_TRAIN_PER_LIST = 40  # training vectors per inverted list (FAISS warns below 39)


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
    def ivf_pq(cls, vectors: Vectors, *, seed: int = 0) -> FaissIndex:
        """IVF-PQ over `vectors` (trained on a sample of them), with exact re-ranking of its candidates."""
        n, dimension = vectors.shape
        lists = max(1, min(int(4 * np.sqrt(n)), n // IVF_TRAIN_PER_LIST))
        sub = next(
            m for m in (dimension // 8, dimension // 4, dimension // 2, dimension) if dimension % m == 0
        )
        quantizer = faiss.IndexFlatIP(dimension)
        base = faiss.IndexIVFPQ(quantizer, dimension, lists, sub, 8, faiss.METRIC_INNER_PRODUCT)
        size = min(n, lists * IVF_TRAIN_PER_LIST * 4)
        sample = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
        base.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
        raw = faiss.IndexRefineFlat(base)
        raw.k_factor = IVF_REFINE
        # the C++ objects own what they point to, so nothing depends on these Python wrappers staying alive
        base.own_fields = raw.own_fields = True
        quantizer.this.disown()  # type: ignore[attr-defined]
        base.this.disown()  # type: ignore[attr-defined]
        return cls(raw, f"ivf{lists}-pq{sub}-refine")

    @classmethod
    def build(cls, vectors: Vectors, *, hnsw_above: int, ivf_above: int | None = None) -> FaissIndex:
        dimension = vectors.shape[1]
        if ivf_above is not None and len(vectors) > ivf_above:
            index = cls.ivf_pq(vectors)
            base: Any = faiss.downcast_index(index.raw.base_index)
            index.add(vectors)
            index.widen(vectors, base, "nprobe", min(IVF_PROBES, base.nlist), base.nlist)
            return index
        if len(vectors) > hnsw_above:
            index = cls.hnsw(dimension)
            index.add(vectors)
            index.widen(vectors, index.raw.hnsw, "efSearch", HNSW_EF_SEARCH, HNSW_EF_SEARCH_MAX)
            return index
        index = cls.exact(dimension)
        index.add(vectors)
        return index

    def widen(
        self, vectors: Vectors, holder: Any, knob: str, start: int, limit: int, target: float = TARGET_RECALL
    ) -> None:
        """Set `holder.knob` (HNSW's efSearch, IVF's nprobe) to `start`, then double it (at most to `limit`) until
        the index's recall@10 against exact search, on 1,000 midpoint queries, reaches `target`; the setting is
        saved with the index."""
        from .vectorindex import measured_recall

        setattr(holder, knob, start)
        while (
            getattr(holder, knob) < limit
            and measured_recall(self, vectors, queries=1000, seed=1)["recall"] < target
        ):
            setattr(holder, knob, min(2 * getattr(holder, knob), limit))

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
            if self.kind != "flat-ip" and len(chosen) * NARROW <= len(self):
                return self._exact_among(queries, k, chosen)
            params = self._restricted(faiss.IDSelectorBatch(chosen))
        with _batched(len(queries), queries.shape[1]):
            scores, ids = self.raw.search(queries, k, params=params)
        return scores, ids

    def _restricted(self, selector: Any) -> Any:
        """Search parameters that keep the results to `selector`'s rows, for this index type."""
        # faiss's bundled type stubs lack the search parameters (present since FAISS 1.7.3)
        if self.kind.startswith("hnsw"):
            return faiss.SearchParametersHNSW(sel=selector, efSearch=self.raw.hnsw.efSearch)  # type: ignore[attr-defined]
        if self.kind.startswith("ivf"):
            base: Any = faiss.downcast_index(self.raw.base_index)
            inner = faiss.SearchParametersIVF(sel=selector, nprobe=base.nprobe)  # type: ignore[call-arg]
            return faiss.IndexRefineSearchParameters(k_factor=self.raw.k_factor, base_index_params=inner)  # type: ignore[call-arg]
        return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]

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

    def published(self) -> None:
        """Nothing to do: the generation's files are the index."""
