"""The MedQuAD set generator on a tiny MedQuAD-shaped file written here (no MedQuAD text in the repo)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import cli
from assistant.evals.data import load_beir, load_conversations
from assistant.settings import Settings

TOPICS = {
    "k1": ("Frostbite", ["information", "symptoms", "treatment", "causes"]),
    "k2": ("Hiccups", ["information", "treatment", "outlook"]),
    "k3": ("Sunburn", ["information", "symptoms", "prevention"]),
    "k4": ("Nosebleed", ["treatment"]),  # no "What is X?" pair: never opens a conversation
}
QUESTIONS = {
    "information": "What is (are) {} ?",
    "symptoms": "What are the symptoms of {} ?",
    "treatment": "What are the treatments for {} ?",
    "causes": "What causes {} ?",
    "outlook": "What is the outlook for {} ?",
    "prevention": "How to prevent {} ?",
}


def _qa(tmp_path: Path) -> Path:
    rows = [
        {"_id": f"{key}-{i}", "qid": f"{key}-{i}", "qtype": qtype, "question": QUESTIONS[qtype].format(focus),
         "answer": f"Made-up answer about the {qtype} of {focus}.", "focus": focus, "doc_key": key,
         "source": "test", "url": "", "doc_id": key}
        for key, (focus, qtypes) in TOPICS.items()
        for i, qtype in enumerate(qtypes)
    ]  # fmt: skip
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def make(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    qa = _qa(tmp_path)

    def _make(out: Path, *extra: str) -> int:
        return cli.main(["eval", "make-medquad", "--qa", str(qa), "--out", str(out), *extra])

    return _make


def test_beir_folder_pairs_each_question_with_its_answer(make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "mq"
    assert make(out, "--conversations", "3", "--switches", "1") == 0
    beir = load_beir(out, "test")
    assert len(beir.queries) == 11 and all(beir.qrels[q] == {q: 1} for q in beir.queries)
    corpus = [json.loads(line) for line in (out / "corpus.jsonl").read_text().splitlines()]
    assert corpus[0] == {
        "_id": "k1-0",
        "title": "Frostbite",
        "text": "Made-up answer about the information of Frostbite.",
    }


def test_conversations_follow_up_without_naming_the_topic(make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "mq"
    assert make(out, "--conversations", "3", "--switches", "2") == 0
    convs = load_conversations(out / "conversations.jsonl")
    follow = [c for c in convs if not c.conv_id.startswith("medquad-switch")]
    assert sorted(c.conv_id for c in follow) == [
        "medquad-k1",
        "medquad-k2",
        "medquad-k3",
    ]  # k4 has no "What is"
    for conv in follow:
        focus = TOPICS[conv.conv_id.removeprefix("medquad-")][0]
        first, *rest = conv.turns
        assert first.question == f"What is (are) {focus} ?" and first.standalone == first.question
        assert rest and all(focus not in t.question and focus in (t.standalone or "") for t in rest)
        assert all(not t.topic_switch for t in conv.turns)
    switches = [c for c in convs if c.conv_id.startswith("medquad-switch")]
    assert len(switches) == 2
    for conv in switches:
        assert conv.turns[1].topic_switch and conv.turns[1].question == conv.turns[1].standalone
        assert set(conv.turns[1].relevant).isdisjoint(conv.turns[0].relevant)


def test_generation_is_deterministic(make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert make(tmp_path / "a") == 0 and make(tmp_path / "b") == 0
    for name in ("conversations.jsonl", "corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert make(tmp_path / "c", "--seed", "99") == 0  # another seed may order things differently, same topics
    assert len((tmp_path / "c" / "conversations.jsonl").read_text().splitlines()) == len(
        (tmp_path / "a" / "conversations.jsonl").read_text().splitlines()
    )


def test_missing_qa_file_is_one_line(make, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    code = cli.main(
        ["eval", "make-medquad", "--qa", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")]
    )
    assert code == 2 and "nope.jsonl: cannot open the file" in capsys.readouterr().err
