"""`assistant library ...`: the library commands (see `ops`), each change followed by an incremental
rebuild of the index unless `--no-build`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ..settings import Settings
from ..types import REVIEW_STATUSES, Document
from . import ops
from .state import audit_entries


def _eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _who(args: argparse.Namespace) -> str:
    if getattr(args, "by", None):
        return str(args.by)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def rebuild(settings: Settings) -> dict[str, Any]:
    """Publish a generation of the library as it is now; vectors of unchanged text come from the cache."""
    from ..embed import make_embedder
    from ..service import build_from_settings

    # a file put into the library folder by hand that cannot be read is left out (and listed), not fatal
    lenient = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"skip_bad_files": True})}
    )
    folder = build_from_settings(lenient, make_embedder(settings), progress=False, log=_eprint)
    from ..loader import read_generation_manifest

    manifest = read_generation_manifest(folder)
    now = manifest.embedded_now
    _eprint(
        f"published {folder.name}: {manifest.document_count} documents, {manifest.passage_count} "
        f"passages; embedded now {now.passages} passages and {now.sentences} "
        f"sentences, in {manifest.build_seconds:.1f} s"
    )
    for item in manifest.left_out:
        _eprint(f"left out: {item.why}")
    return manifest.model_dump(mode="json")


def _report(changes: list[ops.Change], args: argparse.Namespace, settings: Settings) -> int:
    for c in changes:
        ids = f" ({', '.join(c.doc_ids)})" if c.doc_ids else ""
        print(f"{c.action:>9} {c.file}{ids}{': ' + c.detail if c.detail else ''}")
    if not args.no_build and any(c.action not in ("unchanged", "skipped") for c in changes):
        rebuild(settings)
    return 1 if any(c.action == "skipped" for c in changes) else 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from ..sidecars import parse_defaults

    defaults = parse_defaults(args.default or [])
    changes = ops.add(settings, args.paths, by=_who(args), defaults=defaults, into=args.into or "")
    return _report(changes, args, settings)


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    return _report([ops.remove(settings, args.doc_id, by=_who(args))], args, settings)


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    return _report(ops.sync(settings, args.folder, by=_who(args), into=args.into), args, settings)


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    change = ops.review(settings, args.doc_id, args.status, by=args.by, note=args.note or "")
    return _report([change], args, settings)


def _row(doc: Document) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "source_type": doc.source_type,
        "publisher": doc.publisher,
        "year": doc.year,
        "review_status": doc.review_status,
        "last_updated": doc.last_updated,
        "file": doc.source_file,
    }


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    docs = sorted(ops.documents(settings).values(), key=lambda d: d.doc_id)
    if args.json:
        print(json.dumps([_row(d) for d in docs], indent=1, ensure_ascii=False))
        return 0
    for d in docs:
        status = d.review_status or "-"
        print(f"{d.doc_id:<40} {d.source_type:<19} {d.year or '':<4} {status:<12} {d.title[:60]}")
    print(f"{len(docs)} documents", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    doc = ops.find(settings, args.doc_id)
    shown = {**doc.__dict__, "keywords": list(doc.keywords), "link": doc.link}
    shown["history"] = [
        e for e in audit_entries(settings.library_dir) if args.doc_id in str(e.get("doc_id", "")).split(",")
    ]
    print(json.dumps(shown, indent=1, ensure_ascii=False))
    return 0


def status(settings: Settings) -> dict[str, Any]:
    """What is indexed, whether it is stale, what was left out and why, and the review counts."""
    from ..errors import AssistantError
    from ..loader import current_generation, read_manifest
    from ..service import is_stale

    try:
        manifest = read_manifest(settings.index_dir)
        generation = current_generation(settings.index_dir).name
    except AssistantError as exc:
        return {"indexed": False, "why": str(exc)}
    docs = ops.documents(settings).values()
    return {
        "indexed": True,
        "generation": generation,
        "built_at": manifest.built_at,
        "documents": manifest.document_count,
        "passages": manifest.passage_count,
        "stale": is_stale(manifest, settings),
        "serve": settings.library.serve,
        "review_status": dict(Counter(d.review_status or "not reviewed" for d in docs)),
        "left_out": [item.model_dump() for item in manifest.left_out],
        "duplicates": manifest.duplicates,
        "library_dir": str(settings.library_dir),
    }


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    report = status(settings)
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
        return 0
    for key, value in report.items():
        if isinstance(value, list):
            print(f"{key:>14}: {len(value)}")
            for item in value:
                print(f"{'':>16}{item['why'] if isinstance(item, dict) else item}")
        else:
            print(f"{key:>14}: {value}")
    return 0


def add_library_parser(sub: Any) -> None:
    p = sub.add_parser("library", help="add, remove, review and list the documents of your library")
    lsub = p.add_subparsers(dest="library_command", required=True)

    def change(name: str, help_text: str) -> argparse.ArgumentParser:
        q: argparse.ArgumentParser = lsub.add_parser(name, help=help_text)
        q.add_argument("--no-build", action="store_true", help="change the files only; rebuild later")
        return q

    q = change("add", "copy files or folders (PDF, HTML, PubMed XML, JATS, DOCX, Markdown, text) in")
    q.add_argument("paths", type=Path, nargs="+")
    q.add_argument(
        "--default",
        "--defaults",
        action="append",
        metavar="KEY=VALUE",
        help="metadata a file lacks (repeatable)",
    )
    q.add_argument("--into", help="subfolder of the library to copy into")
    q.add_argument("--by", help="who makes the change (default: your user name)")
    q.set_defaults(func=cmd_add)
    q = change("remove", "move a document's file out of the library (kept under .library/removed)")
    q.add_argument("doc_id")
    q.add_argument("--by")
    q.set_defaults(func=cmd_remove)
    q = change("sync", "mirror a folder: add new and changed files, remove deleted ones")
    q.add_argument("folder", type=Path)
    q.add_argument("--into", help="library subfolder that mirrors it (default: the folder's name)")
    q.add_argument("--by")
    q.set_defaults(func=cmd_sync)
    q = change("review", "record a document's review status")
    q.add_argument("doc_id")
    q.add_argument("--status", required=True, choices=REVIEW_STATUSES)
    q.add_argument("--by", required=True, help="the reviewer")
    q.add_argument("--note")
    q.set_defaults(func=cmd_review)
    q = lsub.add_parser("list", help="the documents indexed")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_list)
    q = lsub.add_parser("show", help="one document's metadata and history")
    q.add_argument("doc_id")
    q.set_defaults(func=cmd_show)
    q = lsub.add_parser("status", help="what is indexed, stale, left out, and the review counts")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_status)
