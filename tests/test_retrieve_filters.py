"""Filters are pushed into both searches: a filter that keeps 1% of the corpus still returns k hits, the same
ones an exact search over the kept rows finds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.loader import load_index
from assistant.retrieve import IndexRetriever
from assistant.service import build_from_settings
from assistant.settings import RetrievalSettings, Settings
from assistant.types import Filters

from .fakes import FakeEmbedder

WORDS = [
    "gout",
    "urate",
    "flare",
    "asthma",
    "inhaler",
    "wheeze",
    "pressure",
    "kidney",
    "statin",
    "anticoagulant",
    "stroke",
    "fever",
]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """3,000 one-passage documents; every 100th (1%) is from 2001, the rest from 2020."""
    root = tmp_path_factory.mktemp("filters")
    rng = np.random.default_rng(7)
    with (root / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for i in range(3000):
            words = " ".join(rng.choice(WORDS, size=12))
            row = {"_id": f"d{i}", "title": f"Doc {i}", "text": f"Note {i} on {words}.",
                   "metadata": {"year": 2001 if i % 100 == 0 else 2020}}  # fmt: skip
            f.write(json.dumps(row) + "\n")
    settings = Settings(model=FakeEmbedder.name, corpus=[root / "corpus.jsonl"], index_dir=root / "index",
                        data_dir=root / "data", cache_dir=root / "cache")  # fmt: skip
    settings.index.sentence_embeddings = False
    build_from_settings(settings, FakeEmbedder(), progress=False)
    return settings


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_a_one_percent_filter_still_returns_k_hits(big: Settings, mode: str) -> None:
    index = load_index(big.index_dir, expected_model=None)
    retriever = IndexRetriever(index, FakeEmbedder(), RetrievalSettings(mode=mode, max_per_doc=1))
    only_2001 = Filters(year_min=2001, year_max=2001)
    hits = retriever.retrieve("gout flare urate kidney", 10, only_2001)
    assert len(hits) == 10
    assert all(h.document.year == 2001 for h in hits)
    if mode == "dense":  # as good as an exact search over the 30 kept rows (scores compared: ties are common)
        kept = [i for i, p in enumerate(index.passages) if index.documents[p.doc_id].year == 2001]
        assert len(kept) == 30
        query = FakeEmbedder().embed_queries(["gout flare urate kidney"])[0]
        exact = np.sort(index.dense.vectors()[kept] @ query)[::-1][:10]
        np.testing.assert_allclose(sorted((h.score for h in hits), reverse=True), exact, atol=1e-5)


def test_a_filter_that_keeps_nothing_returns_nothing(big: Settings) -> None:
    index = load_index(big.index_dir, expected_model=None)
    retriever = IndexRetriever(index, FakeEmbedder(), RetrievalSettings())
    assert retriever.retrieve("gout", 10, Filters(year_min=1990, year_max=1995)) == []
    assert retriever.allowed_rows(None) is None
    assert len(retriever.allowed_rows(Filters(year_min=2001, year_max=2001))) == 30  # type: ignore[arg-type]


def test_the_over_fetch_before_push_down_missed_hits(big: Settings) -> None:
    """The old way, post-filtering a 10x over-fetch (depth 1,000 of 3,000 rows), finds fewer than 10 of the
    30 kept rows for this query: what the push-down fixes."""
    index = load_index(big.index_dir, expected_model=None)
    retriever = IndexRetriever(index, FakeEmbedder(), RetrievalSettings(mode="dense", max_per_doc=1))
    ranked = retriever.dense_ranking("gout flare urate kidney", 1000)
    kept = [i for i, _s in ranked if index.documents[index.passages[i].doc_id].year == 2001]
    assert len(kept) < 10
