"""One end-to-end run with the real bundled model (all-MiniLM-L6-v2, offline) on the fixture corpus."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.service import Assistant, build_from_settings
from assistant.settings import BUNDLED_MODEL, Settings

from .conftest import FIXTURE_CORPUS

pytestmark = pytest.mark.real_model


def test_real_model_answers_follow_ups_and_suggestions(tmp_path: Path) -> None:
    from assistant.embed import SentenceTransformerEmbedder

    settings = Settings(
        model=BUNDLED_MODEL, corpus=[FIXTURE_CORPUS], index_dir=tmp_path / "index", data_dir=tmp_path / "data"
    )
    embedder = SentenceTransformerEmbedder(BUNDLED_MODEL)
    assert embedder.dimension == 384
    build_from_settings(settings, embedder, progress=False)
    assistant = Assistant.open(settings, embedder=embedder, build_if_missing=False)
    try:
        first = assistant.ask("What is the first-line urate-lowering drug for recurrent gout?")
        assert not first.abstained
        assert (
            first.sentences[0].text
            == "Allopurinol is the first-line urate-lowering therapy for recurrent gout."
        )
        refs = {r.n: r for r in first.references}
        for s in first.sentences:
            for n in s.citations:
                assert re.sub(r"\s+", " ", s.text) in re.sub(r"\s+", " ", refs[n].passage_text)
        follow = assistant.ask("How is it diagnosed?", conversation_id=first.conversation_id)
        assert follow.resolved_query == "How is it diagnosed? Gout"
        assert any("urate crystals" in s.text for s in follow.sentences)
        for suggestion in first.suggested_followups:  # each suggestion is answerable when clicked
            assert not assistant.ask(suggestion).abstained, suggestion
        off_topic = assistant.ask("What is the treatment for Kawasaki disease?")
        assert off_topic.abstained and off_topic.references == []
    finally:
        assistant.close()


def test_query_cache_survives_batches_larger_than_itself() -> None:
    from assistant.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(BUNDLED_MODEL, cache_size=2)
    texts = ["gout", "asthma", "sepsis", "gout"]
    vectors = embedder.embed_queries(texts)
    assert vectors.shape == (4, 384)
    assert float(vectors[0] @ vectors[3]) > 0.999  # the same text, the same vector
    assert list(embedder._cache) == ["asthma", "sepsis"]  # the last two distinct texts of the batch


def test_usage_counts_the_models_tokens() -> None:
    from assistant.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(BUNDLED_MODEL)
    assert embedder.count_tokens("hello world") == 2  # two WordPiece tokens, no [CLS]/[SEP]
    assert embedder.count_tokens("apixaban") > 1  # a word the vocabulary splits into pieces
    assert embedder.count_tokens("") == 0
