"""Parsed files kept between builds: a library file whose bytes, metadata files, settings and reading code
have not changed is not read, split and sentence-split again (that costs about 5 ms a passage).

An entry lives at `<cache_dir>/parsed/<key[:2]>/<key>.json`, keyed by the sha256 of the file's bytes, its
sidecar and folder-CSV bytes, its path in the library, the ingest settings, the folder defaults and the
source of the modules that read it; so any change to one of them reads the file afresh. Entries are written
atomically; one that does not parse is read again from the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from .settings import IngestSettings
from .types import Document, Passage

Found = list[tuple[Document, list[Passage]]]
_PACKAGE = Path(__file__).resolve().parent
_CODE = (
    "ingest.py",
    "passages.py",
    "metadata.py",
    "sentences.py",
    "sidecars.py",
    "types.py",
)


@lru_cache(maxsize=1)
def _code_digest() -> bytes:
    h = hashlib.sha256()
    for path in sorted([*(_PACKAGE / n for n in _CODE), *(_PACKAGE / "readers").glob("*.py")]):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.digest()


def _key(
    path: Path, rel: str, metadata_files: list[Path], settings: IngestSettings, defaults: Mapping[str, Any]
) -> str:
    h = hashlib.sha256(_code_digest())
    h.update(settings.model_dump_json().encode() + b"\0" + rel.encode() + b"\0")
    h.update(json.dumps(dict(defaults), sort_keys=True, default=str).encode())
    for part in (path, *metadata_files):
        with part.open("rb") as handle:
            h.update(part.name.encode() + b"\0" + hashlib.file_digest(handle, "sha256").digest())
    return h.hexdigest()


def _dump(found: Found) -> str:
    rows: list[dict[str, Any]] = [
        {
            "document": {**doc.__dict__, "keywords": list(doc.keywords)},
            "passages": [
                [p.passage_id, p.section, p.text, [list(s) for s in p.sentences], p.position, p.page]
                for p in passages
            ],
        }
        for doc, passages in found
    ]
    return json.dumps(rows, ensure_ascii=False)


def _load(text: str) -> Found:
    found: Found = []
    for row in json.loads(text):
        doc = Document.from_dict(row["document"])
        passages = [
            Passage(pid, doc.doc_id, section, body, tuple((a, b) for a, b in spans), position, page)
            for pid, section, body, spans, position, page in row["passages"]
        ]
        found.append((doc, passages))
    return found


def cached_read(
    read: Callable[[], Found],
    cache: Path | None,
    path: Path,
    rel: str,
    metadata_files: list[Path],
    settings: IngestSettings,
    defaults: Mapping[str, Any],
) -> Found:
    """What `read()` finds in the file, from the cache when nothing it depends on changed."""
    if cache is None:
        return read()
    key = _key(path, rel, metadata_files, settings, defaults)
    entry = cache / key[:2] / f"{key}.json"
    try:
        return _load(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found = read()
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    tmp.write_text(_dump(found), encoding="utf-8")
    os.replace(tmp, entry)
    return found
