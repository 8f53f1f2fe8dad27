"""Suggested follow-up questions: natural questions about the answer's topic that nobody asked yet and that the
index can answer (each checked once with the same retrieval and composer thresholds as a real question, and the
verdict kept), so a click never leads to an abstention."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from .lexical import terms
from .types import Answer, Hit
from .vocab.words import FOLLOWUP_TEMPLATES, aspects_of

# A screening programme is not a disease: it is not treated or prevented, but offered, repeated and stopped.
SCREENING_TEMPLATES: dict[str, str] = {
    "overview": "Who should be screened for {x}?",
    "special populations": "When should {x} screening stop?",
    "monitoring": "How often should {x} screening be repeated?",
    "prevention": "What are the harms of {x} screening?",
    "key findings": "Does {x} screening reduce deaths?",
    "epidemiology": "How common is {x}?",
    "causes and risk factors": "What are the risk factors for {x}?",
}


def _name(topic: str) -> str:
    """A topic as it reads inside a sentence: 'Atrial fibrillation' -> 'atrial fibrillation', 'COPD' stays."""
    return topic if topic[:2].isupper() else topic[0].lower() + topic[1:]


def candidates(topic: str, sections: set[str]) -> list[str]:
    """The questions a topic's sections can answer, in the order clinicians ask them."""
    if topic.lower().endswith(" screening"):
        x = _name(topic[: -len(" screening")])
        return [t.format(x=x) for s, t in SCREENING_TEMPLATES.items() if s in sections]
    return [t.format(t=_name(topic)) for s, t in FOLLOWUP_TEMPLATES.items() if s in sections]


class Suggester:
    """Two to four follow-ups for an answer; `answerable(question)` says whether the index answers one."""

    def __init__(
        self, sections: Iterable[tuple[str, str]], answerable: Callable[[str], bool], cache_size: int = 4096
    ) -> None:
        """`sections`: the (topic, section heading) pairs of the index's passages."""
        self.answerable = answerable
        self.cache_size = cache_size
        self._verdicts: OrderedDict[str, bool] = OrderedDict()
        self._lock = threading.Lock()
        self._sections: dict[str, set[str]] = {}
        for topic, section in sections:
            self._sections.setdefault(topic, set()).add(section.lower())

    def _answers(self, question: str) -> bool:
        with self._lock:
            if question in self._verdicts:
                self._verdicts.move_to_end(question)
                return self._verdicts[question]
        verdict = self.answerable(question)  # outside the lock: other requests go on meanwhile
        with self._lock:
            self._verdicts[question] = verdict
            if len(self._verdicts) > self.cache_size:
                self._verdicts.popitem(last=False)
        return verdict

    def warm(self) -> int:
        """Check every candidate question of every topic now (the server does this once it is ready, so that
        no request pays for it); returns how many are answerable."""
        return sum(
            self._answers(q)
            for topic, sections in self._sections.items()
            for q in candidates(topic, sections)
        )

    def suggest(self, hits: Sequence[Hit], answer: Answer, asked: Sequence[str]) -> list[str]:
        if answer.abstained or not hits or not hits[0].document.topic:
            return []
        topic = hits[0].document.topic
        covered = {(s.section or "").lower() for s in answer.sentences} | aspects_of(" ".join(asked))
        asked_terms = [set(terms(q)) for q in asked]
        sections = self._sections.get(topic, set()) - covered
        out: list[str] = []
        for question in candidates(topic, sections):
            if any(set(terms(question)) <= a for a in asked_terms):
                continue  # asked already, in other words
            if self._answers(question):
                out.append(question)
                if len(out) == 4:
                    break
        return out if len(out) >= 2 else []
