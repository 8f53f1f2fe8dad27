"""Key-fact answer scoring: does the answer state what a clinician would call the answer, and does it lead with it?

A fact is a tuple of alternative case-insensitive regular expressions; it is present when any one of them matches
the text. `key_facts` are searched in the answer's sentences (not its references or disclaimer), `lead_facts` in
its first sentence alone. An abstention states no fact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..types import Answer
from .data import Fact, Turn


def present(fact: Fact, text: str) -> bool:
    return any(p.search(text) for p in fact)


def _label(fact: Fact) -> str:
    return fact[0].pattern


def fact_fields(turn: Turn, answer: Answer, answerable: bool) -> dict[str, Any]:
    """Per-turn key-fact fields: counts, which facts were missed, and whether the lead states the lead facts."""
    if not answerable or not (turn.key_facts or turn.lead_facts):
        return {}
    body = "" if answer.abstained else " ".join(s.text for s in answer.sentences)
    lead = "" if answer.abstained or not answer.sentences else answer.sentences[0].text
    row: dict[str, Any] = {}
    if turn.key_facts:
        found = [present(f, body) for f in turn.key_facts]
        row["key_facts_found"] = sum(found)
        row["key_facts_total"] = len(found)
        row["missed_facts"] = [_label(f) for f, ok in zip(turn.key_facts, found, strict=True) if not ok]
    if turn.lead_facts:
        missed = [_label(f) for f in turn.lead_facts if not present(f, lead)]
        row["lead_correct"] = not missed
        row["lead_missed"] = missed
    return row


def _share(values: Sequence[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def fact_metrics(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Key-fact metrics over per-turn rows (each with `answerable`, `abstained` and the fields above).

    - `key_fact_recall`: share of key facts present, over answerable turns with key facts (abstained: none);
    - `answer_complete`: share of those turns with every key fact present;
    - `lead_correct`: share of answerable turns with lead facts whose first sentence states them all
      (an abstention is not correct); `lead_correct_answered` the same over answered turns only;
    - `wrongful_abstention`: share of answerable turns abstained on;
    - `unanswerable_abstention`: share of unanswerable turns abstained on.
    """
    answerable = [r for r in rows if r["answerable"]]
    with_facts = [r for r in answerable if "key_facts_total" in r]
    with_lead = [r for r in answerable if "lead_correct" in r]
    found = sum(r["key_facts_found"] for r in with_facts)
    total = sum(r["key_facts_total"] for r in with_facts)
    return {
        "key_fact_recall": round(found / total, 4) if total else None,
        "answer_complete": _share([r["key_facts_found"] == r["key_facts_total"] for r in with_facts]),
        "lead_correct": _share([r["lead_correct"] for r in with_lead]),
        "lead_correct_answered": _share([r["lead_correct"] for r in with_lead if not r["abstained"]]),
        "wrongful_abstention": _share([r["abstained"] for r in answerable]),
        "unanswerable_abstention": _share([r["abstained"] for r in rows if not r["answerable"]]),
        "fact_turns": len(with_facts),
    }


def by_tag(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """`fact_metrics` for each tag that rows carry, tags in alphabetical order."""
    tags = sorted({t for r in rows for t in r.get("tags", ())})
    return {t: fact_metrics([r for r in rows if t in r.get("tags", ())]) for t in tags}
