"""Loaders of evaluation data: what they keep, and one clear error naming file and line for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import EvalDataError
from assistant.evals.data import load_beir, load_conversations, load_eval_set, load_qrels

from .conftest import FIXTURES

BEIR = FIXTURES / "beir"


def test_beir_keeps_judged_queries_and_positive_grades() -> None:
    beir = load_beir(BEIR, "test")
    assert list(beir.queries) == ["q1", "q2", "q3", "q4", "q5"]  # q6 has no judgements in the split
    assert beir.qrels["q1"] == {"d1": 2, "d7": 1}
    assert beir.qrels["q3"] == {"d5": 2}  # the grade-0 judgement of d6 is dropped


def test_conversations_and_eval_set_load() -> None:
    convs = load_conversations(BEIR / "conversations.jsonl")
    assert [c.conv_id for c in convs] == ["c1", "c2"]
    assert [t.topic_switch for t in convs[1].turns] == [False, False, True]
    assert convs[0].turns[1].standalone == "How is migraine prevented?"
    items = load_eval_set(FIXTURES / "evalset-small.jsonl")
    assert [(i.kind, len(i.turns)) for i in items] == [
        ("single", 1),
        ("conversation", 2),
        ("unanswerable", 1),
    ]
    assert items[2].turns[0].relevant == {}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"id": "a", "turns": [{"question": "q?", "relevant": {"d": 1}}]}\n{not json\n',
            "x.jsonl:2: not valid JSON",
        ),
        ('{"id": "a", "turns": []}\n', "x.jsonl:1: needs 'turns'"),
        (
            '{"id": "a", "turns": [{"question": "q?", "relevant": {}}]}\n',
            "x.jsonl:1 turn 1: a turn needs 'relevant'",
        ),
        ('{"id": "a", "turns": [{"question": "q?", "relevant": {"d": "high"}}]}\n', "grade of 'd' is 'high'"),
        (
            '{"id": "a", "turns": [{"question": "", "relevant": {"d": 1}}]}\n',
            "needs a non-empty string 'question'",
        ),
        ("[1, 2]\n", "x.jsonl:1: expected a JSON object"),
        ("\n", "no conversations"),
    ],
)
def test_bad_conversations_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(EvalDataError, match=message.replace("?", r"\?").replace("[", r"\[")):
        load_conversations(_write(tmp_path, "x.jsonl", text))


def test_bad_eval_set_and_qrels(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match=r"s.jsonl:1: 'kind' is 'quiz'"):
        load_eval_set(_write(tmp_path, "s.jsonl", '{"id": "a", "kind": "quiz", "question": "q?"}\n'))
    with pytest.raises(EvalDataError, match=r"s.jsonl:2: every item needs a unique 'id'"):
        line = '{"id": "a", "kind": "unanswerable", "question": "q?"}\n'
        load_eval_set(_write(tmp_path, "s.jsonl", line * 2))
    with pytest.raises(EvalDataError, match=r"q.tsv:2: expected 3 tab-separated fields"):
        load_qrels(_write(tmp_path, "q.tsv", "query-id\tcorpus-id\tscore\nq1 d1 1\n"))
    with pytest.raises(EvalDataError, match=r"q.tsv:1: score 'x' is not a number"):
        load_qrels(_write(tmp_path, "q.tsv", "q1\td1\tx\n"))
    with pytest.raises(EvalDataError, match="no such qrels file"):
        load_beir(BEIR, "nosuchsplit")
    with pytest.raises(EvalDataError, match=r"no corpus\.jsonl"):
        load_beir(tmp_path, "test")


def test_judged_query_missing_from_queries_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "text": "t"}\n')
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "t"}\n')
    (tmp_path / "qrels" / "test.tsv").write_text("q1\td1\t1\nq9\td1\t1\n")
    with pytest.raises(EvalDataError, match=r"1 judged queries are missing \(e.g. 'q9'\)"):
        load_beir(tmp_path, "test")


def test_conversations_of_a_curated_set_are_read_and_other_kinds_skipped(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(
        '{"id": "s1", "kind": "single", "question": "q?", "relevant": {"d": 1}, "reference_answer": "a"}\n'
        '{"id": "c1", "kind": "conversation", "turns": [{"question": "q1?", "relevant": {"d": 1}}]}\n'
        '{"id": "u1", "kind": "unanswerable", "question": "q?"}\n'
    )
    assert [c.conv_id for c in load_conversations(path)] == ["c1"]
