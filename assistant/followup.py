"""Follow-up resolution: turn a question that leans on the conversation into a standalone retrieval query.

Works offline, without a language model. A topic lexicon, built from the index (document topics and titles, and
the abbreviations its vocabulary says the library defines, such as "amyotrophic lateral sclerosis (ALS)"), tells
which topic a question names. Then:

- a question that names a topic other than the conversation's starts afresh (no old topic dragged along);
- a question that names the conversation's topic stands alone already;
- a question that names something the corpus never mentions (and has no pronoun or "what about" that ties it to
  the conversation) asks about something else: it stands alone, and the composer abstains if nothing answers it;
- any other question leans on the conversation: the conversation's topic is added to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .lexical import spelling_terms, stop_words, terms
from .passagestore import document_fields
from .types import Document, Passage
from .vocab.corpus import CorpusVocabulary
from .vocab.words import MODIFIERS, PATIENT_WORDS, QUESTION_WORDS, aspects_of

MAX_LABEL_WORDS = 8
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")


@dataclass(frozen=True)
class TurnContext:
    """What a later turn may lean on: the question, what was searched, and the topic it was about."""

    question: str
    resolved_query: str
    topic: str


@dataclass(frozen=True)
class Resolution:
    query: str
    depends: bool
    topic: str  # the topic this turn is about ("" when not known yet: the caller takes it from the hits)


_LEANS = re.compile(
    r"\b(?:it|its|itself|this|that|these|those|they|them|their|the (?:disease|condition|disorder|illness|"
    r"syndrome|drug|medication|treatment|infection|same))\b|^\s*(?:and|also|what about|how about|what if|"
    r"what of|same for)\b",
    re.IGNORECASE,
)


_SWITCH = re.compile(
    r"^\s*(?:separately|unrelated(?:ly)?|on (?:a|another) (?:different|separate) (?:note|topic)|another question|"
    r"(?:a )?different (?:question|topic)|new (?:question|topic)|changing (?:the )?subject|switching topics?)\b",
    re.IGNORECASE,
)


# A follow-up that names a comorbidity or a population ("what if the patient has CKD?", "and in pregnancy?",
# "pt is 87, still worth it?"): it keeps the conversation's topic, even when the condition is a topic of its own.
_CONDITION = re.compile(
    r"^\s*(?:and|but|so)?\s*(?:what|how) if\b|^\s*and (?:if|in|for|with|an?|the)\b|^\s*(?:if|in|for|with) "
    r"(?:an?|the|my|pts?|patients?|people|someone|him|her|them|they|he|she|kids|children|pregnan\w*|elderly)\b"
    r"|\b(?:if|when) (?:the )?(?:pts?|patients?|they|he|she|person|someone)\b"
    r"|^\s*(?:(?:and|but|so|actually|also|ok|okay|oh),?\s+)?(?:the )?(?:pts?|patients?|she|he|they|shes|hes)"
    r"(?:'s|’s| is| are| has| have| had| was)?\b"
    r"|^\s*(?:(?:and|but|so|actually|also|ok|okay|oh),?\s+)?(?:she|he|they)['’](?:s|re)\b",
    re.IGNORECASE,
)


def names_a_condition(question: str) -> bool:
    """Whether a follow-up asks the same question for other patients (a comorbidity, a population, an age)."""
    return bool(_CONDITION.search(question))


def surface_topic(question: str) -> str:
    """The question's own topic words as written ("What is throat cancer?" -> "throat cancer")."""
    words = []
    for token in _TOKEN.findall(question):
        stems = terms(token)
        if stems and stems[0] not in QUESTION_WORDS and stems[0] not in MODIFIERS:
            words.append(token)
    return " ".join(words)


def content_terms(question: str) -> list[str]:
    """The question's own topic words: neither question words nor modifiers."""
    return [t for t in terms(question) if t not in QUESTION_WORDS and t not in MODIFIERS]


def leans_on_context(question: str) -> bool:
    """A pronoun ("it", "they"), or an opening that continues ("and ...", "what about ...")."""
    return bool(_LEANS.search(question))


def _key(text: str) -> tuple[str, ...]:
    return tuple(t.lower() for t in _TOKEN.findall(text))


class TopicLexicon:
    """Maps topic names (and the abbreviations the corpus defines for them) to topic labels."""

    def __init__(
        self, labels: dict[tuple[str, ...], str], abbreviations: dict[str, str], vocabulary: set[str]
    ):
        self.labels = labels
        self.abbreviations = abbreviations
        self.vocabulary = vocabulary

    @classmethod
    def build(
        cls,
        documents: Iterable[Document] | Mapping[str, Document],
        passages: Iterable[Passage],
        vocabulary: CorpusVocabulary | None = None,
    ) -> TopicLexicon:
        """Labels from the documents' topics (or titles; a generation's store is read column by column);
        abbreviations and known words from the library's vocabulary (built here when not given: an index
        stores one)."""
        if vocabulary is None:
            listed = list(documents.values() if isinstance(documents, Mapping) else documents)
            vocabulary, documents = CorpusVocabulary.build(listed, passages), listed
        if isinstance(documents, Mapping):
            names = document_fields(documents, ("doc_id", "topic", "title"))
        else:
            names = ((d.doc_id, d.topic, d.title) for d in documents)
        labels: dict[tuple[str, ...], str] = {}
        for doc_id, topic, title in names:
            # a title is a topic's name when there is no topic, unless it is only the document's id (a corpus
            # without titles), which names nothing a question would say
            for name in (topic, title if not topic and title != doc_id else None):
                key = _key(name or "")
                if key and len(key) <= MAX_LABEL_WORDS and (len(key) > 1 or key[0] not in stop_words()):
                    labels.setdefault(key, topic or title)
        abbreviations: dict[str, str] = {}
        for short, expansions in vocabulary.abbreviations.items():
            for e in expansions:
                words = _key(e.long)
                label = next((labels[words[i:]] for i in range(len(words)) if words[i:] in labels), None)
                if label:  # the long form ends with a topic's name
                    abbreviations.setdefault(short, label)
                    break
        known = set(vocabulary.stem_docs)
        for key in labels:
            known.update(spelling_terms(" ".join(key)))
        return cls(labels, abbreviations, known)

    def mentions(self, question: str) -> list[str]:
        """Topic labels named in `question`, longest name first."""
        words = _key(question)
        found: list[tuple[int, str]] = []
        for n in range(min(MAX_LABEL_WORDS, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                label = self.labels.get(words[i : i + n])
                if label and label not in (f for _, f in found):
                    found.append((n, label))
        for token in _TOKEN.findall(question):
            label = self.abbreviations.get(token)
            if label and label not in (f for _, f in found):
                found.append((len(_key(label)), label))
        return [label for _, label in sorted(found, key=lambda x: -x[0])]

    def unknown_terms(self, question: str, said_otherwise: Sequence[str] = ()) -> list[str]:
        """Content words of `question` (stemmed) that no passage or topic of the corpus uses, in either
        British or American spelling, less the words of `said_otherwise` (words the reading found the
        library's word for: "detox" is written "assisted withdrawal")."""
        other = {t for word in said_otherwise for t in terms(word)}
        return [
            t
            for t, canonical in zip(terms(question), spelling_terms(question), strict=True)
            if canonical not in self.vocabulary
            and t not in other
            and t not in QUESTION_WORDS
            and t not in PATIENT_WORDS
            and not any(ch.isdigit() for ch in t)  # ages, doses, "80s"
        ]

    def unknown_names(self, question: str) -> list[str]:
        """Names in `question` (capitalised past its first word, or acronyms) that the corpus never mentions."""
        tokens = _TOKEN.findall(question)
        names = [
            t for i, t in enumerate(tokens) if (i > 0 and t[:1].isupper()) or (len(t) > 1 and t.isupper())
        ]
        return [n for n in names if any(term not in self.vocabulary for term in spelling_terms(n))]


def resolve(
    question: str,
    history: Sequence[TurnContext],
    strategy: str = "entity-carry",
    lexicon: TopicLexicon | None = None,
    topic_alone: Callable[[str], str] | None = None,
) -> Resolution:
    """Turn `question` into a standalone retrieval query, given the earlier turns (oldest first).

    `topic_alone(question)`, when given, names the topic the question retrieves on its own: a question with
    topic words of its own (no pronoun tying it to the conversation) whose own topic differs starts afresh.
    """
    if lexicon is not None:
        mentioned = lexicon.mentions(question)
    else:  # no corpus to name topics: a question with topic words of its own, not tied by a pronoun, names one
        own = surface_topic(question)
        mentioned = [own] if own and not leans_on_context(question) else []
    own_topic = mentioned[0] if mentioned else ""
    if not history or strategy == "none":
        return Resolution(question, False, own_topic)
    if strategy == "prepend":
        return Resolution(f"{history[0].question} {question}", True, history[-1].topic)
    topic = history[-1].topic
    if not topic or topic in mentioned:
        return Resolution(question, False, topic or own_topic)
    if names_a_condition(question) and not _SWITCH.search(question):
        return Resolution(_carry(question, topic, history[-1]), True, topic)
    if mentioned or _SWITCH.search(question):
        return Resolution(question, False, own_topic)
    if not leans_on_context(question):
        if lexicon is not None and lexicon.unknown_names(question):
            return Resolution(question, False, "")
        if topic_alone is not None and len(content_terms(question)) >= 2:
            alone = topic_alone(question)
            if alone and alone != topic:
                return Resolution(question, False, alone)
    return Resolution(_carry(question, topic, history[-1]), True, topic)


def _carry(question: str, topic: str, last: TurnContext) -> str:
    """A follow-up searched with the conversation's topic and what the turn before asked of it ("target
    level?" after "how often are lithium levels checked" searches lithium levels too)."""
    if aspects_of(
        question
    ):  # a new aspect of the topic ("how is it diagnosed?"), not more of the last subject
        return f"{question} {topic}"
    own = set(terms(question)) | set(terms(topic))
    subject = [
        w for w in _TOKEN.findall(surface_topic(last.resolved_query)) if terms(w) and terms(w)[0] not in own
    ]
    return " ".join([question, topic, *subject])


_OPENER = re.compile(
    r"^\s*(?:(?:and|but|so|also|ok|okay)\b[\s,]*)*(?:(?:what|how) about|what of|same for)?\s*", re.IGNORECASE
)
_RELATION = re.compile(
    r"^(?:in|for|with|without|during|after|before|if|when|while|on|under|over|at|among|from|by|vs|versus)\b",
    re.IGNORECASE,
)
_IT = re.compile(r"\b(?:it|this|that|the (?:disease|condition|disorder|illness|syndrome|infection))\b", re.I)


def read_as(plain: str, resolution: Resolution) -> str:
    """The question as read, in words a clinician reads: `plain` (shorthand expanded, typos corrected) and,
    for a follow-up, the conversation's topic put where the question leans on it ("and in black patients?"
    about hypertension reads "hypertension in black patients")."""
    text = re.sub(r"\s+", " ", plain).strip().rstrip("?.! ")
    topic = resolution.topic.strip()
    if not resolution.depends or not topic:
        return text
    name = topic[0].lower() + topic[1:] if topic[1:2].islower() else topic
    rest = _OPENER.sub("", text, count=1).strip(" ,")
    if not rest:
        return name
    if set(terms(topic)) <= set(terms(rest)):
        return rest
    if _RELATION.match(rest):
        return f"{name} {rest}"
    if _IT.search(rest):
        return _IT.sub(name, rest, count=1)
    return f"{rest} in {name}"
