"""Loaders of evaluation data: BEIR folders, qrels, conversation sets and the curated set.

Every problem is an `EvalDataError` naming the file (and line) and saying what is expected there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EvalDataError
from ..jsonl import read_jsonl

Qrels = dict[str, dict[str, int]]  # query id -> {doc id: grade > 0}
Fact = tuple[re.Pattern[str], ...]  # alternatives: any one matching the answer states the fact


@dataclass(frozen=True)
class BeirSet:
    """A BEIR folder: the corpus file, the queries that have judgements, and those judgements."""

    folder: Path
    split: str
    corpus: Path
    queries: dict[str, str]
    qrels: Qrels


@dataclass(frozen=True)
class Turn:
    question: str
    relevant: dict[str, int]
    standalone: str | None = None
    topic_switch: bool = False
    reference_answer: str | None = None
    key_facts: tuple[Fact, ...] = ()  # what a complete answer states
    lead_facts: tuple[Fact, ...] = ()  # what the answer's first sentence must state
    tags: tuple[str, ...] = ()  # groups it is reported under (abbreviation, dose, comorbidity-followup ...)


@dataclass(frozen=True)
class Conversation:
    conv_id: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class EvalItem:
    """One item of the curated set: `single` and `unanswerable` items have one turn."""

    item_id: str
    kind: str
    turns: tuple[Turn, ...] = field(default_factory=tuple)
    split: str | None = None  # "dev" (tune on it) or "test" (report only), where the set is split


SPLITS = ("dev", "test")


KINDS = ("single", "conversation", "unanswerable")


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    return read_jsonl(path, EvalDataError)


def _text(row: dict[str, Any], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EvalDataError(f"{where}: needs a non-empty string {key!r}")
    return value


def _grades(value: object, where: str) -> dict[str, int]:
    """A `relevant` mapping {doc id: grade}; grades must be whole numbers, only grades > 0 are kept."""
    if not isinstance(value, dict):
        raise EvalDataError(f"{where}: 'relevant' must be an object mapping document ids to grades")
    out: dict[str, int] = {}
    for doc, grade in value.items():
        if isinstance(grade, bool) or not isinstance(grade, int):
            raise EvalDataError(f"{where}: grade of {doc!r} is {grade!r}; grades are whole numbers (0-3)")
        if grade > 0:
            out[str(doc)] = grade
    return out


def load_qrels(path: Path) -> Qrels:
    """A BEIR qrels TSV (`query-id corpus-id score`, header optional); judgements with score <= 0 are dropped."""
    if not path.is_file():
        raise EvalDataError(f"{path}: no such qrels file; pick a split that exists under qrels/")
    qrels: Qrels = {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if not line.strip() or (lineno == 1 and parts[0] == "query-id"):
                continue
            if len(parts) != 3:
                raise EvalDataError(
                    f"{path}:{lineno}: expected 3 tab-separated fields (query-id corpus-id score)"
                )
            try:
                score = int(float(parts[2]))
            except ValueError as exc:
                raise EvalDataError(f"{path}:{lineno}: score {parts[2]!r} is not a number") from exc
            if score > 0:
                qrels.setdefault(parts[0], {})[parts[1]] = score
    if not qrels:
        raise EvalDataError(f"{path}: no positive judgements; nothing to score")
    return qrels


def load_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for lineno, row in _jsonl(path):
        where = f"{path}:{lineno}"
        queries[str(row.get("_id", ""))] = _text(row, "text", where)
        if "_id" not in row:
            raise EvalDataError(f"{where}: a query needs an '_id'")
    return queries


def load_beir(folder: Path, split: str) -> BeirSet:
    """The queries of `folder` that have judgements in `qrels/<split>.tsv`, with those judgements."""
    corpus = folder / "corpus.jsonl"
    if not corpus.is_file():
        raise EvalDataError(f"{folder}: no corpus.jsonl; --beir must name a BEIR folder")
    qrels = load_qrels(folder / "qrels" / f"{split}.tsv")
    all_queries = load_queries(folder / "queries.jsonl")
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise EvalDataError(
            f"{folder / 'queries.jsonl'}: {len(missing)} judged queries are missing (e.g. {missing[0]!r})"
        )
    queries = {qid: all_queries[qid] for qid in sorted(qrels, key=_natural)}
    return BeirSet(folder, split, corpus, queries, qrels)


def _natural(qid: str) -> tuple[int, str]:
    return (int(qid), "") if qid.isdigit() else (1 << 62, qid)


def _facts(value: object, key: str, where: str) -> tuple[Fact, ...]:
    """`[[regex, alternative, ...], ...]`: each fact a list of case-insensitive regular expressions."""
    if value is None:
        return ()
    shape = f"{where}: {key!r} must be a list of facts, each a non-empty list of regular expressions"
    if not isinstance(value, list):
        raise EvalDataError(shape)
    facts: list[Fact] = []
    for fact in value:
        if not isinstance(fact, list) or not fact or not all(isinstance(x, str) and x for x in fact):
            raise EvalDataError(shape)
        try:
            facts.append(tuple(re.compile(x, re.IGNORECASE) for x in fact))
        except re.error as exc:
            raise EvalDataError(f"{where}: {key!r} has a bad regular expression ({exc}); fix it") from exc
    return tuple(facts)


def _tags(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise EvalDataError(f"{where}: 'tags' must be a list of non-empty strings")
    return tuple(value)


def _turn(row: dict[str, Any], where: str, *, need_relevant: bool = True) -> Turn:
    question = _text(row, "question", where)
    relevant = _grades(row.get("relevant", {}), where)
    if need_relevant and not relevant:
        raise EvalDataError(f"{where}: a turn needs 'relevant' with at least one grade > 0")
    standalone = row.get("standalone")
    if standalone is not None and not isinstance(standalone, str):
        raise EvalDataError(f"{where}: 'standalone' must be a string")
    reference = row.get("reference_answer")
    key_facts = _facts(row.get("key_facts"), "key_facts", where)
    if key_facts and not relevant:
        raise EvalDataError(f"{where}: a turn with 'key_facts' is answerable: give it 'relevant' documents")
    return Turn(
        question=question,
        relevant=relevant,
        standalone=standalone,
        topic_switch=bool(row.get("topic_switch", False)),
        reference_answer=reference if isinstance(reference, str) and reference.strip() else None,
        key_facts=key_facts,
        lead_facts=_facts(row.get("lead_facts"), "lead_facts", where),
        tags=_tags(row.get("tags"), where),
    )


def _turns(row: dict[str, Any], where: str, *, need_relevant: bool = True) -> tuple[Turn, ...]:
    turns = row.get("turns")
    if not isinstance(turns, list) or not turns:
        raise EvalDataError(f"{where}: needs 'turns', a non-empty list of {{question, relevant}} objects")
    out = []
    for i, t in enumerate(turns, 1):
        if not isinstance(t, dict):
            raise EvalDataError(f"{where}: turn {i} is not an object")
        out.append(_turn(t, f"{where} turn {i}", need_relevant=need_relevant))
    return tuple(out)


def load_conversations(path: Path) -> list[Conversation]:
    """`{"id", "turns": [{"question", "relevant": {doc: grade}, "standalone"?, "topic_switch"?}]}` a line.

    Lines of a curated set with another `kind` (single, unanswerable) are passed over, so the curated set's
    conversations can be scored directly."""
    conversations: list[Conversation] = []
    seen: set[str] = set()
    for lineno, row in _jsonl(path):
        where = f"{path}:{lineno}"
        if row.get("kind", "conversation") != "conversation":
            continue
        conv_id = str(row.get("id") or "")
        if not conv_id or conv_id in seen:
            raise EvalDataError(f"{where}: every conversation needs a unique 'id'")
        seen.add(conv_id)
        conversations.append(Conversation(conv_id, _turns(row, where)))
    if not conversations:
        raise EvalDataError(f"{path}: no conversations in the file")
    return conversations


def load_eval_set(path: Path) -> list[EvalItem]:
    """The curated set: `single` / `unanswerable` items with a `question`, `conversation` items with `turns`."""
    items: list[EvalItem] = []
    seen: set[str] = set()
    for lineno, row in _jsonl(path):
        where = f"{path}:{lineno}"
        item_id, kind = str(row.get("id") or ""), row.get("kind")
        if not item_id or item_id in seen:
            raise EvalDataError(f"{where}: every item needs a unique 'id'")
        seen.add(item_id)
        if kind not in KINDS:
            raise EvalDataError(f"{where}: 'kind' is {kind!r}; use one of {', '.join(KINDS)}")
        split = row.get("split")
        if split is not None and split not in SPLITS:
            raise EvalDataError(
                f"{where}: 'split' is {split!r}; use one of {', '.join(SPLITS)} or leave it out"
            )
        if kind == "conversation":
            turns = _turns(row, where, need_relevant=False)
        else:
            turns = (_turn(row, where, need_relevant=kind == "single"),)
        items.append(EvalItem(item_id, str(kind), turns, split))
    if not items:
        raise EvalDataError(f"{path}: no items in the file")
    return items
