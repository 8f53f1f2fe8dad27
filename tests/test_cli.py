"""The command line: answers, JSON shape, stats, and one clear line for each kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.settings import Settings

from .conftest import FIXTURE_CORPUS, FakeEmbedder


@pytest.fixture
def run(cli_run):  # type: ignore[no-untyped-def]
    return cli_run


ANSWER_FIELDS = {
    "conversation_id", "question", "resolved_query", "abstained", "answer_markdown", "sentences", "references",
    "suggested_followups", "disclaimer", "timings_ms",
}  # fmt: skip
REFERENCE_FIELDS = {
    "n",
    "passage_id",
    "doc_id",
    "title",
    "source_type",
    "publisher",
    "year",
    "url",
    "passage_text",
}


def test_ask_json_builds_index_on_first_use(run, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("ask", "--json", "What is the first-line urate-lowering therapy for gout?")
    assert code == 0, err
    assert "building it" in err
    answer = json.loads(out)
    assert answer.keys() >= ANSWER_FIELDS
    assert answer["references"] and answer["references"][0].keys() >= REFERENCE_FIELDS
    code, out, _ = run("ask", "How is it treated?", "--conversation", answer["conversation_id"])
    assert code == 0 and "[1]" in out and "### References" in out
    code, out, _ = run("ask", "--json", "--audience", "patient", "How is gout treated?")
    assert code == 0 and json.loads(out)["audience"] == "patient"
    assert "talk to your doctor" in json.loads(out)["disclaimer"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "   "], "the question is empty"),
        (["ask", "?! \u200b"], "the question has no words"),
        (["ask", "x" * 3000], "the limit is 2000"),
        (["ask", "gout?", "--conversation", "nope"], "no conversation 'nope'"),
        (["index", "info"], "assistant index build"),
        (["index", "build", "--source", "/does/not/exist"], "no such corpus file"),
    ],
)
def test_bad_input_gets_one_line(run, argv: list[str], message: str, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    if argv[0] == "ask":
        run("index", "build")
    code, _out, err = run(*argv)
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last


def test_index_built_with_another_model_is_refused(
    run, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert run("index", "build")[0] == 0
    other = FakeEmbedder()
    other.name = "another-model"
    monkeypatch.setattr("assistant.embed.SentenceTransformerEmbedder", lambda _name: other)
    code, _, err = run("ask", "gout?")
    assert code == 2 and "built with model 'fake-hash-64'" in err
    code, out, _ = run("index", "info")
    assert code == 0 and json.loads(out)["model"] == "fake-hash-64"  # nothing on disk was touched


def test_corpus_with_missing_metadata_is_refused_and_index_kept(
    run, tmp_path: Path, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    assert run("index", "build")[0] == 0
    before = run("index", "info")[1]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.md").write_text("---\ntitle: t\n---\nsome text\n")
    code, _, err = run("index", "build", "--source", str(bad))
    assert code == 2 and "missing metadata" in err and "x.md" in err
    assert run("index", "info")[1] == before


def test_corpus_stats_json(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("corpus", "stats", "--json", "--source", str(FIXTURE_CORPUS))
    stats = json.loads(out)
    assert code == 0
    assert (stats["documents"], stats["topics"], stats["specialties"]) == (4, 3, 3)
    assert stats["source_types"] == {"guideline": 2, "research": 1, "review": 1}
    assert stats["passages"] >= 4
