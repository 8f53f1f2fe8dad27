"""The on-disk passage store and the document table: what is written is read back the same, by row, by id and
in order, from many threads; filters as numpy masks keep exactly the rows `Filters.accepts` keeps."""

from __future__ import annotations

import sqlite3
import string
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.doctable import DocumentTable
from assistant.passagestore import open_store, write_store
from assistant.types import SOURCE_TYPES, Document, Filters, Passage

TOPICS = ["Gout", "gout", "Asthma", None]
words = st.text(alphabet=string.ascii_letters + " .é–", min_size=1, max_size=30)


@st.composite
def libraries(draw: st.DrawFn) -> tuple[list[Document], list[Passage]]:
    n_docs = draw(st.integers(1, 6))
    docs = [
        Document(
            f"doc-{i}",
            draw(words),
            draw(st.sampled_from(SOURCE_TYPES)),
            "Publisher",
            draw(st.one_of(st.none(), st.integers(1990, 2026))),
            topic=draw(st.sampled_from(TOPICS)),
            specialty=draw(st.sampled_from(["Rheumatology", "rheumatology", None])),
            keywords=tuple(draw(st.lists(words, max_size=2))),
        )
        for i in range(n_docs)
    ]
    passages = []
    for j in range(draw(st.integers(0, 12))):
        text = draw(words)
        cut = draw(st.integers(0, len(text)))
        spans = ((0, cut), (cut, len(text))) if 0 < cut < len(text) else ((0, len(text)),)
        passages.append(
            Passage(
                f"p{j}",
                f"doc-{draw(st.integers(0, n_docs - 1))}",
                draw(st.sampled_from(["", "Treatment", "Diagnosis"])),
                text,
                spans,
                position=j,
                page=draw(st.one_of(st.none(), st.integers(1, 9))),
            )
        )
    return docs, passages


@settings(max_examples=40, deadline=None)
@given(libraries())
def test_what_is_written_is_read_back(tmp_path_factory: pytest.TempPathFactory, library: tuple) -> None:  # type: ignore[type-arg]
    docs, passages = library
    path = tmp_path_factory.mktemp("store") / "passages.sqlite"
    write_store(path, docs, passages)
    documents, stored = open_store(path)
    assert len(stored) == len(passages) and list(stored) == passages
    assert [stored[i] for i in range(len(passages))] == passages
    assert stored[-1:] == passages[-1:] and stored[::2] == passages[::2]
    for i, p in enumerate(passages):
        assert stored.row_of(p.passage_id) == i
    # sentences are numbered in row order: a passage's first sentence follows all sentences of earlier rows
    starts = [stored.sentence_start(i) for i in range(len(passages))]
    assert starts == [sum(len(p.sentences) for p in passages[:i]) for i in range(len(passages))]
    assert dict(documents) == {d.doc_id: d for d in docs} and list(documents.values()) == docs
    assert [documents.number(d.doc_id) for d in docs] == list(range(len(docs)))
    assert stored.doc_rows().tolist() == [int(p.doc_id.split("-")[1]) for p in passages]
    pairs = {(docs[int(p.doc_id.split("-")[1])].topic, p.section) for p in passages}
    assert sorted(stored.topic_sections()) == sorted((t, s) for t, s in pairs if t and s)
    documents.close()


def test_unknown_rows_and_ids(tmp_path: Path) -> None:
    doc = Document("d", "T", "guideline", "P", 2020)
    folder = tmp_path / "my index #2 ?50% é"  # characters that mean something in a URI
    folder.mkdir()
    write_store(folder / "s.sqlite", [doc], [Passage("d:0", "d", "", "Text.", ((0, 5),))])
    documents, stored = open_store(folder / "s.sqlite")
    assert stored[0].passage_id == "d:0" and documents["d"] == doc
    with pytest.raises(IndexError):
        stored[1]
    with pytest.raises(IndexError):
        stored[-2]
    with pytest.raises(KeyError):
        documents["nope"]
    assert stored.row_of("nope") is None and documents.number("nope") is None
    assert "d" in documents and "nope" not in documents and 3 not in documents


def test_the_store_is_read_only_and_shared_by_threads(tmp_path: Path) -> None:
    docs = [Document(f"d{i}", "T", "guideline", "P", 2020) for i in range(50)]
    passages = [Passage(f"d{i % 50}:{i}", f"d{i % 50}", "S", f"Text {i}.", ((0, 7),), i) for i in range(2000)]
    write_store(tmp_path / "s.sqlite", docs, passages)
    documents, stored = open_store(tmp_path / "s.sqlite")

    def read(start: int) -> bool:
        return all(
            stored[i] == passages[i] and documents[passages[i].doc_id] == docs[i % 50]
            for i in range(start, 2000, 7)
        )

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(read, range(7)))
    with pytest.raises(sqlite3.OperationalError):  # opened read-only
        stored._db._db.execute("DELETE FROM passages")


filters = st.builds(
    Filters,
    source_types=st.lists(st.sampled_from([*SOURCE_TYPES, "nonsense"]), max_size=2).map(tuple),
    year_min=st.one_of(st.none(), st.integers(1990, 2026)),
    year_max=st.one_of(st.none(), st.integers(1990, 2026)),
    topics=st.lists(st.sampled_from(["gout", "GOUT", "asthma", "none"]), max_size=2).map(tuple),
    specialties=st.lists(st.sampled_from(["rheumatology", "Cardiology"]), max_size=1).map(tuple),
)


@settings(max_examples=200, deadline=None)
@given(libraries(), filters, st.sets(st.sampled_from([f"doc-{i}" for i in range(7)])))
def test_the_table_keeps_the_rows_filters_accept(library: tuple, chosen: Filters, withheld: set[str]) -> None:  # type: ignore[type-arg]
    docs, passages = library
    by_id = {d.doc_id: d for d in docs}
    doc_of_row = np.asarray([int(p.doc_id.split("-")[1]) for p in passages], dtype=np.int32)
    table = DocumentTable.build(docs, doc_of_row)
    expected = [
        i for i, p in enumerate(passages) if p.doc_id not in withheld and chosen.accepts(by_id[p.doc_id])
    ]
    assert table.rows(chosen, withheld).tolist() == expected
    assert table.rows(None).tolist() == list(range(len(passages)))


@settings(max_examples=40, deadline=None)
@given(libraries())
def test_fields_read_by_sqlite_equal_the_documents(library: tuple) -> None:  # type: ignore[type-arg]
    import tempfile

    docs, passages = library
    names = ("doc_id", "title", "source_type", "year", "topic", "specialty", "review_status")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "passages.sqlite"
        write_store(path, docs, passages)
        documents, _passages = open_store(path)
        try:
            assert list(documents.fields(names)) == [tuple(getattr(d, n) for n in names) for d in docs]
            doc_of_row = np.asarray([int(p.doc_id.split("-")[1]) for p in passages], dtype=np.int32)
            from_store = DocumentTable.build(documents, doc_of_row)  # the same table, column by column
            from_objects = DocumentTable.build(docs, doc_of_row)
            for name, value in vars(from_objects).items():
                got = getattr(from_store, name)
                assert np.array_equal(got, value) if isinstance(value, np.ndarray) else got == value, name
            with pytest.raises(ValueError, match="not fields of a document"):
                list(documents.fields(("doc_id", "data); DROP TABLE documents; --")))
        finally:
            documents.close()
