"""The shipped corpus and the curated evaluation set: metadata, coverage, and no orphaned gold ids."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from functools import lru_cache

import pytest

from assistant.ingest import Corpus, load_corpus
from assistant.settings import PROJECT_ROOT, IngestSettings

CURATED = PROJECT_ROOT / "evals" / "curated.jsonl"


@lru_cache(maxsize=1)
def shipped() -> Corpus:
    return load_corpus([PROJECT_ROOT / "corpus"], IngestSettings())


def curated_items() -> list[dict[str, object]]:
    with CURATED.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_corpus_size_and_coverage() -> None:
    corpus = shipped()
    docs = corpus.documents.values()
    assert len(corpus.passages) >= 400
    assert len({d.topic for d in docs}) >= 30
    assert len({d.specialty for d in docs}) >= 8
    by_topic: dict[str, set[str]] = defaultdict(set)
    for d in docs:
        assert d.topic and d.specialty, d.doc_id
        by_topic[d.topic].add(d.source_type)
    for topic, kinds in by_topic.items():
        assert "guideline" in kinds, topic
        assert kinds & {"research", "review"}, topic


def test_every_document_is_citable() -> None:
    for d in shipped().documents.values():
        assert d.title and d.publisher and d.year and 1990 <= d.year <= 2026, d.doc_id
        assert d.link and d.link.startswith("https://"), d.doc_id
        if d.source_type in ("research", "review"):
            assert d.pmid or d.doi, f"{d.doc_id}: research and reviews carry a PMID or DOI"


def test_passages_fit_the_model_window() -> None:
    # all-MiniLM-L6-v2 reads 256 word pieces; 160 words plus title and heading stay inside it
    assert max(len(p.text.split()) for p in shipped().passages) <= 160


def test_als_question_of_the_example_page_is_covered() -> None:
    als = [
        p
        for p in shipped().passages
        if shipped().documents[p.doc_id].topic == "Amyotrophic lateral sclerosis"
    ]
    text = " ".join(p.text for p in als).lower()
    for needed in ("upper motor neuron", "lower motor neuron", "bulbar", "primary lateral sclerosis",
                   "progressive muscular atrophy", "el escorial", "emg", "survival"):  # fmt: skip
        assert needed in text, needed


def test_curated_set_parses_and_meets_its_quotas() -> None:
    items = curated_items()
    kinds = Counter(str(i["kind"]) for i in items)
    assert kinds["single"] >= 150 and kinds["conversation"] >= 40 and kinds["unanswerable"] >= 30
    assert len({i["id"] for i in items}) == len(items)
    conversations = [i for i in items if i["kind"] == "conversation"]
    assert all(3 <= len(c["turns"]) <= 5 for c in conversations)  # type: ignore[arg-type]
    switches = [c for c in conversations if any(t.get("topic_switch") for t in c["turns"])]  # type: ignore[attr-defined, union-attr]
    assert len(switches) >= 10


def _gold_ids() -> list[tuple[str, str]]:
    pairs = []
    for item in curated_items():
        if item["kind"] == "single":
            pairs += [(str(item["id"]), k) for k in item["relevant"]]  # type: ignore[attr-defined]
        elif item["kind"] == "conversation":
            for turn in item["turns"]:  # type: ignore[attr-defined]
                assert turn["question"] and turn["relevant"], item["id"]
                pairs += [(str(item["id"]), k) for k in turn["relevant"]]
    return pairs


def test_no_gold_id_is_orphaned() -> None:
    corpus = shipped()
    passages = {p.passage_id for p in corpus.passages}
    orphans = [(i, g) for i, g in _gold_ids() if g not in corpus.documents and g not in passages]
    assert not orphans, f"gold ids missing from the corpus (a corpus change orphaned them): {orphans[:5]}"


@pytest.mark.parametrize("kind", ["single", "unanswerable"])
def test_items_carry_their_fields(kind: str) -> None:
    for item in (i for i in curated_items() if i["kind"] == kind):
        assert isinstance(item["question"], str) and len(item["question"].split()) >= 3, item["id"]
        if kind == "single":
            assert item["relevant"] and item["reference_answer"], item["id"]
        else:
            assert "relevant" not in item, item["id"]
