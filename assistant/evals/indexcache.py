"""Cached indexes of evaluation corpora: built once per corpus, model and ingest/index settings.

An eval index lives in `settings.cache_dir / "indexes" / <key>`, where the key hashes the corpus file bytes, the
model name and the ingest and index settings. Retrieval settings are not part of the key: they do not change what
is stored, so every retrieval mode (and fusion setting) scores on the same cached index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..embed import Embedder, all_cores, set_threads, vector_key
from ..errors import IndexNotFound
from ..ingest import load_corpus, source_fingerprint
from ..loader import LoadedIndex, load_index, read_manifest
from ..settings import Settings
from ..store import build_index

if TYPE_CHECKING:
    from ..service import Assistant


def eval_settings(settings: Settings) -> Settings:
    """The settings eval indexes are built with: no sentence vectors (retrieval evals never use them)."""
    index = settings.index.model_copy(update={"sentence_embeddings": False})
    return settings.model_copy(update={"index": index})


def cache_key(sources: Sequence[Path], settings: Settings, model: str) -> str:
    h = hashlib.sha256(source_fingerprint(sources, settings.ingest).encode())
    h.update(model.encode() + b"\0")
    h.update(settings.ingest.model_dump_json().encode() + b"\0")
    h.update(settings.index.model_dump_json(exclude={"keep_generations", "build_lock_timeout_s"}).encode())
    return h.hexdigest()[:16]


def _vectors(settings: Settings) -> Path | None:
    """The embedding cache evaluation builds share with every other build (`assistant.embedcache`)."""
    return settings.cache_dir / "embeddings" if settings.index.embedding_cache else None


def ensure_cached_index(
    sources: Sequence[Path],
    settings: Settings,
    embedder: Embedder,
    *,
    progress: bool = True,
    log: Callable[[str], None] = lambda _m: None,
) -> Path:
    """The cached index folder of `sources`, building the index first when there is none for this key."""
    settings = eval_settings(settings)
    key = cache_key(sources, settings, vector_key(embedder))
    folder = settings.cache_dir / "indexes" / key
    try:
        read_manifest(folder)
    except IndexNotFound:
        log(f"indexing {', '.join(map(str, sources))} into {folder} (once per corpus, model and settings)")
        corpus = load_corpus(sources, settings.ingest)
        set_threads(all_cores())
        build_index(
            corpus, embedder, settings, folder, progress=progress, log=log, embedding_cache=_vectors(settings)
        )
        described = {"sources": [str(s) for s in sources], "model": embedder.name, "key": key}
        (folder / "key.json").write_text(json.dumps(described, indent=2) + "\n", encoding="utf-8")
    else:
        log(f"using cached index {folder}")
    return folder


def open_cached_index(
    sources: Sequence[Path],
    settings: Settings,
    embedder: Embedder,
    *,
    progress: bool = True,
    log: Callable[[str], None] = lambda _m: None,
) -> LoadedIndex:
    """Load the cached index of `sources` (built first when missing)."""
    folder = ensure_cached_index(sources, settings, embedder, progress=progress, log=log)
    return load_index(
        folder,
        expected_model=embedder.name,
        expected_dimension=embedder.dimension,
        expected_vectors=embedder.vectors,
    )


def open_answering_assistant(sources: Sequence[Path], settings: Settings, embedder: Embedder) -> Assistant:
    """An `Assistant` over an evaluation corpus, with sentence vectors (the composer needs them), built once
    into `cache_dir/indexes/answers-<key>`."""
    from ..service import Assistant

    key = hashlib.sha256(
        (
            source_fingerprint(sources, settings.ingest)
            + vector_key(embedder)
            + settings.index.model_dump_json()
        ).encode()
    ).hexdigest()[:16]
    folder = settings.cache_dir / "indexes" / f"answers-{key}"
    try:
        read_manifest(folder)
    except IndexNotFound:
        set_threads(all_cores())
        corpus = load_corpus(sources, settings.ingest)
        build_index(corpus, embedder, settings, folder, log=print, embedding_cache=_vectors(settings))
    index = load_index(folder, expected_model=embedder.name, expected_vectors=embedder.vectors)
    return Assistant.from_index(settings, embedder, index)
