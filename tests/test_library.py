"""`assistant library`: add, replace, remove, sync and review, audited, never losing a file; what answers may
quote under `library.serve`; and the dates an answer carries."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from assistant.library import ops
from assistant.library.state import audit_entries, reviews
from assistant.render import date_answer
from assistant.retrieve import withheld_documents
from assistant.service import Assistant, build_from_settings
from assistant.settings import LibrarySettings, Settings
from assistant.types import Answer, Document, Reference

from .conftest import FIXTURE_CORPUS
from .fakes import FakeEmbedder
from .test_library_ingest import BODY, REQUIRED, text_doc

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def library(settings: Settings, tmp_path: Path) -> Path:
    """A library folder holding a copy of the fixture corpus; the test settings point at it."""
    lib = tmp_path / "lib"
    shutil.copytree(FIXTURE_CORPUS, lib)
    settings.corpus = [lib]
    return lib


@pytest.fixture
def incoming(tmp_path: Path) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir()
    return folder


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_add_skips_a_bad_file_with_one_line_and_adds_the_rest(
    settings: Settings, library: Path, incoming: Path
) -> None:
    text_doc(incoming, "good", **REQUIRED)
    bad = text_doc(incoming, "bad")  # no metadata
    changes = {c.file: c for c in ops.add(settings, [incoming], by="tester")}
    assert changes["good.txt"].action == "added"
    assert changes["bad.txt"].action == "skipped"
    assert changes["bad.txt"].detail.startswith(f"{bad}: missing metadata source_type, publisher, year;")
    assert "\n" not in changes["bad.txt"].detail and ".library" not in changes["bad.txt"].detail
    assert not (library / "bad.txt").exists() and (library / "good.txt").exists()
    assert not list((library / ".library" / "staging").iterdir())  # no staged copy left behind
    assert [e["file"] for e in audit_entries(library)] == ["good.txt"]


def test_what_is_stored_is_what_was_checked_when_the_original_changes_meanwhile(
    settings: Settings, library: Path, incoming: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = text_doc(incoming, "moving", **REQUIRED)
    real_copy = shutil.copyfile

    def copy_then_change(src: str | Path, dst: str | Path) -> object:
        result = real_copy(src, dst)
        Path(src).write_text("", encoding="utf-8")  # the original is emptied right after it was copied
        return result

    monkeypatch.setattr(ops.shutil, "copyfile", copy_then_change)
    [change] = ops.add(settings, [path], by="t")
    assert change.action == "added"
    assert "Allopurinol" in (library / "moving.txt").read_text(encoding="utf-8")


def test_add_with_defaults_writes_only_the_missing_fields_into_a_sidecar(
    settings: Settings, library: Path, incoming: Path
) -> None:
    text_doc(incoming, "leaflet", publisher="Own Trust")
    changes = ops.add(
        settings, [incoming / "leaflet.txt"], by="tester",
        defaults={"source_type": "patient-information", "publisher": "Ignored", "year": "2024"},
    )  # fmt: skip
    assert [(c.action, c.file, c.doc_ids) for c in changes] == [("added", "leaflet.txt", ("leaflet",))]
    assert not (library / "leaflet.meta.yaml").exists()  # one sidecar, named after the whole file name
    side = (library / "leaflet.txt.meta.yaml").read_text(encoding="utf-8")
    assert "Own Trust" in side and "Ignored" not in side and "patient-information" in side
    [entry] = audit_entries(library)
    assert (entry["action"], entry["by"], entry["file"], entry["doc_id"]) == (
        "added",
        "tester",
        "leaflet.txt",
        "leaflet",
    )


@pytest.mark.parametrize("into", ["../outside", "/tmp/abs", "a/../../b", ".library", "x/.hidden"])
def test_into_must_name_a_subfolder_of_the_library(
    settings: Settings, library: Path, incoming: Path, into: str
) -> None:
    path = text_doc(incoming, "g", **REQUIRED)
    with pytest.raises(ops.LibraryError, match="name a subfolder of the library"):
        ops.add(settings, [path], by="t", into=into)
    with pytest.raises(ops.LibraryError, match="name a subfolder of the library"):
        ops.sync(settings, incoming, by="t", into=into)
    assert not (library.parent / "outside").exists()


def test_a_folder_csv_row_travels_with_its_file(settings: Settings, library: Path, incoming: Path) -> None:
    text_doc(incoming, "row")
    (incoming / "metadata.csv").write_text(
        "file,source_type,publisher,year\nrow.txt,review,CSV Org,2019\n", encoding="utf-8"
    )
    ops.add(settings, [incoming], by="t", into="team")
    assert files_under(library / "team") == {"row.txt", "row.txt.meta.yaml"}
    from assistant.ingest import load_corpus

    doc = load_corpus([library], settings.ingest).documents["row"]
    assert (doc.source_type, doc.publisher, doc.year, doc.source_file) == (
        "review",
        "CSV Org",
        2019,
        "team/row.txt",
    )


def test_a_changed_file_replaces_the_old_one_which_is_kept(
    settings: Settings, library: Path, incoming: Path
) -> None:
    path = text_doc(incoming, "g", **REQUIRED)
    ops.add(settings, [path], by="a")
    assert [c.action for c in ops.add(settings, [path], by="a")] == ["unchanged"]
    path.write_text(path.read_text(encoding="utf-8") + "\nA new paragraph on febuxostat.\n", encoding="utf-8")
    assert [c.action for c in ops.add(settings, [path], by="b")] == ["replaced"]
    kept = list((library / ".library" / "removed").rglob("g.txt"))
    assert len(kept) == 1 and "febuxostat" not in kept[0].read_text(encoding="utf-8")
    assert "febuxostat" in (library / "g.txt").read_text(encoding="utf-8")
    assert [e["action"] for e in audit_entries(library)] == ["added", "replaced"]


def test_remove_moves_the_file_out_and_refuses_a_shared_file(
    settings: Settings, fake_embedder: FakeEmbedder, library: Path, incoming: Path
) -> None:
    (incoming / "two.jsonl").write_text(
        '{"_id": "x1", "title": "X1", "text": "' + BODY + '"}\n'
        '{"_id": "x2", "title": "X2", "text": "Febuxostat is an alternative urate-lowering drug."}\n',
        encoding="utf-8",
    )
    ops.add(settings, [incoming / "two.jsonl"], by="a")
    build_from_settings(settings, fake_embedder, progress=False)
    with pytest.raises(ops.LibraryError, match=r"x1: two\.jsonl holds 2 documents"):
        ops.remove(settings, "x1", by="a")
    change = ops.remove(settings, "gout-test-study", by="a")
    assert (change.action, change.file) == ("removed", "gout-test-study.md")
    assert not (library / "gout-test-study.md").exists()
    assert list((library / ".library" / "removed").rglob("gout-test-study.md"))
    with pytest.raises(ops.LibraryError, match="no document 'nope' in the library"):
        ops.remove(settings, "nope", by="a")


def test_sync_mirrors_a_folder_and_skips_a_bad_file_keeping_its_older_copy(
    settings: Settings, library: Path, incoming: Path
) -> None:
    text_doc(incoming, "one", **REQUIRED)
    two = text_doc(incoming, "two", **REQUIRED)
    assert sorted(c.action for c in ops.sync(settings, incoming, by="s")) == ["added", "added"]
    (incoming / "one.txt").unlink()
    (incoming / "one.meta.yaml").unlink()
    (incoming / "two.meta.yaml").unlink()  # two.txt now lacks its metadata: cannot be read
    two.write_text(two.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    changes = {c.file: c for c in ops.sync(settings, incoming, by="s")}
    assert changes["incoming/one.txt"].action == "removed"
    assert changes["incoming/two.txt"].action == "skipped"
    assert "missing metadata" in changes["incoming/two.txt"].detail
    assert (library / "incoming" / "two.txt").exists() and not (library / "incoming" / "one.txt").exists()
    with pytest.raises(ops.LibraryError, match="not a folder"):
        ops.sync(settings, incoming / "nope", by="s")


def test_review_is_recorded_applied_at_the_next_build_and_checked(
    settings: Settings, fake_embedder: FakeEmbedder, library: Path
) -> None:
    build_from_settings(settings, fake_embedder, progress=False)
    ops.review(settings, "gout-test-guideline", "approved", by="Dr Lee", note="checked against NICE")
    record = reviews(library)["gout-test-guideline"]
    assert (record["review_status"], record["reviewed_by"], record["note"]) == (
        "approved",
        "Dr Lee",
        "checked against NICE",
    )
    build_from_settings(settings, fake_embedder, progress=False)
    doc = ops.documents(settings)["gout-test-guideline"]
    assert (doc.review_status, doc.reviewed_by, doc.last_reviewed) == (
        "approved",
        "Dr Lee",
        date.today().isoformat(),
    )
    with pytest.raises(ops.LibraryError, match="is not one of submitted, under_review, approved, retired"):
        ops.review(settings, "gout-test-guideline", "fine", by="x")
    with pytest.raises(ops.LibraryError, match="--by NAME"):
        ops.review(settings, "gout-test-guideline", "approved", by=" ")


def test_concurrent_reviews_lose_no_record(
    settings: Settings, fake_embedder: FakeEmbedder, library: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    build_from_settings(settings, fake_embedder, progress=False)
    ids = sorted(ops.documents(settings))
    jobs = [(doc_id, status) for doc_id in ids for status in ("submitted", "approved")]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda job: ops.review(settings, job[0], job[1], by="Dr " + job[1]), jobs * 3))
    assert set(reviews(library)) == set(ids)
    assert len(list(audit_entries(library))) == len(jobs) * 3


def test_the_audit_log_survives_a_torn_last_line(library: Path, settings: Settings, incoming: Path) -> None:
    ops.add(settings, [text_doc(incoming, "a", **REQUIRED)], by="x")
    with (library / ".library" / "audit.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"at": "2026-')  # a crash mid-write
    ops.add(settings, [text_doc(incoming, "b", **REQUIRED)], by="y")
    assert [e["by"] for e in audit_entries(library)] == ["x", "y"]
    raw = (library / ".library" / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    assert raw[1] == '{"at": "2026-' and len(raw) == 3  # the torn line is skipped, the next entry whole


def test_cli_add_builds_incrementally_and_lists(run_lib: Run, library: Path, incoming: Path) -> None:
    code, _out, err = run_lib("library", "add", str(text_doc(incoming, "new", **REQUIRED)), "--by", "t")
    assert code == 0
    assert "embedded now" in err
    code, out, _err = run_lib("library", "list", "--json")
    rows = {r["doc_id"]: r for r in json.loads(out)}
    assert rows["new"]["file"] == "new.txt" and len(rows) == 5
    code, out, _err = run_lib("library", "status", "--json")
    status = json.loads(out)
    assert (status["documents"], status["stale"], status["left_out"]) == (5, False, [])
    code, _out, err = run_lib("library", "add", str(incoming / "missing.pdf"))
    assert code == 2 and err.startswith("error: ") and "no such file or folder" in err


def test_cli_review_and_show_history(run_lib: Run, library: Path) -> None:
    code, out, err = run_lib(
        "library", "review", "gout-test-study", "--status", "under_review", "--by", "Dr C"
    )
    assert code == 0 and "reviewed" in out and "published" in err
    code, out, _err = run_lib("library", "show", "gout-test-study")
    shown = json.loads(out)
    assert (shown["review_status"], shown["reviewed_by"]) == ("under_review", "Dr C")
    assert [(h["action"], h["by"], h["detail"]) for h in shown["history"]] == [
        ("reviewed", "Dr C", "under_review")
    ]
    with pytest.raises(SystemExit) as exit_info:  # argparse: usage and "invalid choice" on stderr, exit 2
        run_lib("library", "review", "gout-test-study", "--status", "done", "--by", "x")
    assert exit_info.value.code == 2


def test_a_library_rebuild_leaves_out_a_bad_file_put_in_by_hand(
    run_lib: Run, library: Path, incoming: Path
) -> None:
    (library / "broken.pdf").write_bytes(b"not a pdf")
    code, _out, err = run_lib("library", "add", str(text_doc(incoming, "new", **REQUIRED)))
    assert code == 0 and "left out: " in err and "broken.pdf: not a readable PDF" in err
    code, out, _err = run_lib("library", "status", "--json")
    status = json.loads(out)
    assert status["documents"] == 5 and status["stale"] is False
    assert [item["file"] for item in status["left_out"]] == [str(library / "broken.pdf")]


@pytest.fixture
def run_lib(cli_run: Run, library: Path, settings: Settings, fake_embedder: FakeEmbedder) -> Run:
    build_from_settings(settings, fake_embedder, progress=False)
    return cli_run


def test_a_second_build_embeds_nothing_and_one_new_document_only_its_text(
    settings: Settings, fake_embedder: FakeEmbedder, library: Path, incoming: Path
) -> None:
    def embedded_now() -> dict[str, int]:
        folder = build_from_settings(settings, fake_embedder, progress=False)
        result: dict[str, int] = json.loads((folder / "manifest.json").read_text())["embedded_now"]
        return result

    first = embedded_now()
    assert first["passages"] > 0
    assert embedded_now() == {"passages": 0, "sentences": 0}
    ops.add(settings, [text_doc(incoming, "n", **REQUIRED)], by="t")
    assert embedded_now() == {"passages": 1, "sentences": 3}  # BODY: one passage of three sentences


# ---------------------------------------------------------------- serving and dates


def doc(doc_id: str, status: str | None) -> Document:
    return Document(doc_id, "t", "guideline", "p", 2020, review_status=status)


def test_withheld_documents() -> None:
    docs = [doc("a", None), doc("b", "approved"), doc("c", "retired"), doc("d", "under_review")]
    assert withheld_documents(docs, "all") == {"c"}
    assert withheld_documents(docs, "approved") == {"a", "c", "d"}


def test_serve_approved_quotes_only_approved_documents(
    settings: Settings, fake_embedder: FakeEmbedder, library: Path
) -> None:
    ops.review(settings, "gout-test-study", "approved", by="Dr A")
    build_from_settings(settings, fake_embedder, progress=False)
    settings.library = LibrarySettings(serve="approved")
    a = Assistant.open(settings, embedder=fake_embedder, build_if_missing=False)
    try:
        answer = a.ask("What is the first-line urate-lowering drug in gout?")
        hits = a.retriever.retrieve("gout allopurinol asthma hypertension", 10)
    finally:
        a.close()
    assert {h.document.doc_id for h in hits} == {"gout-test-study"}
    assert {r.doc_id for r in answer.references} <= {"gout-test-study"}


def ref(n: int, year: int | None, updated: str | None = None) -> Reference:
    return Reference(n=n, passage_id="p", doc_id=f"d{n}", title="t", source_type="guideline", publisher="x",
                     year=year, url=None, passage_text="x", last_updated=updated)  # fmt: skip


def test_an_answer_carries_its_newest_source_date_and_flags_old_ones() -> None:
    # 10 years before 2026-12-02 is 2016-12-02: a year counts as its last day, a month as its 31st
    refs = [ref(1, 2015), ref(2, 2016), ref(3, 2010, "2016-12-01"), ref(4, 2010, "2016-11"), ref(5, None)]
    answer = Answer(question="q", resolved_query="q", abstained=False, answer_markdown="", sentences=[],
                    references=refs, disclaimer="d")  # fmt: skip
    date_answer(answer, 10, date(2026, 12, 2))
    assert answer.last_updated == "2016-12-01"
    assert answer.outdated_sources == [1, 3, 4]
    assert [r.outdated for r in answer.references] == [True, False, True, True, False]


def test_coverage_counts_what_answers_may_quote(run_lib: Run, settings: Settings, library: Path) -> None:
    _code, out, _err = run_lib("corpus", "topics", "--json")
    report = json.loads(out)
    # the fixture corpus: gout (guideline 2020, research 2018), asthma (guideline 2022), hypertension (review 2021)
    assert (report["documents"], report["years"], report["last_updated"]) == (
        4,
        {"min": 2018, "max": 2022},
        "2022",
    )
    assert report["source_types"] == {"guideline": 2, "research": 1, "review": 1}
    gout = next(t for t in report["topics"] if t["topic"] == "Gout")
    assert (gout["documents"], gout["source_types"], gout["newest"]) == (2, ["guideline", "research"], 2020)
    from fastapi.testclient import TestClient

    from assistant.api import create_app

    ops.review(settings, "gout-test-study", "retired", by="Dr R")
    build_from_settings(settings, FakeEmbedder(), progress=False)
    a = Assistant.open(settings, embedder=FakeEmbedder(), build_if_missing=False)
    with TestClient(create_app(settings, a)) as client:
        served = client.get("/v1/library/coverage").json()
    assert served["documents"] == 3 and served["source_types"] == {"guideline": 2, "review": 1}


def test_filters_that_keep_nothing_say_so(assistant: Assistant) -> None:
    from assistant.types import Filters

    answer = assistant.ask("How is gout treated?", filters=Filters(year_min=2030))
    assert answer.abstained and answer.answer_text.startswith("No source matches these filters")
    kept = assistant.ask("How is gout treated?", filters=Filters(year_min=2019))
    assert not kept.abstained  # a filter that keeps the gout guideline (2020) still answers
    swapped = assistant.ask("How is gout treated?", filters=Filters(year_min=2022, year_max=2010))
    assert swapped.abstained
    assert "the 'from' year (2022) is after the 'to' year (2010)" in swapped.answer_text
