"""What a sentence offers as an answer (a drug, a dose, a threshold, a time, criteria, a finding), whether it
agrees with the question's qualifiers, and whether it stands on its own: the composer's choice of the lead
sentence and of the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from .lexical import spelling_terms
from .settings import ComposerSettings
from .vocab.drugs import drug_classes, is_drug_name
from .vocab.qualifiers import AgeBand, age_band, contrasts_of, negated_of, populations_of
from .vocab.reading import Reading
from .vocab.words import DRUG

_WORDS = re.compile(r"[A-Za-z][A-Za-z\-]{4,}")
_DOSE = re.compile(r"\b\d+(?:[.,]\d+)?\s*(?:-|to|–)?\s*\d*(?:[.,]\d+)?\s*(?:mg|micrograms?|mcg|µg|g|units?|ml|mL|IU|mmol)\b"
                   r"(?:/kg|/day|/m2)?", re.I)  # fmt: skip
_THRESHOLD = re.compile(
    r"\d+(?:[.,]\d+)?\s*(?:%|mmhg|mm hg|mmol|mg/dl|ml/min|kg/m|/\d+|points?|or (?:more|above|higher|less|lower|"
    r"below|over|under|greater))|\b(?:below|above|under|over|less than|more than|at least|at or above|"
    r"greater than|lower than|higher than|or more|or higher|or above)\s+(?:a |an )?\w*\s*\d|[<>≤≥]\s*\d|"
    r"score of \d|\bgrade \d|\b\d+(?:\.\d+)?\s*(?:to|-|–)\s*\d+(?:\.\d+)?\b(?!\s*(?:hours?|days?|weeks?|months?|"
    r"years?|minutes?|times|doses|mg\b|g\b|micrograms?))",  # a range of durations or doses is no threshold
    re.I,
)
_TIME = re.compile(
    r"\b\d+(?:\.\d+)?\s*(?:(?:-|to|–|or)\s*\d+(?:\.\d+)?\s*)?(?:hours?|h|days?|weeks?|months?|years?|minutes?|"
    r"min|mins)\b|\bwithin \w*\s*\d|\blifelong\b|\bindefinite\w*|\bimmediately\b|\bas soon as\b|"
    r"\bannual\w*|\byearly\b|\bbiennial\w*|\b(?:one|two|three|four|five|six|twelve) (?:hours?|days?|weeks?|"
    r"months?|years?)\b",
    re.I,
)
_CRITERIA = re.compile(
    r"\baged?\s+\d|\b\d+\s*(?:to|-|–)\s*\d+\s*years|\b\d+\s*years? (?:or|and) (?:older|over|above)|pack-years?|"
    r"\beligib\w*|\bpeople (?:who|with|at)\b|\bpatients (?:who|with)\b|\badults (?:aged|with|who)\b|\bcriteri\w*|"
    r"\brequires?\b|\bdefined (?:as|by)\b",
    re.I,
)
_RECOMMEND = re.compile(
    r"\b(?:recommend\w*|offer\w*|advis\w*|suggest\w*|should|first-line|first line|preferred|drug of choice|"
    r"treatment of choice|consider\w*|use of|indicated|start\w*|give|given)\b",
    re.I,
)
_FINDING = re.compile(
    r"\b(?:reduc\w*|increas\w*|lower\w*|improv\w*|prolong\w*|did not|does not|no significant|not significantly|"
    r"non-?inferior|superior|safe|not recommended|against|avoid\w*|contraindicated|should not|can be|may be|"
    r"benefit\w*|effective|harm\w*|no evidence|no difference|similar)\b",
    re.I,
)
# A sentence leaning on text the reader does not see ("This question", "These patients", "Other trials"). Its
# own source is no such text: "This study", "The trial", "These findings" speak of the document it cites.
_SELF = (
    r"(?:study|studies|trial|trials|review|analysis|meta-analysis|findings|results|data|guideline|guidelines|"
    r"recommendation|recommendations|paper|report|cohort|statement|digest)\b"
)
_DANGLING = re.compile(
    r"^(?:this|these|that|those|such)\b(?!\s+(?:[\w,-]+\s+){0,3}" + _SELF + r")|^both (?:of|are|were|have)\b"
    r"|^(?:its|they|their|them|however|also|other|others|in (?:that|both)|for (?:these|them|such)|of (?:these|them))\b"
    r"|^it\b(?!\s+(?:is|was|has been|have been|remains)\s+(?:\w+\s+)?(?:unknown|unclear|known|possible|likely|not|"
    r"thought|recommended|important|uncertain|debated|suggested|controversial|reported|shown|believed|"
    r"hypothesi[sz]ed|proposed|accepted)\b)"  # "It is unknown whether ..." leans on nothing
    r"|\b(?:this question|these patients|these people|these women|these children|this group|as above|"
    r"other trials|other studies|this approach|the same (?:trial|study|patients|group|population))\b"
    r"|\balso (?:advises?|recommends?|suggests?|lists?|notes?|found|finds|showed|shows|reported|[a-z]+ed)\b",
    re.I,
)
# Scope and design statements: what a document covers, not what it recommends.
_SCOPE = re.compile(
    r"\b(?:covers|addresses|summari[sz]es|is a guideline|provides recommendations|replaced the earlier|"
    r"was a (?:randomi[sz]ed|multicentre|multicenter|trial)|enrolled|randomi[sz]ed \d|were randomi[sz]ed|"
    r"this digest|updated in|tested whether|aimed to|was designed to|set out to|(?:trial|study) compared|"
    r"reported by|\) compared (?!with\b)\w+|(?:does|do) not (?:cover|address|apply to))\b",
    re.I,
)


@dataclass(frozen=True)
class Profile:
    """What one sentence offers."""

    drug: bool
    dose: bool
    threshold: bool
    timing: bool
    criteria: bool
    recommends: bool
    finding: bool
    dangling: bool
    scope: bool
    populations: frozenset[str]
    age: AgeBand | None
    contrasts: frozenset[str]
    negated: frozenset[str]


PROFILE_CACHE = 65536  # sentences whose profile is kept


@lru_cache(maxsize=PROFILE_CACHE)
def profile(text: str) -> Profile:
    return Profile(
        drug=bool(drug_words(text)),
        dose=bool(_DOSE.search(text)),
        threshold=bool(_THRESHOLD.search(text)),
        timing=bool(_TIME.search(text)),
        criteria=bool(_CRITERIA.search(text)),
        recommends=bool(_RECOMMEND.search(text)),
        finding=bool(_FINDING.search(text)),
        dangling=bool(_DANGLING.search(text)),
        scope=bool(_SCOPE.search(text)),
        populations=populations_of(text),
        age=age_band(text),
        contrasts=contrasts_of(text),
        negated=negated_of(text),
    )


_CLASS = re.compile(
    r"^(?:inhibitors?|blockers?|agonists?|antagonists?|anticoagula\w*|antibiotics?|antiplatelet\w*|steroids?|"
    r"corticosteroids?|benzodiazepines?|bisphosphonates?|doacs?|lmwh|ssris?|snris?|ics|laba|lama|saba|"
    r"antidepressants?|antipsychotics?|fluids?|crystalloids?|macrolides?|insulin|iron|oxygen|thrombolysis)$"
)


def drug_words(text: str, *, classes: bool = True) -> set[str]:
    """The drug names (and, with `classes`, drug classes) `text` names, lower-cased ("rivaroxaban", "statin"):
    the names the drug lexicon knows, and the stems and classes clinical text writes."""
    found = {m.group(0).lower() for m in DRUG.finditer(text)}
    found |= {w.lower() for w in _WORDS.findall(text) if is_drug_name(w)}
    return found if classes else {w for w in found if not _CLASS.match(w)}


def offers(kind: str, p: Profile) -> bool:
    """Whether a sentence with profile `p` gives the kind of answer `kind` asks for."""
    return {
        "drug": p.drug and (p.recommends or p.finding),
        "dose": p.dose,
        "threshold": p.threshold,
        "timing": p.timing,
        "indication": p.recommends and (p.threshold or p.criteria),  # when to start: for whom, above what
        "who": p.criteria or p.threshold,
        "diagnosis": p.criteria or p.recommends,
        "prognosis": p.finding or p.threshold,
    }.get(kind, False)


def _ages_conflict(asked: AgeBand, stated: AgeBand) -> bool:
    """Whether a sentence about ages `stated` speaks of other people than a question about ages `asked`."""
    lo_a, hi_a = asked.low or 0, asked.high or 200
    lo_s, hi_s = stated.low or 0, stated.high or 200
    return hi_a <= lo_s or hi_s <= lo_a


def _contrast_fit(reading: Reading, p: Profile) -> tuple[int, int]:
    """(agreements, conflicts) on the question's contrasting qualifiers (primary or secondary prevention ...)."""
    agree = conflict = 0
    for asked in reading.contrasts:
        group = asked.split(":", 1)[0]
        stated = {c for c in p.contrasts if c.startswith(group + ":")}
        if asked in stated:
            agree += 1
        elif stated:
            conflict += 1  # about other patients than those asked about
    return agree, conflict


def _age_fit(reading: Reading, p: Profile) -> tuple[int, int]:
    if reading.age is None or p.age is None:
        return 0, 0
    return (0, 1) if _ages_conflict(reading.age, p.age) else (1, 0)


def _negation_conflicts(reading: Reading, p: Profile, text: str) -> int:
    """How many of the things the question's patients do not have ("no comorbidities") the sentence names
    without saying its patients lack them too ("with CAP and comorbidities such as ...")."""
    if not reading.negated:
        return 0
    return len((reading.negated & stems(text)) - p.negated)


def contradicts(reading: Reading, p: Profile, text: str) -> bool:
    """Whether a sentence is explicitly about other patients than those asked about: another age band, the
    other side of a contrast (secondary prevention for primary, inpatients for outpatients, women for a man),
    more often than it states the question's own qualifiers (a sentence naming "boys and men" and "girls under
    10" speaks of a 20-year-old man too), or patients with what the question's patients do not have."""
    if _negation_conflicts(reading, p, text):  # "with CAP and comorbidities" for "no comorbidities"
        return True
    (age_agree, age_conflict), (c_agree, c_conflict) = _age_fit(reading, p), _contrast_fit(reading, p)
    return age_conflict + c_conflict > age_agree + c_agree


def qualifier_fit(reading: Reading, p: Profile) -> tuple[int, int]:
    """(agreements, conflicts) of a sentence with the question's qualifiers: an age band, a population, a
    contrasting qualifier (primary or secondary prevention ...) the sentence states as the question does, or
    states otherwise (another age band, a special population the question did not ask about)."""
    (age_agree, age_conflict), (c_agree, c_conflict) = _age_fit(reading, p), _contrast_fit(reading, p)
    agree = age_agree + c_agree + len(reading.populations & p.populations)
    conflict = age_conflict + c_conflict
    if not reading.kinds & {"who", "indication"}:  # for "who should ...", the populations are the answer
        conflict += len(p.populations - reading.populations)
    return agree, conflict


def lead_adjustment(reading: Reading | None, text: str, settings: ComposerSettings) -> float:
    """What is added to a sentence's score when the lead is chosen: the kind of answer asked for, the
    qualifiers, and penalties for sentences that lean on unseen text or only state a document's scope."""
    p = profile(text)
    adjust = 0.0
    if p.dangling:
        adjust -= settings.dangling_penalty
    if p.scope:
        adjust -= settings.scope_penalty
    if reading is None:
        return adjust
    wanted = set(reading.kinds) - {"diagnosis"} if reading.kinds - {"diagnosis"} else set(reading.kinds)
    named = named_drugs(reading.plain)
    about_named = not named or bool(named & drug_stems(text))  # the drug the question names, if any
    if wanted and about_named and any(offers(k, p) for k in wanted):
        adjust += settings.kind_boost
    if reading.yes_no and (p.finding or p.recommends):
        adjust += settings.kind_boost / 2
    agree, conflict = qualifier_fit(reading, p)
    adjust += settings.qualifier_weight * agree - settings.conflict_penalty * conflict
    adjust += settings.phrase_boost * min(2, shared_phrases(reading.plain, text))
    return adjust


@lru_cache(maxsize=4096)
def named_drugs(question: str) -> frozenset[str]:
    """The stems of the drugs and drug classes a question names."""
    return frozenset(t for d in drug_words(question) for t in spelling_terms(d))


@lru_cache(maxsize=PROFILE_CACHE)
def stems(text: str) -> frozenset[str]:
    """The content-word stems of a sentence (either spelling)."""
    return frozenset(spelling_terms(text))


@lru_cache(maxsize=PROFILE_CACHE)
def drug_stems(text: str) -> frozenset[str]:
    """`stems(text)` and the stems of the classes its drugs belong to: a sentence naming atorvastatin names a
    statin (what a question about "statins" asks for)."""
    return stems(text) | frozenset(t for name in drug_classes(text) for t in spelling_terms(name))


@lru_cache(maxsize=4096)
def _bigrams(text: str) -> frozenset[tuple[str, str]]:
    stems = spelling_terms(text)
    return frozenset(pairwise(stems))


def shared_phrases(question: str, text: str) -> int:
    """How many two-word phrases of the question (content words, stemmed) the sentence has ("primary
    prevention", "septic shock")."""
    return len(_bigrams(question) & _bigrams(text))
