"""The vector-index seam: the FAISS backend against exact search done by hand with numpy, restricted search,
save and load, and the boundary itself (nothing outside the backend imports faiss)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.errors import IndexMismatch
from assistant.faiss_index import FaissIndex
from assistant.settings import IndexSettings
from assistant.vectorindex import VectorIndex, build_vector_index, load_vector_index, measured_recall

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"


def build(
    rows: np.ndarray, *, hnsw_above: int, ivf_above: int = 2_000_000, backend: str | None = None
) -> VectorIndex:
    settings = IndexSettings(hnsw_above=hnsw_above, ivf_above=ivf_above)
    return build_vector_index(rows, settings, Path("unused-by-faiss"), backend=backend)


def unit_rows(seed: int, n: int, dim: int = 16) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def brute_force(
    rows: np.ndarray, queries: np.ndarray, k: int, allowed: list[int] | None = None
) -> list[list[int]]:
    """The top-k row ids by inner product, computed without FAISS."""
    ids = np.arange(len(rows)) if allowed is None else np.array(sorted(set(allowed)))
    scores = queries @ rows[ids].T
    return [list(ids[np.argsort(-row, kind="stable")[:k]]) for row in scores]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), k=st.integers(1, 10), queries=st.integers(1, 30))
def test_flat_search_is_exact(seed: int, n: int, k: int, queries: int) -> None:
    rows, asked = unit_rows(seed, n), unit_rows(seed + 1, queries)
    index = build(rows, hnsw_above=1000)
    assert isinstance(index, VectorIndex) and index.kind == "flat-ip" and len(index) == n
    scores, ids = index.search(asked, k)
    want = brute_force(rows, asked, k)  # random unit vectors: no ties
    for q, (got_ids, got_scores, expected) in enumerate(zip(ids, scores, want, strict=True)):
        hits = [int(i) for i in got_ids if i >= 0]
        assert hits == [int(i) for i in expected]  # min(k, n) hits, best first
        assert np.allclose(got_scores[: len(hits)], rows[hits] @ asked[q], atol=1e-5)


def test_a_restricted_search_returns_k_hits_from_the_allowed_rows_only() -> None:
    rows, asked = unit_rows(1, 500), unit_rows(2, 5)
    allowed = [*range(0, 500, 100), 7, 13]  # 7 rows: 1.4% of the index
    for index in (FaissIndex.build(rows, hnsw_above=1000), FaissIndex.build(rows, hnsw_above=10)):
        _scores, ids = index.search(asked, 5, allowed=allowed)
        assert [sorted(map(int, row)) for row in ids] == [
            sorted(want) for want in brute_force(rows, asked, 5, allowed)
        ]


def test_hnsw_above_the_threshold_finds_what_exact_search_finds() -> None:
    rows, asked = unit_rows(3, 2000), unit_rows(4, 50)
    index = build(rows, hnsw_above=1000)
    assert index.kind == "hnsw32"
    _scores, ids = index.search(asked, 10)
    truth = brute_force(rows, asked, 10)
    recall = np.mean([len(set(map(int, got)) & set(want)) / 10 for got, want in zip(ids, truth, strict=True)])
    assert recall >= 0.95


def clustered_rows(seed: int, n: int, dim: int = 32, clusters: int = 40) -> np.ndarray:
    """Unit vectors around a few centres, as embeddings of a library's topics are (uniform random vectors
    have no neighbourhoods for an approximate index to find)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    rows = (centres[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, dim))).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_hnsw_searches_wider_until_it_finds_what_exact_search_finds(tmp_path: Path) -> None:
    rows = clustered_rows(3, 5000)
    index = build(rows, hnsw_above=1000)
    assert isinstance(index, FaissIndex) and index.kind == "hnsw32"
    assert index.ef_search is not None and index.ef_search > 64  # 64 finds too little on these rows: widened
    assert measured_recall(index, rows)["recall"] >= 0.99
    index.save(tmp_path)
    assert load_vector_index(tmp_path, backend="faiss", kind="hnsw32").ef_search == index.ef_search  # type: ignore[attr-defined]


def test_ivf_above_its_threshold_probes_until_it_finds_what_exact_search_finds(tmp_path: Path) -> None:
    rows = clustered_rows(9, 6000)
    asked = clustered_rows(10, 60)
    index = build(rows, hnsw_above=1000, ivf_above=5000)
    # min(4 sqrt(n) = 309, n / 40 training vectors a list = 150) lists; dim / 8 = 4 sub-quantisers
    assert index.kind == "ivf150-pq4-refine" and len(index) == 6000
    assert measured_recall(index, rows)["recall"] >= 0.99  # the probes were doubled until it got there
    truth = brute_force(rows, asked, 10)
    index.save(tmp_path)
    loaded = load_vector_index(tmp_path, backend="faiss", kind=index.kind)  # probes saved with the index
    for one in (index, loaded):
        _scores, ids = one.search(asked, 10)
        recall = np.mean(
            [len(set(map(int, got)) & set(want)) / 10 for got, want in zip(ids, truth, strict=True)]
        )
        assert recall >= 0.97
    # restricted: a broad filter through IVF's selector, a narrow one exactly; only allowed rows, k of them
    for allowed in (list(range(0, 6000, 2)), list(range(0, 6000, 300))):
        _scores, ids = loaded.search(asked, 10, allowed=allowed)
        assert {int(i) for i in ids.ravel()} <= set(allowed) and (ids >= 0).all()
    narrow = list(range(0, 6000, 300))
    _scores, ids = loaded.search(asked, 10, allowed=narrow)
    assert [sorted(map(int, r)) for r in ids] == [sorted(w) for w in brute_force(rows, asked, 10, narrow)]


def test_batch_and_single_searches_agree() -> None:
    rows, asked = unit_rows(5, 300), unit_rows(6, 40)  # above FAISS's BLAS switch of 20 queries
    index = build(rows, hnsw_above=1000)
    _scores, batch = index.search(asked, 8)
    single = np.vstack([index.search(q[None], 8)[1] for q in asked])
    assert (batch == single).all()


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    rows = unit_rows(7, 120)
    index = build(rows, hnsw_above=1000)
    index.save(tmp_path)
    again = load_vector_index(tmp_path, backend="faiss", kind=index.kind)
    assert len(again) == 120 and np.allclose(again.vectors(), rows)
    assert (again.search(rows[:3], 4)[1] == index.search(rows[:3], 4)[1]).all()


def test_an_unknown_backend_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexMismatch, match="'qdrant', which this installation does not have"):
        load_vector_index(tmp_path, backend="qdrant", kind="x")
    with pytest.raises(IndexMismatch, match="choose 'faiss' or 'milvus'"):
        build(unit_rows(8, 3), hnsw_above=10, backend="qdrant")


@pytest.mark.parametrize(
    ("engine", "backend_module"), [("faiss", "faiss_index.py"), ("pymilvus", "milvus_index.py")]
)
def test_nothing_outside_the_backend_imports_its_engine(engine: str, backend_module: str) -> None:
    pattern = rf"^\s*(import {engine}|from {engine})\b"
    importers = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if re.search(pattern, path.read_text(encoding="utf-8"), re.MULTILINE)
    ]
    assert importers == [backend_module]


class _FirstRows:
    """An index that answers every query with rows 0..k-1, whatever it asks."""

    backend, kind = "test", "first-rows"

    def search(self, vectors: np.ndarray, k: int, allowed: object = None) -> tuple[np.ndarray, np.ndarray]:
        ids = np.tile(np.arange(k, dtype=np.int64), (len(vectors), 1))
        return np.zeros(ids.shape, np.float32), ids


def test_measured_recall_is_one_for_exact_search_and_low_for_a_wrong_index() -> None:
    rows = unit_rows(3, 500)
    assert measured_recall(FaissIndex.build(rows, hnsw_above=10_000), rows)["recall"] == 1.0
    wrong = measured_recall(_FirstRows(), rows, k=10)  # type: ignore[arg-type]
    assert wrong["recall"] < 0.2 and wrong["queries"] == 200 and wrong["k"] == 10
    assert measured_recall(_FirstRows(), rows[:5], k=10)["recall"] == 1.0  # type: ignore[arg-type]  # k > n: all rows
