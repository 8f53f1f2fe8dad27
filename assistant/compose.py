"""The answer composer: extractive, cited, organised, and honest about weak evidence.

`compose(question, query, hits, settings, ...) -> Answer` is a pure function: no I/O, no model calls,
deterministic. Every answer sentence is copied verbatim from the passage(s) it cites.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .embed import Vectors
from .lead import drug_words, lead_adjustment, profile
from .lexical import terms
from .render import DISCLAIMER, escape_markdown, reference, render_markdown, render_text
from .settings import ComposerSettings
from .types import Answer, AnswerSentence, Hit
from .vocab.reading import Reading, reading_of_part
from .vocab.words import PATIENT_WORDS, QUANTITY, QUESTION_WORDS, aspects_of

ABSTAIN_TEXT = "The indexed sources do not answer this question."

# Canonical order of section headings (what clinicians ask, in the order they ask it).
SECTION_ORDER = [
    "overview", "epidemiology", "causes and risk factors", "presentation", "diagnosis", "differential diagnosis",
    "assessment", "treatment", "monitoring", "prevention", "prognosis", "special populations", "referral",
    "study design", "key findings", "results", "limitations",
]  # fmt: skip


@dataclass(frozen=True, eq=False)  # compared by identity: one candidate per sentence of a hit
class Candidate:
    hit_rank: int
    sentence_index: int
    text: str
    score: float
    section: str
    vector: Vectors | None = None
    term_set: frozenset[str] = field(default_factory=frozenset)
    relevance: float = 0.0  # the score without the passage prior and the boosts: what thresholds compare


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _section_key(section: str) -> tuple[int, str]:
    s = section.strip().lower()
    return (SECTION_ORDER.index(s) if s in SECTION_ORDER else len(SECTION_ORDER), s)


def _candidates(
    question: str,
    query: str,
    hits: Sequence[Hit],
    settings: ComposerSettings,
    query_vector: Vectors | None,
    sentence_vectors: Mapping[str, Vectors] | None,
    follow_up_topic: str | None = None,
) -> list[Candidate]:
    """Every sentence of the hits, scored against the retrieval query.

    `relevance` mixes embedding similarity and term overlap (the query's terms found in the sentence, its section
    heading or its document's topic; fragments are marked down). `score`, which orders the sentences, subtracts
    `passage_weight` x how far the sentence's passage falls below the best one in dense retrieval score, adds a
    boost for a section that answers the aspect asked about, and, for a follow-up on `follow_up_topic`, a boost to
    that topic's sentences for the words the user asked this time (or, when the follow-up names only an aspect,
    for the sections that answer it).
    """
    query_terms = set(terms(query))
    focus = set(terms(question)) - QUESTION_WORDS if follow_up_topic else set()
    asked = aspects_of(query)
    gaps = _passage_gaps(hits)
    out: list[Candidate] = []
    for rank, hit in enumerate(hits):
        vectors = (sentence_vectors or {}).get(hit.passage.passage_id)
        # A sentence is read under its heading and within its document's topic: "Supportive care in ALS is
        # central" shares no word with "How is it treated? Amyotrophic lateral sclerosis", but its source's does.
        context = set(terms(f"{hit.passage.section} {hit.document.topic or ''}"))
        for j, text in enumerate(hit.passage.sentence_texts()):
            term_set = frozenset(terms(text))
            lexical = len(query_terms & (term_set | context)) / len(query_terms) if query_terms else 0.0
            vector = vectors[j] if vectors is not None and j < len(vectors) else None
            if vector is not None and query_vector is not None:
                semantic = float(np.dot(query_vector, vector))
            else:
                semantic = lexical
            relevance = (1 - settings.lexical_weight) * semantic + settings.lexical_weight * lexical
            if len(text.split()) < 4:  # headings, fragments and stray labels never lead an answer
                relevance -= 0.2
            score = relevance - settings.passage_weight * gaps[rank]
            if hit.passage.section.lower() in asked:  # the section answers the aspect asked about
                score += settings.aspect_boost
            if follow_up_topic and (hit.document.topic or hit.document.title) == follow_up_topic:
                if focus:  # the follow-up's own words ("what about bulbar onset?")
                    score += settings.focus_boost * len(focus & term_set) / len(focus)
                elif hit.passage.section.lower() in asked:  # only an aspect ("and the prognosis?")
                    score += settings.focus_boost
            out.append(Candidate(rank, j, text, score, hit.passage.section, vector, term_set, relevance))
    return out


def _passage_gaps(hits: Sequence[Hit]) -> list[float]:
    """How far each hit's dense retrieval score (cosine) falls below the best hit's; 0 without dense scores.

    A hit only the lexical ranking found has no dense score: it counts as the lowest dense score seen.
    """
    dense = [h.components.get("dense") for h in hits]
    seen = [d for d in dense if d is not None]
    if not seen:
        return [0.0] * len(hits)
    top, low = max(seen), min(seen)
    return [top - (d if d is not None else low) for d in dense]


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


def key_term_coverage(
    query: str,
    hits: Sequence[Hit],
    heavy: Collection[str] = (),
    ignore: Collection[str] = (),
    alternatives: Mapping[str, Collection[str]] | None = None,
) -> float:
    """Share of the query's topic words (not its generic question words, nor `ignore`) found anywhere in the
    evidence; the `heavy` words (names no source uses, such as an unknown acronym) count twice; a word is also
    found through its `alternatives` (words the sources may use instead: "elderly" -> "older")."""
    key = set(terms(query)) - QUESTION_WORDS - set(ignore)
    if not key:
        return 1.0
    weight = {t: 2 if t in heavy else 1 for t in key}
    evidence: set[str] = set()
    for hit in hits:
        evidence.update(
            terms(f"{hit.document.title} {hit.document.topic or ''} {hit.passage.section} {hit.passage.text}")
        )
    prefixes = {t[:6] for t in evidence if len(t) >= 6}  # "pregnant" is found in "pregnancy" (pregnanc)

    def seen(t: str) -> bool:
        return t in evidence or (len(t) >= 6 and t[:6] in prefixes)

    found = [t for t in key if seen(t) or any(seen(a) for a in (alternatives or {}).get(t, ()))]
    return sum(weight[t] for t in found) / sum(weight.values())


def _quantity_answered(question: str, candidates: Sequence[Candidate], settings: ComposerSettings) -> bool:
    """A question that asks for a number (a dose, a rate) needs a usable sentence that gives one and shares
    at least half of the question's topic words."""
    if not QUANTITY.search(question):
        return True
    key = {t for t in terms(question) if not any(ch.isdigit() for ch in t)} - QUESTION_WORDS - PATIENT_WORDS
    for c in candidates:
        usable = c.relevance >= settings.min_sentence_score and re.search(r"\d", c.text)
        if usable and (not key or len(key & c.term_set) / len(key) >= 0.5):
            return True
    return False


def _dose_answered(
    reading: Reading | None, candidates: Sequence[Candidate], settings: ComposerSettings
) -> bool:
    """A question for the dose of a named drug needs a usable sentence that gives a dose of that drug."""
    if reading is None or "dose" not in reading.kinds:
        return True
    drugs = {t for d in drug_words(reading.plain, classes=False) for t in terms(d)}
    if not drugs:
        return True  # a class ("steroid dose"): the sources name the drug instead
    return any(
        c.relevance >= settings.min_sentence_score and profile(c.text).dose and drugs & c.term_set
        for c in candidates
    )


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
) -> Answer:
    """Build the answer for `question` (retrieval query `query`) from `hits`. Pure and deterministic.

    `unknown_terms` are words of the question that the corpus never uses: with any of them, the evidence must
    be stronger (`abstain_below_unknown`) before the composer answers. `follow_up_topic` is the conversation's
    topic when `question` is a follow-up that leans on it (its words of its own then lead the answer).
    `reading` is the question understood (its words, the kind of answer it wants, its qualifiers and parts):
    the lead is the sentence that gives that kind of answer for those people, one lead per part. `topics`, when
    given, are the topics the answer may quote (sentences of documents on other topics are left out).
    """
    asked = reading.plain if reading is not None else question  # the words the user asked, understood
    candidates = _candidates(asked, query, hits, settings, query_vector, sentence_vectors, follow_up_topic)
    candidates.sort(key=lambda c: (-c.score, c.hit_rank, c.sentence_index))
    best = max((c.relevance for c in candidates), default=float("-inf"))
    unknown = {t for w in (reading.unknown if reading else ()) for t in terms(w)}
    ages = (
        {str(n) for n in (reading.age.low, reading.age.high) if n is not None}
        if reading and reading.age
        else set()
    )
    coverage = key_term_coverage(
        asked, hits, unknown, ignore=PATIENT_WORDS | ages
    )  # the user's words, not the topic a follow-up carries
    floor = settings.abstain_below_unknown if unknown_terms else settings.abstain_below
    usable = [
        c
        for c in candidates
        if c.relevance >= settings.min_sentence_score and _on_topic(hits[c.hit_rank], topics)
    ]
    answered = _quantity_answered(asked, candidates, settings) and _dose_answered(
        reading, candidates, settings
    )
    unknown_names = reading.unknown_names if reading is not None else ()
    if best < floor or not usable or coverage < 0.5 or not answered or unknown_names:
        return _abstain(question, query, hits, conversation_id, unknown_names)

    chosen = _leads(usable, reading, settings)
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


def _on_topic(hit: Hit, topics: Collection[str] | None) -> bool:
    """Whether a hit's document is on one of `topics` (documents without a topic are never filtered)."""
    return not topics or hit.document.topic is None or hit.document.topic in topics


def _follows(c: Candidate, chosen: Sequence[Candidate]) -> bool:
    """Whether the sentence `c` leans on (the one before it in its passage) is already in the answer."""
    return any(o.hit_rank == c.hit_rank and o.sentence_index == c.sentence_index - 1 for o in chosen)


def _lead(
    pool: Sequence[Candidate], reading: Reading | None, settings: ComposerSettings, window: float
) -> Candidate | None:
    """The best lead among `pool`: a score within `window` of the best, then the score plus what the sentence
    offers as an answer to `reading` (the kind of answer, the qualifiers; penalties for leaning on unseen text)."""
    if not pool:
        return None
    top = max(c.score for c in pool)
    near = [c for c in pool if c.score >= top - window]
    return max(
        near,
        key=lambda c: (c.score + lead_adjustment(reading, c.text, settings), -c.hit_rank, -c.sentence_index),
    )


def _leads(
    usable: Sequence[Candidate], reading: Reading | None, settings: ComposerSettings
) -> list[Candidate]:
    """The answer's lead sentences: one for each part of a multi-part question, the first part's first."""
    parts = reading.parts if reading is not None else ()
    if reading is None or not parts:
        first = _lead(usable, reading, settings, settings.lead_window)
        return [first] if first is not None else []
    leads: list[Candidate] = []
    for i, part in enumerate(parts):
        part_reading = reading_of_part(reading, part)
        part_terms = set(terms(part)) - QUESTION_WORDS
        pool = [c for c in usable if c not in leads and not _redundant(c, leads, settings.redundancy)]
        if i > 0 and part_terms:  # a later part must share its own words with its lead
            pool = [c for c in pool if part_terms & c.term_set] or pool
        lead = _lead(
            pool, part_reading, settings, settings.lead_window if i == 0 else 2 * settings.lead_window
        )
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
        by_section.setdefault(g[0].section or "", []).append(g)
    ordered_sections = sorted(by_section, key=_section_key)
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
