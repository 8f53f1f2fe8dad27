"""The evidence, sentence by sentence: every sentence of the retrieved passages scored against the question, and
the decision whether they answer it at all (`lead_pool`). Pure: no I/O, no model calls.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .embed import Vectors
from .lead import drug_words, profile
from .lexical import terms
from .settings import ComposerSettings
from .types import Hit
from .vocab.drugs import drug_classes
from .vocab.reading import Reading
from .vocab.words import PATIENT_WORDS, QUANTITY, QUESTION_WORDS, UNITS, aspects_of

# A value the question gives (a weight, an age, a score: "58 kg", "83", "1.5"), not a name ("type 2", "stage 3").
_VALUE = re.compile(r"\b\d{2,}(?:\.\d+)?\b|\b\d+\.\d+\b|\b\d+\s*(?:kg|mg|mcg|ml|mmol|mmhg|iu|units?)\b", re.I)


@lru_cache(maxsize=65536)
def class_terms(text: str) -> frozenset[str]:
    """The terms of the drug classes that the drugs `text` names belong to, by their INN stems ("atorvastatin"
    gives "statin", "apixaban" gives "doac" and "anticoagul")."""
    return frozenset(t for name in drug_classes(text) for t in terms(name))


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


def score_sentences(
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
            found = term_set | context | class_terms(text)  # "statin" is found in "atorvastatin"
            lexical = len(query_terms & found) / len(query_terms) if query_terms else 0.0
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


def key_term_coverage(
    query: str,
    hits: Sequence[Hit],
    heavy: Collection[str] = (),
    ignore: Collection[str] = (),
    alternatives: Mapping[str, Collection[str]] | None = None,
) -> float:
    """Share of the query's topic words (not its generic question words, the values it gives with their units,
    nor `ignore`) found anywhere in the evidence; the `heavy` words (names no source uses, such as an unknown
    acronym) count twice; a word is also found through its `alternatives` (words the sources may use instead:
    "elderly" -> "older")."""
    key = set(terms(_VALUE.sub(" ", query))) - QUESTION_WORDS - set(ignore) - UNITS
    if not key:
        return 1.0
    weight = {t: 2 if t in heavy else 1 for t in key}
    evidence: set[str] = set()
    for hit in hits:
        evidence.update(
            terms(f"{hit.document.title} {hit.document.topic or ''} {hit.passage.section} {hit.passage.text}")
        )
        evidence.update(class_terms(hit.passage.text))
    prefixes = {t[:6] for t in evidence if len(t) >= 6}  # "pregnant" is found in "pregnancy" (pregnanc)

    def seen(t: str) -> bool:
        return t in evidence or (len(t) >= 6 and t[:6] in prefixes)

    found = [t for t in key if seen(t) or any(seen(a) for a in (alternatives or {}).get(t, ()))]
    return sum(weight[t] for t in found) / sum(weight.values())


def _quantity_answered(
    question: str, candidates: Sequence[Candidate], settings: ComposerSettings, parts: Sequence[str] = ()
) -> bool:
    """A question that asks for a number (a dose, a rate) needs a usable sentence that gives one and shares
    at least half of the question's topic words; with `parts` (of a multi-part question), each part that asks
    for a number needs one that shares half of that part's words (`lead_pool` accepts either reading)."""
    for asked in [p for p in (parts or [question]) if QUANTITY.search(p)]:
        key = {t for t in terms(asked) if not any(ch.isdigit() for ch in t)} - QUESTION_WORDS - PATIENT_WORDS
        if not any(
            c.relevance >= settings.min_sentence_score
            and re.search(r"\d", c.text)
            and (not key or len(key & c.term_set) / len(key) >= 0.5)
            for c in candidates
        ):
            return False
    return True


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


@dataclass(frozen=True)
class Abstention:
    """Why `lead_pool` found nothing to answer with (names the library never mentions, if that was why)."""

    unknown_names: tuple[str, ...] = ()


def lead_pool(
    question: str,
    query: str,
    hits: Sequence[Hit],
    settings: ComposerSettings,
    *,
    query_vector: Vectors | None = None,
    sentence_vectors: Mapping[str, Vectors] | None = None,
    unknown_terms: Sequence[str] = (),
    follow_up_topic: str | None = None,
    reading: Reading | None = None,
    topics: Collection[str] | None = None,
) -> list[Candidate] | Abstention:
    """The usable sentences of the hits, best score first, or an `Abstention` when the evidence does not
    answer (see `compose`). Pure."""
    asked = reading.plain if reading is not None else question  # the words the user asked, understood
    candidates = score_sentences(
        asked, query, hits, settings, query_vector, sentence_vectors, follow_up_topic
    )
    candidates.sort(key=lambda c: (-c.score, c.hit_rank, c.sentence_index))
    best = max((c.relevance for c in candidates), default=float("-inf"))
    unknown = {t for w in (reading.unknown if reading else ()) for t in terms(w)}
    ages = (
        {str(n) for n in (reading.age.low, reading.age.high) if n is not None}
        if reading and reading.age
        else set()
    )
    # the user's words, not the topic a follow-up carries; each also found through its synonyms or, for an
    # expanded abbreviation, through the abbreviation itself (the sources may write "SSRI" alone)
    alternatives: dict[str, set[str]] = {}
    for word, alt in reading.alternatives if reading else ():
        for t in terms(word):
            alternatives.setdefault(t, set()).update(terms(alt))
    for short, expansion in reading.expansions if reading else ():
        for t in terms(expansion.long):
            alternatives.setdefault(t, set()).update(terms(short))
    coverage = key_term_coverage(asked, hits, unknown, ignore=PATIENT_WORDS | ages, alternatives=alternatives)
    floor = settings.abstain_below_unknown if unknown_terms else settings.abstain_below
    usable = [
        c
        for c in candidates
        if c.relevance >= settings.min_sentence_score and _on_topic(hits[c.hit_rank], topics)
    ]
    parts = reading.parts if reading is not None else ()
    quantity = _quantity_answered(asked, candidates, settings) or (
        bool(parts) and _quantity_answered(asked, candidates, settings, parts)
    )
    answered = quantity and _dose_answered(reading, candidates, settings)
    unknown_names = reading.unknown_names if reading is not None and settings.abstain_on_unknown_names else ()
    if best < floor or not usable or coverage < 0.5 or not answered or unknown_names:
        return Abstention(tuple(unknown_names))
    return usable


def _on_topic(hit: Hit, topics: Collection[str] | None) -> bool:
    """Whether a hit's document is on one of `topics` (documents without a topic are never filtered)."""
    return not topics or hit.document.topic is None or hit.document.topic in topics
