"""Generate MedQuAD evaluation sets at run time (the project commits none of MedQuAD's text).

- A BEIR folder in which each question must retrieve its own answer among all answers: `corpus.jsonl`
  (`_id` = the pair's `_id`, title = `focus`, text = answer), `queries.jsonl` and `qrels/test.tsv`.
- `conversations.jsonl`: follow-up conversations on one topic ("What is X?", then other question types asked
  without naming X, each turn keeping the original question as `standalone`), and topic-switch conversations
  (after "What is X?", the original question of another topic Y, marked `"topic_switch": true`).

Deterministic: the same input and seed give byte-identical files.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EvalDataError
from .data import _jsonl

# Question type -> a follow-up question that does not name the topic.
FOLLOW_UPS: dict[str, str] = {
    "symptoms": "What are the symptoms?",
    "treatment": "How is it treated?",
    "causes": "What causes it?",
    "inheritance": "Is it inherited?",
    "exams and tests": "How is it diagnosed?",
    "outlook": "What is the outlook?",
    "prevention": "How can it be prevented?",
    "frequency": "How common is it?",
    "genetic changes": "What genetic changes are related to it?",
    "susceptibility": "Who is at risk for it?",
    "complications": "What are the complications?",
    "stages": "What are the stages?",
}
MAX_FOLLOW_UPS = 3


@dataclass(frozen=True)
class Pair:
    pair_id: str
    qtype: str
    question: str
    answer: str
    focus: str
    doc_key: str


def read_pairs(path: Path) -> list[Pair]:
    pairs = []
    for lineno, row in _jsonl(path):
        try:
            pairs.append(
                Pair(str(row["_id"]), str(row["qtype"]), str(row["question"]), str(row["answer"]),
                     str(row.get("focus") or ""), str(row["doc_key"]))
            )  # fmt: skip
        except KeyError as exc:
            raise EvalDataError(f"{path}:{lineno}: a MedQuAD pair needs {exc.args[0]!r}") from exc
    if not pairs:
        raise EvalDataError(f"{path}: no question/answer pairs")
    return pairs


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_beir(pairs: Sequence[Pair], folder: Path) -> None:
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    _write_jsonl(
        folder / "corpus.jsonl", ({"_id": p.pair_id, "title": p.focus, "text": p.answer} for p in pairs)
    )
    _write_jsonl(
        folder / "queries.jsonl",
        ({"_id": p.pair_id, "text": p.question, "metadata": {"qtype": p.qtype}} for p in pairs),
    )
    with (folder / "qrels" / "test.tsv").open("w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        f.writelines(f"{p.pair_id}\t{p.pair_id}\t1\n" for p in pairs)


def _topics(pairs: Sequence[Pair]) -> dict[str, dict[str, list[Pair]]]:
    """doc_key -> qtype -> pairs, for topics with an `information` pair and a follow-up question type."""
    by_key: dict[str, dict[str, list[Pair]]] = defaultdict(lambda: defaultdict(list))
    for p in pairs:
        by_key[p.doc_key][p.qtype].append(p)
    return {
        key: dict(types)
        for key, types in sorted(by_key.items())
        if "information" in types and any(t in FOLLOW_UPS for t in types)
    }


def _turn(question: str, group: Sequence[Pair], **extra: Any) -> dict[str, Any]:
    return {
        "question": question,
        "relevant": {p.pair_id: 1 for p in group},
        "standalone": group[0].question,
        **extra,
    }


def _follow_up_conversation(key: str, types: dict[str, list[Pair]], rng: random.Random) -> dict[str, Any]:
    info = types["information"]
    asked = sorted(t for t in types if t in FOLLOW_UPS)
    rng.shuffle(asked)
    turns = [_turn(info[0].question, info)]
    turns += [_turn(FOLLOW_UPS[t], types[t]) for t in asked[:MAX_FOLLOW_UPS]]
    return {"id": f"medquad-{key}", "topic": info[0].focus, "turns": turns}


def _switch_conversation(
    key: str, types: dict[str, list[Pair]], other: dict[str, list[Pair]], rng: random.Random
) -> dict[str, Any]:
    info = types["information"]
    switch_type = rng.choice(sorted(t for t in other if t in FOLLOW_UPS))
    target = other[switch_type]
    turns = [_turn(info[0].question, info), _turn(target[0].question, target, topic_switch=True)]
    rest = sorted(t for t in other if t in FOLLOW_UPS and t != switch_type)
    if rest:  # a follow-up on the new topic: it must lean on Y, not on X
        t = rng.choice(rest)
        turns.append(_turn(FOLLOW_UPS[t], other[t]))
    return {"id": f"medquad-switch-{key}", "topic": info[0].focus, "turns": turns}


def make_conversations(pairs: Sequence[Pair], n: int, switches: int, seed: int) -> list[dict[str, Any]]:
    """`n` follow-up conversations and `switches` topic-switch ones, on topics drawn with `seed`."""
    rng = random.Random(seed)
    topics = _topics(pairs)
    keys = sorted(topics)
    rng.shuffle(keys)
    chosen, spare = keys[:n], keys[n:] or keys
    out = [_follow_up_conversation(k, topics[k], rng) for k in chosen]
    for key in chosen[:switches]:
        other = rng.choice(
            [k for k in spare if topics[k]["information"][0].focus != topics[key]["information"][0].focus]
        )
        out.append(_switch_conversation(key, topics[key], topics[other], rng))
    return out


def make_medquad(qa: Path, out: Path, *, conversations: int, switches: int, seed: int) -> dict[str, int]:
    """Write the BEIR folder and conversations.jsonl under `out`; returns counts."""
    pairs = read_pairs(qa)
    out.mkdir(parents=True, exist_ok=True)
    write_beir(pairs, out)
    convs = make_conversations(pairs, conversations, switches, seed)
    _write_jsonl(out / "conversations.jsonl", convs)
    return {
        "answers": len(pairs),
        "conversations": len(convs),
        "turns": sum(len(c["turns"]) for c in convs),
        "topic_switches": sum(1 for c in convs for t in c["turns"] if t.get("topic_switch")),
    }
