"""Key-fact scoring: facts found in the answer's sentences, the lead in its first sentence, abstentions count
against, and the loader rejects malformed facts with the file and line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.errors import EvalDataError
from assistant.evals.data import Turn, load_eval_set
from assistant.evals.keyfacts import by_tag, fact_fields, fact_metrics
from assistant.types import Answer, AnswerSentence


def _answer(*sentences: str, abstained: bool = False) -> Answer:
    return Answer(
        question="q", resolved_query="q", abstained=abstained, answer_markdown="", answer_text="",
        sentences=[AnswerSentence(text=s, citations=[1]) for s in sentences], references=[], disclaimer="d",
    )  # fmt: skip


def _fact(*alternatives: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(a, re.IGNORECASE) for a in alternatives)


TURN = Turn(
    question="when to anticoagulate in af",
    relevant={"af": 2},
    key_facts=(_fact("CHA2DS2-VASc"), _fact(r"\b2 or more\b", "≥ ?2")),
    lead_facts=(_fact("CHA2DS2-VASc"),),
    tags=("abbreviation", "timing"),
)


def test_facts_and_lead_by_hand() -> None:
    # Both facts are in the answer, but only in the second sentence: complete, lead wrong.
    answer = _answer("AF is common.", "Offer anticoagulation with a cha2ds2-vasc score of 2 or more.")
    row = fact_fields(TURN, answer, answerable=True)
    assert row == {
        "key_facts_found": 2, "key_facts_total": 2, "missed_facts": [], "lead_correct": False,
        "lead_missed": ["CHA2DS2-VASc"],
    }  # fmt: skip


def test_an_abstention_states_no_fact() -> None:
    row = fact_fields(TURN, _answer(abstained=True), answerable=True)
    assert row["key_facts_found"] == 0 and row["missed_facts"] == ["CHA2DS2-VASc", r"\b2 or more\b"]
    assert row["lead_correct"] is False


def test_unanswerable_turns_have_no_fact_fields() -> None:
    assert fact_fields(TURN, _answer("x"), answerable=False) == {}


def test_metrics_by_hand() -> None:
    rows = [
        # 2 of 2 facts, lead right
        {"answerable": True, "abstained": False, "key_facts_found": 2, "key_facts_total": 2,
         "lead_correct": True, "tags": ["a"]},
        # 1 of 2 facts, lead wrong
        {"answerable": True, "abstained": False, "key_facts_found": 1, "key_facts_total": 2,
         "lead_correct": False, "tags": ["a", "b"]},
        # abstained: 0 of 1, lead wrong
        {"answerable": True, "abstained": True, "key_facts_found": 0, "key_facts_total": 1,
         "lead_correct": False, "tags": ["b"]},
        {"answerable": False, "abstained": True},
        {"answerable": False, "abstained": False},
    ]  # fmt: skip
    m = fact_metrics(rows)
    assert m["key_fact_recall"] == round(3 / 5, 4)  # facts found over facts asked
    assert m["answer_complete"] == round(1 / 3, 4)
    assert m["lead_correct"] == round(1 / 3, 4)
    assert m["lead_correct_answered"] == 0.5  # the abstention left out
    assert m["wrongful_abstention"] == round(1 / 3, 4)
    assert m["unanswerable_abstention"] == 0.5
    tags = by_tag(rows)
    assert list(tags) == ["a", "b"]
    assert tags["b"]["answer_complete"] == 0.0 and tags["a"]["lead_correct"] == 0.5


def _line(**row: object) -> str:
    return json.dumps(row) + "\n"


def test_loader_reads_facts_tags_and_split(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(
        _line(id="a", kind="single", question="dose?", relevant={"d": 2}, key_facts=[["\\d+ ?mg", "grams?"]],
              lead_facts=[["mg"]], tags=["dose"], split="dev")
        + _line(id="b", kind="unanswerable", question="x?", split="test"),
        encoding="utf-8",
    )  # fmt: skip
    a, b = load_eval_set(path)
    assert a.split == "dev" and b.split == "test"
    assert [p.pattern for p in a.turns[0].key_facts[0]] == ["\\d+ ?mg", "grams?"]
    assert a.turns[0].key_facts[0][0].search("40 MG")  # case-insensitive
    assert a.turns[0].tags == ("dose",)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"key_facts": [["(unclosed"]]}, "bad regular expression"),
        ({"key_facts": ["not a list"]}, "list of facts"),
        ({"key_facts": [[]]}, "list of facts"),
        ({"lead_facts": "mg"}, "list of facts"),
        ({"tags": "dose"}, "'tags' must be a list"),
        ({"split": "train"}, "'split' is 'train'"),
    ],
)
def test_loader_rejects_bad_fields(tmp_path: Path, row: dict[str, object], message: str) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(_line(id="a", kind="single", question="q?", relevant={"d": 1}, **row), encoding="utf-8")
    with pytest.raises(EvalDataError, match=message) as err:
        load_eval_set(path)
    assert f"{path}:1" in str(err.value)


def test_key_facts_need_relevant_documents(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    turns = [{"question": "q?", "relevant": {"d": 1}}, {"question": "r?", "key_facts": [["x"]]}]
    path.write_text(_line(id="c", kind="conversation", turns=turns), encoding="utf-8")
    with pytest.raises(EvalDataError, match="give it 'relevant'"):
        load_eval_set(path)


def test_shipped_clinician_set_loads_and_is_split_in_halves() -> None:
    items = load_eval_set(Path(__file__).resolve().parent.parent / "evals" / "clinician.jsonl")
    assert len(items) >= 150
    dev = sum(i.split == "dev" for i in items)
    assert {i.split for i in items} == {"dev", "test"} and abs(dev - (len(items) - dev)) <= 3
    assert sum(i.kind == "conversation" for i in items) >= 30


@pytest.mark.parametrize("name", ["clinician-extra.jsonl", "clinician-extra2.jsonl"])
def test_the_extra_clinician_sets_are_all_dev(name: str) -> None:
    items = load_eval_set(Path(__file__).resolve().parent.parent / "evals" / name)
    assert len(items) >= 80 and {i.split for i in items} == {"dev"}


@pytest.mark.parametrize("name", ["clinician.jsonl", "clinician-extra.jsonl", "clinician-extra2.jsonl"])
def test_every_fact_of_the_clinician_sets_is_stated_in_its_relevant_documents(name: str) -> None:
    """Answers are extractive: a fact no relevant digest states could never be found, so it is a bug in the set."""
    root = Path(__file__).resolve().parent.parent
    texts = {p.stem: p.read_text(encoding="utf-8") for p in (root / "corpus").rglob("*.md")}
    unreachable = []
    for item in load_eval_set(root / "evals" / name):
        for turn in item.turns:
            text = " ".join(texts[d] for d in turn.relevant)
            for fact in (*turn.key_facts, *turn.lead_facts):
                if not any(p.search(text) for p in fact):
                    unreachable.append((item.item_id, fact[0].pattern))
    assert unreachable == []
