"""Index store: manifest, verification on load, atomic publishing, generations."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import IndexMismatch, IndexNotFound
from assistant.generations import CURRENT
from assistant.loader import current_generation, load_index, read_manifest
from assistant.manifest import Manifest
from assistant.passagestore import open_store
from assistant.service import build_from_settings
from assistant.settings import Settings

from .conftest import FakeEmbedder


def test_manifest_describes_the_build(built_settings: Settings) -> None:
    m = read_manifest(built_settings.index_dir)
    assert m.model == FakeEmbedder.name and m.dimension == 64 and m.normalized is True
    assert m.document_count == 4 and m.passage_count > 4
    folder = current_generation(built_settings.index_dir)
    assert set(m.files) >= {"dense.faiss", "passages.sqlite", "sentences.npy", "vocabulary.json"}
    assert any(name.startswith("bm25/") for name in m.files)
    assert len(m.corpus_fingerprint) == 64
    index = load_index(built_settings.index_dir, expected_model=FakeEmbedder.name, expected_dimension=64)
    assert index.path == folder and len(index.dense) == len(index.passages) == m.passage_count
    assert len(index.documents) == 4 and sum(len(p.sentences) for p in index.passages) == m.sentence_count
    assert (m.vector_backend, m.vector_index) == ("faiss", "flat-ip")
    assert m.dense_recall.model_dump() == {
        "recall": 1.0,
        "k": 10,
        "queries": 200,
    }  # flat: exact by construction


def test_load_refuses_another_model(built_settings: Settings) -> None:
    with pytest.raises(IndexMismatch, match="built with model 'fake-hash-64'"):
        load_index(built_settings.index_dir, expected_model="some/other-model")


def test_load_refuses_tampered_files(built_settings: Settings) -> None:
    folder = current_generation(built_settings.index_dir)
    with (folder / "passages.sqlite").open("ab") as f:
        f.write(b"\0")
    with pytest.raises(IndexMismatch, match="differ from the manifest"):
        load_index(built_settings.index_dir, expected_model=FakeEmbedder.name)


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="assistant index build"):
        read_manifest(tmp_path / "none")


def test_rebuild_publishes_new_generation_and_prunes(
    built_settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    first = current_generation(built_settings.index_dir)
    second = build_from_settings(built_settings, fake_embedder, progress=False)
    third = build_from_settings(built_settings, fake_embedder, progress=False)
    assert current_generation(built_settings.index_dir) == third != second != first
    # keep_generations = 2: the current one and the one before it
    assert sorted(p.name for p in built_settings.index_dir.glob("gen-*")) == sorted([second.name, third.name])
    # passage ids are stable across rebuilds of unchanged text
    ids = lambda g: [p.passage_id for p in open_store(g / "passages.sqlite")[1]]  # noqa: E731
    assert ids(second) == ids(third) != []


def test_failed_build_leaves_the_published_index_alone(
    built_settings: Settings, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (built_settings.index_dir / CURRENT).read_text()

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("assistant.store.build_bm25", boom)
    with pytest.raises(RuntimeError):
        build_from_settings(built_settings, fake_embedder, progress=False)
    assert (built_settings.index_dir / CURRENT).read_text() == before
    assert not list(built_settings.index_dir.glob(".building-*"))
    load_index(built_settings.index_dir, expected_model=FakeEmbedder.name)


def test_leftovers_of_killed_builds_are_cleared_by_the_next(
    built_settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    # whatever their age: the next build holds the lock, so nobody else can be writing them
    folder = built_settings.index_dir / ".building-killed"
    (folder / "bm25").mkdir(parents=True)
    pointer = built_settings.index_dir / f".{CURRENT}.tmp-4242"
    pointer.write_text("gen-x\n")
    build_from_settings(built_settings, fake_embedder, progress=False)
    assert not folder.exists() and not pointer.exists()


def test_changed_corpus_rebuilds_the_default_index(
    settings: Settings, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    import shutil

    from assistant.service import Assistant

    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus[0], corpus)
    mine = settings.model_copy(update={"corpus": [corpus]})
    Assistant.open(mine, embedder=fake_embedder, log=lambda _m: None).close()
    first = current_generation(mine.index_dir)
    Assistant.open(mine, embedder=fake_embedder, log=lambda _m: None).close()
    assert current_generation(mine.index_dir) == first  # unchanged corpus: the index is reused
    page = corpus / "gout-test-study.md"
    page.write_text(page.read_text() + "\nAllopurinol hypersensitivity is rare but serious in gout.\n")
    messages: list[str] = []
    a = Assistant.open(mine, embedder=fake_embedder, log=messages.append)
    a.close()
    assert current_generation(mine.index_dir) != first and "the corpus changed" in messages[0]
    # an index built from other sources is never rebuilt behind the user's back
    other = settings.model_copy(update={"corpus": [corpus / "gout-test-study.md"]})
    before = current_generation(mine.index_dir)
    Assistant.open(other, embedder=fake_embedder, log=messages.append).close()
    assert current_generation(mine.index_dir) == before


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"format_version": 2, "model": "m"}', "index format 2 is not 3"),  # an older build: rebuild
        (
            b'{"format_version": 3, "model": "m", "dimension": 4}',
            "manifest.json: vector_index: Field required",
        ),
        (
            b'{"format_version": 3, "model": "m", "dimension": "four"}',
            "dimension: Input should be a valid integer",
        ),
        (b"[1, 2]", "manifest.json: (the whole file): Input should be an object"),
        (b"{", "manifest.json: (the whole file): Invalid JSON"),
    ],
)
def test_a_bad_manifest_is_one_line_that_says_what_and_to_rebuild(raw: bytes, says: str) -> None:
    with pytest.raises(IndexMismatch) as caught:
        Manifest.parse(raw, "gen-x", "rebuild it with `assistant index build`")
    message = str(caught.value)
    assert says in message and message.startswith("gen-x: ") and message.endswith("`assistant index build`")
    assert "\n" not in message
