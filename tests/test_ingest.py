"""Ingest: normalisation, passage splitting, stable ids, both corpus formats and their bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.errors import IngestError
from assistant.ingest import (
    load_corpus,
    make_passages,
    normalise,
    passage_id,
    read_markdown,
    source_fingerprint,
)
from assistant.settings import IngestSettings

from .conftest import FIXTURE_CORPUS

DOC = """---
id: {id}
title: "A doc"
source_type: guideline
publisher: Some Org
year: 2020
url: https://example.org/x
---

## Treatment
{body}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_normalise_strips_control_and_zero_width() -> None:
    # "e" + combining acute -> NFC "é"; zero-width space, soft hyphen and a bell character disappear.
    assert normalise("cafe\u0301\u200b is\u00ad ok\x07\r\n") == "café is ok\n"


def test_fixture_corpus_loads_with_metadata() -> None:
    corpus = load_corpus([FIXTURE_CORPUS], IngestSettings())
    assert set(corpus.documents) == {
        "gout-test-guideline",
        "gout-test-study",
        "asthma-test-guideline",
        "hypertension-test-review",
    }
    doc = corpus.documents["gout-test-study"]
    assert (doc.source_type, doc.publisher, doc.year, doc.topic) == (
        "research",
        "Journal of Test Medicine",
        2018,
        "Gout",
    )
    assert doc.link == "https://doi.org/10.0000/test.gout.2018"
    sections = {p.section for p in corpus.passages if p.doc_id == "gout-test-guideline"}
    assert sections == {"Presentation", "Diagnosis", "Treatment"}


def test_sentence_offsets_cover_the_passage_text() -> None:
    corpus = load_corpus([FIXTURE_CORPUS], IngestSettings())
    for p in corpus.passages:
        joined = " ".join(p.sentence_texts())
        assert joined.split() == p.text.split()


def test_passage_ids_are_stable_and_content_derived(tmp_path: Path) -> None:
    body = "Allopurinol lowers urate in gout over months. The dose is titrated to a target."
    a = read_markdown(write(tmp_path, "a.md", DOC.format(id="d1", body=body)), IngestSettings())[1]
    b = read_markdown(write(tmp_path, "b.md", DOC.format(id="d1", body=body)), IngestSettings())[1]
    c = read_markdown(
        write(tmp_path, "c.md", DOC.format(id="d1", body=body + " Changed.")), IngestSettings()
    )[1]
    assert [p.passage_id for p in a] == [p.passage_id for p in b]
    assert a[0].passage_id != c[0].passage_id
    assert a[0].passage_id == passage_id("d1", body)
    assert a[0].passage_id.startswith("d1:")


def test_long_paragraphs_split_and_short_ones_merge() -> None:
    settings = IngestSettings(max_passage_words=20, min_passage_words=8)
    long = " ".join(f"Sentence number {i} has exactly six words." for i in range(6))  # 6 x 7 words
    passages = make_passages(
        "d", [("S", long), ("S", "Tiny one."), ("S", "Another short bit here.")], settings
    )
    assert all(len(p.text.split()) <= 21 for p in passages)
    # 42 words split into chunks of at most 20 words (two 7-word sentences each) -> 3 passages; the two short
    # paragraphs (2 and 4 words) merge into one passage of 6 words.
    assert [len(p.text.split()) for p in passages] == [14, 14, 14, 6]


def test_bullets_merged_into_one_passage_stay_separate_sentences(tmp_path: Path) -> None:
    path = tmp_path / "dm.md"
    path.write_text(
        "---\ntitle: T\nsource_type: guideline\npublisher: P\nyear: 2022\nurl: https://example.org\n---\n"
        "## Treatment\n\nFirst-line options:\n- metformin 500 mg b.i.d. with meals\n- lifestyle advice\n"
        "- statins (e.g. atorvastatin) for most adults\n\nreview in 3 months.\n",
        encoding="utf-8",
    )
    _, passages = read_markdown(path, IngestSettings())
    assert len(passages) == 1  # five short blocks of one section merge into one passage
    assert passages[0].sentence_texts() == [
        "First-line options:",
        "metformin 500 mg b.i.d. with meals",
        "lifestyle advice",
        "statins (e.g. atorvastatin) for most adults",
        "review in 3 months.",
    ]


def test_duplicate_paragraphs_get_distinct_ids() -> None:
    text = "Exactly the same paragraph appears twice in one document here."
    passages = make_passages("d", [("A", text), ("B", text)], IngestSettings(min_passage_words=0))
    assert len({p.passage_id for p in passages}) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter\n", "no YAML front matter"),
        ("---\ntitle: [unclosed\n---\nbody\n", "not valid YAML"),
        (
            "---\ntitle: x\nsource_type: guideline\npublisher: p\nyear: 2020\n---\nbody text\n",
            "one of pmid/doi/url",
        ),
        (
            "---\ntitle: x\nsource_type: blog\npublisher: p\nyear: 2020\nurl: u\n---\nbody\n",
            "source_type 'blog'",
        ),
        ("---\ntitle: x\nsource_type: review\npublisher: p\nyear: soon\nurl: u\n---\nbody\n", "not a number"),
        ("---\ntitle: x\nsource_type: review\npublisher: p\nyear: 2020\nurl: u\n---\n", "no text"),
    ],
)
def test_bad_markdown_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(IngestError, match=message) as info:
        load_corpus([write(tmp_path, "bad.md", text)], IngestSettings())
    assert "bad.md" in str(info.value)


def test_unreadable_file_is_an_ingest_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes(b"---\ntitle: caf\xe9\n---\n")
    with pytest.raises(IngestError, match="UTF-8"):
        load_corpus([path], IngestSettings())


def test_missing_source_and_duplicate_ids(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such corpus"):
        load_corpus([tmp_path / "nope"], IngestSettings())
    write(tmp_path, "one.md", DOC.format(id="same", body="First document text about asthma inhalers today."))
    write(tmp_path, "two.md", DOC.format(id="same", body="Second document text about gout flares tonight."))
    with pytest.raises(IngestError, match="used twice"):
        load_corpus([tmp_path], IngestSettings())


def test_beir_jsonl(tmp_path: Path) -> None:
    rows = [
        {"_id": "10", "title": "Statins", "text": "Statins lower LDL cholesterol. They reduce events."},
        {"_id": "11", "title": "", "text": "Aspirin inhibits platelets.", "metadata": {"year": 2001}},
    ]
    path = write(tmp_path, "corpus.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    corpus = load_corpus([path], IngestSettings())
    assert corpus.documents["10"].title == "Statins"
    assert corpus.documents["11"].title == "11" and corpus.documents["11"].year == 2001
    write(tmp_path, "bad.jsonl", '{"title": "no id"}\n')
    with pytest.raises(IngestError, match=r"bad.jsonl:1: not a BEIR corpus line"):
        load_corpus([tmp_path / "bad.jsonl"], IngestSettings())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"_id": "1", "text": "ok"}\n\n{broken\n', r"c.jsonl:3: not valid JSON"),
        (b'["_id", "text"]\n', r"c.jsonl:1: expected a JSON object, got list"),
        (b'{"_id": "1", "text": "caf\xe9"}\n', r"c.jsonl: not UTF-8 text"),
    ],
)
def test_bad_beir_lines_name_file_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "c.jsonl").write_bytes(content)
    with pytest.raises(IngestError, match=message):
        load_corpus([tmp_path / "c.jsonl"], IngestSettings())


def test_source_fingerprint_tracks_content(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", DOC.format(id="a", body="Some body text for the fingerprint test."))
    first = source_fingerprint([tmp_path], IngestSettings())
    assert first == source_fingerprint([tmp_path], IngestSettings())
    path.write_text(path.read_text() + "\nMore text.\n", encoding="utf-8")
    assert source_fingerprint([tmp_path], IngestSettings()) != first


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_normalise_is_idempotent_and_clean(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert not any(ch in once for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad\x00\x07\r")
