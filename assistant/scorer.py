"""A learned lead scorer: which usable sentence should lead the answer, from what the sentence offers the question.

A linear model over a few dozen features of a (question reading, sentence) pair, trained listwise (softmax over a
question's candidate sentences; the sentences that state the question's `lead_facts` are the targets) on the DEV
half of `evals/clinician.jsonl` only, by `scripts/train_lead_scorer.py`. The weights are a small JSON file; the
composer uses them when they are configured and falls back to the hand-set `lead_adjustment` otherwise.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError
from .evidence import Candidate, class_terms
from .lead import (
    Profile,
    contradicts,
    drug_stems,
    drug_words,
    named_drugs,
    offers,
    profile,
    qualifier_fit,
    shared_phrases,
)
from .lexical import terms
from .vocab.reading import Reading
from .vocab.words import QUESTION_WORDS, aspects_of

KINDS = ("drug", "dose", "threshold", "timing", "indication", "who", "diagnosis", "prognosis")
BUNDLED = Path(__file__).resolve().parent / "data" / "lead_scorer.json"


# Sections that answer only their own aspect: a sentence from one leads only when the question asks for it.
ASIDE_SECTIONS = frozenset({"monitoring", "prognosis", "epidemiology", "referral", "differential diagnosis",
                            "causes and risk factors", "prevention"})  # fmt: skip
DESIGN_SECTIONS = frozenset({"study design", "limitations"})


FEATURES: tuple[str, ...] = (
    "score", "relevance", "gap_to_best", "hit_rank", "first_sentence", "words_log",
    *(f"asks_{k}_offers" for k in KINDS), "asks_kind_offers_none",
    "yes_no_finding", "agree", "conflict", "dangling", "scope", "phrases", "named_drug", "named_drug_missing",
    "recommends", "finding", "drug", "dose", "threshold", "timing", "criteria", "guideline",
    "aside_section", "design_section", "shared_numbers", "unasked_age", "named_drugs", "asks_drug_named",
    "all_named_drugs", "coverage",
)  # fmt: skip


def features(
    reading: Reading | None, c: Candidate, best_score: float, guideline: bool
) -> np.ndarray[Any, Any]:
    """The feature vector of one candidate sentence for one question (in the order of `FEATURES`)."""
    p = profile(c.text)
    kinds = reading.kinds if reading is not None else frozenset()
    section = (c.section or "").lower()
    asked_aspects = aspects_of(reading.plain) if reading is not None else frozenset()
    asked = [k in kinds and offers(k, p) for k in KINDS]
    agree, conflict = qualifier_fit(reading, p) if reading is not None else (0, 0)
    named = named_drugs(reading.plain) if reading is not None else frozenset()
    has_named = bool(named & drug_stems(c.text))
    values = [
        c.score, c.relevance, best_score - c.score, min(c.hit_rank, 10) / 10, float(c.sentence_index == 0),
        math.log(1 + len(c.text.split())), *map(float, asked), float(bool(kinds) and not any(asked)),
        float(bool(reading and reading.yes_no) and (p.finding or p.recommends)), float(agree), float(conflict),
        float(p.dangling), float(p.scope), float(min(2, shared_phrases(reading.plain, c.text)) if reading else 0),
        float(has_named), float(bool(named) and not has_named), float(p.recommends), float(p.finding),
        float(p.drug), float(p.dose), float(p.threshold), float(p.timing), float(p.criteria), float(guideline),
        float(section in ASIDE_SECTIONS and section not in asked_aspects), float(section in DESIGN_SECTIONS),
        *_question_fit(reading, c, p, named),
    ]  # fmt: skip
    return np.asarray(values, dtype=np.float64)


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _question_fit(reading: Reading | None, c: Candidate, p: Profile, named: frozenset[str]) -> list[float]:
    """How a sentence meets what the question itself states: numbers the question gives ("within 120 min"), an
    age band the question never asked about ("85 or over" for a question without ages), drugs named (a "which
    drug" question wants names, a comparison wants every drug it names), and the share of the question's own
    content words the sentence uses. `named`: the stems of the drugs the question names."""
    if reading is None:
        return [0.0] * 6
    text = c.text
    asked_numbers = set(_NUMBER.findall(reading.plain))
    shared = len(asked_numbers & set(_NUMBER.findall(text)))
    unasked_age = p.age is not None and reading.age is None and not reading.kinds & {"who", "indication"}
    # drug names count where the question asks what to give or how much, or asks no kind of answer at all: a
    # question asking how long or what target is not answered by the sentence naming the most drugs
    names = len(drug_words(text, classes=False)) if not reading.kinds - {"drug", "dose", "diagnosis"} else 0
    all_named = len(named) >= 2 and named <= drug_stems(text)
    wanted = question_terms(reading.plain)
    coverage = len(wanted & (c.term_set | class_terms(text))) / len(wanted) if wanted else 0.0
    return [
        float(min(2, shared)), float(unasked_age), float(min(3, names)), float("drug" in reading.kinds and names > 0),
        float(all_named), coverage,
    ]  # fmt: skip


@lru_cache(maxsize=4096)
def question_terms(question: str) -> frozenset[str]:
    """A question's own content words (not its question words), as `Candidate.term_set` holds them."""
    return frozenset(terms(question)) - QUESTION_WORDS


@dataclass(frozen=True)
class LeadScorer:
    weights: np.ndarray[Any, Any]
    mean: np.ndarray[Any, Any]
    scale: np.ndarray[Any, Any]

    def scores(self, rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        result: np.ndarray[Any, Any] = ((rows - self.mean) / self.scale) @ self.weights
        return result

    def best(self, reading: Reading | None, pool: Sequence[Candidate], guideline: Sequence[bool]) -> int:
        """Index in `pool` of the sentence to lead with, among those that `may_lead`."""
        top = max(c.score for c in pool)
        allowed = may_lead(reading, pool)
        rows = np.stack([features(reading, pool[i], top, guideline[i]) for i in allowed])
        s = self.scores(rows)
        best = max(
            range(len(allowed)),
            key=lambda j: (s[j], -pool[allowed[j]].hit_rank, -pool[allowed[j]].sentence_index),
        )
        return allowed[best]

    # -- storage
    def to_json(self, **meta: Any) -> str:
        data = {
            "features": list(FEATURES), "weights": self.weights.round(6).tolist(),
            "mean": self.mean.round(6).tolist(), "scale": self.scale.round(6).tolist(), **meta,
        }  # fmt: skip
        return json.dumps(data, indent=1)

    @classmethod
    def load(cls, path: Path) -> LeadScorer:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("features") != list(FEATURES):
            raise ValueError(f"{path}: trained on other features; retrain with scripts/train_lead_scorer.py")
        return cls(np.asarray(data["weights"]), np.asarray(data["mean"]), np.asarray(data["scale"]))


ASKED_KINDS = frozenset({"drug", "dose", "threshold", "timing", "indication", "who"})


def applies(reading: Reading | None) -> bool:
    """Whether the question asks for a kind of answer or names qualifiers the scorer weighs; otherwise (a plain
    yes/no or "what is" question) the best-scored sentence leads, as it does without a scorer."""
    if reading is None:
        return False
    return bool(reading.kinds & ASKED_KINDS or reading.populations or reading.contrasts or reading.age)


def may_lead(reading: Reading | None, pool: Sequence[Candidate]) -> list[int]:
    """Indices of the sentences of `pool` allowed to lead: none that leans on text not shown, no statement of a
    document's scope or design ("The trial, reported by ..., compared ...") while a sentence states something,
    none explicitly about other patients than those asked about while another sentence is not, and, for a
    question asking what to give, how much, when to start or for whom (not how long, how often or what target),
    none from an aside section such as monitoring or referral that it does not ask about while another sentence
    may lead (rules, not learned weights)."""
    standalone = [i for i, c in enumerate(pool) if not profile(c.text).dangling] or list(range(len(pool)))
    stating = [i for i in standalone if not profile(pool[i].text).scope] or standalone
    if reading is None:
        return stating
    agreeing = [
        i for i in stating if not contradicts(reading, profile(pool[i].text), pool[i].text)
    ] or stating
    if reading.kinds & _MAIN_KINDS and not reading.kinds & {"timing", "threshold"}:
        aside = ASIDE_SECTIONS - aspects_of(reading.plain)
        agreeing = [i for i in agreeing if (pool[i].section or "").lower() not in aside] or agreeing
    return agreeing


# Kinds of answer that a recommendation gives (what to give, how much, when to start, who gets it): a sentence
# from a section aside from that (monitoring, referral, prognosis ...) does not lead such an answer unless the
# question asks about that aspect or no other sentence may ("When should I start statins?" is not answered by
# the tests to run before starting one). Times and targets are what monitoring sections give: not for those.
_MAIN_KINDS = frozenset({"drug", "dose", "indication", "who"})


def load_lead_scorer(setting: str) -> LeadScorer | None:
    """The scorer `ComposerSettings.lead_model` names: 'bundled', 'none', or a path to trained weights."""
    if setting == "none":
        return None
    path = BUNDLED if setting == "bundled" else Path(setting)
    if setting == "bundled" and not path.is_file():
        return None  # a checkout without trained weights: the hand-set lead adjustment
    try:
        return LeadScorer.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"ASSISTANT_COMPOSER__LEAD_MODEL={setting!r}: cannot read lead scorer weights ({exc}); "
            "give a file written by scripts/train_lead_scorer.py, 'bundled' or 'none'"
        ) from exc


def train(
    groups: Sequence[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]],
    l2: float,
    steps: int = 400,
    weights: Sequence[float] | None = None,
) -> LeadScorer:
    """Listwise training: for each question, (feature rows of its candidates, 0/1 targets with at least one 1).
    Minimises the (weighted, default equal) mean of -log(sum of softmax probability on the targets) + l2 |w|^2,
    by gradient descent on standardised features."""
    stacked = np.concatenate([x for x, _ in groups])
    mean = stacked.mean(axis=0)
    scale = stacked.std(axis=0)
    scale[scale == 0] = 1.0
    scaled = [((x - mean) / scale, y.astype(bool)) for x, y in groups]
    share = np.asarray(weights if weights is not None else [1.0] * len(groups), dtype=np.float64)
    share = share / share.sum()
    w = np.zeros(stacked.shape[1])
    rate = min(0.5, 0.4 / (2 * l2)) if l2 > 0 else 0.5  # a step the L2 term cannot overshoot
    for _ in range(steps):
        grad = 2 * l2 * w
        for (x, y), g in zip(scaled, share, strict=True):
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            q = np.where(y, p, 0.0)
            q /= q.sum()
            grad += g * (x.T @ (p - q))
        w -= rate * grad
    return LeadScorer(w, mean, scale)
