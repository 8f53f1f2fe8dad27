"""Index store: build a generation and load (and verify) one.

Layout of one generation folder (see `assistant.generations` for the index folder around it):

    manifest.json             model, dimension, counts, fingerprints, sha256 of every file, build time
                              (`assistant.manifest.Manifest`)
    manifest.sha256           sha256 of manifest.json itself, so no byte of the manifest goes unchecked
    passages.sqlite           documents (citation metadata) and passages (text, sentence offsets), by row
                              and id (`assistant.passagestore`)
    dense.faiss               the vector index over normalised passage vectors (`assistant.vectorindex`)
    sentences.npy             float16 sentence vectors (optional; used by the composer), memory-mapped
    bm25/                     bm25s index over the same passage texts, memory-mapped
    vocabulary.json           the library's words, capitalised forms and the abbreviations it defines

A generation is written under a temporary name by the one build holding the lock, and published by renaming
it and replacing CURRENT atomically, so a crash never leaves a half-written index where the loader looks. The
loader verifies every byte and falls back to the newest generation that verifies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .embed import Embedder
from .embedcache import EmbeddingCache, ShardEngine, model_folder
from .errors import ConfigError
from .generations import MANIFEST, build_lock, checkpoint, new_build_folder, publish
from .ingest import Corpus
from .lexical import build_bm25
from .loader import MANIFEST_SUM, VOCABULARY, file_hashes
from .manifest import FORMAT_VERSION, DenseRecall, EmbeddedNow, LeftOut, Manifest
from .passagestore import FILE as STORE_FILE
from .passagestore import write_store
from .settings import Settings
from .types import Document, Passage
from .vectorindex import build_vector_index, measured_recall
from .vocab.corpus import CorpusVocabulary


def embedding_text(passage: Passage, doc: Document, with_context: bool) -> str:
    """The text that is embedded and BM25-indexed for a passage (title and heading give it context)."""
    if not with_context:
        return passage.text
    parts = [doc.title if doc.title != doc.doc_id else "", passage.section, passage.text]
    return ". ".join(p.rstrip(".") if i < 2 else p for i, p in enumerate(parts) if p)


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())


def build_index(
    corpus: Corpus,
    embedder: Embedder,
    settings: Settings,
    index_dir: Path,
    *,
    source_fingerprint: str = "",
    sources: Sequence[Path] = (),
    progress: bool = True,
    log: Callable[[str], None] = lambda _msg: None,
    embedding_cache: Path | None = None,
    engine: ShardEngine | None = None,
) -> Path:
    """Embed the corpus, write a generation and publish it, holding the build lock; returns the published
    folder. With `embedding_cache` (a folder), vectors computed before are reused and new ones kept there
    (`assistant.embedcache`)."""
    started = time.perf_counter()
    with build_lock(index_dir, settings.index.build_lock_timeout_s, log):
        tmp = new_build_folder(index_dir)
        try:
            return _write_generation(
                tmp,
                corpus,
                embedder,
                settings,
                index_dir,
                source_fingerprint,
                sources,
                progress,
                log,
                started,
                embedding_cache,
                engine,
            )
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _write_generation(
    tmp: Path,
    corpus: Corpus,
    embedder: Embedder,
    settings: Settings,
    index_dir: Path,
    source_fingerprint: str,
    sources: Sequence[Path],
    progress: bool,
    log: Callable[[str], None],
    started: float,
    embedding_cache: Path | None,
    engine: ShardEngine | None,
) -> Path:
    cache = (
        EmbeddingCache(model_folder(embedding_cache, embedder), embedder.dimension)
        if embedding_cache is not None
        else None
    )

    if engine is not None and cache is None:
        raise ConfigError(
            "a distributed build writes the embedding cache: set ASSISTANT_INDEX__EMBEDDING_CACHE=true"
        )

    def embed(texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
        if cache is None:
            return embedder.embed_documents(texts, batch_size=batch_size, progress=progress), len(texts)
        return cache.embed(
            texts,
            embedder,
            batch_size=batch_size,
            shard_size=settings.index.embedding_shard_size,
            progress=progress,
            log=log,
            engine=engine,
        )

    texts = [
        embedding_text(p, corpus.documents[p.doc_id], settings.index.embed_context) for p in corpus.passages
    ]
    log(f"embedding {len(texts)} passages with {embedder.name}")
    t0 = time.perf_counter()
    vectors, passages_embedded = embed(texts, settings.index.batch_size)
    embed_seconds = time.perf_counter() - t0
    checkpoint("embedded")
    dense = build_vector_index(vectors, settings.index, index_dir)
    dense.save(tmp)
    recall = measured_recall(dense, vectors)
    log(f"{dense.kind} index: recall@{recall['k']} {recall['recall']} against exact search")
    build_bm25(texts, tmp / "bm25", settings.index.bm25_k1, settings.index.bm25_b)

    sentence_count = sum(len(p.sentences) for p in corpus.passages)
    sentences_embedded = 0
    if settings.index.sentence_embeddings:
        log(f"embedding {sentence_count} sentences")
        sentences = [s for p in corpus.passages for s in p.sentence_texts()]
        sent_vectors, sentences_embedded = embed(sentences, 64)
        np.save(tmp / "sentences.npy", sent_vectors.astype(np.float16))

    write_store(tmp / STORE_FILE, corpus.documents.values(), corpus.passages)
    CorpusVocabulary.build(corpus.documents.values(), corpus.passages).save(tmp / VOCABULARY)

    checkpoint("written")
    fingerprint = corpus.fingerprint()
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=embedder.name,
        vectors=embedder.vectors,
        dimension=embedder.dimension,
        vector_backend=dense.backend,
        vector_index=dense.kind,
        dense_recall=DenseRecall(**recall),
        passage_count=len(corpus.passages),
        document_count=len(corpus.documents),
        sentence_count=sentence_count,
        sentence_embeddings=settings.index.sentence_embeddings,
        embed_context=settings.index.embed_context,
        corpus_fingerprint=fingerprint,
        source_fingerprint=source_fingerprint,
        sources=[str(Path(s).resolve()) for s in sources],
        settings={"ingest": settings.ingest.model_dump(), "index": settings.index.model_dump()},
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        embed_seconds=round(embed_seconds, 2),
        passages_per_second=round(len(texts) / embed_seconds, 1) if embed_seconds > 0 else None,
        embedded_now=EmbeddedNow(passages=passages_embedded, sentences=sentences_embedded),
        embedding_workers=getattr(engine, "report", list)(),
        left_out=[LeftOut(file=f, why=why) for f, why in corpus.failures],
        duplicates=corpus.duplicates,
        files=file_hashes(tmp),
        build_seconds=round(time.perf_counter() - started, 2),
    )
    raw = manifest.to_json()
    (tmp / MANIFEST).write_bytes(raw)
    checkpoint("manifest")
    (tmp / MANIFEST_SUM).write_text(hashlib.sha256(raw).hexdigest() + "\n", encoding="utf-8")
    _fsync_tree(tmp)
    final = publish(tmp, index_dir, fingerprint, settings.index.keep_generations)
    dense.published()
    return final
