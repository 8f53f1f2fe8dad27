"""The Milvus backend (Milvus Lite, the real engine embedded): exact search as FAISS's flat index gives it,
filters pushed into the engine, generations as collections behind an alias, and answers equal to FAISS's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.loader import load_index
from assistant.milvus_index import MilvusIndex
from assistant.service import Assistant, build_from_settings
from assistant.settings import IndexSettings, Settings
from assistant.vectorindex import VectorIndex, build_vector_index, load_vector_index

from .fakes import FakeEmbedder
from .test_vector_index import brute_force, unit_rows


def _milvus(rows: np.ndarray, index_dir: Path) -> MilvusIndex:
    index = build_vector_index(rows, IndexSettings(backend="milvus"), index_dir)
    assert isinstance(index, MilvusIndex) and isinstance(index, VectorIndex)
    return index


def test_search_is_exact_and_filters_keep_k_hits(tmp_path: Path) -> None:
    rows, asked = unit_rows(11, 400), unit_rows(12, 7)
    index = _milvus(rows, tmp_path)
    assert (index.kind, len(index)) == ("milvus-flat", 400)
    scores, ids = index.search(asked, 5)
    assert [list(map(int, r)) for r in ids] == [list(map(int, w)) for w in brute_force(rows, asked, 5)]
    assert np.allclose(scores, np.take_along_axis(asked @ rows.T, ids, axis=1), atol=1e-5)
    allowed = [3, 50, 51, 199, 398, 7, 12]  # under 2% of the rows: still 5 hits, all allowed
    _s, ids = index.search(asked, 5, allowed=allowed)
    assert [sorted(map(int, r)) for r in ids] == [sorted(w) for w in brute_force(rows, asked, 5, allowed)]
    _s, ids = index.search(asked, 10, allowed=[4, 9])  # fewer allowed than asked: padded with -1
    assert all(sorted(map(int, r))[:8] == [-1] * 8 and {4, 9} == set(map(int, r[:2])) for r in ids)
    index.close()


def test_save_load_round_trip_and_every_vector_back(tmp_path: Path) -> None:
    rows = unit_rows(13, 60)
    generation = tmp_path / "gen-1"
    generation.mkdir()
    index = _milvus(rows, tmp_path)
    index.save(generation)
    expected = index.search(rows[:3], 4)[1]
    index.close()
    again = load_vector_index(generation, backend="milvus", kind="milvus-flat")
    assert len(again) == 60 and np.allclose(again.vectors(), rows, atol=1e-6)
    assert (again.search(rows[:3], 4)[1] == expected).all()


def test_generations_are_collections_behind_an_alias(settings: Settings, fake_embedder: FakeEmbedder) -> None:
    milvus = settings.model_copy(update={"index": IndexSettings(backend="milvus", keep_generations=1)})
    first = build_from_settings(milvus, fake_embedder, progress=False)
    second = build_from_settings(milvus, fake_embedder, progress=False)
    assert not first.exists() and second.exists()  # keep 1: the first generation was pruned ...
    index = load_index(settings.index_dir, expected_model=fake_embedder.name)
    assert isinstance(index.dense, MilvusIndex)
    client = index.dense.client
    collections = client.list_collections()
    assert collections == [index.dense.collection]  # ... and its collection dropped
    assert client.describe_alias("assistant_current")["collection_name"] == index.dense.collection
    index.dense.close()


def test_answers_from_milvus_equal_answers_from_faiss(
    settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    questions = [
        "What is the first-line urate-lowering drug for recurrent gout?",
        "How is gout diagnosed?",
        "What is the treatment for Kawasaki disease?",
    ]
    answers = []
    for backend in ("faiss", "milvus"):
        chosen = settings.model_copy(
            update={
                "index": IndexSettings(backend=backend),
                "index_dir": settings.index_dir.with_name(f"index-{backend}"),
            }
        )
        build_from_settings(chosen, fake_embedder, progress=False)
        assistant = Assistant.open(chosen, embedder=fake_embedder, build_if_missing=False)
        try:
            assert assistant.index.dense.backend == backend
            answers.append([assistant.ask(q, remember=False).answer_markdown for q in questions])
        finally:
            assistant.close()
    assert answers[0] == answers[1]


def test_an_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    from assistant.errors import IndexMismatch

    bad = IndexSettings(backend="milvus", milvus_uri="http://127.0.0.1:9")
    with pytest.raises(IndexMismatch, match=r"cannot open Milvus at http://127\.0\.0\.1:9"):
        build_vector_index(unit_rows(1, 3), bad, tmp_path)


def test_a_lite_database_another_process_holds_says_so(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from assistant.errors import IndexMismatch

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pymilvus import MilvusClient; "
         f"c = MilvusClient({str(tmp_path / 'milvus.db')!r}); print('open', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        time.sleep(0.5)
        with pytest.raises(IndexMismatch, match="one process's database"):
            build_vector_index(unit_rows(1, 3), IndexSettings(backend="milvus"), tmp_path)
    finally:
        holder.kill()
        holder.wait()


def test_several_workers_are_refused_an_index_in_milvus_lite(
    settings: Settings, fake_embedder: FakeEmbedder, cli_run: Any
) -> None:
    milvus = settings.model_copy(update={"index": IndexSettings(backend="milvus")})
    build_from_settings(milvus, fake_embedder, progress=False)
    code, _out, err = cli_run("serve", "--workers", "2", "--index", str(settings.index_dir))
    assert code == 2 and "one process at a time" in err and "--workers 1" in err
