"""Index store: build, publish (atomically) and load index generations.

Layout of an index folder:

    index/CURRENT                 name of the generation the loader uses
    index/gen-<time>-<hash>/      one published generation:
        manifest.json             model, dimension, counts, fingerprints, sha256 of every file, build time
        documents.json            citation metadata of every document
        passages.jsonl            passages with sentence offsets, in index order
        dense.faiss               FAISS inner-product index over normalised passage vectors
        sentences.npy             float16 sentence vectors (optional; used by the composer)
        bm25/                     bm25s index over the same passage texts
        vocabulary.json           the library's words, capitalised forms and the abbreviations it defines

A generation is written under a temporary name and published by renaming it, then by replacing CURRENT
atomically, so a crash never leaves a half-written index where the loader looks.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .embed import Embedder, Vectors
from .errors import IndexMismatch, IndexNotFound
from .ingest import Corpus
from .lexical import build_bm25, load_bm25
from .settings import Settings
from .types import Document, Passage
from .vocab.corpus import CorpusVocabulary

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VOCABULARY = "vocabulary.json"  # the library's words and abbreviations (assistant.vocab.corpus)
CURRENT = "CURRENT"


def embedding_text(passage: Passage, doc: Document, with_context: bool) -> str:
    """The text that is embedded and BM25-indexed for a passage (title and heading give it context)."""
    if not with_context:
        return passage.text
    parts = [doc.title if doc.title != doc.doc_id else "", passage.section, passage.text]
    return ". ".join(p.rstrip(".") if i < 2 else p for i, p in enumerate(parts) if p)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _file_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): _sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())


@dataclass
class LoadedIndex:
    """A verified, loaded index generation."""

    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: list[Passage]
    dense: Any
    bm25: Any
    sentence_vectors: Vectors | None
    sentence_start: np.ndarray[Any, np.dtype[np.int64]]
    vocabulary: CorpusVocabulary
    by_id: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {p.passage_id: i for i, p in enumerate(self.passages)}

    def sentence_vectors_of(self, index: int) -> Vectors | None:
        if self.sentence_vectors is None:
            return None
        start = int(self.sentence_start[index])
        return self.sentence_vectors[start : start + len(self.passages[index].sentences)]


def _build_faiss(vectors: Vectors, hnsw_above: int) -> tuple[Any, str]:
    import faiss

    dim = vectors.shape[1]
    index: Any
    if len(vectors) > hnsw_above:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
        kind = "hnsw32"
    else:
        index = faiss.IndexFlatIP(dim)
        kind = "flat-ip"
    if len(vectors):
        index.add(vectors)
    return index, kind


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
) -> Path:
    """Embed the corpus, write a generation and publish it; returns the published folder."""
    import faiss

    started = time.perf_counter()
    index_dir.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_builds(index_dir)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=index_dir))
    try:
        texts = [
            embedding_text(p, corpus.documents[p.doc_id], settings.index.embed_context)
            for p in corpus.passages
        ]
        log(f"embedding {len(texts)} passages with {embedder.name}")
        t0 = time.perf_counter()
        vectors = embedder.embed_documents(texts, batch_size=settings.index.batch_size, progress=progress)
        embed_seconds = time.perf_counter() - t0
        dense, kind = _build_faiss(vectors, settings.index.hnsw_above)
        faiss.write_index(dense, str(tmp / "dense.faiss"))
        build_bm25(texts, tmp / "bm25", settings.index.bm25_k1, settings.index.bm25_b)

        sentence_count = sum(len(p.sentences) for p in corpus.passages)
        if settings.index.sentence_embeddings:
            log(f"embedding {sentence_count} sentences")
            sentences = [s for p in corpus.passages for s in p.sentence_texts()]
            sent_vectors = embedder.embed_documents(sentences, batch_size=64, progress=progress)
            np.save(tmp / "sentences.npy", sent_vectors.astype(np.float16))

        with (tmp / "passages.jsonl").open("w", encoding="utf-8") as f:
            for p in corpus.passages:
                row: dict[str, Any] = {
                    "id": p.passage_id,
                    "doc": p.doc_id,
                    "section": p.section,
                    "text": p.text,
                }
                row |= {"sentences": [list(s) for s in p.sentences], "position": p.position}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        CorpusVocabulary.build(corpus.documents.values(), corpus.passages).save(tmp / VOCABULARY)
        docs = {k: v.__dict__ for k, v in corpus.documents.items()}
        (tmp / "documents.json").write_text(json.dumps(docs, ensure_ascii=False, indent=0), encoding="utf-8")

        fingerprint = corpus.fingerprint()
        manifest: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "model": embedder.name,
            "dimension": embedder.dimension,
            "normalized": True,
            "metric": "inner_product",
            "faiss_index": kind,
            "passage_count": len(corpus.passages),
            "document_count": len(corpus.documents),
            "sentence_count": sentence_count,
            "sentence_embeddings": settings.index.sentence_embeddings,
            "corpus_fingerprint": fingerprint,
            "source_fingerprint": source_fingerprint,
            "sources": [str(Path(s).resolve()) for s in sources],
            "settings": {"ingest": settings.ingest.model_dump(), "index": settings.index.model_dump()},
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "embed_seconds": round(embed_seconds, 2),
            "passages_per_second": round(len(texts) / embed_seconds, 1) if embed_seconds > 0 else None,
            "files": _file_hashes(tmp),
        }
        manifest["build_seconds"] = round(time.perf_counter() - started, 2)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _fsync_tree(tmp)
        return _publish(tmp, index_dir, fingerprint, settings.index.keep_generations)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_abandoned_builds(index_dir: Path, older_than_s: float = 6 * 3600) -> None:
    """Temporary folders of builds that were killed (a crash cannot run their clean-up)."""
    for stale in index_dir.glob(".building-*"):
        if time.time() - stale.stat().st_mtime > older_than_s:
            shutil.rmtree(stale, ignore_errors=True)


def _publish(tmp: Path, index_dir: Path, fingerprint: str, keep: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    final = index_dir / f"gen-{stamp}-{fingerprint[:8]}"
    os.rename(tmp, final)
    pointer = index_dir / f".{CURRENT}.tmp-{os.getpid()}"
    pointer.write_text(final.name + "\n", encoding="utf-8")
    with pointer.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(pointer, index_dir / CURRENT)
    generations = sorted(p for p in index_dir.glob("gen-*") if p.is_dir() and p != final)
    for old in generations[: max(0, len(generations) - (keep - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def current_generation(index_dir: Path) -> Path:
    """The published generation folder, or `IndexNotFound` saying how to build one."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexNotFound(
            f"no index in {index_dir}; build one with `assistant index build --index {index_dir}`"
        )
    name = pointer.read_text(encoding="utf-8").strip()
    folder = index_dir / name
    if not name or "/" in name or not (folder / MANIFEST).is_file():
        raise IndexNotFound(
            f"{pointer} names no generation with a manifest; rebuild with `assistant index build`"
        )
    return folder


def read_manifest(index_dir: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(
        (current_generation(index_dir) / MANIFEST).read_text(encoding="utf-8")
    )
    return manifest


def _read_passages(path: Path) -> list[Passage]:
    passages = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            spans = tuple((int(a), int(b)) for a, b in r["sentences"])
            passages.append(Passage(r["id"], r["doc"], r["section"], r["text"], spans, r.get("position", 0)))
    return passages


def load_index(
    index_dir: Path, *, expected_model: str | None, expected_dimension: int | None = None
) -> LoadedIndex:
    """Load and verify the current generation: file hashes, counts and the configured model."""
    import faiss

    folder = current_generation(index_dir)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    rebuild = f"rebuild it with `assistant index build --index {index_dir}`"
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(
            f"{folder}: index format {manifest.get('format_version')} is not {FORMAT_VERSION}; {rebuild}"
        )
    if expected_model is not None and manifest.get("model") != expected_model:
        raise IndexMismatch(
            f"{folder} was built with model {manifest.get('model')!r} but {expected_model!r} is configured; "
            f"{rebuild}, or set ASSISTANT_MODEL={manifest.get('model')}"
        )
    if expected_dimension is not None and manifest.get("dimension") != expected_dimension:
        raise IndexMismatch(
            f"{folder}: vectors of dimension {manifest.get('dimension')}, model gives {expected_dimension}; {rebuild}"
        )
    actual = _file_hashes(folder)
    if actual != manifest.get("files"):
        changed = sorted(set(actual.items()) ^ set(manifest.get("files", {}).items()))
        raise IndexMismatch(f"{folder}: files differ from the manifest ({changed[0][0]}, ...); {rebuild}")

    passages = _read_passages(folder / "passages.jsonl")
    documents = {
        k: Document(**v) for k, v in json.loads((folder / "documents.json").read_text("utf-8")).items()
    }
    dense = faiss.read_index(str(folder / "dense.faiss"))
    if dense.ntotal != len(passages) or manifest.get("passage_count") != len(passages):
        raise IndexMismatch(f"{folder}: {dense.ntotal} vectors for {len(passages)} passages; {rebuild}")
    sentence_vectors = None
    counts = np.array([len(p.sentences) for p in passages], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(passages) else counts
    if (folder / "sentences.npy").is_file():
        sentence_vectors = np.load(folder / "sentences.npy").astype(np.float32)
        if len(sentence_vectors) != int(counts.sum()):
            raise IndexMismatch(f"{folder}: sentence vectors do not match the passages; {rebuild}")
    return LoadedIndex(
        path=folder,
        manifest=manifest,
        documents=documents,
        passages=passages,
        dense=dense,
        bm25=load_bm25(folder / "bm25"),
        sentence_vectors=sentence_vectors,
        sentence_start=starts,
        vocabulary=CorpusVocabulary.load_or_build(folder / VOCABULARY, documents.values(), passages),
    )
