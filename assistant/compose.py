"""The answer composer: extractive, cited, organised, and honest about weak evidence.

`compose(question, query, hits, settings, ...) -> Answer` is a pure function: no I/O, no model calls,
deterministic. Every answer sentence is copied verbatim from the passage(s) it cites. The sentences are scored
and the decision to answer at all is taken in `evidence`; here the leads and the rest are chosen and rendered.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from .audience import PATIENT_SOURCES, lift, readable_first
from .embed import Vectors
from .evidence import Abstention, Candidate, lead_pool
from .lead import lead_adjustment, profile
from .lexical import terms
from .render import DISCLAIMER, escape_markdown, reference, render_markdown, render_text
from .scorer import LeadScorer, applies, may_lead
from .settings import ComposerSettings
from .themes import theme, theme_key
from .types import Answer, AnswerSentence, Hit
from .vocab.reading import Reading, reading_of_part
from .vocab.words import QUESTION_WORDS

ABSTAIN_TEXT = "The indexed sources do not answer this question."
NO_MATCH_TEXT = (
    "No source matches these filters (source types, years, topics or specialties): widen or clear them to search "
    "every source."
)


def no_match_text(year_min: int | None, year_max: int | None) -> str:
    """Why filtered retrieval found nothing: the years contradict each other, or the filters are too narrow."""
    if year_min is not None and year_max is not None and year_min > year_max:
        return (
            f"No source matches these filters: the 'from' year ({year_min}) is after the 'to' year ({year_max}). "
            "Swap them, or clear one."
        )
    return NO_MATCH_TEXT


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _redundant(c: Candidate, chosen: Sequence[Candidate], threshold: float) -> bool:
    for other in chosen:
        if c.vector is not None and other.vector is not None:
            if float(np.dot(c.vector, other.vector)) >= threshold:
                return True
        elif c.term_set and other.term_set:
            overlap = len(c.term_set & other.term_set) / len(c.term_set | other.term_set)
            if overlap >= threshold:
                return True
    return False


def _nearest_topics(hits: Sequence[Hit], n: int = 3) -> list[str]:
    topics: list[str] = []
    for hit in hits:
        topic: str = hit.document.topic or hit.document.title
        if topic not in topics:
            topics.append(topic)
    return topics[:n]


def compose(
    question: str,
    query: str,
    hits: Sequence[Hit],
    settings: ComposerSettings,
    *,
    query_vector: Vectors | None = None,
    sentence_vectors: Mapping[str, Vectors] | None = None,
    conversation_id: str | None = None,
    unknown_terms: Sequence[str] = (),
    follow_up_topic: str | None = None,
    reading: Reading | None = None,
    topics: Collection[str] | None = None,
    lead_scorer: LeadScorer | None = None,
    patient: tuple[float, float] | None = None,
) -> Answer:
    """Build the answer for `question` (retrieval query `query`) from `hits`. Pure and deterministic.

    `unknown_terms` are words of the question that the corpus never uses: with any of them, the evidence must
    be stronger (`abstain_below_unknown`) before the composer answers. `follow_up_topic` is the conversation's
    topic when `question` is a follow-up that leans on it (its words of its own then lead the answer).
    `reading` is the question understood (its words, the kind of answer it wants, its qualifiers and parts):
    the lead is the sentence that gives that kind of answer for those people, one lead per part. `topics`, when
    given, are the topics the answer may quote (sentences of documents on other topics are left out).
    `lead_scorer`, when given, chooses each lead among the usable sentences (else the hand-set adjustment).
    `patient`, given for the patient audience as (boost, tie), adds `boost` to the scores of sentences from
    patient-information sources and then puts the more readable of sentences scoring within `tie` of one
    another first.
    """
    pool = lead_pool(
        question,
        query,
        hits,
        settings,
        query_vector=query_vector,
        sentence_vectors=sentence_vectors,
        unknown_terms=unknown_terms,
        follow_up_topic=follow_up_topic,
        reading=reading,
        topics=topics,
    )
    if isinstance(pool, Abstention):
        return _abstain(question, query, hits, conversation_id, pool.unknown_names)
    usable = pool
    if patient is not None:
        boost, tie = patient
        leaflet = [h.document.source_type in PATIENT_SOURCES for h in hits]
        usable = readable_first(lift(pool, boost, lambda c: leaflet[c.hit_rank]), tie)
    chosen = _leads(usable, reading, settings, hits, lead_scorer)
    leads = len(chosen)
    distinct = leads
    floor_score = usable[0].score - settings.relative_margin
    for c in usable:
        if c.score < floor_score:
            break
        if c in chosen or (profile(c.text).dangling and not _follows(c, chosen)):
            continue
        if any(_norm(c.text) == _norm(o.text) for o in chosen):
            chosen.append(c)  # the same statement in another passage: cite both, costs no budget
        elif distinct < settings.max_sentences and not _redundant(c, chosen, settings.redundancy):
            chosen.append(c)
            distinct += 1
    return _render(question, query, hits, chosen, conversation_id, leads)


def _follows(c: Candidate, chosen: Sequence[Candidate]) -> bool:
    """Whether the sentence `c` leans on (the one before it in its passage) is already in the answer."""
    return any(o.hit_rank == c.hit_rank and o.sentence_index == c.sentence_index - 1 for o in chosen)


def _lead(
    pool: Sequence[Candidate],
    reading: Reading | None,
    settings: ComposerSettings,
    window: float,
    hits: Sequence[Hit] = (),
    scorer: LeadScorer | None = None,
) -> Candidate | None:
    """The best lead among `pool`. With a `scorer`: its choice when the question asks for a kind of answer or
    names qualifiers, else the best-scored sentence that may lead (`may_lead`). Without one: a score within
    `window` of the best, then the score plus what the sentence offers as an answer to `reading` (the kind of
    answer, the qualifiers; penalties for leaning on unseen text)."""
    if not pool:
        return None
    if scorer is not None:
        if applies(reading):
            guideline = [hits[c.hit_rank].document.source_type == "guideline" for c in pool]
            return pool[scorer.best(reading, pool, guideline)]
        return pool[min(may_lead(reading, pool), key=lambda i: (-pool[i].score, pool[i].hit_rank, i))]
    top = max(c.score for c in pool)
    near = [c for c in pool if c.score >= top - window]
    return max(
        near,
        key=lambda c: (c.score + lead_adjustment(reading, c.text, settings), -c.hit_rank, -c.sentence_index),
    )


def _leads(
    usable: Sequence[Candidate],
    reading: Reading | None,
    settings: ComposerSettings,
    hits: Sequence[Hit] = (),
    scorer: LeadScorer | None = None,
) -> list[Candidate]:
    """The answer's lead sentences: one for each part of a multi-part question, the first part's first."""
    parts = reading.parts if reading is not None else ()
    if reading is None or not parts:
        first = _lead(usable, reading, settings, settings.lead_window, hits, scorer)
        return [first] if first is not None else []
    leads: list[Candidate] = []
    for i, part in enumerate(parts):
        part_reading = reading_of_part(reading, part)
        part_terms = set(terms(part)) - QUESTION_WORDS
        pool = [c for c in usable if c not in leads and not _redundant(c, leads, settings.redundancy)]
        if i > 0 and part_terms:  # a later part must share its own words with its lead
            pool = [c for c in pool if part_terms & c.term_set] or pool
        window = settings.lead_window if i == 0 else 2 * settings.lead_window
        lead = _lead(pool, part_reading, settings, window, hits, scorer)
        if lead is not None:
            leads.append(lead)
    return leads


def _render(
    question: str,
    query: str,
    hits: Sequence[Hit],
    chosen: Sequence[Candidate],
    conversation_id: str | None,
    leads: int = 1,
) -> Answer:
    # Merge identical statements found in several passages into one sentence citing all of them.
    statements: dict[str, list[Candidate]] = {}
    for c in chosen:
        statements.setdefault(_norm(c.text), []).append(c)
    groups = list(statements.values())
    leads = max(1, min(leads, len(groups)))
    lead_groups, rest = groups[:leads], groups[leads:]
    by_section: dict[str, list[list[Candidate]]] = {}
    for g in rest:
        by_section.setdefault(theme(g[0].section or ""), []).append(g)
    ordered_sections = sorted(by_section, key=theme_key)
    use_headings = len([s for s in ordered_sections if s]) >= 2
    sequence: list[tuple[str | None, list[Candidate]]] = [(None, g) for g in lead_groups]
    for section in ordered_sections:
        for g in sorted(by_section[section], key=lambda g: (g[0].hit_rank, g[0].sentence_index)):
            sequence.append((section if use_headings else None, g))

    numbers: dict[str, int] = {}  # document id -> reference number, in order of first use
    cited: dict[str, list[int]] = {}  # document id -> hit ranks of its cited passages
    sentences: list[AnswerSentence] = []
    for heading, g in sequence:
        cites = []
        for c in g:
            doc_id = hits[c.hit_rank].document.doc_id
            n = numbers.setdefault(doc_id, len(numbers) + 1)
            if c.hit_rank not in cited.setdefault(doc_id, []):
                cited[doc_id].append(c.hit_rank)
            if n not in cites:
                cites.append(n)
        sentences.append(AnswerSentence(text=g[0].text, citations=sorted(cites), section=heading or None))
    references = [reference(n, [hits[r] for r in cited[doc_id]]) for doc_id, n in numbers.items()]
    return Answer(
        conversation_id=conversation_id,
        question=question,
        resolved_query=query,
        abstained=False,
        answer_markdown=render_markdown(sentences, references, leads),
        answer_text=render_text(sentences, references),
        sentences=sentences,
        references=references,
        disclaimer=DISCLAIMER,
    )


def _abstain(
    question: str,
    query: str,
    hits: Sequence[Hit],
    conversation_id: str | None,
    unknown_names: Sequence[str] = (),
) -> Answer:
    topics = _nearest_topics(hits)
    text = ABSTAIN_TEXT
    if unknown_names:
        text += " They never mention " + ", ".join(f'"{n}"' for n in unknown_names) + "."
    if topics:
        text += " The nearest topics they cover: " + "; ".join(topics) + "."
    return abstention(question, query, conversation_id, text)


def abstention(question: str, query: str, conversation_id: str | None, text: str) -> Answer:
    """An answer that quotes nothing and says why (`text`)."""
    return Answer(
        conversation_id=conversation_id,
        question=question,
        resolved_query=query,
        abstained=True,
        answer_markdown=f"{escape_markdown(text)}\n\n---\n*{DISCLAIMER}*\n",
        answer_text=f"{text}\n\n{DISCLAIMER}\n",
        sentences=[],
        references=[],
        disclaimer=DISCLAIMER,
    )
