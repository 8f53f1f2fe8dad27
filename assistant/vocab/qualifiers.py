"""What a text says of the patients and the answer it is about: the kind of answer a question asks for, age bands,
special populations and contrasting qualifiers. Read alike in questions (`reading`) and in sentences (`lead`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..lexical import spelling_terms
from .drugs import is_drug_name
from .words import DRUG, QUESTION_WORDS, has_cue, tokens


@dataclass(frozen=True)
class AgeBand:
    low: int | None  # inclusive
    high: int | None  # exclusive


KIND_CUES: dict[str, tuple[str, ...]] = {
    "dose": ("dose", "doses", "dosing", "dosage", "how much", "mg", "mcg", "microgram"),
    "threshold": ("target", "threshold", "goal", "cutoff", "cut-off", "cut off", "level", "levels", "range",
                  "how high", "how low", "definition", "define", "at what"),
    "timing": ("how long", "how soon", "duration", "window", "how often", "frequency", "interval", "timing",
               "until", "how many days", "how many weeks", "how many months", "stop", "continue", "holiday"),
    "indication": ("when", "who", "should i", "worth", "indicat", "eligib", "start"),
    "who": ("who", "eligib", "which patients", "which people", "candidate", "candidates", "criteria"),
    "drug": ("drug", "drugs", "medication", "medications", "first-line", "first line", "agent", "antibiotic",
             "antibiotics", "regimen", "choice", "what to give", "which anticoag", "vasopressor", "inhaler",
             "treatment", "treat", "therapy", "manage", "management", "next", "what then", "options"),
    "diagnosis": ("diagnos", "criteria", "confirm", "investigat", "test", "tests", "testing", "workup"),
    "prognosis": ("prognos", "surviv", "mortality", "outlook", "life expectancy"),
}  # fmt: skip
YESNO = re.compile(
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
    "sex": {  # "women and girls able to have children" are not "a 20 year old man"; "men and women" are both
        "male": re.compile(r"\b(?:men|man|males?|boys?)\b", re.I),
        "female": re.compile(r"\b(?:women|woman|females?|girls?)\b", re.I),
    },
}  # fmt: skip


# "no comorbidities", "without diabetes": the word after the negation is what the patients lack. "not" and "non-"
# only before a condition ("not diabetic", "non-smoker"): "non-" mostly names things ("non-small cell",
# "non-invasive ventilation", "non-steroidal anti-inflammatory drugs").
_NEGATED = re.compile(
    r"\b(?:no|without)\s+(?:known |prior |previous |history of |other |type \d+ )?([a-z][a-z\-]*)"
    r"|\b(?:not (?:a |an )?|non-?)(diabetic|hypertensive|pregnant|obese|frail|smoker|smoking|septic|anaemic|anemic)\b",
    re.I,
)


def negated_of(text: str) -> frozenset[str]:
    """The stems of what `text` says its patients do not have ("no comorbidities" -> the stem of
    "comorbidities", "not diabetic" and "non-diabetic" -> that of "diabetic"); words that only ask or count
    ("risk", "evidence") are left out."""
    found: set[str] = set()
    for m in _NEGATED.finditer(text):
        found.update(t for t in spelling_terms(m.group(1) or m.group(2)) if t not in _GENERIC_STEMS)
    return frozenset(found)


_GENERIC_STEMS = frozenset(spelling_terms(" ".join(QUESTION_WORDS)))


def contrasts_of(text: str) -> frozenset[str]:
    """The contrasting qualifiers `text` states, as "group:label" ("prevention:primary")."""
    return frozenset(
        f"{group}:{label}"
        for group, labels in CONTRASTS.items()
        for label, rx in labels.items()
        if rx.search(text)
    )


_RATIO_UNIT = re.compile(r"\b(?:mg|mcg|micrograms?)\s*/\s*(?:mmol|g|dl|l)\b", re.I)
_NOT_A_DRUG = re.compile(r"\bdrugs? (holidays?|breaks?|interactions?|levels?)\b", re.I)


def kinds_of(text: str) -> frozenset[str]:
    """The kinds of answer `text` asks for. "How much" asks for a dose only of a drug ("how much
    overdiagnosis" asks for a number: a threshold), and "levels" asks for a target only when the question
    does not ask when or how often ("lithium levels how often" asks for timing)."""
    # "ACR 25 mg/mmol" gives a value, it asks for no dose; a "drug holiday" asks when to pause, not which drug
    words = tokens(_NOT_A_DRUG.sub(r"\1", _RATIO_UNIT.sub(" ", text)))
    kinds = {k for k, cues in KIND_CUES.items() if any(has_cue(words, c) for c in cues)}
    only_how_much = not any(has_cue(words, c) for c in KIND_CUES["dose"] if c != "how much")
    if "dose" in kinds and only_how_much and not (DRUG.search(text) or any(map(is_drug_name, words))):
        kinds.discard("dose")
        kinds.add("threshold")
    only_levels = not any(has_cue(words, c) for c in KIND_CUES["threshold"] if c not in ("level", "levels"))
    if "threshold" in kinds and "timing" in kinds and only_levels:
        kinds.discard("threshold")
    return frozenset(kinds)


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
