"""Drug names from a maintained lexicon: drug-named-entity-recognition (Fast Data Science, MIT licence), built
from DrugBank, MeSH, MedlinePlus, the NHS medicines list and Wikipedia: generic and brand names, each with its
canonical (generic) name ("eliquis" -> "apixaban", "salbutamol" -> "albuterol").

Only single words of five or more letters that are not also English words are kept ("emend", "creon" and
"armour" are brands but also English), and the first word of an acid's name ("zoledronic" of "zoledronic acid"):
a word of the lexicon then names a drug wherever it appears. The data file is read directly; importing the
package itself would load it again and write caches to the home folder.
"""

from __future__ import annotations

import bz2
import pickle
import re
from functools import lru_cache
from importlib import resources

from .spelling import english_words

_NAME = re.compile(r"[a-z][a-z\-]{4,}")
_WORD = re.compile(
    r"[A-Za-z]{6,}"
)  # a word of a text that may be a drug name (parts of "amoxicillin-clavulanate")


@lru_cache(maxsize=1)
def drug_lexicon() -> dict[str, tuple[str, ...]]:
    """Drug name (lower case) -> its canonical generic names; empty when the package is not installed."""
    try:
        raw = (
            resources.files("drug_named_entity_recognition")
            .joinpath("drug_ner_dictionary.pkl.bz2")
            .read_bytes()
        )
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - a broken install
        return {}
    data = pickle.loads(bz2.decompress(raw))  # the package's own data file, not user input
    english = english_words()
    table = data["drug_variant_to_canonical"]
    names = {
        variant: tuple(canonical)
        for variant, canonical in table.items()
        if _NAME.fullmatch(variant) and variant not in english and not variant.endswith("-")
    }
    for variant, canonical in table.items():  # "zoledronic acid": "zoledronic" names it
        first, _, rest = variant.partition(" ")
        if rest == "acid" and len(first) >= 6 and _NAME.fullmatch(first) and first not in english:
            names.setdefault(first, tuple(canonical))
    return names


def is_drug_name(word: str) -> bool:
    """Whether `word` (any case) names a drug in the lexicon."""
    return word.lower() in drug_lexicon()


def other_names(word: str) -> tuple[str, ...]:
    """The other names of the drug `word` names: its canonical names, and the names that share them
    ("salbutamol" -> "albuterol"; "albuterol" -> "salbutamol", its brands ...); empty for no drug."""
    canonical = drug_lexicon().get(word.lower())
    if not canonical:
        return ()
    return tuple(n for n in (*canonical, *_sharing().get(canonical[0], ())) if n != word.lower())


@lru_cache(maxsize=1)
def _sharing() -> dict[str, tuple[str, ...]]:
    by_canonical: dict[str, list[str]] = {}
    for variant, canonical in drug_lexicon().items():
        if canonical:
            by_canonical.setdefault(canonical[0], []).append(variant)
    return {k: tuple(v) for k, v in by_canonical.items()}


# Drug-class stems of international nonproprietary names (WHO, "The use of stems in the selection of INN for
# pharmaceutical substances", 2018 and later): a name ending in the stem belongs to the class, named here as
# clinical text names it, so that "statins" finds "atorvastatin" and "SGLT2 inhibitor" finds "empagliflozin".
INN_STEMS: tuple[tuple[str, str], ...] = (
    ("vastatin", "statin"), ("pril", "ACE inhibitor"), ("sartan", "angiotensin receptor blocker ARB"),
    ("olol", "beta-blocker"), ("alol", "beta-blocker"), ("gliflozin", "SGLT2 inhibitor"),
    ("glutide", "GLP-1 receptor agonist"), ("gliptin", "DPP-4 inhibitor"), ("xaban", "DOAC anticoagulant"),
    ("gatran", "DOAC anticoagulant"), ("parin", "heparin anticoagulant"), ("floxacin", "fluoroquinolone antibiotic"),
    ("cillin", "penicillin antibiotic"), ("cycline", "tetracycline antibiotic"), ("prazole", "proton pump inhibitor PPI"),
    ("dipine", "calcium-channel blocker CCB"), ("dronate", "bisphosphonate"), ("triptan", "triptan"),
    ("zepam", "benzodiazepine"), ("zolam", "benzodiazepine"), ("tinib", "kinase inhibitor"),
    ("semide", "loop diuretic"), ("thiazide", "thiazide diuretic"),
)  # fmt: skip


@lru_cache(maxsize=65536)
def drug_class(word: str) -> str | None:
    """The class a drug name belongs to by its INN stem ("atorvastatin" -> "statin"), or None: the stem must
    follow at least three letters ("april" is no ACE inhibitor, "statin" is the class itself)."""
    low = word.lower()
    for stem, name in INN_STEMS:
        if low.endswith(stem) and len(low) >= len(stem) + 3:
            return name
    return None


@lru_cache(maxsize=65536)
def drug_classes(text: str) -> frozenset[str]:
    """The classes of the drugs `text` names, by their INN stems ("Offer atorvastatin" -> {"statin"}; both halves
    of "amoxicillin-clavulanate" are read)."""
    return frozenset(c for w in _WORD.findall(text) if (c := drug_class(w)))
