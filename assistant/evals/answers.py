"""`eval answers`: the curated set end to end through `Assistant.ask`, scoring retrieval, answers,
citations and abstention."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..followup import TurnContext
from ..service import Assistant
from ..types import Answer
from .data import EvalItem, Turn
from .keyfacts import by_tag, fact_fields, fact_metrics
from .metrics import (
    abstention_scores,
    citation_scores,
    mean_metrics,
    percentile,
    query_metrics,
    rouge_l_f1,
    token_f1,
)
from .runner import BatchRetriever, Progress, no_progress


@dataclass(frozen=True)
class TurnResult:
    item_id: str
    kind: str
    split: str | None
    turn: int
    turn_data: Turn
    answer: Answer
    ranking: list[str]
    latency_ms: float

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable" and bool(self.turn_data.relevant)


def ask_item(assistant: Assistant, retriever: BatchRetriever, item: EvalItem, k: int) -> list[TurnResult]:
    """Ask every turn of an item with an explicit history (nothing stored), as the API would."""
    history: list[TurnContext] = []
    out = []
    for t, turn in enumerate(item.turns, 1):
        started = time.perf_counter()
        answer = assistant.ask(turn.question, history=history, remember=False)
        latency = (time.perf_counter() - started) * 1000
        resolution = assistant.resolve(turn.question, history)
        ranking, hits = retriever.rank_documents(
            answer.resolved_query, k, assistant.preferred_topic(resolution)
        )
        history.append(
            TurnContext(turn.question, answer.resolved_query, assistant.topic_of(resolution, hits))
        )
        ranked = [d for d, _ in ranking]
        out.append(TurnResult(item.item_id, item.kind, item.split, t, turn, answer, ranked, latency))
    return out


def run_answers(
    assistant: Assistant,
    retriever: BatchRetriever,
    items: Sequence[EvalItem],
    k: int,
    progress: Progress = no_progress,
) -> list[TurnResult]:
    results: list[TurnResult] = []
    for item in progress(items, "answers", len(items)):
        results.extend(ask_item(assistant, retriever, item, k))
    return results


def _row(r: TurnResult) -> dict[str, Any]:
    a = r.answer
    refs = {ref.n: ref for ref in a.references}
    pairs = [(s.text, [refs[n].passage_text for n in s.citations if n in refs]) for s in a.sentences]
    precision, recall = citation_scores(pairs)
    cited_docs = {ref.doc_id for ref in a.references}
    row: dict[str, Any] = {
        "id": r.item_id if r.kind != "conversation" else f"{r.item_id}#{r.turn}",
        "kind": r.kind,
        "turn": r.turn,
        "question": r.turn_data.question,
        "searched": a.resolved_query,
        "abstained": a.abstained,
        "answerable": r.answerable,
        "citation_precision": precision,
        "citation_recall": recall,
        "cites_gold": bool(cited_docs & set(r.turn_data.relevant)) if r.answerable else None,
        "latency_ms": round(r.latency_ms, 1),
        "top": r.ranking[:5],
        "lead": a.sentences[0].text if a.sentences else None,
    }
    if r.split:
        row["split"] = r.split
    if r.turn_data.tags:
        row["tags"] = list(r.turn_data.tags)
    row |= fact_fields(r.turn_data, a, r.answerable)
    if r.answerable:
        row |= {k: round(v, 4) for k, v in query_metrics(r.ranking, r.turn_data.relevant).items()}
    reference = r.turn_data.reference_answer
    if reference is not None and not a.abstained:  # the answer's sentences, not its references or disclaimer
        row["rouge_l_f1"] = round(rouge_l_f1(_plain(a), reference), 4)
        row["token_f1"] = round(token_f1(_plain(a), reference), 4)
        row["lead_rouge_l_f1"] = round(rouge_l_f1(a.sentences[0].text, reference), 4)
    return row


def _plain(answer: Answer) -> str:
    return " ".join(s.text for s in answer.sentences)


def _mean(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return round(sum(values) / len(values), 4) if values else None


ANSWER_KEYS = ("rouge_l_f1", "lead_rouge_l_f1", "token_f1", "citation_precision", "citation_recall")


def _answer_means(answered: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    means = {key: _mean(answered, key) for key in ANSWER_KEYS}
    means["gold_source_hit_rate"] = _mean([r for r in answered if r["answerable"]], "cites_gold")
    return means


def answer_metrics(results: Sequence[TurnResult]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(metrics, per-turn rows). Answer and citation means are over answered (non-abstained) turns."""
    rows = [_row(r) for r in results]
    answerable = [r for r in rows if r["answerable"]]
    answered = [r for r in rows if not r["abstained"]]
    metrics: dict[str, Any] = dict(mean_metrics(answerable))
    metrics |= _answer_means(answered)
    abstention = abstention_scores([r["abstained"] for r in rows], [not r["answerable"] for r in rows])
    metrics |= {k: round(v, 4) if v is not None else None for k, v in abstention.items()}
    latencies = [r["latency_ms"] for r in rows]
    metrics |= fact_metrics(rows)
    metrics["latency_p50_ms"] = round(percentile(latencies, 50), 1)
    metrics["latency_p95_ms"] = round(percentile(latencies, 95), 1)
    return metrics, rows


def answers_result(results: Sequence[TurnResult], cfg: dict[str, Any], seconds: float) -> dict[str, Any]:
    metrics, rows = answer_metrics(results)
    kinds = {k: sum(1 for r in rows if r["kind"] == k) for k in ("single", "conversation", "unanswerable")}
    follow = [r for r in rows if r["turn"] > 1 and r["answerable"]]
    first = [r for r in rows if r["turn"] == 1 and r["answerable"]]
    metrics["first_turn"] = mean_metrics(first) | _answer_means([r for r in first if not r["abstained"]])
    metrics["follow_up"] = mean_metrics(follow) | _answer_means([r for r in follow if not r["abstained"]])
    if any("key_facts_total" in r or "lead_correct" in r for r in rows):
        metrics["first_turn"] |= fact_metrics([r for r in rows if r["turn"] == 1])
        metrics["follow_up"] |= fact_metrics([r for r in rows if r["turn"] > 1])
        metrics["by_tag"] = by_tag(rows)
    return {
        "kind": "answers",
        "metrics": metrics,
        "counts": {"turns": len(rows), **kinds, "abstained": sum(r["abstained"] for r in rows)},
        "timing": {
            "seconds": round(seconds, 2),
            "questions_per_second": round(len(rows) / seconds, 2) if seconds else 0,
        },
        "latencies_ms": [r["latency_ms"] for r in rows],
        "config": cfg,
        "per_query": rows,
    }
