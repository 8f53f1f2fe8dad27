"""Who an answer is for: a clinician (the default) or a patient or carer.

The answer stays extractive for both: no sentence is rewritten. For a patient the retriever prefers
patient-information sources, the composer puts the more readable of equally relevant sentences first, and the
disclaimer is in plain language. For a clinician, patient-information sources give way to professional ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Literal, Protocol, TypeVar

from .evidence import Candidate
from .render import DISCLAIMER
from .types import SOURCE_TYPES, Answer

Audience = Literal["clinician", "patient"]
AUDIENCES: tuple[str, ...] = ("clinician", "patient")

PATIENT_DISCLAIMER = (
    "This information is quoted from the sources listed. It is general information, not advice about you: "
    "talk to your doctor, nurse or pharmacist about your own situation, and in an emergency call your local "
    "emergency number."
)

PATIENT_SOURCES = ("patient-information",)


def preferred_source_types(audience: str) -> tuple[str, ...]:
    """The source types whose passages retrieval lifts for `audience`."""
    if audience == "patient":
        return PATIENT_SOURCES
    return tuple(t for t in SOURCE_TYPES if t not in PATIENT_SOURCES)


@lru_cache(maxsize=8192)
def grade(text: str) -> float:
    """The school grade needed to read `text` (Coleman-Liau index, from textstat: letters and sentences per
    word, so it needs no syllable dictionary). Lower is easier."""
    import textstat  # type: ignore[import-untyped]

    return float(textstat.coleman_liau_index(text))


class _Scored(Protocol):  # what `readable_first` needs of a candidate sentence
    @property
    def text(self) -> str: ...

    @property
    def score(self) -> float: ...


S = TypeVar("S", bound=_Scored)


def readable_first(candidates: Sequence[S], tie: float) -> list[S]:
    """`candidates` (best score first) with each run of equally relevant ones (scores within `tie` of the run's
    best) put in reading order, easiest first; the order of the runs is kept."""
    out: list[S] = []
    run: list[S] = []
    for c in candidates:
        if run and run[0].score - c.score > tie:
            out += sorted(run, key=lambda r: grade(r.text))
            run = []
        run.append(c)
    return out + sorted(run, key=lambda r: grade(r.text))


def lift(
    candidates: Sequence[Candidate], boost: float, preferred: Callable[[Candidate], bool]
) -> list[Candidate]:
    """`candidates` with `boost` added to the score of the `preferred` ones, best score first again."""
    lifted = [replace(c, score=c.score + boost) if preferred(c) else c for c in candidates]
    return sorted(lifted, key=lambda c: (-c.score, c.hit_rank, c.sentence_index))


def for_audience(answer: Answer, audience: str) -> Answer:
    """The answer marked with its audience; a patient's carries the plain-language disclaimer."""
    answer.audience = "patient" if audience == "patient" else "clinician"
    if answer.audience == "patient":
        answer.answer_markdown = answer.answer_markdown.replace(f"*{DISCLAIMER}*", f"*{PATIENT_DISCLAIMER}*")
        answer.answer_text = answer.answer_text.replace(DISCLAIMER, PATIENT_DISCLAIMER)
        answer.disclaimer = PATIENT_DISCLAIMER
    return answer
