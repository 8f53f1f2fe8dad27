"""`assistant eval ...` subcommands: retrieval, conversations, answers and make-medquad."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import EvalDataError
from ..settings import PROJECT_ROOT, Settings

Func = Callable[[argparse.Namespace, Settings], int]
MODES = ("hybrid", "dense", "bm25")
MEDQUAD = PROJECT_ROOT.parent / "shared" / "datasets" / "medquad" / "qa.jsonl"


def _modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise argparse.ArgumentTypeError(
            f"unknown mode {', '.join(bad) or text!r}; use a list of {', '.join(MODES)}"
        )
    return list(dict.fromkeys(modes))


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, help="write the result JSON here (and FILE.md, plots beside it)")
    p.add_argument(
        "--compare", type=Path, metavar="BASELINE.json", help="print deltas; exit 1 on a regression"
    )
    p.add_argument(
        "--tolerance", type=float, default=0.01, help="allowed drop of a metric (absolute, default 0.01)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _medquad_parser(esub: Any) -> argparse.ArgumentParser:
    m: argparse.ArgumentParser = esub.add_parser(
        "make-medquad", help="generate MedQuAD retrieval and conversation sets"
    )
    m.add_argument("--out", type=Path, default=PROJECT_ROOT / ".cache" / "datasets" / "medquad")
    m.add_argument("--qa", type=Path, default=MEDQUAD, help="MedQuAD qa.jsonl")
    m.add_argument("--conversations", type=int, default=400, help="follow-up conversations (default 400)")
    m.add_argument("--switches", type=int, default=100, help="topic-switch conversations (default 100)")
    m.add_argument("--seed", type=int, default=13)
    return m


def add_eval_parser(sub: Any, func: Func) -> None:
    p = sub.add_parser("eval", help="batch evaluation runs")
    esub = p.add_subparsers(dest="eval_command", required=True)

    r = esub.add_parser("retrieval", help="score retrieval on a BEIR folder")
    r.add_argument(
        "--beir", type=Path, required=True, help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/)"
    )
    r.add_argument("--split", default="test", help="qrels/<split>.tsv to score against (default test)")
    r.add_argument("--k", type=int, default=100, help="documents ranked per query (default 100)")
    r.add_argument(
        "--modes", type=_modes, help="comma-separated retrieval modes (default: the configured one)"
    )
    r.add_argument("--run-out", type=Path, help="write the ranking in TREC run format")
    r.add_argument(
        "--backend",
        choices=["faiss", "milvus"],
        help="vector engine of the evaluation index (default: ASSISTANT_INDEX__BACKEND, else faiss)",
    )
    _report_args(r)

    c = esub.add_parser("conversations", help="score follow-up retrieval on conversations")
    c.add_argument(
        "--corpus",
        type=Path,
        required=True,
        help="BEIR corpus.jsonl, or a folder of Markdown documents (the shipped corpus/)",
    )
    c.add_argument("--conversations", type=Path, required=True, help="conversations JSONL")
    c.add_argument("--k", type=int, default=100)
    c.add_argument("--modes", type=_modes)
    c.add_argument(
        "--strategy", choices=("entity-carry", "prepend", "none"), help="follow-up resolution strategy"
    )
    c.add_argument(
        "--as", dest="ask_as", choices=("conversation", "no-history", "standalone"), default="conversation",
        help="ask turns with their history (default), each question alone, or each turn's standalone question",
    )  # fmt: skip
    c.add_argument("--run-out", type=Path)
    _report_args(c)

    a = esub.add_parser("answers", help="run the curated set end to end and score answers")
    a.add_argument("--set", type=Path, default=PROJECT_ROOT / "evals" / "curated.jsonl", dest="eval_set")
    a.add_argument("--index", type=Path, help="index folder (default: the configured one)")
    a.add_argument("--k", type=int, default=100)
    a.add_argument(
        "--split", choices=("dev", "test", "all"), default="all",
        help="score only the items of this split (sets whose items carry a 'split'; default all)",
    )  # fmt: skip
    _report_args(a)

    cal = esub.add_parser(
        "calibrate",
        help="choose the abstention thresholds for the index's model on dev data; store them with it",
    )
    cal.add_argument("--set", type=Path, default=PROJECT_ROOT / "evals" / "clinician.jsonl", dest="eval_set")
    cal.add_argument("--index", type=Path, help="index folder (default: the configured one)")
    cal.add_argument("--k", type=int, default=100)
    cal.add_argument("--no-progress", action="store_true", help="no progress bar")

    m = _medquad_parser(esub)
    for parser in (r, c, a, m, cal):
        parser.set_defaults(func=func)


def _eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _progress(args: argparse.Namespace) -> Callable[[Iterable[Any], str, int], Iterable[Any]]:
    if args.no_progress:
        return lambda items, _label, _total: items

    def bar(items: Iterable[Any], label: str, total: int) -> Iterable[Any]:
        tqdm: Any = importlib.import_module("tqdm").tqdm  # no type stubs for tqdm

        bar_: Iterable[Any] = tqdm(items, desc=label, total=total, file=sys.stderr, unit="q", leave=False)
        return bar_

    return bar


def _embedder(settings: Settings) -> Any:
    from .. import embed

    return embed.make_embedder(settings)


def _finish(args: argparse.Namespace, result: dict[str, Any]) -> int:
    from . import report

    rankings = result.pop("rankings", None)
    deltas = report.compare(result, args.compare, args.tolerance) if args.compare else None  # before --out
    if args.out:
        md = report.write(result, args.out)
        _eprint(f"wrote {args.out} and {md}")
    if getattr(args, "run_out", None) and rankings is not None:
        report.write_run(rankings, args.run_out, result["mode"])
        _eprint(f"wrote {args.run_out}")
    m = result["metrics"]
    keys = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
    print(f"{result['kind']} ({result.get('mode', '')}): " + "  ".join(f"{k}={m[k]:.4f}" for k in keys))
    if m.get("lead_correct") is not None or m.get("unanswerable_abstention") is not None:
        facts = (
            "lead_correct",
            "answer_complete",
            "key_fact_recall",
            "wrongful_abstention",
            "unanswerable_abstention",
        )
        print("key facts: " + "  ".join(f"{k}={m[k]}" for k in facts))
    if deltas is not None:
        lines, regressed = deltas
        print("\n".join(lines) or "no metric in common with the baseline")
        if regressed:
            _eprint(f"regression beyond {args.tolerance} against {args.compare}")
            return 1
    return 0


def run_eval(args: argparse.Namespace, settings: Settings, embedder: Any = None) -> int:
    if getattr(args, "k", 100) < 10:
        raise EvalDataError("--k must be at least 10 (the metrics look at the top 10 and 100)")
    if args.eval_command == "make-medquad":
        from .medquad import make_medquad

        counts = make_medquad(
            args.qa, args.out, conversations=args.conversations, switches=args.switches, seed=args.seed
        )
        print(f"wrote {args.out}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        return 0
    from . import commands

    started = time.perf_counter()
    if getattr(args, "backend", None):  # the backend is an index setting, so it keys the cached index too
        settings = settings.model_copy(
            update={"index": settings.index.model_copy(update={"backend": args.backend})}
        )
    embedder = embedder or _embedder(settings)
    run = {
        "retrieval": commands.retrieval,
        "conversations": commands.conversations,
        "answers": commands.answers,
        "calibrate": commands.calibrate,
    }
    result = run[args.eval_command](args, settings, embedder, _progress(args), _eprint)
    if result["kind"] == "calibration":
        print(
            f"calibrated for {result['model']}: "
            + ", ".join(f"{k}={v}" for k, v in result["thresholds"].items())
        )
        return 0
    _eprint(f"done in {time.perf_counter() - started:.1f} s")
    return _finish(args, result)
