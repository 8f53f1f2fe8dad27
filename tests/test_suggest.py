"""Suggested follow-ups: natural questions for the topic's sections, screening topics asked as screening, only
those the index answers, none already asked, each verdict computed once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from assistant.suggest import Suggester, candidates
from assistant.types import Answer, AnswerSentence, Document, Hit, Passage


def _doc(doc_id: str, topic: str) -> Document:
    return Document(doc_id, doc_id, "guideline", "Org", 2020, url="https://example.org", topic=topic)


def _index(sections: dict[str, list[str]]) -> Any:
    docs = {f"d{i}": _doc(f"d{i}", topic) for i, topic in enumerate(sections)}
    passages = [
        Passage(f"{doc_id}:{j}", doc_id, section, "Text.", ((0, 5),), j)
        for doc_id, doc in docs.items()
        for j, section in enumerate(sections[doc.topic or ""])
    ]
    return SimpleNamespace(
        documents=docs,
        passages=passages,
        sections=[(d.topic, p.section) for p in passages if (d := docs[p.doc_id]).topic],
    )


def _answer(section: str | None = None) -> Answer:
    return Answer(
        question="q", resolved_query="q", abstained=False, answer_markdown="", disclaimer="d", references=[],
        sentences=[AnswerSentence(text="Text.", citations=[1], section=section)],
    )  # fmt: skip


def test_screening_topics_are_asked_as_screening() -> None:
    asked = candidates("Lung cancer screening", {"overview", "prevention", "treatment"})
    assert asked == [
        "Who should be screened for lung cancer?",
        "What are the harms of lung cancer screening?",
    ]
    assert not any("prevented" in q or "treated" in q for q in asked)
    assert candidates("Atrial fibrillation", {"treatment"}) == ["How is atrial fibrillation treated?"]
    assert candidates("COPD", {"diagnosis"}) == ["How is COPD diagnosed?"]  # an acronym keeps its capitals


def test_only_answerable_questions_unasked_and_each_checked_once() -> None:
    index = _index({"Gout": ["Diagnosis", "Treatment", "Prognosis", "Prevention"]})
    checked: list[str] = []

    def answerable(question: str) -> bool:
        checked.append(question)
        return "prognosis" not in question  # the index cannot answer the prognosis question

    suggester = Suggester(index.sections, answerable)
    hit = Hit(index.passages[0], index.documents["d0"], 1.0)
    first = suggester.suggest([hit], _answer("Treatment"), ["How do I diagnose gout?"])
    # treatment is covered by the answer, diagnosis was asked, prognosis is unanswerable: only prevention is
    # left, and one suggestion alone is not offered
    assert first == []
    assert suggester.suggest([hit], _answer(), ["What is gout?"]) == [
        "How is gout diagnosed?", "How is gout treated?", "How can gout be prevented?",
    ]  # fmt: skip
    assert len(checked) == len(set(checked))  # every verdict is computed once and kept


def test_no_suggestions_for_an_abstention_or_a_document_without_topic() -> None:
    index = _index({"Gout": ["Diagnosis", "Treatment"]})
    suggester = Suggester(index.sections, lambda _q: True)
    hit = Hit(index.passages[0], index.documents["d0"], 1.0)
    abstained = _answer().model_copy(update={"abstained": True})
    assert suggester.suggest([hit], abstained, ["q"]) == []
    untopical = Hit(index.passages[0], Document("x", "X", "research", "J", 2020), 1.0)
    assert suggester.suggest([untopical], _answer(), ["q"]) == []
    assert suggester.warm() == 2  # both candidate questions of the one topic are answerable
