"""The three scoring commands, from parsed arguments to a result object (the CLI writes and prints it)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..embed import Embedder, all_cores, set_threads, vector_key
from ..errors import EvalDataError
from ..settings import Settings
from .data import load_beir, load_conversations, load_eval_set
from .indexcache import cache_key, ensure_cached_index, eval_settings, open_cached_index
from .results import config, conversation_result, retrieval_result
from .runner import DenseCache, ModeRun, Progress, eval_depth, retriever_for, run_conversations, run_retrieval

Log = Callable[[str], None]


def _modes(args: argparse.Namespace, settings: Settings) -> tuple[list[str], str]:
    """The modes to run, and the primary one (the configured mode when it is among them)."""
    modes: list[str] = args.modes or [settings.retrieval.mode]
    primary = settings.retrieval.mode if settings.retrieval.mode in modes else modes[0]
    return [primary, *(m for m in modes if m != primary)], primary


def retrieval(
    args: argparse.Namespace, settings: Settings, embedder: Embedder, progress: Progress, log: Log
) -> dict[str, Any]:
    beir = load_beir(args.beir, args.split)
    log(f"{len(beir.queries)} queries with judgements in {beir.folder / 'qrels' / (args.split + '.tsv')}")
    index = open_cached_index([beir.corpus], settings, embedder, log=log)
    set_threads(all_cores())
    modes, primary = _modes(args, settings)
    embedder.embed_queries(["warm-up"])  # one-off model start-up is not retrieval time
    cache, prepared = DenseCache(index, embedder), 0.0
    if any(m != "bm25" for m in modes):  # embed all queries and search FAISS once, in batches, for every mode
        started = time.perf_counter()
        cache.prepare(list(beir.queries.values()), eval_depth(index, args.k))
        prepared = time.perf_counter() - started
        log(f"embedded and searched {len(beir.queries)} queries in {prepared:.2f} s")
    runs: dict[str, ModeRun] = {}
    for mode in modes:
        retriever = retriever_for(index, embedder, settings.retrieval, mode, cache, args.k)
        runs[mode] = run_retrieval(retriever, beir.queries, args.k, progress=progress)
        runs[mode].seconds += prepared if mode != "bm25" else 0.0  # each mode's time includes the dense batch
        log(
            f"{mode}: {len(beir.queries)} queries in {runs[mode].seconds:.2f} s ({runs[mode].per_second} queries/s)"
        )
    key = cache_key([beir.corpus], eval_settings(settings), vector_key(embedder))
    cfg = config(
        settings, index, dataset=str(beir.folder), split=args.split, modes=modes, k=args.k,
        search_depth=eval_depth(index, args.k), index_key=key,
    )  # fmt: skip
    result = retrieval_result(runs, primary, beir.queries, beir.qrels, cfg)
    result["rankings"] = runs[primary].rankings
    return result


def conversations(
    args: argparse.Namespace, settings: Settings, embedder: Embedder, progress: Progress, log: Log
) -> dict[str, Any]:
    from ..service import Assistant

    if args.strategy:
        strategy = settings.conversation.model_copy(update={"strategy": args.strategy})
        settings = settings.model_copy(update={"conversation": strategy})
    convs = load_conversations(args.conversations)
    if not args.corpus.exists():
        raise EvalDataError(
            f"{args.corpus}: no such corpus; --corpus names a BEIR corpus.jsonl or a folder of Markdown documents"
        )
    folder = ensure_cached_index([args.corpus], settings, embedder, log=log)
    assistant = Assistant.open(
        settings, index_dir=folder, build_if_missing=False, embedder=embedder, with_conversations=False
    )
    set_threads(all_cores())
    modes, primary = _modes(args, settings)
    embedder.embed_queries(["warm-up"])
    runs: dict[str, ModeRun] = {}
    for mode in modes:
        cache = DenseCache(assistant.index, embedder)
        retriever = retriever_for(assistant.index, embedder, settings.retrieval, mode, cache, args.k)
        runs[mode] = run_conversations(
            assistant, retriever, convs, args.k, how=args.ask_as, progress=progress
        )
        log(
            f"{mode}: {len(runs[mode].rankings)} turns in {runs[mode].seconds:.2f} s ({runs[mode].per_second} turns/s)"
        )
    cfg = config(
        settings, assistant.index, dataset=str(args.conversations), corpus=str(args.corpus), modes=modes,
        k=args.k, ask_as=args.ask_as, search_depth=eval_depth(assistant.index, args.k),
    )  # fmt: skip
    result = conversation_result(runs, primary, convs, cfg)
    result["rankings"] = runs[primary].rankings
    return result


def answers(
    args: argparse.Namespace, settings: Settings, embedder: Embedder, progress: Progress, log: Log
) -> dict[str, Any]:
    from ..service import Assistant
    from .answers import answers_result, run_answers

    items = load_eval_set(args.eval_set)
    split = getattr(args, "split", "all")
    if split != "all":
        items = [i for i in items if i.split == split]
        if not items:
            raise EvalDataError(
                f"{args.eval_set}: no item has 'split': {split!r}; use --split all for this set"
            )
    assistant = Assistant.open(
        settings, index_dir=args.index, embedder=embedder, with_conversations=False, log=log
    )
    cache = DenseCache(assistant.index, embedder)
    retriever = retriever_for(
        assistant.index, embedder, settings.retrieval, settings.retrieval.mode, cache, args.k
    )
    assistant.warm()  # as the server does once it is ready: latency is that of a served question
    started = time.perf_counter()
    results = run_answers(assistant, retriever, items, args.k, progress)
    seconds = time.perf_counter() - started
    cfg = config(
        settings, assistant.index, set=str(args.eval_set), split=split, k=args.k,
        composer=settings.composer.model_dump(),
    )  # fmt: skip
    result = answers_result(results, cfg, seconds)
    result["mode"] = settings.retrieval.mode
    return result


def calibrate(
    args: argparse.Namespace, settings: Settings, embedder: Embedder, progress: Progress, log: Log
) -> dict[str, Any]:
    """Choose the abstention thresholds for the index's embedding model on the dev split of an eval set and
    store them with the index (`assistant.calibration`): the pair that maximises answer_complete +
    unanswerable_abstention - wrongful_abstention, the higher thresholds on ties."""
    from ..calibration import CALIBRATED, save_calibration
    from ..service import Assistant
    from .answers import answer_metrics, run_answers

    items = [i for i in load_eval_set(args.eval_set) if i.split == "dev"]
    if not items:
        raise EvalDataError(f"{args.eval_set}: no item has 'split': 'dev'; calibration needs dev data")
    index_dir = args.index or settings.index_dir
    pinned = {k: getattr(settings.composer, k) for k in CALIBRATED}  # explicit settings are not calibrated
    assistant = Assistant.open(
        settings.model_copy(update={"composer": settings.composer.model_copy(update=pinned)}),
        index_dir=index_dir, embedder=embedder, with_conversations=False, log=log,
    )  # fmt: skip
    retriever = retriever_for(
        assistant.index,
        embedder,
        settings.retrieval,
        settings.retrieval.mode,
        DenseCache(assistant.index, embedder),
        args.k,
    )
    base = assistant.settings
    trials = []
    for below in [round(0.26 + 0.04 * i, 2) for i in range(9)]:
        for extra in (0.1, 0.14, 0.18):
            composer = base.composer.model_copy(
                update={"abstain_below": below, "abstain_below_unknown": round(below + extra, 2)}
            )
            assistant.settings = base.model_copy(update={"composer": composer})
            metrics, _ = answer_metrics(run_answers(assistant, retriever, items, args.k))
            objective = (
                (metrics["answer_complete"] or 0)
                + (metrics["unanswerable_abstention"] or 0)
                - (metrics["wrongful_abstention"] or 0)
            )
            trials.append(
                {
                    "abstain_below": below,
                    "abstain_below_unknown": round(below + extra, 2),
                    "objective": round(objective, 4),
                    **{
                        k: metrics[k]
                        for k in ("answer_complete", "wrongful_abstention", "unanswerable_abstention")
                    },
                }
            )
            log(f"abstain_below {below}, unknown {below + extra:.2f}: {trials[-1]}")
    best = max(trials, key=lambda t: (t["objective"], t["abstain_below"], t["abstain_below_unknown"]))
    chosen = {k: best[k] for k in CALIBRATED}
    path = save_calibration(
        Path(index_dir), embedder.name, chosen, set=str(args.eval_set), split="dev", dev=best
    )
    log(f"wrote {path}: {chosen}")
    return {
        "kind": "calibration",
        "model": embedder.name,
        "thresholds": chosen,
        "best": best,
        "trials": trials,
    }
