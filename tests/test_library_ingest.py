"""What the ingest does for a team's library: sidecar metadata and defaults, one document per DOI/PMID, repeated
passages indexed once, review records, and the parse and embedding caches that make a rebuild incremental."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.embedcache import EmbeddingCache, model_folder
from assistant.errors import IngestError
from assistant.ingest import load_corpus, source_fingerprint
from assistant.library.state import set_review
from assistant.settings import IngestSettings

from .fakes import FakeEmbedder

S = IngestSettings()
BODY = (
    "Allopurinol is the first-line urate-lowering drug for people with gout and frequent flares. "
    "Start at a low dose and titrate monthly until the serum urate is below 360 micromol per litre. "
    "Colchicine prophylaxis is advised during the first months of urate-lowering treatment."
)


def text_doc(folder: Path, name: str, body: str = BODY, **meta: object) -> Path:
    """A .txt document (title from its first line) and, when metadata is given, its YAML sidecar."""
    path = folder / f"{name}.txt"
    path.write_text(f"Gout care {name}\n\n{body}\n", encoding="utf-8")
    if meta:
        lines = [f"{k}: {json.dumps(v)}" for k, v in meta.items()]
        (folder / f"{name}.meta.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


REQUIRED = {"source_type": "guideline", "publisher": "Gout Society", "year": 2021}


# ---------------------------------------------------------------- metadata beside the file


def test_a_file_without_metadata_names_the_file_the_fields_and_where_to_add_them(tmp_path: Path) -> None:
    path = text_doc(tmp_path, "bare")
    with pytest.raises(IngestError) as info:
        load_corpus([tmp_path], S)
    message = str(info.value)
    assert message.startswith(f"{path}: missing metadata source_type, publisher, year;")
    assert "bare.meta.yaml" in message and "--default KEY=VALUE" in message
    assert "\n" not in message


def test_defaults_fill_gaps_the_file_wins_over_defaults_and_the_sidecar_over_both(tmp_path: Path) -> None:
    text_doc(tmp_path, "a")  # title "Gout care a" from the file itself
    text_doc(tmp_path, "b", title="Sidecar title", publisher="Sidecar Org")
    defaults = {**REQUIRED, "title": "Default title"}
    docs = load_corpus([tmp_path], S, defaults=defaults).documents
    assert (docs["a"].title, docs["a"].publisher, docs["a"].year) == ("Gout care a", "Gout Society", 2021)
    assert (docs["b"].title, docs["b"].publisher) == ("Sidecar title", "Sidecar Org")
    assert docs["a"].source_file == "a.txt"


def test_folder_csv_rows_sit_between_the_file_and_its_yaml_sidecar(tmp_path: Path) -> None:
    text_doc(tmp_path, "a")
    text_doc(tmp_path, "b", publisher="YAML Org")
    (tmp_path / "metadata.csv").write_text(
        "file,source_type,publisher,year,keywords,review_status\n"
        "a.txt,review,CSV Org,2019,gout; urate,approved\n"
        "b.txt,research,CSV Org,2020,,\n",
        encoding="utf-8",
    )
    docs = load_corpus([tmp_path], S).documents
    assert (docs["a"].source_type, docs["a"].publisher, docs["a"].year) == ("review", "CSV Org", 2019)
    assert docs["a"].keywords == ("gout", "urate")
    assert docs["a"].review_status == "approved"
    assert (docs["b"].publisher, docs["b"].year) == ("YAML Org", 2020)


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("name,year\na.txt,2020\n", "needs a header row with a 'file' column"),
        ("file,year\na.txt,2020\na.txt,2021\n", "metadata.csv:3: 'a.txt' has two rows"),
        ("file,year\n,2020\n", "metadata.csv:2: the 'file' cell is empty"),
    ],
)
def test_a_bad_folder_csv_is_one_clear_line(tmp_path: Path, csv_text: str, message: str) -> None:
    text_doc(tmp_path, "a", **REQUIRED)
    (tmp_path / "metadata.csv").write_text(csv_text, encoding="utf-8")
    with pytest.raises(IngestError, match=message):
        load_corpus([tmp_path], S)


def test_a_sidecar_alias_and_bad_governance_values(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text_doc(tmp_path, "a", **REQUIRED, review_status="signed off", last_updated="2023-13-01")
    doc = load_corpus([tmp_path], S).documents["a"]
    assert (doc.review_status, doc.last_updated) == (None, None)
    assert "dropped review_status 'signed off'" in caplog.text and "not a real date" in caplog.text
    (tmp_path / "a.meta.yaml").write_text("x: &a 1\ny: *a\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"a\.meta\.yaml: the metadata file uses a YAML alias \(line 2\)"):
        load_corpus([tmp_path], S)


def test_sidecars_and_reviews_are_part_of_the_source_fingerprint(tmp_path: Path) -> None:
    text_doc(tmp_path, "a", **REQUIRED)
    before = source_fingerprint([tmp_path], S)
    (tmp_path / "a.meta.yaml").write_text(
        "source_type: guideline\npublisher: Gout Society\nyear: 2022\n", encoding="utf-8"
    )
    after_sidecar = source_fingerprint([tmp_path], S)
    set_review(
        tmp_path, "a", {"review_status": "approved", "reviewed_by": "Dr A", "last_reviewed": "2026-01-02"}
    )
    after_review = source_fingerprint([tmp_path], S)
    assert len({before, after_sidecar, after_review}) == 3
    doc = load_corpus([tmp_path], S).documents["a"]
    assert (doc.review_status, doc.reviewed_by, doc.last_reviewed, doc.year) == (
        "approved",
        "Dr A",
        "2026-01-02",
        2022,
    )


# ---------------------------------------------------------------- duplicates


def test_the_same_doi_in_two_files_is_one_document_the_newer_kept(tmp_path: Path) -> None:
    text_doc(tmp_path, "old", **REQUIRED, doi="10.1000/gout.1", last_updated="2020-01-01")
    text_doc(tmp_path, "new", body=BODY.replace("360", "300"), **REQUIRED, doi="10.1000/GOUT.1",
             last_updated="2024-05-01")  # fmt: skip
    corpus = load_corpus([tmp_path], S)
    assert set(corpus.documents) == {"new"}
    assert {p.doc_id for p in corpus.passages} == {"new"}
    assert corpus.duplicates == ["doi:10.1000/gout.1: old is an older version of new; kept new"]


def test_repeated_and_nearly_repeated_passages_of_other_documents_are_indexed_once(tmp_path: Path) -> None:
    text_doc(tmp_path, "a", **REQUIRED)
    text_doc(tmp_path, "b", **REQUIRED)  # the same text
    # two words more: 2 shingles added to 43, Jaccard 43/45 = 0.96 >= 0.9
    text_doc(tmp_path, "c", body=BODY + " Review yearly.", **REQUIRED)
    text_doc(tmp_path, "d", body="Febuxostat is an alternative when allopurinol is not tolerated. " * 3,
             **REQUIRED)  # fmt: skip
    corpus = load_corpus([tmp_path], S)
    by_doc = {d: [p for p in corpus.passages if p.doc_id == d] for d in "abcd"}
    assert len(by_doc["a"]) == 1 and by_doc["b"] == [] and by_doc["c"] == [] and len(by_doc["d"]) == 1
    assert len(corpus.duplicates) == 2
    assert "(same text)" in corpus.duplicates[0] and "nearly repeats" in corpus.duplicates[1]
    # every document stays citable metadata even when its passages were all repeats
    assert set(corpus.documents) == set("abcd")
    off = load_corpus([tmp_path], IngestSettings(dedupe_passages=False))
    assert len(off.passages) == 4 and off.duplicates == []


# ---------------------------------------------------------------- caches


def test_the_parse_cache_returns_what_a_fresh_read_does_and_notices_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib, cache = tmp_path / "lib", tmp_path / "parsed"
    lib.mkdir()
    text_doc(lib, "a", **REQUIRED)
    text_doc(lib, "b", body=BODY.replace("gout", "tophaceous gout"), **REQUIRED)
    fresh = load_corpus([lib], S)
    first = load_corpus([lib], S, parse_cache=cache)
    reads: list[str] = []
    from assistant import ingest

    real = ingest.read_file
    monkeypatch.setattr(
        ingest, "read_file", lambda path, *a, **k: reads.append(path.name) or real(path, *a, **k)
    )
    second = load_corpus([lib], S, parse_cache=cache)
    assert reads == []
    assert fresh.fingerprint() == first.fingerprint() == second.fingerprint()
    assert fresh.passages == second.passages
    (lib / "b.meta.yaml").write_text("source_type: review\npublisher: X\nyear: 2020\n", encoding="utf-8")
    third = load_corpus([lib], S, parse_cache=cache)
    assert reads == ["b.txt"] and third.documents["b"].source_type == "review"


def test_the_embedding_cache_embeds_only_new_text_and_gives_the_same_vectors(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    texts = [f"text number {i} about gout" for i in range(10)]
    cache = EmbeddingCache(model_folder(tmp_path, embedder), embedder.dimension)
    vectors, embedded = cache.embed(texts, embedder, batch_size=4, shard_size=3)
    assert embedded == 10 and len(list(cache.folder.glob("shard-*.keys.npy"))) == 4
    again = EmbeddingCache(model_folder(tmp_path, embedder), embedder.dimension)
    more, embedded_again = again.embed([*texts, "a new text"], embedder, batch_size=4, shard_size=3)
    assert embedded_again == 1
    np.testing.assert_array_equal(more[:10], vectors)
    np.testing.assert_allclose(vectors, embedder.embed_documents(texts), atol=1e-6)


def test_two_builds_sharing_the_cache_never_overwrite_each_others_shards(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    folder = model_folder(tmp_path, embedder)
    first, second = EmbeddingCache(folder, 64), EmbeddingCache(folder, 64)  # both opened before either writes
    a = [f"first build text {i}" for i in range(6)]
    b = [f"second build passage {i} on asthma" for i in range(6)]
    first.embed(a, embedder, batch_size=4, shard_size=3)
    second.embed(b, embedder, batch_size=4, shard_size=3)
    assert len(list(folder.glob("shard-*.keys.npy"))) == 4
    after = EmbeddingCache(folder, 64)
    vectors, embedded = after.embed(a + b, embedder, batch_size=4, shard_size=3)
    assert embedded == 0
    np.testing.assert_allclose(vectors, embedder.embed_documents(a + b), atol=1e-6)


def test_another_model_never_shares_vectors(tmp_path: Path) -> None:
    class Other(FakeEmbedder):
        name = "other-model"

    assert model_folder(tmp_path, FakeEmbedder()) != model_folder(tmp_path, Other())


KILLED_BUILD = """
import sys
from pathlib import Path
from assistant.embedcache import EmbeddingCache, model_folder
from tests.fakes import FakeEmbedder
texts = [f"passage {i} on urate lowering" for i in range(40)]
e = FakeEmbedder()
cache = EmbeddingCache(model_folder(Path(sys.argv[1]), e), e.dimension)
print(len(cache), flush=True)
cache.embed(texts, e, batch_size=8, shard_size=5)
"""


def test_a_killed_build_resumes_and_loses_at_most_one_shard(tmp_path: Path) -> None:
    """kill -9 right after a shard is written (the `shard` checkpoint), 1, 2, 4 and 7 times in a row; each
    rerun keeps every shard written before the kill, so it embeds only what was left."""
    root = Path(__file__).resolve().parents[1]
    for kill_at in (1, 2, 4, 7):
        folder = tmp_path / f"run{kill_at}"
        env = {**os.environ, "PYTHONPATH": str(root), "ASSISTANT_TEST_FAULT": "shard"}
        for attempt in range(kill_at):
            proc = subprocess.run([sys.executable, "-c", KILLED_BUILD, str(folder)], env=env,
                                  capture_output=True, text=True, check=False)  # fmt: skip
            assert proc.returncode == -9, proc.stderr
            assert int(proc.stdout.split()[0]) == 5 * attempt  # every finished shard was kept
        done = subprocess.run([sys.executable, "-c", KILLED_BUILD, str(folder)], capture_output=True,
                              text=True, check=True, env={**os.environ, "PYTHONPATH": str(root)})  # fmt: skip
        assert int(done.stdout.split()[0]) == 5 * kill_at
    e = FakeEmbedder()
    texts = [f"passage {i} on urate lowering" for i in range(40)]
    resumed = EmbeddingCache(model_folder(tmp_path / "run7", e), e.dimension)
    vectors, embedded = resumed.embed(texts, e, batch_size=8, shard_size=5)
    assert embedded == 0
    np.testing.assert_allclose(vectors, e.embed_documents(texts), atol=1e-6)
