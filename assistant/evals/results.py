"""Turn runs into the result object written as JSON: metrics, per-mode metrics, per-query rows, config."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from ..loader import LoadedIndex
from ..settings import PROJECT_ROOT, Settings
from .data import Conversation, Qrels
from .metrics import RETRIEVAL_KEYS, mean_metrics, query_metrics, recall_curve
from .runner import ModeRun

TOP_SHOWN = 5


def git_commit() -> str | None:
    """The checked-out commit, with `+dirty` when the working tree has changes (None outside git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def config(settings: Settings, index: LoadedIndex, **extra: Any) -> dict[str, Any]:
    m = index.manifest
    return {
        "model": m.model,
        "index": {
            "path": str(index.path),
            "documents": m.document_count,
            "passages": m.passage_count,
            "vector_backend": m.vector_backend,
            "vector_index": m.vector_index,
            "vectors": m.vectors,
            "corpus_fingerprint": m.corpus_fingerprint,
            "settings": m.settings,
        },
        "retrieval": settings.retrieval.model_dump(),
        "conversation_strategy": settings.conversation.strategy,
        "git_commit": git_commit(),
        **extra,
    }


def timing(runs: Mapping[str, ModeRun]) -> dict[str, dict[str, float]]:
    return {m: {"seconds": round(r.seconds, 2), "queries_per_second": r.per_second} for m, r in runs.items()}


def _rows(run: ModeRun, relevants: Sequence[Mapping[str, int]]) -> list[dict[str, Any]]:
    rows = []
    for (qid, ranking), relevant in zip(run.rankings.items(), relevants, strict=True):
        docs = [d for d, _ in ranking]
        rows.append({"id": qid, **{k: round(v, 4) for k, v in query_metrics(docs, relevant).items()}})
        rows[-1]["top"] = docs[:TOP_SHOWN]
    return rows


def _result(
    kind: str,
    runs: Mapping[str, ModeRun],
    primary: str,
    by_mode: dict[str, Any],
    curves: dict[str, Any],
    cfg: dict[str, Any],
    per_query: list[dict[str, Any]],
) -> dict[str, Any]:
    """The result JSON of a retrieval or conversation run: the primary mode's metrics first."""
    return {
        "kind": kind,
        "mode": primary,
        "metrics": by_mode[primary],
        "by_mode": by_mode,
        "recall_curve": curves,
        "timing": timing(runs),
        "config": cfg,
        "per_query": per_query,
    }


def retrieval_result(
    runs: Mapping[str, ModeRun], primary: str, queries: Mapping[str, str], qrels: Qrels, cfg: dict[str, Any]
) -> dict[str, Any]:
    relevants = [qrels[q] for q in queries]
    by_mode: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    per_query: list[dict[str, Any]] = []
    for mode, run in runs.items():
        rows = _rows(run, relevants)
        by_mode[mode] = mean_metrics(rows)
        curves[mode] = recall_curve([[d for d, _ in r] for r in run.rankings.values()], relevants)
        if mode == primary:
            per_query = [
                {"id": r["id"], "query": queries[r["id"]], "relevant": len(qrels[r["id"]]), **r} for r in rows
            ]
    return _result("retrieval", runs, primary, by_mode, curves, cfg, per_query)


def _grouped(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    metrics: dict[str, Any] = mean_metrics(rows)
    metrics["first_turn"] = mean_metrics([r for r in rows if r["turn"] == 1])
    metrics["follow_up"] = mean_metrics([r for r in rows if r["turn"] > 1])
    switches = [r for r in rows if r["topic_switch"]]
    if switches:
        metrics["topic_switch"] = mean_metrics(switches)
        metrics["same_topic_follow_up"] = mean_metrics(
            [r for r in rows if r["turn"] > 1 and not r["topic_switch"]]
        )
    return metrics


def conversation_result(
    runs: Mapping[str, ModeRun], primary: str, conversations: Sequence[Conversation], cfg: dict[str, Any]
) -> dict[str, Any]:
    turns = [(c, t, turn) for c in conversations for t, turn in enumerate(c.turns, 1)]
    relevants = [turn.relevant for _, _, turn in turns]
    by_mode: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    per_query: list[dict[str, Any]] = []
    for mode, run in runs.items():
        rows = _rows(run, relevants)
        for row, (conv, t, turn), searched in zip(rows, turns, run.queries, strict=True):
            row |= {"conversation": conv.conv_id, "turn": t, "topic_switch": turn.topic_switch}
            row |= {"question": turn.question, "searched": searched}
        by_mode[mode] = _grouped(rows)
        curves[mode] = recall_curve([[d for d, _ in r] for r in run.rankings.values()], relevants)
        if mode == primary:
            per_query = rows
    return _result("conversations", runs, primary, by_mode, curves, cfg, per_query)


__all__ = ["RETRIEVAL_KEYS", "config", "conversation_result", "git_commit", "retrieval_result"]
