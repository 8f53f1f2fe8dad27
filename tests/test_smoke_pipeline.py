"""End to end on the fixture corpus with the fake embedder: ask, cite, follow up."""

from __future__ import annotations

import re

from assistant.service import Assistant


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def test_answer_is_verbatim_and_cited(assistant: Assistant) -> None:
    answer = assistant.ask("What is the first-line urate-lowering therapy for gout?")
    assert not answer.abstained
    refs = {r.n: r for r in answer.references}
    assert "Allopurinol is the first-line urate-lowering therapy for recurrent gout." in [
        s.text for s in answer.sentences
    ]
    for s in answer.sentences:
        assert s.citations
        for n in s.citations:
            assert _norm(s.text) in _norm(refs[n].passage_text)
    assert sorted(refs) == list(range(1, len(refs) + 1))
    assert answer.conversation_id
    assert "[1]" in answer.answer_markdown


def test_followup_carries_topic(assistant: Assistant) -> None:
    first = assistant.ask("How is gout diagnosed?")
    second = assistant.ask("How is it treated?", conversation_id=first.conversation_id)
    assert "gout" in second.resolved_query.lower()
    assert any(r.doc_id.startswith("gout") for r in second.references)
