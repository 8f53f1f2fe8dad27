"""The `assistant` command. Heavy imports live inside the subcommands, so `--help` is instant."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import AssistantError, ConfigError
from .settings import Settings, get_settings
from .types import SOURCE_TYPES, Filters


def _eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _filters(args: argparse.Namespace) -> Filters | None:
    f = Filters(
        source_types=tuple(args.source_type or ()),
        year_min=args.year_min,
        year_max=args.year_max,
        topics=tuple(args.topic or ()),
        specialties=tuple(args.specialty or ()),
    )
    return None if f.is_empty() else f


def _add_filter_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters")
    g.add_argument(
        "--source-type", action="append", choices=SOURCE_TYPES, help="only this source type (repeatable)"
    )
    g.add_argument("--year-min", type=int, help="only sources published in or after this year")
    g.add_argument("--year-max", type=int, help="only sources published in or before this year")
    g.add_argument("--topic", action="append", help="only this topic (repeatable)")
    g.add_argument("--specialty", action="append", help="only this specialty (repeatable)")


# ---------------------------------------------------------------------------- commands


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .service import Assistant

    assistant = Assistant.open(settings, index_dir=args.index)
    try:
        answer = assistant.ask(
            args.question,
            conversation_id=args.conversation,
            top_k=args.top_k,
            filters=_filters(args),
            audience=args.audience,
        )
    finally:
        assistant.close()
    if args.json:
        print(answer.model_dump_json(indent=2))
    else:
        print(answer.answer_text if args.format == "text" else answer.answer_markdown)
        _eprint(f"conversation: {answer.conversation_id}  ({answer.timings_ms.get('total', 0):.0f} ms)")
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from .service import Assistant

    assistant = Assistant.open(settings, index_dir=args.index)
    conversation: str | None = None
    _eprint(
        "Ask a clinical question; follow-ups lean on the conversation. '/new' starts afresh, Ctrl-D quits."
    )
    try:
        while True:
            try:
                line = input("\n? ").strip()
            except EOFError:
                break
            if not line:
                continue
            if line in ("/new", "/reset"):
                conversation = None
                _eprint("(new conversation)")
                continue
            if line in ("/quit", "/exit"):
                break
            try:
                answer = assistant.ask(line, conversation_id=conversation, filters=_filters(args))
            except AssistantError as exc:
                _eprint(f"error: {exc}")
                continue
            conversation = answer.conversation_id
            print(answer.answer_text)
            if answer.resolved_query != answer.question:
                _eprint(f"(searched: {answer.resolved_query})")
            for q in answer.suggested_followups:
                _eprint(f"  -> {q}")
    finally:
        assistant.close()
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from .api import create_app

    if args.index:
        settings = settings.model_copy(update={"index_dir": args.index})
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": "warning",
        "access_log": False,
    }
    workers = args.workers or settings.api.workers
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return 0
    from .loader import current_generation

    try:  # the workers share one read-only index: it must exist before they start, not be built N times
        current_generation(settings.index_dir)
    except AssistantError:
        _eprint(f"no index in {settings.index_dir} yet: building it once before the workers start")
        built = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "index", "build", "--index", str(settings.index_dir)],
            check=False,
        )
        if built.returncode:
            return built.returncode
    from .milvus_index import served_by_lite

    if served_by_lite(current_generation(settings.index_dir)):
        raise ConfigError(
            "this index keeps its vectors in Milvus Lite, which one process at a time may open: serve it with "
            "--workers 1, or build it into a Milvus server (ASSISTANT_INDEX__MILVUS_URI)"
        )
    # each worker reads its settings from the environment, as this process did
    os.environ["ASSISTANT_INDEX_DIR"] = str(settings.index_dir)
    os.environ["ASSISTANT_API__WORKERS"] = str(workers)
    uvicorn.run("assistant.api.app:app_from_environment", factory=True, workers=workers, **options)
    return 0


def cmd_index_build(args: argparse.Namespace, settings: Settings) -> int:
    from .embed import make_embedder
    from .loader import read_generation_manifest
    from .service import build_from_settings

    embedder = make_embedder(settings)
    engine = None
    if args.engine == "ray":
        from .rayembed import RayShards

        engine = RayShards(settings, address=args.address, dimension=embedder.dimension)
    elif args.address:
        raise ConfigError("--address names a Ray cluster: use it with --engine ray")
    folder = build_from_settings(
        settings,
        embedder,
        sources=args.source or None,
        index_dir=args.index or settings.index_dir,
        log=_eprint,
        engine=engine,
    )
    m = read_generation_manifest(folder)
    _eprint(
        f"built {folder} : {m.passage_count} passages from {m.document_count} documents in "
        f"{m.build_seconds:.1f} s ({m.passages_per_second} passages/s embedding)"
    )
    for worker in m.embedding_workers:
        _eprint(
            f"  worker {worker['worker']}: {worker['texts']} texts in {worker['seconds']} s "
            f"({worker['texts_per_second']} texts/s)"
        )
    return 0


def cmd_index_info(args: argparse.Namespace, settings: Settings) -> int:
    from .loader import current_generation, read_manifest

    index_dir = args.index or settings.index_dir
    manifest = read_manifest(index_dir).model_dump(mode="json")
    manifest["path"] = str(current_generation(index_dir))
    print(json.dumps(manifest, indent=2))
    return 0


def corpus_stats(sources: Sequence[Path], settings: Settings) -> dict[str, Any]:
    from .ingest import load_corpus

    corpus = load_corpus(sources, settings.ingest)
    docs = corpus.documents.values()
    return {
        "documents": len(corpus.documents),
        "passages": len(corpus.passages),
        "topics": len({d.topic for d in docs if d.topic}),
        "specialties": len({d.specialty for d in docs if d.specialty}),
        "source_types": dict(sorted(Counter(d.source_type for d in docs).items())),
        "sentences": sum(len(p.sentences) for p in corpus.passages),
    }


def cmd_corpus_stats(args: argparse.Namespace, settings: Settings) -> int:
    stats = corpus_stats(args.source or settings.corpus, settings)
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        for key, value in stats.items():
            print(f"{key:>13}: {value}")
    return 0


def cmd_corpus_topics(args: argparse.Namespace, settings: Settings) -> int:
    from .ingest import load_corpus
    from .library.coverage import coverage

    corpus = load_corpus(args.source or settings.corpus, settings.ingest)
    report = coverage(corpus.documents.values(), len(corpus.passages))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for t in report["topics"]:
        print(
            f"{t['topic']:<40} {t['specialty'] or '':<20} {t['documents']:>3}  {', '.join(t['source_types'])}"
        )
    years = report["years"]
    span = f", {years['min']}-{years['max']}" if years else ""
    print(f"{report['documents']} documents, {len(report['topics'])} topics{span}", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .evals.cli import run_eval

    return run_eval(args, settings)


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="Citation-grounded follow-up question assistant for clinicians."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ask", help="answer one question (with citations)")
    p.add_argument("question")
    p.add_argument("--index", type=Path, help="index folder (default: ASSISTANT_INDEX_DIR or ./index)")
    p.add_argument("--conversation", help="continue this conversation (id printed by an earlier ask)")
    p.add_argument(
        "--json", action="store_true", help="print the answer object, exactly as the HTTP API returns it"
    )
    p.add_argument("--format", choices=("markdown", "text"), default="markdown", help="output for a person")
    p.add_argument("--top-k", type=int, help="passages handed to the composer")
    p.add_argument(
        "--audience", choices=["clinician", "patient"], default="clinician",
        help="who reads the answer: patient prefers patient-information sources and plain sentences",
    )  # fmt: skip
    _add_filter_args(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="interactive conversation in the terminal")
    p.add_argument("--index", type=Path)
    _add_filter_args(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", help="start the HTTP API and chat page")
    p.add_argument("--index", type=Path)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="server processes sharing the index (default ASSISTANT_API__WORKERS, 1; more than one: rate limits "
        "in a shared database)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("index", help="build or inspect the index")
    isub = p.add_subparsers(dest="index_command", required=True)
    b = isub.add_parser("build", help="embed a corpus and publish a new index generation")
    b.add_argument("--source", type=Path, action="append", help="corpus folder or file (repeatable)")
    b.add_argument("--index", type=Path, help="index folder")
    b.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="where texts are embedded: this process, or a Ray cluster (Ray Data actors; the [ray] extra)",
    )
    b.add_argument(
        "--address", help="the Ray cluster to join (ray://HOST:10001 or HOST:6379); default: a local one"
    )
    b.set_defaults(func=cmd_index_build)
    i = isub.add_parser("info", help="print the manifest of the current index")
    i.add_argument("--index", type=Path)
    i.set_defaults(func=cmd_index_info)

    p = sub.add_parser("corpus", help="inspect the corpus")
    csub = p.add_subparsers(dest="corpus_command", required=True)
    s = csub.add_parser("stats", help="count documents, passages, topics, specialties and source types")
    s.add_argument("--source", type=Path, action="append")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_corpus_stats)
    t = csub.add_parser("topics", help="the topics covered: documents, specialty and source types of each")
    t.add_argument("--source", type=Path, action="append")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_corpus_topics)

    from .evals.cli import add_eval_parser
    from .library.cli import add_library_parser

    add_eval_parser(sub, cmd_eval)
    add_library_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        code: int = args.func(args, settings)
        return code
    except AssistantError as exc:
        _eprint(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        _eprint("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
